"""The paraphrase groups (benchmarks/data) are well formed; no two probes share a prompt or an answer, and the
adapter's training groups share none with any probe (every probe stays out of sample for the adapter)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "data"


def _load(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("name", "n_short", "n_long"),
    [("paraphrase_probe.jsonl", 26, 18), ("paraphrase_probe_b.jsonl", 43, 16), ("paraphrase_train.jsonl", 55, 20),
     ("paraphrase_train_extra.jsonl", 28, 12), ("paraphrase_probe_c.jsonl", 45, 20),
     ("paraphrase_train_topics.jsonl", 590, 328), ("paraphrase_train_contrast.jsonl", 248, 157),
     ("paraphrase_train_short.jsonl", 592, 0), ("paraphrase_train_mixed.jsonl", 143, 0),
     ("paraphrase_train_mixed_facts.jsonl", 102, 0)]
)
def test_probe_groups_are_well_formed(name, n_short, n_long):
    groups = _load(name)
    assert [g["kind"] for g in groups].count("short") == n_short and [g["kind"] for g in groups].count("long") == n_long
    assert len({g["id"] for g in groups}) == len(groups) and len({g["prompt"] for g in groups}) == len(groups)
    for g in groups:
        answers = g["paraphrases"] + g["different"]
        assert len(g["paraphrases"]) == 3 and len(g["different"]) == 2, g["id"]
        assert all(isinstance(a, str) and a.strip() for a in answers) and len(set(answers)) == 5, g["id"]


PROBES = ("paraphrase_probe.jsonl", "paraphrase_probe_b.jsonl", "paraphrase_probe_c.jsonl")
TRAIN = ("paraphrase_train.jsonl", "paraphrase_train_extra.jsonl", "paraphrase_train_topics.jsonl",
         "paraphrase_train_contrast.jsonl", "paraphrase_train_short.jsonl", "paraphrase_train_mixed.jsonl",
         "paraphrase_train_mixed_facts.jsonl")


def _prompts(groups: list[dict]) -> set[str]:
    return {g["prompt"] for g in groups}


def _answers(groups: list[dict]) -> set[str]:
    return {t for g in groups for t in g["paraphrases"] + g["different"]}


@pytest.mark.parametrize(("first", "second"), [(a, b) for i, a in enumerate(PROBES) for b in PROBES[i + 1 :]])
def test_probes_are_disjoint(first, second):
    """Each probe checks the judge on new groups: no prompt or answer may be shared between two probes."""
    a, b = _load(first), _load(second)
    assert not _prompts(a) & _prompts(b) and not _answers(a) & _answers(b)


@pytest.mark.parametrize("probe", PROBES)
def test_adapter_training_groups_are_disjoint_from_every_probe(probe):
    """benchmarks/train_judge_adapter.py trains on the paraphrase_train*.jsonl files; no probe may leak into them."""
    train = [g for name in TRAIN for g in _load(name)]
    groups = _load(probe)
    assert not _prompts(groups) & _prompts(train) and not _answers(groups) & _answers(train)


@pytest.mark.parametrize(("first", "second"), [(a, b) for i, a in enumerate(TRAIN) for b in TRAIN[i + 1 :]])
def test_training_files_are_disjoint(first, second):
    a, b = _load(first), _load(second)
    assert not _prompts(a) & _prompts(b) and not _answers(a) & _answers(b)


MIXED_LENGTH_PAIRS = "mixed_length_pairs.jsonl"  # six held-out (prompt, short, long) pairs of different answers


def test_every_data_file_is_checked():
    assert {p.name for p in DATA.glob("*.jsonl")} == set(PROBES) | set(TRAIN) | {MIXED_LENGTH_PAIRS}


def _tokens(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"[a-z0-9]+", text.lower()))


@pytest.mark.parametrize("name", ["paraphrase_train_short.jsonl", "paraphrase_train_mixed.jsonl",
                                  "paraphrase_train_mixed_facts.jsonl"])
def test_short_training_groups_are_not_near_any_probe(name):
    """The short-answer groups were filtered by word overlap, not only by exact text: no prompt within Jaccard 0.3
    of a probe's prompt, no answer within 0.5 of a probe's answer (over all lower-cased word tokens, stopwords
    included, so even "What is X?" prompts that share only their frame were dropped)."""
    probes = [g for p in PROBES for g in _load(p)]
    probe_prompts = [_tokens(g["prompt"]) for g in probes]
    probe_answers = [_tokens(t) for t in _answers(probes)]

    def near(tokens: frozenset[str], others: list[frozenset[str]], limit: float) -> bool:
        return any(len(tokens & o) >= limit * len(tokens | o) for o in others)

    for g in _load(name):
        assert not near(_tokens(g["prompt"]), probe_prompts, 0.3), g["id"]
        assert not any(near(_tokens(t), probe_answers, 0.5) for t in g["paraphrases"] + g["different"]), g["id"]


@pytest.mark.parametrize("name", ["paraphrase_train_mixed.jsonl", "paraphrase_train_mixed_facts.jsonl"])
def test_mixed_length_groups_stay_away_from_the_held_out_mixed_length_pairs(name):
    """The groups written to teach one-word-vs-longer pairs must not hold the pairs that check it: no prompt within
    Jaccard 0.3 and no answer within 0.5 of the six held-out pairs' texts."""
    held = [_tokens(row[k]) for row in _load(MIXED_LENGTH_PAIRS) for k in ("prompt", "short", "long")]
    for g in _load(name):
        for text, limit in [(g["prompt"], 0.3)] + [(t, 0.5) for t in g["paraphrases"] + g["different"]]:
            tokens = _tokens(text)
            assert not any(len(tokens & h) >= limit * len(tokens | h) for h in held), (g["id"], text)
