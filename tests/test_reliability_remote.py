"""Remote judge against a real HTTP server on 127.0.0.1 that misbehaves (docs/reliability.md)."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from diversity_metrics import get_judge
from tests.reliability_helpers import JudgeServer, classify_reply, jaccard_probability

WORDS = [f"w{k}" for k in range(24)]
# 11 pairs with 11 different scores (overlap of 12 - i words out of 12 + i)
PAIRS = [(" ".join(WORDS[:12]), " ".join(WORDS[i : i + 12])) for i in range(11)]


def _judge(server, **options):
    return get_judge("remote", url=server.url, retries=1, backoff=0.0, **options)


def _texts():
    from diversity_metrics.judges.remote import format_remote_pair

    return [format_remote_pair(a, b) for a, b in PAIRS]


def test_scores_follow_the_index_field_not_the_reply_order():
    def shuffled(texts):
        rows = json.loads(classify_reply(texts))["data"]
        return json.dumps({"data": rows[::-1]}).encode()

    with JudgeServer(reply=shuffled) as server:
        got = _judge(server).score_pairs(PAIRS)
    want = [jaccard_probability(t) for t in _texts()]
    assert len(set(want)) == len(PAIRS)
    np.testing.assert_allclose(got, want)


def test_dripping_server_is_cut_at_the_total_deadline():
    """A reply dripped one byte every 0.1 s (~20 s in all) must not hold a 1 s timeout for longer than ~1 s."""
    with JudgeServer(drip_interval=0.1) as server:
        judge = _judge(server, timeout=1.0)
        start = time.monotonic()
        with pytest.raises(ConnectionError, match="total deadline of 1s"):
            judge.score_pairs(PAIRS[:2])
        elapsed = time.monotonic() - start
    assert elapsed < 2.0, elapsed


def test_reply_size_cap():
    big = lambda texts: json.dumps({"data": [], "pad": "x" * 200_000}).encode()  # noqa: E731
    with JudgeServer(reply=big) as server:
        with pytest.raises(ValueError, match="larger than max_response_bytes=100000"):
            _judge(server, max_response_bytes=100_000).score_pairs(PAIRS)


def _reply_with(rows_fn):
    def reply(texts):
        rows = json.loads(classify_reply(texts))["data"]
        return json.dumps(rows_fn(rows)).encode()

    return reply


@pytest.mark.parametrize(
    ("rows_fn", "message"),
    [
        # string indices used to be sorted as text ("10" < "2"), silently permuting the scores
        (lambda rows: {"data": [{**r, "index": str(r["index"])} for r in rows]}, "'index' must be an integer"),
        (lambda rows: {"data": [{**r, "index": r["index"] + 0.5} for r in rows]}, "'index' must be an integer"),
        (lambda rows: {"data": [{**r, "index": 0} for r in rows]}, "duplicate 'index' values \\[0\\]"),
        (lambda rows: {"data": [{**r, "index": r["index"] + 1} for r in rows]}, "in \\[0, 11\\)"),
        (lambda rows: {"data": [{**r, "probs": [-0.5, 1.5]} for r in rows]}, "not a probability in \\[0, 1\\]"),
        (lambda rows: {"data": [{**r, "probs": [0.5, "high"]} for r in rows]}, "not a probability"),
        (lambda rows: {"data": "oops"}, "'data' must be a list of objects, got str"),
        (lambda rows: {"data": [1] * len(rows)}, "'data' must be a list of objects"),
        (lambda rows: rows, "expected a JSON object with a 'data' list"),
        (lambda rows: {"data": [{"index": r["index"]} for r in rows]}, "has no probs\\[-1\\]"),
    ],
)
def test_malformed_replies_are_clear_errors(rows_fn, message):
    with JudgeServer(reply=_reply_with(rows_fn)) as server:
        with pytest.raises(ValueError, match=message):
            _judge(server).score_pairs(PAIRS)


def test_not_json_and_unreachable():
    with JudgeServer(reply=lambda texts: b"<html>busy</html>") as server:
        with pytest.raises(ValueError, match="not JSON"):
            _judge(server).score_pairs(PAIRS)
        url = server.url
    with pytest.raises(ConnectionError, match="could not reach"):
        get_judge("remote", url=url, retries=1, timeout=1.0).score_pairs(PAIRS)
