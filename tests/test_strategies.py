"""Partition strategies on scripted judges: NoveltyBench greedy, DARLING transitive, clique, average."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diversity_metrics.strategies import STRATEGIES, canonical, make_strategy, run_strategy


def matrix_oracle(eq: np.ndarray, scores: np.ndarray | None = None, log: list | None = None):
    """Scripted judge: equivalence (and scores) read from matrices indexed by (i, j)."""

    def oracle(pairs):
        if log is not None:
            log.append(list(pairs))
        e = np.array([bool(eq[i, j]) for i, j in pairs], dtype=bool)
        s = np.array([scores[i, j] for i, j in pairs]) if scores is not None else e.astype(float)
        return s, e

    return oracle


def noveltybench_reference(n: int, equivalent) -> list[int]:
    """NoveltyBench src/partition.py ``partition_responses``, transcribed with a synchronous judge."""
    classes: list[list[int]] = []
    part = [-1] * n
    for i in range(n):
        if part[i] >= 0:
            continue
        current = [i]
        part[i] = len(classes)
        for j in range(i + 1, n):
            if part[j] == -1 and equivalent(current[0], j):
                current.append(j)
                part[j] = len(classes)
        classes.append(current)
    return part


def random_eq(seed: int, n: int, p: float, symmetric: bool = True) -> np.ndarray:
    rng = np.random.default_rng(seed)
    eq = rng.random((n, n)) < p
    if symmetric:
        eq = np.triu(eq, 1)
        eq = eq | eq.T
    np.fill_diagonal(eq, True)
    return eq


def relabel_equal(a: list[int], b: list[int]) -> bool:
    return canonical(a) == canonical(b)


def test_strategies_tuple_lists_all_names():
    assert STRATEGIES == ("greedy", "transitive", "clique", "average")


def test_canonical_numbers_by_first_appearance():
    assert canonical([5, 2, 5, 7, 2]) == [0, 1, 0, 2, 1]
    assert canonical([0]) == [0]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_single_item_needs_no_judge(strategy):
    def oracle(pairs):  # pragma: no cover - must not be called
        raise AssertionError("judge called for n = 1")

    assert run_strategy(strategy, 1, oracle) == [0]


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("value", [True, False])
def test_all_or_nothing(strategy, value):
    n = 5
    eq = np.full((n, n), value)
    labels = run_strategy(strategy, n, matrix_oracle(eq), threshold=0.5)
    assert labels == ([0] * n if value else list(range(n)))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 9), p=st.floats(0.0, 1.0))
def test_greedy_follows_noveltybench_algorithm(seed, n, p):
    # asymmetric scripted judge: only the (representative, candidate) order may be asked
    eq = random_eq(seed, n, p, symmetric=False)
    log: list = []
    labels = run_strategy("greedy", n, matrix_oracle(eq, log=log))
    assert labels == noveltybench_reference(n, lambda i, j: bool(eq[i, j]))
    asked = [pair for round_ in log for pair in round_]
    assert all(i < j for i, j in asked)
    assert len(asked) == len(set(asked))


def test_greedy_compares_only_with_class_representatives():
    # 0~1, 1~2 but 0!~2: greedy puts 2 alone, because 2 is only compared with 0 (the representative)
    eq = np.eye(3, dtype=bool)
    eq[0, 1] = eq[1, 0] = eq[1, 2] = eq[2, 1] = True
    log: list = []
    assert run_strategy("greedy", 3, matrix_oracle(eq, log=log)) == [0, 0, 1]
    assert log == [[(0, 1), (0, 2)]]


def test_greedy_and_transitive_differ_on_a_chain():
    eq = np.eye(3, dtype=bool)
    eq[0, 1] = eq[1, 0] = eq[1, 2] = eq[2, 1] = True
    assert run_strategy("greedy", 3, matrix_oracle(eq)) == [0, 0, 1]
    assert run_strategy("transitive", 3, matrix_oracle(eq)) == [0, 0, 0]
    scores = np.where(eq, 0.9, 0.1)
    scores[1, 2] = scores[2, 1] = 0.95  # 1 is closer to 2 than to 0
    assert run_strategy("clique", 3, matrix_oracle(eq, scores), threshold=0.5) == [0, 1, 1]
    # average: mean of (0,1)=0.9, (0,2)=0.1 -> 0.5, not > 0.5: 0 stays alone
    assert run_strategy("average", 3, matrix_oracle(eq, scores), threshold=0.5) == [0, 1, 1]


def test_transitive_asks_all_pairs_once():
    log: list = []
    run_strategy("transitive", 5, matrix_oracle(np.eye(5, dtype=bool), log=log))
    assert log == [list(itertools.combinations(range(5), 2))]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 10), p=st.floats(0.0, 0.6), data=st.data())
def test_transitive_is_permutation_equivariant(seed, n, p, data):
    eq = random_eq(seed, n, p)
    perm = data.draw(st.permutations(range(n)))
    inv = np.argsort(perm)
    base = run_strategy("transitive", n, matrix_oracle(eq))
    permuted_eq = eq[np.ix_(perm, perm)]
    permuted = run_strategy("transitive", n, matrix_oracle(permuted_eq))
    # item k of the permuted problem is item perm[k] of the original
    assert relabel_equal(permuted, [base[perm[k]] for k in range(n)])
    assert relabel_equal([permuted[inv[i]] for i in range(n)], base)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 9), data=st.data())
def test_transitive_classes_are_connected_components(seed, n, data):
    eq = random_eq(seed, n, data.draw(st.floats(0.0, 0.5)))
    labels = run_strategy("transitive", n, matrix_oracle(eq))
    for i, j in itertools.combinations(range(n), 2):
        if eq[i, j]:
            assert labels[i] == labels[j]
    # no class can be split into two parts without an equivalent edge between them
    for c in set(labels):
        members = [i for i in range(n) if labels[i] == c]
        reached = {members[0]}
        frontier = [members[0]]
        while frontier:
            i = frontier.pop()
            for j in members:
                if j not in reached and eq[i, j]:
                    reached.add(j)
                    frontier.append(j)
        assert reached == set(members)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 9), data=st.data())
@pytest.mark.parametrize("strategy", ["clique", "average"])
def test_linkage_strategies_are_permutation_equivariant_without_ties(strategy, seed, n, data):
    rng = np.random.default_rng(seed)
    s = rng.random((n, n))
    s = np.triu(s, 1) + np.triu(s, 1).T
    eq = s > 0.5
    perm = data.draw(st.permutations(range(n)))
    base = run_strategy(strategy, n, matrix_oracle(eq, s), threshold=0.5)
    pe = np.ix_(perm, perm)
    permuted = run_strategy(strategy, n, matrix_oracle(eq[pe], s[pe]), threshold=0.5)
    assert relabel_equal(permuted, [base[perm[k]] for k in range(n)])


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 9))
def test_clique_classes_are_cliques_and_maximal_merge(seed, n):
    rng = np.random.default_rng(seed)
    s = rng.random((n, n))
    s = np.triu(s, 1) + np.triu(s, 1).T
    eq = s > 0.4
    labels = run_strategy("clique", n, matrix_oracle(eq, s), threshold=0.4)
    for i, j in itertools.combinations(range(n), 2):
        if labels[i] == labels[j]:
            assert eq[i, j]
    # no two classes could still be merged into a clique
    classes = {c: [i for i in range(n) if labels[i] == c] for c in set(labels)}
    for a, b in itertools.combinations(classes, 2):
        assert not all(eq[i, j] for i in classes[a] for j in classes[b])


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 9))
def test_average_linkage_stops_when_no_mean_exceeds_threshold(seed, n):
    rng = np.random.default_rng(seed)
    s = rng.random((n, n))
    s = np.triu(s, 1) + np.triu(s, 1).T
    labels = run_strategy("average", n, matrix_oracle(s > 0.6, s), threshold=0.6)
    classes = {c: [i for i in range(n) if labels[i] == c] for c in set(labels)}
    for a, b in itertools.combinations(classes, 2):
        assert np.mean([s[i, j] for i in classes[a] for j in classes[b]]) <= 0.6


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 9), p=st.floats(0.0, 1.0))
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_labels_are_canonical(strategy, seed, n, p):
    eq = random_eq(seed, n, p)
    labels = run_strategy(strategy, n, matrix_oracle(eq, eq.astype(float)), threshold=0.5)
    assert labels == canonical(labels)
    assert len(labels) == n and labels[0] == 0


def test_bad_strategy_name_and_n():
    with pytest.raises(ValueError, match="strategy must be one of"):
        make_strategy("kmeans", 3)
    with pytest.raises(TypeError, match="strategy must be a string"):
        make_strategy(None, 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n must be a positive integer"):
        make_strategy("greedy", 0)


def test_oracle_with_wrong_length_is_rejected():
    with pytest.raises(ValueError, match="oracle returned"):
        run_strategy("transitive", 3, lambda pairs: (np.zeros(1), np.zeros(1, dtype=bool)))
