"""Metrics of a partition of generations into equivalence classes (NoveltyBench, semantic entropy).

A partition is one non-negative integer class id per generation, in generation order.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import logsumexp

from diversity_metrics._validation import as_float_array, as_partition, check_same_length

__all__ = [
    "canonical_labels",
    "distinct_k",
    "utility_k",
    "semantic_entropy",
]


def _check_k(k: Any, n: int) -> int:
    if k is None:
        return n
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"k must be an integer or None, got {type(k).__name__}")
    if not 1 <= k <= n:
        raise ValueError(f"k must be in [1, {n}] (the number of generations), got {k}")
    return int(k)


def canonical_labels(partition: Any) -> list[int]:
    """Renumber class ids by first appearance: the first generation is class 0, the next new class 1, ...

    Two partitions describe the same grouping iff their canonical labels are equal.

    Example:
        >>> canonical_labels([7, 7, 3, 9, 3])
        [0, 0, 1, 2, 1]
    """
    labels = as_partition(partition)
    mapping: dict[int, int] = {}
    return [mapping.setdefault(int(c), len(mapping)) for c in labels]


def distinct_k(partition: Any, k: int | None = None) -> int:
    """NoveltyBench distinct_k: the number of equivalence classes among the first ``k`` generations.

    ``distinct_k = |{c_1, ..., c_k}|``; ``k=None`` uses all generations. Note that NoveltyBench's stored
    JSON field ``"distinct"`` is ``max(partition)`` = classes - 1; its summary (and this function) counts
    classes.

    Reference: Zhang et al., "NoveltyBench: Evaluating Language Models for Humanlike Diversity", 2025.

    Example:
        >>> distinct_k([0, 1, 0, 2])
        3
        >>> distinct_k([0, 0, 1, 2], k=2)
        1
    """
    labels = as_partition(partition)
    kk = _check_k(k, labels.size)
    return int(np.unique(labels[:kk]).size)


def utility_k(partition: Any, qualities: Any, patience: float = 0.8, k: int | None = None) -> float:
    """NoveltyBench utility_k: patience-discounted mean quality in which repeats of a class score 0.

    ``utility_k = sum_{i=1}^{k} p^(i-1) * 1[c_i not in {c_1..c_(i-1)}] * u_i / sum_{i=1}^{k} p^(i-1)``

    ``qualities`` holds one score per generation (NoveltyBench: 1-10 from
    :func:`diversity_metrics.quality.noveltybench_quality_score`); values of repeated generations are ignored, so both the official
    ``generation_scores`` (already 0 for repeats) and raw per-generation scores give the official value.

    Reference: Zhang et al. 2025 (NoveltyBench), ``src/score.py``:
    ``np.average(generation_scores, weights=patience ** arange(k))``.

    Example:
        >>> round(utility_k([0, 0, 1], [9, 9, 5], patience=0.5), 12)  # (9 + 0.25 * 5) / 1.75
        5.857142857143
    """
    labels = as_partition(partition)
    u = as_float_array(qualities, "qualities")
    check_same_length(labels, u, "partition", "qualities")
    if isinstance(patience, bool) or not isinstance(patience, (int, float, np.integer, np.floating)):
        raise TypeError(f"patience must be a number in [0, 1], got {type(patience).__name__}")
    if not (math.isfinite(patience) and 0.0 <= patience <= 1.0):
        raise ValueError(f"patience must be in [0, 1], got {patience!r}")
    kk = _check_k(k, labels.size)
    labels, u = labels[:kk], u[:kk]
    _, first = np.unique(labels, return_index=True)
    new = np.zeros(kk, dtype=bool)
    new[first] = True
    weights = float(patience) ** np.arange(kk, dtype=np.float64)
    return float(np.sum(weights * np.where(new, u, 0.0)) / np.sum(weights))


def semantic_entropy(partition: Any, log_probs: Any = None) -> float:
    """Semantic entropy (nats) of the distribution over equivalence classes.

    Discrete (``log_probs=None``): ``SE = -sum_c p_c log p_c`` with ``p_c = |C_c| / n`` (Farquhar et al.
    2024's discrete semantic entropy). Likelihood-weighted: ``p_c = sum_{i in c} exp(l_i) / sum_i exp(l_i)``
    from sequence log-probabilities ``l_i``, computed with max-shifted logsumexp (no underflow for very
    negative log-probabilities). One class gives 0; n singleton classes give ``log n``.

    Reference: Kuhn, Gal, Farquhar, "Semantic Uncertainty", ICLR 2023; Farquhar et al., Nature 2024.

    Example:
        >>> round(semantic_entropy([0, 0, 1, 1]), 12)  # log 2
        0.69314718056
        >>> semantic_entropy([3, 3, 3])
        0.0
    """
    labels = as_partition(partition)
    _, inverse = np.unique(labels, return_inverse=True)
    n_classes = int(inverse.max()) + 1
    if log_probs is None:
        p = np.bincount(inverse, minlength=n_classes) / labels.size
        log_p = np.log(p)
    else:
        lp = as_float_array(log_probs, "log_probs", allow_nan=True)
        check_same_length(labels, lp, "partition", "log_probs")
        if np.any(np.isnan(lp)) or np.any(lp == np.inf):
            raise ValueError("log_probs holds NaN or +inf values")
        if np.all(lp == -np.inf):
            raise ValueError("log_probs are all -inf: every generation has probability zero")
        class_lp = np.array([logsumexp(lp[inverse == c]) for c in range(n_classes)])
        log_p = class_lp - logsumexp(class_lp)
        p = np.exp(log_p)
    terms = np.where(p > 0, -p * np.where(p > 0, log_p, 0.0), 0.0)
    return float(max(0.0, np.sum(np.sort(terms))))  # sorted: independent of label order
