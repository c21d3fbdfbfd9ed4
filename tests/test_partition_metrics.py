"""Partition metrics: reproduction of NoveltyBench's official stored values, invariants, bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diversity_metrics.metrics.partition_metrics import (
    canonical_labels,
    distinct_k,
    semantic_entropy,
    utility_k,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
GENERATIONS = SHARED / "data" / "noveltybench" / "generations"
partitions = st.lists(st.integers(0, 6), min_size=1, max_size=15)


def _load(name: str) -> list[dict]:
    path = GENERATIONS / f"{name}.jsonl"
    if not path.exists():
        pytest.fail(f"shared data not found at {path}: ../shared must sit beside the checkout")
    with path.open() as f:
        return [json.loads(line) for line in f]


# ---------------------------------------------------------------- official reproduction
@pytest.mark.parametrize(("name", "n_gen", "mean_classes"), [("gpt-4o", 10, 2.89), ("humans", 8, 6.58)])
def test_reproduces_official_noveltybench_values(name, n_gen, mean_classes):
    rows = _load(name)
    assert len(rows) == 100
    classes = []
    for row in rows:
        part = row["partition"]
        assert len(part) == len(row["generations"]) == n_gen
        d = distinct_k(part)
        # the stored "distinct" field is max(partition) = classes - 1 (off by one); the summary counts classes
        assert d == row["distinct"] + 1 == len(row["partition_scores"])
        assert distinct_k(part, k=n_gen) == d
        # official utility = np.average(generation_scores, weights=0.8 ** arange(n)), repeats scored 0
        assert abs(utility_k(part, row["generation_scores"], patience=0.8) - row["utility"]) <= 1e-9
        # the same from the per-class scores spread over the generations (repeats now carry non-zero scores)
        per_gen = np.asarray(row["partition_scores"])[canonical_labels(part)]
        assert abs(utility_k(part, per_gen) - row["utility"]) <= 1e-9
        classes.append(d)
    assert np.mean(classes) == pytest.approx(mean_classes, abs=1e-12)
    assert np.mean([r["distinct"] for r in rows]) == pytest.approx(mean_classes - 1, abs=1e-12)


def test_stored_partitions_are_canonical():
    for row in _load("gpt-4o") + _load("humans"):
        assert canonical_labels(row["partition"]) == row["partition"]


# ---------------------------------------------------------------- hand values
def test_canonical_labels():
    assert canonical_labels([7, 7, 3, 9, 3]) == [0, 0, 1, 2, 1]
    assert canonical_labels(np.array([2])) == [0]
    assert canonical_labels([0.0, 1.0, 0.0]) == [0, 1, 0]


def test_distinct_k_values():
    assert distinct_k([0, 1, 0, 2]) == 3
    assert distinct_k([5, 5, 5]) == 1
    assert distinct_k([0, 0, 1, 2], k=2) == 1
    assert distinct_k([0, 0, 1, 2], k=3) == 2
    assert distinct_k([4]) == 1


def test_utility_k_values():
    # p = 0.8, classes [a, a, b]: (u1 + 0 + 0.64 u3) / (1 + 0.8 + 0.64)
    assert utility_k([0, 0, 1], [10, 7, 5]) == pytest.approx((10 + 0.64 * 5) / 2.44, abs=1e-15)
    assert utility_k([0, 1, 2], [3, 3, 3], patience=1.0) == pytest.approx(3.0)
    assert utility_k([0, 0, 0], [6, 9, 9], patience=1.0) == pytest.approx(2.0)
    assert utility_k([0, 1], [5, 10], patience=0.0) == 5.0  # only the first generation counts
    assert utility_k([0, 1, 1, 2], [1, 2, 3, 4], k=2) == pytest.approx((1 + 0.8 * 2) / 1.8)


def test_semantic_entropy_values():
    assert semantic_entropy([0, 0, 0]) == 0.0
    assert semantic_entropy([0, 1, 2, 3]) == pytest.approx(math.log(4), abs=1e-15)
    p = np.array([2, 1, 1]) / 4
    assert semantic_entropy([0, 0, 1, 2]) == pytest.approx(-np.sum(p * np.log(p)), abs=1e-15)
    # likelihood-weighted: classes get probability mass 0.5+0.25 and 0.25
    lp = np.log([0.5, 0.25, 0.25])
    assert semantic_entropy([0, 0, 1], lp) == pytest.approx(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)))
    # unnormalised and extremely small sequence likelihoods: max-shift avoids 0/0
    assert semantic_entropy([0, 0, 1], lp - 5000.0) == pytest.approx(semantic_entropy([0, 0, 1], lp), abs=1e-12)
    # a zero-probability generation contributes nothing
    assert semantic_entropy([0, 1], [0.0, -np.inf]) == 0.0


# ---------------------------------------------------------------- invariants
@settings(max_examples=200, deadline=None)
@given(partitions)
def test_canonical_invariants(part):
    canon = canonical_labels(part)
    assert canonical_labels(canon) == canon
    assert distinct_k(canon) == distinct_k(part) == len(set(part))
    assert semantic_entropy(canon) == semantic_entropy(part)
    assert canon[0] == 0 and all(c <= max(canon[:i], default=-1) + 1 for i, c in enumerate(canon))


@settings(max_examples=200, deadline=None)
@given(partitions, st.data())
def test_utility_and_entropy_bounds(part, data):
    n = len(part)
    u = data.draw(st.lists(st.integers(1, 10), min_size=n, max_size=n))
    p = data.draw(st.floats(0, 1))
    val = utility_k(part, u, patience=p)
    assert 0.0 <= val <= max(u) + 1e-12
    if len(set(part)) == n:
        weights = p ** np.arange(n)
        assert val == pytest.approx(np.average(u, weights=weights), abs=1e-9)
    assert 0.0 <= semantic_entropy(part) <= math.log(len(set(part))) + 1e-12
    assert 1 <= distinct_k(part) <= n
    ks = [distinct_k(part, k=k) for k in range(1, n + 1)]
    assert ks == sorted(ks) and all(b - a <= 1 for a, b in zip(ks, ks[1:]))


@settings(max_examples=100, deadline=None)
@given(partitions, st.data())
def test_weighted_entropy_with_equal_logprobs_is_discrete(part, data):
    c = data.draw(st.floats(-1e4, 0))
    assert semantic_entropy(part, [c] * len(part)) == pytest.approx(semantic_entropy(part), abs=1e-9)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("func", "args", "kwargs", "exc", "match"),
    [
        (distinct_k, ([],), {}, ValueError, "partition is empty"),
        (distinct_k, ([0, -2],), {}, ValueError, "negative class ids"),
        (distinct_k, ([0, 1],), {"k": 3}, ValueError, "k must be in \\[1, 2\\]"),
        (distinct_k, ([0, 1],), {"k": 0}, ValueError, "k must be in"),
        (distinct_k, ([0, 1],), {"k": 1.0}, TypeError, "k must be an integer"),
        (canonical_labels, ("abc",), {}, TypeError, "got a string"),
        (canonical_labels, ([0.5],), {}, ValueError, "integer class ids"),
        (utility_k, ([0, 1], [1.0]), {}, ValueError, "mismatched lengths"),
        (utility_k, ([0, 1], [1.0, float("nan")]), {}, ValueError, "qualities holds NaN"),
        (utility_k, ([0, 1], [1.0, 2.0]), {"patience": 1.5}, ValueError, "patience must be in"),
        (utility_k, ([0, 1], [1.0, 2.0]), {"patience": "0.8"}, TypeError, "patience must be a number"),
        (utility_k, ([0, 1], [1.0, 2.0]), {"k": 5}, ValueError, "k must be in"),
        (semantic_entropy, ([0, 1], [0.0]), {}, ValueError, "mismatched lengths"),
        (semantic_entropy, ([0, 1], [0.0, float("nan")]), {}, ValueError, "log_probs holds NaN"),
        (semantic_entropy, ([0, 1], [-np.inf, -np.inf]), {}, ValueError, "all -inf"),
    ],
)
def test_bad_input(func, args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        func(*args, **kwargs)

