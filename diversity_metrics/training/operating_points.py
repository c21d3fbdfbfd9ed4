"""Choosing a learned judge's named operating points from partitions (embeddings computed once).

A judge's pair scores do not depend on its threshold, so every within-group pair is scored once
(:func:`group_score_matrices`) and partitions at any threshold are replayed exactly as the engine makes
them (:func:`replay_partitions`): identical texts share a class, pairs of short responses (<= 5 words
each) are decided by the short rule, every other pair is equivalent iff ``score > threshold``, and the
strategy (``greedy`` by default) turns the decisions into classes.

* :func:`class_count_point` -- the ``noveltybench`` point: the threshold whose mean class counts are
  closest to reference ones (NoveltyBench's official partitions of the shared generation files),
  minimising ``sum_s ((mean_s(t) - ref_s) / ref_s)^2`` over a grid.
* :func:`mixed_length_point` -- the ``noveltybench`` point's threshold for mixed-length pairs (one response
  of at most 5 words, one longer: the pairs NoveltyBench's short rule leaves to its classifier): the score
  quantile at which the judge merges the same share of those pairs as the official partitions did, over the
  comparisons NoveltyBench's representative-greedy pipeline made (:func:`greedy_decisions`).
* :func:`probe_point` -- the ``darling`` point: on groups of paraphrases plus different-content answers,
  the threshold with the highest balanced accuracy ``(paraphrase recall + separation) / 2``.
* :func:`probe_mixed_length_point` -- an optional ``mixed_length`` threshold for the ``darling`` point: the
  ``darling`` rule applied to the probe groups' mixed-length pairs as pair decisions (shipped since v6).

Example:
    >>> m = [np.array([[1.0, 0.9, 0.2], [0.9, 1.0, 0.1], [0.2, 0.1, 1.0]])]
    >>> replay_partitions([["a b c d e f", "a b c d e g", "x y z u v w"]], m, 0.5)
    [[0, 0, 1]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from diversity_metrics.judges.learned import LearnedJudge, point_mixed_threshold, rescale_to_threshold
from diversity_metrics.judges.short_rule import mixed_length, short_rule_decision
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
        out.set_point(point, judge.config["operating_points"][point])
    return out

__all__ = [
    "class_count_point",
    "greedy_decisions",
    "group_score_matrices",
    "memoised",
    "mixed_length_point",
    "probe_mixed_length_point",
    "choose_operating_points",
    "probe_point",
    "replay_partitions",
]


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
    mixed_threshold: float | None = None,
) -> list[list[int]]:
    """Partitions the engine would return for ``groups`` at ``threshold``, from precomputed score matrices.

    ``mixed_threshold`` replays a point with a ``mixed_length`` threshold: pairs of one response of at most 5
    words and one longer are then equivalent iff their score exceeds it (their score rescaled as the judge does).
    """
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
                s = m[a, b]
                if rule is None and mixed_threshold is not None and mixed_length(g[a], g[b]):
                    s = float(rescale_to_threshold(np.array([s]), mixed_threshold, threshold)[0])
                scores[k] = s if rule is None else float(rule)
                equal[k] = (s > threshold) if rule is None else rule
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


def greedy_decisions(texts: Sequence[str], partition: Sequence[int]) -> list[tuple[int, int, bool]]:
    """``(i, representative, merged?)`` for every comparison NoveltyBench's representative-greedy pipeline made.

    NoveltyBench's ``partition_responses`` compares each response with the first member (representative) of
    every class so far, in order, and stops at the first match; replaying that on a stored partition recovers
    each decision its classifier (or short rule) made.

    Example:
        >>> greedy_decisions(["a", "b", "c"], [0, 1, 0])
        [(1, 0, False), (2, 0, True)]
    """
    if len(texts) != len(partition):
        raise ValueError(f"texts and partition have mismatched lengths: {len(texts)} != {len(partition)}")
    reps: dict[int, int] = {}
    order: list[int] = []
    out = []
    for i, c in enumerate(partition):
        for c2 in order:
            out.append((i, reps[c2], c2 == c))
            if c2 == c:
                break
        if c not in reps:
            reps[c] = i
            order.append(c)
    return out


def mixed_length_point(
    systems: Sequence[tuple[Sequence[Sequence[str]], Sequence[np.ndarray], Sequence[Sequence[int]]]],
) -> tuple[float, float, int]:
    """``(threshold, official merge rate, n)`` for mixed-length pairs from ``(groups, matrices, official partitions)``.

    Over the comparisons the official representative-greedy partitions made (:func:`greedy_decisions`) between
    two different texts of which one has at most 5 words and the other more (:func:`~diversity_metrics.judges.
    short_rule.mixed_length`), ``rate`` is the share the official pipeline merged and the threshold the
    ``1 - rate`` quantile of the judge's scores of the same comparisons, so the judge merges the same share.
    Rounded to 4 decimals, at least 0.0001.
    """
    scores: list[float] = []
    merged: list[bool] = []
    for groups, matrices, partitions in systems:
        for g, m, part in zip(groups, matrices, partitions, strict=True):
            for i, rep, same in greedy_decisions(g, part):
                if g[i] != g[rep] and mixed_length(g[i], g[rep]):
                    scores.append(float(m[i, rep]))
                    merged.append(bool(same))
    if not scores:
        raise ValueError("no mixed-length comparisons (one response <= 5 words, the other longer) in these partitions")
    rate = float(np.mean(merged))
    threshold = min(max(round(float(np.quantile(scores, 1.0 - rate)), 4), 1e-4), 0.9999)
    return threshold, rate, len(scores)


def probe_mixed_length_point(
    groups: Sequence[Sequence[str]],
    matrices: Sequence[np.ndarray],
    n_paraphrases: int = 3,
    min_recall: float = 0.80,
    grid: Sequence[float] = tuple(np.round(np.arange(0.02, 0.981, 0.01), 2)),
) -> tuple[float, float, float, int]:
    """``(threshold, recall, separation, n)``: a ``mixed_length`` threshold chosen on probe groups' pairs.

    Over the within-group pairs of one response of at most 5 words and one longer
    (:func:`~diversity_metrics.judges.short_rule.mixed_length`; ``n`` of them), recall = share of paraphrase /
    paraphrase pairs scored above the threshold and separation = share of the others at or below it (pair
    decisions: the ``darling`` rule of :func:`probe_point` applied to pairs). The threshold on ``grid`` with the
    highest separation among those whose recall is at least ``min_recall`` (ties: the higher recall, then the
    larger threshold; none: the highest balanced accuracy).
    """
    scores: list[float] = []
    labels: list[bool] = []
    for g, m in zip(groups, matrices, strict=True):
        for i in range(len(g)):
            for j in range(i + 1, len(g)):
                if mixed_length(g[i], g[j]):
                    scores.append(float(m[i, j]))
                    labels.append(j < n_paraphrases)
    y = np.asarray(labels, dtype=bool)
    if not y.any() or y.all():
        raise ValueError("the probe groups need mixed-length paraphrase pairs and mixed-length other pairs "
                         "(one response <= 5 words, the other longer)")
    sc = np.asarray(scores)
    rows = [(float(np.mean(sc[y] > t)), float(np.mean(sc[~y] <= t)), float(t)) for t in grid]
    meeting = [(sep, r, t) for r, sep, t in rows if r >= min_recall]
    if meeting:
        separation, recall, t = max(meeting)
    else:
        _, t, recall, separation = max((r + sep, t, r, sep) for r, sep, t in rows)
    return t, recall, separation, len(sc)


def choose_operating_points(
    systems: dict[str, tuple[Sequence[Sequence[str]], Sequence[np.ndarray], Sequence[Sequence[int]]]],
    probe_groups: Sequence[Sequence[str]],
    probe_matrices: Sequence[np.ndarray],
    human: float,
    *,
    min_recall: float = 0.80,
    probe_names: Sequence[str] = (),
    darling_mixed_length: bool = False,
) -> tuple[dict[str, Any], dict[str, str], dict[str, Any]]:
    """The shipped judge's three named points, their rules (text) and figures, from precomputed score matrices.

    ``systems``: name -> (groups, score matrices, official partitions) of NoveltyBench's shared generation
    files; ``probe_groups`` (3 paraphrases first) with their matrices; ``human``: the accuracy-optimal
    threshold the head's training chose. Under each strategy, ``darling`` = :func:`probe_point` with
    ``min_recall``; ``noveltybench`` = :func:`class_count_point` against the official mean class counts plus,
    for every strategy, the :func:`mixed_length_point` threshold. With ``darling_mixed_length``, ``darling``
    also gets a ``mixed_length`` threshold, :func:`probe_mixed_length_point` on the probe groups with ``min_recall``,
    chosen first: its per-strategy thresholds are then chosen with it in place, so that the partitions the point
    gives (both thresholds applied) keep the probe's recall >= ``min_recall``.
    """
    from diversity_metrics.strategies import STRATEGIES

    official = {name: float(np.mean([max(p) + 1 for p in parts])) for name, (_, _, parts) in systems.items()}
    refs = [(groups, mats, official[name]) for name, (groups, mats, _) in systems.items()]
    mixed, rate, n_mixed = mixed_length_point(list(systems.values()))
    noveltybench: dict[str, float] = {st: class_count_point(refs, strategy=st)[0] for st in STRATEGIES}
    noveltybench["mixed_length"] = mixed
    t_m = None
    if darling_mixed_length:
        t_m, r_m, s_m, n_m = probe_mixed_length_point(probe_groups, probe_matrices, min_recall=min_recall)
    darling: dict[str, float] = {
        st: probe_point(probe_groups, probe_matrices, min_recall=min_recall, strategy=st, mixed_threshold=t_m)[0]
        for st in STRATEGIES
    }
    if t_m is not None:
        darling["mixed_length"] = t_m
    points: dict[str, Any] = {"darling": darling, "human": human, "noveltybench": noveltybench}
    files = " and ".join(f"{name}.jsonl ({official[name]:.2f})" for name in systems)
    rules = {
        "noveltybench": f"grid 0.02-0.98 step 0.01, under each strategy: mean class counts (normalized short rule) "
        f"closest to the official partitions of shared generations/{files}; mixed_length: the judge's score quantile "
        f"that merges the official share ({rate:.3f}) of the {n_mixed} official greedy comparisons between a "
        "response of at most 5 words and a longer one",
        "darling": f"grid 0.02-0.98 step 0.01, under each strategy: highest separation among thresholds that keep "
        f"paraphrase recall >= {min_recall:.2f} on the {len(probe_groups)} pooled groups of "
        f"{' + '.join(probe_names) or 'the probe'} (normalized short rule)",
    }
    if darling_mixed_length:
        rules["darling"] += (f"; mixed_length (chosen first, then in place while the per-strategy thresholds are "
                             f"chosen): the same rule on the {n_m} pairs of those groups between a response "
                             f"of at most 5 words and a longer one, as pair decisions (recall {r_m:.3f}, "
                             f"separation {s_m:.3f})")
    figures: dict[str, Any] = {}
    for name, value in points.items():
        figures[name] = {}
        point_mixed = point_mixed_threshold(value)
        for st in STRATEGIES:
            t = value[st] if isinstance(value, dict) else value
            row: dict[str, float] = {"threshold": round(float(t), 4)}
            if point_mixed is not None:
                row["mixed_length"] = point_mixed
            for sname, (groups, mats, _) in systems.items():
                parts = replay_partitions(groups, mats, t, strategy=st, mixed_threshold=point_mixed)
                row[f"classes_{sname}"] = round(float(np.mean([max(p) + 1 for p in parts])), 3)
            _, r, sep = probe_point(probe_groups, probe_matrices, grid=[t], strategy=st, mixed_threshold=point_mixed)
            row["probe_recall"], row["probe_separation"] = round(r, 3), round(sep, 3)
            figures[name][st] = row
    return points, rules, figures
