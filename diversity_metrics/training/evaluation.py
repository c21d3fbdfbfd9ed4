"""Judge evaluation: ROC AUC, accuracy at a threshold, threshold calibration and bootstrap intervals.

* ``accuracy(t) = mean(1[s_i > t] == y_i)``; :func:`calibrate_threshold` returns the ``t`` (a midpoint
  between consecutive distinct scores) that maximises it, the median one when several tie.
* :func:`bootstrap_metrics` resamples pairs with replacement (``n_boot`` times, seeded) and reports the
  2.5 / 97.5 percentiles of ROC AUC and accuracy (percentile bootstrap, Efron & Tibshirani 1993).

Example:
    >>> import numpy as np
    >>> calibrate_threshold(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1]))
    0.5
"""

from __future__ import annotations

from typing import Any

import numpy as np

from diversity_metrics._validation import as_float_array, check_same_length

__all__ = ["accuracy_at", "bootstrap_metrics", "calibrate_threshold", "roc_auc"]


def _labels(labels: Any) -> np.ndarray:
    y = np.asarray(labels)
    if y.ndim != 1 or not np.all((y == 0) | (y == 1)):
        raise ValueError("labels must be a one-dimensional sequence of 0/1 values")
    return y.astype(np.int64)


def roc_auc(scores: Any, labels: Any) -> float:
    """ROC AUC = P(score of a random positive > score of a random negative), ties count 1/2."""
    from sklearn.metrics import roc_auc_score

    s, y = as_float_array(scores, "scores"), _labels(labels)
    check_same_length(s, y, "scores", "labels")
    if y.min() == y.max():
        raise ValueError("labels hold a single class; ROC AUC needs both 0 and 1")
    return float(roc_auc_score(y, s))


def accuracy_at(scores: Any, labels: Any, threshold: float) -> float:
    """Fraction of pairs with ``(score > threshold) == label``."""
    s, y = as_float_array(scores, "scores"), _labels(labels)
    check_same_length(s, y, "scores", "labels")
    return float(np.mean((s > threshold) == (y == 1)))


def calibrate_threshold(scores: Any, labels: Any) -> float:
    """Threshold maximising accuracy of ``score > t`` (median of the tied maximisers)."""
    s, y = as_float_array(scores, "scores"), _labels(labels)
    check_same_length(s, y, "scores", "labels")
    u = np.unique(s)
    cands = np.concatenate([[u[0] - 1e-6], (u[:-1] + u[1:]) / 2, [u[-1] + 1e-6]])
    order = np.argsort(s)
    s_sorted, y_sorted = s[order], y[order]
    # predicted positive iff s > t: negatives with s <= t are right, positives with s > t are right
    below = np.searchsorted(s_sorted, cands, side="right")
    neg_below = np.concatenate([[0], np.cumsum(1 - y_sorted)])[below]
    pos_above = y.sum() - np.concatenate([[0], np.cumsum(y_sorted)])[below]
    acc = (neg_below + pos_above) / len(s)
    best = np.flatnonzero(acc == acc.max())
    return float(cands[best[len(best) // 2]])


def bootstrap_metrics(
    scores: Any, labels: Any, threshold: float, *, n_boot: int = 2000, seed: int = 0
) -> dict[str, float]:
    """Point estimates and 95% percentile-bootstrap intervals of ROC AUC and accuracy at ``threshold``."""
    from sklearn.metrics import roc_auc_score

    s, y = as_float_array(scores, "scores"), _labels(labels)
    check_same_length(s, y, "scores", "labels")
    rng = np.random.default_rng(seed)
    aucs, accs = [], []
    correct = (s > threshold) == (y == 1)
    for _ in range(n_boot):
        i = rng.integers(0, len(s), len(s))
        accs.append(correct[i].mean())
        if 0 < y[i].sum() < len(i):
            aucs.append(roc_auc_score(y[i], s[i]))
    lo_auc, hi_auc = np.percentile(aucs, [2.5, 97.5])
    lo_acc, hi_acc = np.percentile(accs, [2.5, 97.5])
    return {
        "n": len(s),
        "auc": roc_auc(s, y),
        "auc_ci95": [float(lo_auc), float(hi_auc)],
        "accuracy": float(correct.mean()),
        "accuracy_ci95": [float(lo_acc), float(hi_acc)],
        "threshold": float(threshold),
    }
