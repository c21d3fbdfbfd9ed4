"""The paraphrase groups (benchmarks/data) are well formed; the second probe shares no prompt or answer with the
first, and the adapter's training groups share none with either probe (both stay out of sample for it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "data"


def _load(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("name", "n_short", "n_long"),
    [("paraphrase_probe.jsonl", 26, 18), ("paraphrase_probe_b.jsonl", 43, 16), ("paraphrase_train.jsonl", 55, 20),
     ("paraphrase_train_extra.jsonl", 28, 12)]
)
def test_probe_groups_are_well_formed(name, n_short, n_long):
    groups = _load(name)
    assert [g["kind"] for g in groups].count("short") == n_short and [g["kind"] for g in groups].count("long") == n_long
    assert len({g["id"] for g in groups}) == len(groups) and len({g["prompt"] for g in groups}) == len(groups)
    for g in groups:
        answers = g["paraphrases"] + g["different"]
        assert len(g["paraphrases"]) == 3 and len(g["different"]) == 2, g["id"]
        assert all(isinstance(a, str) and a.strip() for a in answers) and len(set(answers)) == 5, g["id"]


def test_second_probe_is_disjoint_from_the_first():
    """probe B checks the in-sample darling point on new groups: no prompt or answer may come from probe A."""
    a, b = _load("paraphrase_probe.jsonl"), _load("paraphrase_probe_b.jsonl")
    assert not {g["prompt"] for g in a} & {g["prompt"] for g in b}
    answers = lambda gs: {t for g in gs for t in g["paraphrases"] + g["different"]}  # noqa: E731
    assert not answers(a) & answers(b)


def test_adapter_training_groups_are_disjoint_from_both_probes():
    """benchmarks/train_judge_adapter.py trains on paraphrase_train.jsonl; the probes must not leak into it."""
    train = _load("paraphrase_train.jsonl") + _load("paraphrase_train_extra.jsonl")  # the extra groups: a study
    answers = lambda gs: {t for g in gs for t in g["paraphrases"] + g["different"]}  # noqa: E731
    for probe in ("paraphrase_probe.jsonl", "paraphrase_probe_b.jsonl"):
        groups = _load(probe)
        assert not {g["prompt"] for g in groups} & {g["prompt"] for g in train}, probe
        assert not answers(groups) & answers(train), probe
    extra, first = _load("paraphrase_train_extra.jsonl"), _load("paraphrase_train.jsonl")
    assert not {g["prompt"] for g in extra} & {g["prompt"] for g in first} and not answers(extra) & answers(first)
