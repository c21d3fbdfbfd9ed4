"""Embedding diversity: Vendi score (reference value, direct eigenvalue formulas, primal == dual), cosine."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diversity_metrics.metrics.embedding import mean_pairwise_cosine_distance, vendi_score

K3 = np.array([[1.0, 0.9, 0.0], [0.9, 1.0, 0.0], [0.0, 0.0, 1.0]])


def direct_vendi(k: np.ndarray, q: float) -> float:
    """Textbook formula from the eigen-decomposition, written independently of the module."""
    w, _ = np.linalg.eig(k / k.shape[0])
    w = np.real(w)
    w = w[w > 1e-12]
    if q == 1:
        return float(np.exp(-np.sum(w * np.log(w))))
    if math.isinf(q):
        return float(1 / np.max(w))
    return float(np.sum(w**q) ** (1 / (1 - q)))


def test_vendi_reference_value_q1():
    assert round(vendi_score(similarity=K3, q=1), 4) == 2.1573
    assert vendi_score(similarity=K3) == pytest.approx(direct_vendi(K3, 1), abs=1e-12)


@pytest.mark.parametrize("q", [0.5, 2.0, math.inf, 3.0, 0.1])
def test_vendi_matches_direct_eigenvalues(q):
    assert vendi_score(similarity=K3, q=q) == pytest.approx(direct_vendi(K3, q), rel=1e-12)


def test_vendi_closed_forms_for_k3():
    lam = np.array([1.9, 1.0, 0.1]) / 3  # eigenvalues of K3 / 3
    assert vendi_score(similarity=K3, q=2) == pytest.approx(1 / np.sum(lam**2), rel=1e-12)
    assert vendi_score(similarity=K3, q=math.inf) == pytest.approx(3 / 1.9, rel=1e-12)
    assert vendi_score(similarity=K3, q=0) == 3.0
    assert vendi_score(similarity=K3, q=0.5) == pytest.approx(np.sum(np.sqrt(lam)) ** 2, rel=1e-12)


def test_vendi_extremes():
    n = 5
    assert vendi_score(similarity=np.eye(n)) == pytest.approx(n)
    assert vendi_score(similarity=np.ones((n, n))) == pytest.approx(1.0)
    for q in (0, 0.5, 1, 2, math.inf):
        assert vendi_score(similarity=np.ones((n, n)), q=q) == pytest.approx(1.0)
        assert vendi_score(similarity=np.eye(n), q=q) == pytest.approx(n)
    assert vendi_score([[3.0, 4.0]]) == pytest.approx(1.0)  # single item


def test_vendi_primal_equals_dual_and_similarity_path():
    rng = np.random.default_rng(0)
    tall = rng.normal(size=(40, 6))  # n > d: dual form
    wide = rng.normal(size=(6, 40))  # n < d: primal form
    for x in (tall, wide):
        xn = x / np.linalg.norm(x, axis=1, keepdims=True)
        for q in (0, 0.5, 1, 2, math.inf):
            via_sim = vendi_score(similarity=xn @ xn.T, q=q)
            assert vendi_score(x, q=q) == pytest.approx(via_sim, rel=1e-9)
    # the dual eigenvalues (d x d) coincide with the nonzero primal ones (n x n)
    xn = tall / np.linalg.norm(tall, axis=1, keepdims=True)
    primal = np.sort(np.linalg.eigvalsh(xn @ xn.T / 40))[-6:]
    dual = np.sort(np.linalg.eigvalsh(xn.T @ xn / 40))
    np.testing.assert_allclose(primal, dual, atol=1e-12)


def test_vendi_q0_is_rank_without_truncating_other_orders():
    x = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0], [1.0, -1.0, 0.0]])
    assert vendi_score(x, q=0) == 2.0  # four vectors spanning a plane
    tiny = np.diag([1.0, 1.0]) * 1.0
    tiny[0, 1] = tiny[1, 0] = 1 - 1e-9  # nearly identical: eigenvalue ~1e-9 kept for q=1
    assert vendi_score(similarity=tiny) > 1.0


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 8), st.integers(1, 8), st.integers(0, 2**31 - 1))
def test_vendi_bounds_and_monotone_in_q(n, d, seed):
    x = np.random.default_rng(seed).normal(size=(n, d))
    values = [vendi_score(x, q=q) for q in (0, 0.5, 1, 2, math.inf)]
    assert all(1.0 - 1e-9 <= v <= n + 1e-9 for v in values)
    assert all(a >= b - 1e-9 for a, b in zip(values, values[1:]))  # Renyi entropy decreases in q
    perm = np.random.default_rng(seed + 1).permutation(n)
    assert vendi_score(x[perm]) == pytest.approx(values[2], rel=1e-9)


def test_mean_pairwise_cosine_distance_values():
    assert mean_pairwise_cosine_distance([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]) == pytest.approx(2 / 3)
    assert mean_pairwise_cosine_distance([[1.0, 0.0], [-2.0, 0.0]]) == pytest.approx(2.0)
    assert mean_pairwise_cosine_distance([[1.0, 2.0], [2.0, 4.0]]) == pytest.approx(0.0, abs=1e-15)
    assert mean_pairwise_cosine_distance([[1.0, 2.0]]) == 0.0  # single embedding


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 8), st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_mean_pairwise_cosine_distance_matches_loop(n, d, seed):
    x = np.random.default_rng(seed).normal(size=(n, d))
    pairs = [
        1 - x[i] @ x[j] / (np.linalg.norm(x[i]) * np.linalg.norm(x[j])) for i in range(n) for j in range(i + 1, n)
    ]
    v = mean_pairwise_cosine_distance(x)
    assert v == pytest.approx(np.mean(pairs), abs=1e-12)
    assert 0.0 <= v <= 2.0


@pytest.mark.parametrize(
    ("func", "args", "kwargs", "exc", "match"),
    [
        (vendi_score, (), {}, ValueError, "exactly one of embeddings or similarity"),
        (vendi_score, ([[1.0]],), {"similarity": [[1.0]]}, ValueError, "exactly one of"),
        (vendi_score, (), {"similarity": [[1.0, 0.5]]}, ValueError, "must be square"),
        (vendi_score, (), {"similarity": [[1.0, 0.5], [0.2, 1.0]]}, ValueError, "symmetric"),
        (vendi_score, (), {"similarity": [[2.0, 0.0], [0.0, 2.0]]}, ValueError, "unit diagonal"),
        (vendi_score, (), {"similarity": [[1.0, np.nan], [np.nan, 1.0]]}, ValueError, "NaN or infinite"),
        (vendi_score, (), {"similarity": K3, "q": -1}, ValueError, "q must be >= 0"),
        (vendi_score, (), {"similarity": K3, "q": "inf"}, TypeError, "q must be a number"),
        (vendi_score, ([1.0, 2.0],), {}, ValueError, "must be 2-D"),
        (vendi_score, (np.zeros((0, 3)),), {}, ValueError, "embeddings is empty"),
        (vendi_score, ([[0.0, 0.0], [1.0, 0.0]],), {}, ValueError, "all-zero rows at positions \\[0\\]"),
        (vendi_score, ([[0.0, 0.0]],), {"normalize": False}, ValueError, "all zero"),
        (vendi_score, ("text",), {}, TypeError, "got a string"),
        (mean_pairwise_cosine_distance, ([[0.0, 0.0], [1.0, 1.0]],), {}, ValueError, "all-zero rows"),
        (mean_pairwise_cosine_distance, ([[1.0, np.inf]],), {}, ValueError, "NaN or infinite"),
        (mean_pairwise_cosine_distance, (np.zeros((2, 0)),), {}, ValueError, "zero columns"),
        (mean_pairwise_cosine_distance, ([["a", "b"]],), {}, TypeError, "2-D array of numbers"),
    ],
)
def test_bad_input(func, args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        func(*args, **kwargs)

