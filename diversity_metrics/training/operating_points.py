"""Choosing a learned judge's named operating points from partitions (embeddings computed once).

A judge's pair scores do not depend on its threshold, so every within-group pair is scored once
(:func:`group_score_matrices`) and partitions at any threshold are replayed exactly as the engine makes
them (:func:`replay_partitions`): identical texts share a class, pairs of short responses (<= 5 words
each) are decided by the short rule, every other pair is equivalent iff ``score > threshold``, and the
strategy (``greedy`` by default) turns the decisions into classes.

* :func:`class_count_point` -- the ``noveltybench`` point: the threshold whose mean class counts are
  closest to reference ones (NoveltyBench's official partitions of the shared generation files),
  minimising ``sum_s ((mean_s(t) - ref_s) / ref_s)^2`` over a grid.
* :func:`probe_point` -- the ``darling`` point: on groups of paraphrases plus different-content answers,
  the threshold with the highest balanced accuracy ``(paraphrase recall + separation) / 2``.

Example:
    >>> m = [np.array([[1.0, 0.9, 0.2], [0.9, 1.0, 0.1], [0.2, 0.1, 1.0]])]
    >>> replay_partitions([["a b c d e f", "a b c d e g", "x y z u v w"]], m, 0.5)
    [[0, 0, 1]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from diversity_metrics.judges.learned import LearnedJudge, point_thresholds
from diversity_metrics.judges.short_rule import short_rule_decision
from diversity_metrics.strategies import run_strategy


class _Memoised(LearnedJudge):
    _memo: dict[str, np.ndarray]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if missing:
            self._memo.update(zip(missing, super().embed(missing), strict=True))
        return np.stack([self._memo[t] for t in texts])


def memoised(
    judge: LearnedJudge,
    memo: dict[str, np.ndarray] | None = None,
    *,
    threshold: float | None = None,
    point: str | None = None,
) -> LearnedJudge:
    """A copy of ``judge`` (sharing its encoder) whose ``embed`` remembers each text's row in ``memo``.

    Copies at other thresholds that share one ``memo`` embed each text once (benchmarks that partition the
    same responses at several operating points); ``threshold`` sets the copy's threshold (under every
    strategy) and ``point`` one of the folder's named operating points (with its per-strategy thresholds).
    """
    import copy

    if threshold is not None and point is not None:
        raise ValueError("give threshold or point, not both")
    out = copy.copy(judge)
    out.__class__ = _Memoised
    out._memo = {} if memo is None else memo
    out._variants = {}  # its own for_strategy copies (which then share this memo)
    if threshold is not None:
        out.threshold = float(threshold)
        out.operating_point = "custom"
    if point is not None:
        out.threshold, by_strategy = point_thresholds(judge.config["operating_points"][point])
        out.strategy_thresholds = by_strategy  # after the threshold: setting it by hand clears them
        out.operating_point = point
    return out

__all__ = ["class_count_point", "group_score_matrices", "memoised", "probe_point", "replay_partitions"]


def group_score_matrices(
    judge: Any,
    groups: Sequence[Sequence[str]],
    batch: int = 4096,
    prompts: Sequence[str | None] | None = None,
) -> list[np.ndarray]:
    """Symmetric matrices of ``judge`` scores over each group's texts (one encoder pass per distinct text).

    ``judge`` is an :class:`~diversity_metrics.judges.base.EmbeddingJudge` (``embed`` + ``score_embeddings``);
    ``prompts`` (one per group) reach judges that read them (``uses_prompt``), as the engine passes them.
    """
    if prompts is not None and len(prompts) != len(groups):
        raise ValueError(f"prompts and groups have mismatched lengths: {len(prompts)} != {len(groups)}")
    texts = list(dict.fromkeys(t for g in groups for t in g))
    index = {t: i for i, t in enumerate(texts)}
    emb = judge.embed(texts)
    out = []
    for gi, g in enumerate(groups):
        extra = {"prompt": prompts[gi]} if prompts is not None and getattr(judge, "uses_prompt", False) else {}
        n = len(g)
        m = np.eye(n)
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
        for s in range(0, len(pairs), batch):
            part = pairs[s : s + batch]
            ia = [index[g[i]] for i, _ in part]
            ib = [index[g[j]] for _, j in part]
            scores = judge.score_embeddings(
                emb[ia], emb[ib], [g[i] for i, _ in part], [g[j] for _, j in part], **extra
            )
            for (i, j), v in zip(part, scores, strict=True):
                m[i, j] = m[j, i] = v
        out.append(m)
    return out


def replay_partitions(
    groups: Sequence[Sequence[str]],
    matrices: Sequence[np.ndarray],
    threshold: float,
    *,
    strategy: str = "greedy",
    short_rule: str = "normalized",
) -> list[list[int]]:
    """Partitions the engine would return for ``groups`` at ``threshold``, from precomputed score matrices."""
    from diversity_metrics.metrics.partition_metrics import canonical_labels

    out = []
    for g, m in zip(groups, matrices, strict=True):
        first: dict[str, int] = {}
        inverse = [first.setdefault(t, len(first)) for t in g]
        reps = [g.index(t) for t in first]  # position of each distinct text's first occurrence

        def oracle(pairs: list[tuple[int, int]], reps: list[int] = reps, g: Sequence[str] = g, m: np.ndarray = m):
            scores, equal = np.empty(len(pairs)), np.empty(len(pairs), dtype=bool)
            for k, (i, j) in enumerate(pairs):
                a, b = reps[i], reps[j]
                rule = None if short_rule == "off" else short_rule_decision(g[a], g[b], short_rule)
                scores[k] = m[a, b] if rule is None else float(rule)
                equal[k] = (m[a, b] > threshold) if rule is None else rule
            return scores, equal

        labels = run_strategy(strategy, len(reps), oracle, threshold) if len(reps) > 1 else [0] * len(reps)
        out.append(canonical_labels([labels[k] for k in inverse]))
    return out


def class_count_point(
    systems: Sequence[tuple[Sequence[Sequence[str]], Sequence[np.ndarray], float]],
    grid: Sequence[float] = tuple(np.round(np.arange(0.02, 0.981, 0.01), 2)),
    **replay: Any,
) -> tuple[float, list[float]]:
    """Threshold on ``grid`` whose mean class counts best match ``(groups, matrices, reference_mean)`` per system.

    Returns ``(threshold, mean class counts per system at it)``; ties keep the larger threshold.
    """
    best: tuple[float, float, list[float]] | None = None
    for t in grid:
        means = [float(np.mean([max(p) + 1 for p in replay_partitions(g, m, t, **replay)])) for g, m, _ in systems]
        err = sum(((mu - ref) / ref) ** 2 for mu, (_, _, ref) in zip(means, systems, strict=True))
        if best is None or err <= best[0]:
            best = (err, float(t), means)
    assert best is not None
    return best[1], best[2]


def probe_point(
    groups: Sequence[Sequence[str]],
    matrices: Sequence[np.ndarray],
    n_paraphrases: int = 3,
    grid: Sequence[float] = tuple(np.round(np.arange(0.02, 0.981, 0.01), 2)),
    min_recall: float | None = None,
    **replay: Any,
) -> tuple[float, float, float]:
    """``(threshold, recall, separation)`` for groups whose first ``n_paraphrases`` texts are paraphrases.

    recall = share of paraphrase pairs in one class; separation = share of pairs with at least one
    different-content answer in different classes. The threshold on ``grid`` maximising the balanced
    accuracy ``(recall + separation) / 2`` is chosen (ties: the larger threshold); with ``min_recall``, the
    one with the highest separation among those whose recall is at least ``min_recall`` (ties: the higher
    recall, then the larger threshold; none: the balanced-accuracy choice).
    """
    rows = []
    for t in grid:
        para, diff = [], []
        for g, labels in zip(groups, replay_partitions(groups, matrices, t, **replay), strict=True):
            n = len(g)
            for i in range(n):
                for j in range(i + 1, n):
                    if j < n_paraphrases:
                        para.append(labels[i] == labels[j])
                    else:
                        diff.append(labels[i] != labels[j])
        recall, separation = float(np.mean(para)), float(np.mean(diff))
        rows.append((recall + separation, float(t), recall, separation))
    if min_recall is not None:
        meeting = [(sep, r, t) for _, t, r, sep in rows if r >= min_recall]
        if meeting:
            separation, recall, t = max(meeting)
            return t, recall, separation
    _, t, recall, separation = max(rows)
    return t, recall, separation
