"""pass@k, maj@k and bootstrap: exactness against rational references, invariants, bad input."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diversity_metrics.metrics.estimators import (
    bootstrap_ci,
    maj_at_k,
    maj_at_k_from_answers,
    pass_at_k,
    pass_at_k_from_answers,
)


def exact_pass_at_k(n: int, c: int, k: int) -> Fraction:
    if n - c < k:
        return Fraction(1)
    return 1 - Fraction(math.comb(n - c, k), math.comb(n, k))


def brute_maj(counts: list[int], correct: int, k: int, abstain: int = 0) -> Fraction:
    labels = [j for j, m in enumerate(counts) for _ in range(m)] + [-1] * abstain
    total, subsets = Fraction(0), 0
    for subset in itertools.combinations(range(len(labels)), k):
        votes = [0] * len(counts)
        for i in subset:
            if labels[i] >= 0:
                votes[labels[i]] += 1
        top = max(votes)
        subsets += 1
        if top > 0 and votes[correct] == top:
            total += Fraction(1, votes.count(top))
    return total / subsets


# ---------------------------------------------------------------- pass@k
def test_pass_at_k_known_values():
    assert pass_at_k(2, 1, 1) == 0.5
    assert pass_at_k(2, 1, 2) == 1.0
    assert abs(pass_at_k(8, 3, 5) - 0.982142857142857142) < 1e-15
    assert pass_at_k(8, 3, 5) == pytest.approx(55 / 56, abs=1e-15)
    assert pass_at_k(10, 0, 10) == 0.0
    assert pass_at_k(10, 10, 1) == 1.0
    assert pass_at_k(1, 1, 1) == 1.0 and pass_at_k(1, 0, 1) == 0.0


def test_pass_at_1_is_mean_correctness():
    rng = np.random.default_rng(3)
    n = rng.integers(1, 300, size=500)
    c = rng.integers(0, n + 1)
    np.testing.assert_allclose(pass_at_k(n, c, 1), c / n, rtol=0, atol=1e-15)


def test_pass_at_k_exact_vs_rational_reference_random_cases():
    rng = np.random.default_rng(2024)
    cases = []
    for n in rng.choice([1, 2, 3, 8, 16, 64, 128, 256, 1000, 2000], size=1100):
        n = int(n)
        cases.append((n, int(rng.integers(0, n + 1)), int(rng.integers(1, n + 1))))
    n = 10_000  # large n: full range of c, and k over the whole range too
    for _ in range(150):
        cases.append((n, int(rng.integers(0, n + 1)), int(rng.integers(1, n + 1))))
    for _ in range(150):  # the interesting region where the value is strictly inside (0, 1)
        cases.append((n, int(rng.integers(0, 200)), int(rng.integers(1, 400))))
    cases += [(10_000, 1, 1), (10_000, 1, 9_999), (10_000, 9_999, 1), (10_000, 5_000, 5_000), (10_000, 0, 10_000)]
    ns, cs, ks = (np.array(v) for v in zip(*cases))
    got = pass_at_k(ns, cs, ks)
    want = np.array([float(exact_pass_at_k(*case)) for case in cases])
    assert len(cases) >= 1_000
    assert np.max(np.abs(got - want)) <= 1e-12
    # scalar path agrees with the vectorised one
    for case, g in zip(cases[::97], got[::97]):
        assert pass_at_k(*case) == g


def test_pass_at_k_huge_n_no_overflow():
    # scipy.special.comb(2000, 1000) overflows; the product form does not
    n, k = 200_000, 100_000
    want = 1 - Fraction((n - k) * (n - k - 1) * (n - k - 2), n * (n - 1) * (n - 2))  # C(n-3,k)/C(n,k)
    assert pass_at_k(n, 3, k) == pytest.approx(float(want), abs=1e-12)
    assert pass_at_k(100_000, 50_000, 50_000) == 1.0  # 1 - C(50000, 50000)/C(100000, 50000), ratio < 1e-30000


def test_pass_at_k_broadcasting_and_types():
    out = pass_at_k(16, [0, 4, 16], 4)
    assert isinstance(out, np.ndarray) and out.shape == (3,)
    grid = pass_at_k(np.array([[8], [16]]), np.array([[1, 2, 3]]), 2)
    assert grid.shape == (2, 3)
    assert grid[1, 2] == pytest.approx(float(exact_pass_at_k(16, 3, 2)), abs=1e-15)
    assert isinstance(pass_at_k(np.int64(8), 3, 5), float)
    assert pass_at_k(8.0, 3.0, 5.0) == pass_at_k(8, 3, 5)  # integral floats accepted
    assert pass_at_k(np.zeros((0,), dtype=int), np.zeros((0,), dtype=int), 1).shape == (0,)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 400), st.data())
def test_pass_at_k_invariants(n, data):
    c = data.draw(st.integers(0, n))
    k = data.draw(st.integers(1, n))
    v = pass_at_k(n, c, k)
    assert 0.0 <= v <= 1.0
    assert v == pytest.approx(float(exact_pass_at_k(n, c, k)), abs=1e-12)
    if k < n:
        assert pass_at_k(n, c, k + 1) >= v - 1e-15  # monotone in k
    if c < n:
        assert pass_at_k(n, c + 1, k) >= v - 1e-15  # monotone in c
    assert (v == 0.0) == (c == 0)
    assert (v == 1.0) == (n - c < k) or v == pytest.approx(1.0, abs=1e-15)


@pytest.mark.parametrize(
    ("args", "exc", "match"),
    [
        ((4, 0, 5), ValueError, "n < k"),
        ((4, 5, 2), ValueError, "c > n"),
        ((-1, 0, 1), ValueError, "num_samples holds negative"),
        ((4, -1, 1), ValueError, "num_correct holds negative"),
        ((4, 1, 0), ValueError, "k must be >= 1"),
        ((4, 1, -2), ValueError, "k must be >= 1"),
        ((4.5, 1, 1), ValueError, "num_samples must hold integers"),
        ((4, 1.5, 1), ValueError, "num_correct must hold integers"),
        ((4, 1, 1.5), ValueError, "k must hold integers"),
        ((4, 1, float("nan")), ValueError, "k must hold integers"),
        (("4", 1, 1), TypeError, "num_samples"),
        ((4, True, 1), TypeError, "num_correct must hold integers, got booleans"),
        (([4, 4], [1, 1, 1], 1), ValueError, "cannot be broadcast"),
    ],
)
def test_pass_at_k_bad_input(args, exc, match):
    with pytest.raises(exc, match=match):
        pass_at_k(*args)


def test_pass_at_k_n_lt_k_refused_even_with_zero_correct():
    # the "n - c < k -> 1.0" guard of other libraries returns 1.0 here
    with pytest.raises(ValueError, match="n < k"):
        pass_at_k(3, 0, 4)


def test_pass_at_k_from_answers():
    answers = [["4", "5", "4", None], ["1", "1", "1", "1"]]
    np.testing.assert_allclose(pass_at_k_from_answers(answers, ["4", "2"], k=1), [0.5, 0.0])
    np.testing.assert_allclose(pass_at_k_from_answers(answers, ["4", "2"], k=2), [1 - 1 / 6, 0.0])
    flags = [[True, False, False, False], [0, 0, 1, 1]]
    np.testing.assert_allclose(pass_at_k_from_answers(flags, k=2), [0.5, 1 - 1 / 6])
    loose = pass_at_k_from_answers([["4.0", "4"]], ["4"], k=1, equal=lambda a, b: float(a) == float(b))
    np.testing.assert_allclose(loose, [1.0])


@pytest.mark.parametrize(
    ("args", "kwargs", "exc", "match"),
    [
        (("abc",), {"k": 1}, TypeError, "answers must be a sequence of per-problem"),
        ((["ab"], ["a"]), {"k": 1}, TypeError, "answers\\[0\\] must be a list"),
        (([],), {"k": 1}, ValueError, "answers is empty"),
        (([["1"], ["2"]], ["1"]), {"k": 1}, ValueError, "mismatched lengths"),
        (([["1"]], "1"), {"k": 1}, TypeError, "ground_truth must be a sequence"),
        (([["yes", "no"]],), {"k": 1}, TypeError, "must hold booleans when ground_truth is None"),
        (([["1"]], ["1"]), {"k": 2}, ValueError, "n < k"),
    ],
)
def test_pass_at_k_from_answers_bad_input(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        pass_at_k_from_answers(*args, **kwargs)


# ---------------------------------------------------------------- maj@k
def test_maj_at_k_hand_values():
    assert maj_at_k([2, 1], 0, 1) == pytest.approx(2 / 3, abs=1e-15)
    assert maj_at_k([1, 1], 0, 2) == pytest.approx(0.5, abs=1e-15)  # tie -> fractional credit
    assert maj_at_k([3, 2], 0, 5) == pytest.approx(1.0, abs=1e-15)
    assert maj_at_k([2, 3], 0, 5) == pytest.approx(0.0, abs=1e-15)
    # counts [2, 1, 1], k = 2 (6 subsets): {c,c} 1; {c,o} x4 -> 1/2 each; {o1,o2} 0 -> (1 + 2) / 6
    assert maj_at_k([2, 1, 1], 0, 2) == pytest.approx(0.5, abs=1e-15)
    assert maj_at_k([3, 1], None, 2) == 0.0
    assert maj_at_k([0, 4], 0, 2) == 0.0


def test_maj_at_1_equals_pass_at_1():
    for counts in ([5, 3, 2], [1, 7], [4, 4, 4, 1]):
        n = sum(counts)
        assert maj_at_k(counts, 0, 1) == pytest.approx(counts[0] / n, abs=1e-14)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 4), min_size=1, max_size=4),
    st.integers(0, 2),
    st.data(),
)
def test_maj_exact_matches_subset_enumeration(counts, abstain, data):
    n = sum(counts) + abstain
    if n == 0:
        return
    k = data.draw(st.integers(1, n))
    correct = data.draw(st.integers(0, len(counts) - 1))
    want = float(brute_maj(counts, correct, k, abstain))
    got = maj_at_k(counts, correct, k, abstentions=abstain, method="exact")
    assert got == pytest.approx(want, abs=1e-12)


def test_maj_monte_carlo_close_to_exact_and_seeded():
    counts, k = [6, 5, 3, 2], 7
    exact = maj_at_k(counts, 1, k, method="exact")
    mc = maj_at_k(counts, 1, k, method="monte_carlo", n_draws=40_000, seed=7)
    assert mc == pytest.approx(exact, abs=0.01)
    assert mc == maj_at_k(counts, 1, k, method="monte_carlo", n_draws=40_000, seed=7)
    state = np.random.get_state()[1].copy()
    maj_at_k(counts, 1, k, method="monte_carlo", n_draws=100, seed=None)
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # global RNG untouched


def test_maj_auto_uses_exact_for_typical_sizes():
    counts = [60, 40, 30, 20, 10, 10, 6] + [1] * 80  # n = 256
    assert maj_at_k(counts, 1, 32) == maj_at_k(counts, 1, 32, method="exact")


def test_maj_at_k_from_answers():
    answers = [["4", "4", "5"], ["1", "2", None], ["7", "7", "7"]]
    np.testing.assert_allclose(maj_at_k_from_answers(answers, ["4", "2", "8"], k=3), [1.0, 0.5, 0.0])
    np.testing.assert_allclose(maj_at_k_from_answers(answers, ["4", "2", "8"], k=1), [2 / 3, 1 / 3, 0.0])
    loose = maj_at_k_from_answers([["4.0", "4", "3"]], ["4"], k=3, equal=lambda a, b: float(a) == float(b))
    np.testing.assert_allclose(loose, [1.0])


@pytest.mark.parametrize(
    ("args", "kwargs", "exc", "match"),
    [
        (([2, 1], 0, 4), {}, ValueError, "k exceeds the number of samples"),
        (([2, 1], 0, 0), {}, ValueError, "k must be >= 1"),
        (([2, -1], 0, 1), {}, ValueError, "answer_counts holds negative"),
        (([[2, 1]], 0, 1), {}, ValueError, "answer_counts must be one-dimensional"),
        (([2, 1], 5, 1), {}, ValueError, "out of range"),
        (([2, 1], "0", 1), {}, TypeError, "correct must be an index"),
        (([2, 1], 0, 1), {"method": "fast"}, ValueError, "method must be"),
        (([2, 1], 0, 1), {"abstentions": -1}, ValueError, "abstentions must be >= 0"),
        (([2, 1], 0, 1), {"method": "monte_carlo", "n_draws": 0}, ValueError, "n_draws"),
        (([2, 1], 0, 1), {"method": "monte_carlo", "seed": "x"}, TypeError, "seed must be"),
        (([2, 1], 0, [1, 2]), {}, TypeError, "k must be a single integer"),
    ],
)
def test_maj_at_k_bad_input(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        maj_at_k(*args, **kwargs)


def test_maj_at_k_from_answers_bad_input():
    with pytest.raises(ValueError, match="fewer than k=3"):
        maj_at_k_from_answers([["1", "2"]], ["1"], k=3)
    with pytest.raises(ValueError, match="mismatched lengths"):
        maj_at_k_from_answers([["1", "2"]], ["1", "2"], k=1)


# ---------------------------------------------------------------- bootstrap
def test_bootstrap_ci_values_and_reproducibility():
    rng = np.random.default_rng(0)
    values = rng.random(200)
    point, low, high = bootstrap_ci(values, n_resamples=4000, seed=3)
    assert point == pytest.approx(values.mean(), abs=1e-15)
    se = values.std(ddof=1) / math.sqrt(values.size)
    assert low == pytest.approx(point - 1.96 * se, abs=0.25 * se)
    assert high == pytest.approx(point + 1.96 * se, abs=0.25 * se)
    assert bootstrap_ci(values, n_resamples=4000, seed=3) == (point, low, high)
    same = bootstrap_ci(values, n_resamples=4000, seed=np.random.default_rng(3))
    assert same == (point, low, high)
    narrow = bootstrap_ci(values, n_resamples=4000, seed=3, confidence=0.5)
    assert low < narrow[1] < narrow[2] < high


def test_bootstrap_ci_constant_values_and_global_rng_untouched():
    state = np.random.get_state()[1].copy()
    assert bootstrap_ci([0.25, 0.25, 0.25]) == (0.25, 0.25, 0.25)
    bootstrap_ci([0.0, 1.0, 0.5], seed=None, n_resamples=100)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


@pytest.mark.parametrize(
    ("values", "kwargs", "exc", "match"),
    [
        ([1.0], {}, ValueError, "at least 2 values"),
        ([1.0, float("nan")], {}, ValueError, "NaN"),
        ([0.0, 1.0], {"confidence": 1.0}, ValueError, "confidence must be < 1.0"),
        ([0.0, 1.0], {"confidence": "0.9"}, TypeError, "confidence must be a number"),
        ([0.0, 1.0], {"n_resamples": 0}, ValueError, "n_resamples must be >= 1"),
        ([0.0, 1.0], {"n_resamples": "10"}, TypeError, "n_resamples must be an integer"),
        ([0.0, 1.0], {"method": "studentized"}, ValueError, "method must be one of"),
        ([0.0, 1.0], {"seed": 1.5}, TypeError, "seed must be"),
    ],
)
def test_bootstrap_ci_bad_input(values, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        bootstrap_ci(values, **kwargs)

