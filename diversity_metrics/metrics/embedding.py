"""Embedding-based diversity of a set: mean pairwise cosine distance and the Vendi score (any order q)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from diversity_metrics._validation import as_float_array

__all__ = ["mean_pairwise_cosine_distance", "vendi_score"]


def _as_matrix(values: Any, name: str) -> np.ndarray:
    arr = as_float_array(values, name, ndim=2)
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty: need at least one row")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has zero columns")
    return arr


def _unit_rows(x: np.ndarray, name: str) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1)
    if np.any(norms == 0):
        bad = np.flatnonzero(norms == 0).tolist()
        raise ValueError(f"{name} has all-zero rows at positions {bad}: cosine similarity is undefined")
    return x / norms[:, None]


def mean_pairwise_cosine_distance(embeddings: Any) -> float:
    """Mean cosine distance over all unordered pairs: ``2/(n(n-1)) * sum_{i<j} (1 - cos(e_i, e_j))``.

    Range ``[0, 2]``; 0 for identical directions. A single embedding has no pair: defined as 0.0.
    All-zero rows raise ValueError (cosine undefined).

    Example:
        >>> mean_pairwise_cosine_distance([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
        0.6666666666666666
    """
    x = _unit_rows(_as_matrix(embeddings, "embeddings"), "embeddings")
    n = x.shape[0]
    if n == 1:
        return 0.0
    sims = np.clip(x @ x.T, -1.0, 1.0)
    iu = np.triu_indices(n, k=1)
    return float(np.mean(1.0 - sims[iu]))


def _order(q: Any) -> float:
    if isinstance(q, bool) or not isinstance(q, (int, float, np.integer, np.floating)):
        raise TypeError(f"q must be a number >= 0 (or math.inf), got {type(q).__name__}")
    q = float(q)
    if math.isnan(q) or q < 0:
        raise ValueError(f"q must be >= 0 (or math.inf), got {q!r}")
    return q


def _vendi_from_eigenvalues(lam: np.ndarray, q: float) -> float:
    # Eigenvalues below the round-off level eps * size * max (the numpy.linalg.matrix_rank tolerance,
    # tiny negatives included) are zero within floating point; they are set to 0, nothing else is cut.
    tol = lam.max() * lam.size * np.finfo(np.float64).eps
    lam = np.where(lam > tol, lam, 0.0)
    lam = lam / lam.sum()
    pos = lam[lam > 0]
    if q == 0:
        return float(pos.size)
    if math.isinf(q):
        return float(1.0 / pos.max())
    if q == 1:
        return float(math.exp(-np.sum(pos * np.log(pos))))
    return float(math.exp(math.log(np.sum(pos**q)) / (1.0 - q)))


def vendi_score(
    embeddings: Any = None,
    *,
    similarity: Any = None,
    q: float = 1.0,
    normalize: bool = True,
) -> float:
    """Vendi score of order q: the exponential of the Renyi entropy of the eigenvalues of ``K / n``.

    ``VS_q = exp(H_q(lambda))`` with ``lambda`` the eigenvalues of ``K/n``, ``K_ij = k(x_i, x_j)``,
    ``K_ii = 1``; ``H_1 = -sum lambda log lambda``, ``H_q = log(sum lambda^q) / (1 - q)``,
    ``H_inf = -log max lambda``, ``H_0 = log rank``. It ranges from 1 (all items identical) to n (all
    orthogonal): the effective number of distinct items.

    Give either ``similarity`` (an n x n symmetric similarity matrix with unit diagonal) or ``embeddings``
    (n x d; rows are L2-normalised when ``normalize=True``, giving the cosine kernel ``K = X X^T``;
    with ``normalize=False`` the linear kernel is used and the eigenvalues are divided by their sum).
    For embeddings the nonzero eigenvalues of ``X X^T / n`` (primal, n x n) equal those of ``X^T X / n``
    (dual, d x d); the smaller one is decomposed. Eigenvalues within round-off of zero
    (``<= eps * size * max``, tiny negatives included) are set to 0 so primal and dual agree even for
    q < 1; no other truncation. ``q=0`` is thus the numerical rank.

    Reference: Friedman & Dieng, "The Vendi Score: A Diversity Evaluation Metric for Machine Learning",
    TMLR 2023; Pasarkar & Dieng, "Cousins of the Vendi Score", 2023 (orders q).

    Example:
        >>> round(vendi_score(similarity=[[1, .9, 0], [.9, 1, 0], [0, 0, 1]]), 4)
        2.1573
        >>> round(vendi_score([[1.0, 0.0], [0.0, 2.0]]), 12)
        2.0
    """
    if (embeddings is None) == (similarity is None):
        raise ValueError("give exactly one of embeddings or similarity")
    order = _order(q)
    if similarity is not None:
        k = _as_matrix(similarity, "similarity")
        n = k.shape[0]
        if k.shape[1] != n:
            raise ValueError(f"similarity must be square, got shape {k.shape}")
        if not np.allclose(k, k.T, rtol=0, atol=1e-8):
            raise ValueError("similarity must be symmetric")
        if not np.allclose(np.diag(k), 1.0, rtol=0, atol=1e-6):
            raise ValueError("similarity must have a unit diagonal (k(x, x) = 1)")
        lam = np.linalg.eigvalsh(k / n)
    else:
        x = _as_matrix(embeddings, "embeddings")
        if normalize:
            x = _unit_rows(x, "embeddings")
        elif np.all(x == 0):
            raise ValueError("embeddings are all zero")
        n, d = x.shape
        lam = np.linalg.eigvalsh((x @ x.T) / n if n <= d else (x.T @ x) / n)
    return _vendi_from_eigenvalues(lam, order)
