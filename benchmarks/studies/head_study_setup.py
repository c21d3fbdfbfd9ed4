"""Shared set-up of the head studies (``head_augmentation.py``, ``short_head.py``); not a study itself.

Both studies refit the shipped judge's head on the same data and score the same probes:

* the 1,000 human pairs' features under the shipped judge (encoder, adapter, sketch), cached in ``.npy`` on request;
* the paraphrase-group pairs: 120 seeded groups of each of the five ``benchmarks/data/paraphrase_train*.jsonl``
  files, read by the library's :func:`~diversity_metrics.training.data.load_group_pairs` (the reader
  ``train_judge(short_head_groups=...)`` uses), paraphrase / paraphrase pairs 1, paraphrase / different pairs 0;
* probes A / B / C and the ``darling`` rule (greedy; the highest separation with recall >= 0.80 on A + B pooled),
  re-applied to a refitted head, as ``benchmarks/paraphrase_probe.py`` and ``train_default_judge.py`` do.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PAIRS = ROOT.parent / "shared" / "data" / "noveltybench" / "equivalence_pairs_train.jsonl"
DATA = ROOT / "benchmarks" / "data"
TRAIN_FILES = ("paraphrase_train", "paraphrase_train_extra", "paraphrase_train_topics", "paraphrase_train_contrast",
               "paraphrase_train_short")
PROBES = (("A", "paraphrase_probe"), ("B", "paraphrase_probe_b"), ("C", "paraphrase_probe_c"))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def human_features(base: Any, data: Any, cache: Path | None) -> np.ndarray:
    """The feature matrix of ``data``'s pairs under ``base`` (a memoised judge), read from / written to ``cache``."""
    if cache is not None and cache.exists():
        return np.load(cache)
    texts = list(dict.fromkeys([*data.texts_a, *data.texts_b]))
    emb = dict(zip(texts, base.embed(texts), strict=True))
    x = np.vstack([
        base.features(emb[a][None], emb[b][None], [a], [b], p)
        for a, b, p in zip(data.texts_a, data.texts_b, data.prompt_list(), strict=True)
    ])
    if cache is not None:
        np.save(cache, x)
    return x


def group_features(
    base: Any, per_file: int, seed: int = 0, files: tuple[str, ...] = TRAIN_FILES
) -> tuple[np.ndarray, np.ndarray, int]:
    """Features and labels of the pairs of ``files``' paraphrase groups (``per_file`` groups a file), and the number
    of groups."""
    from diversity_metrics.training.data import load_group_pairs

    pairs = load_group_pairs([DATA / f"{name}.jsonl" for name in files], per_file, seed)
    prompts = pairs.prompt_list()
    runs: list[tuple[int, int]] = []  # one run of consecutive pairs a group (one prompt each)
    for i, g in enumerate(pairs.groups):
        if runs and pairs.groups[runs[-1][0]] == g:
            runs[-1] = (runs[-1][0], i + 1)
        else:
            runs.append((i, i + 1))
    parts = []
    for lo, hi in runs:
        ta, tb = pairs.texts_a[lo:hi], pairs.texts_b[lo:hi]
        base.embed(list(dict.fromkeys([*ta, *tb])))  # the group's texts in one batch (paraphrases, then different)
        parts.append(base.features(base.embed(ta), base.embed(tb), ta, tb, prompts[lo]))
    return np.vstack(parts), np.asarray(pairs.labels), len(runs)


def load_probes() -> dict[str, tuple[list[list[str]], list[str]]]:
    """Each probe's groups (paraphrases, then the different answers) and prompts."""
    out = {}
    for key, stem in PROBES:
        rows = read_jsonl(DATA / f"{stem}.jsonl")
        out[key] = ([g["paraphrases"] + g["different"] for g in rows], [g["prompt"] for g in rows])
    return out


def with_heads(base: Any, w: dict[str, np.ndarray], gate_words: tuple[float, float] | None = None) -> Any:
    """A copy of ``base`` (sharing its encoder and memo) scoring with the fitted head(s) ``w`` (``fit_heads``)."""
    import copy

    judge = copy.copy(base)
    judge._variants = {}  # its own for_strategy copies, never the base's
    judge.coef, judge.mean, judge.scale = w["coef"].ravel(), w["mean"].ravel(), w["scale"].ravel()
    judge.intercept = float(np.ravel(w["intercept"])[0])
    if gate_words is not None:
        from diversity_metrics.judges.learned import GATE_FEATURE

        judge.short_head = tuple(w[f"short_{k}"].ravel() for k in ("coef", "mean", "scale")) + (
            float(np.ravel(w["short_intercept"])[0]),)
        judge.gate_words = gate_words
        judge._gate_column = base.config["feature_names"].index(GATE_FEATURE)
    return judge


def _probe_pairs(probes: dict[str, tuple[list[list[str]], list[str]]], keys: str,
                 keep: Callable[[str, str], bool]) -> Iterator[tuple[str, list[tuple[str, str, int]]]]:
    """For each group of the probes ``keys`` (e.g. ``"AB"``): its prompt and the within-group pairs ``(a, b, label)``
    (1: paraphrase / paraphrase; the first 3 texts are the paraphrases) that ``keep(a, b)`` accepts."""
    for key in keys:
        groups, prompts = probes[key]
        for g, prompt in zip(groups, prompts, strict=True):
            pairs = [(g[i], g[k], int(k < 3)) for i in range(3) for k in range(i + 1, len(g))]
            yield prompt, [(a, b, y) for a, b, y in pairs if keep(a, b)]


def probe_mixed_length_merges(judge: Any, probes: dict[str, tuple[list[list[str]], list[str]]], threshold: float,
                              words: int = 3) -> tuple[int, int]:
    """Of the probes' paraphrase / different-answer pairs in which one answer has at most ``words`` words and the
    other more, how many ``judge`` scores above ``threshold`` (merges), and how many there are."""
    def keep(a: str, b: str) -> bool:
        return min(len(a.split()), len(b.split())) <= words < max(len(a.split()), len(b.split()))

    merged = total = 0
    for prompt, pairs in _probe_pairs(probes, "".join(probes), keep):
        different = [(a, b) for a, b, y in pairs if y == 0]
        if different:
            merged += int((judge.score_pairs(different, prompt=prompt) > threshold).sum())
            total += len(different)
    return merged, total


def probe_mixed_pair_scores(judge: Any, probes: dict[str, tuple[list[list[str]], list[str]]],
                            keys: str) -> tuple[np.ndarray, np.ndarray]:
    """Scores and labels (1: paraphrase / paraphrase) of the probes' (``keys``, e.g. ``"AB"``) within-group pairs
    that the library calls mixed-length (``short_rule.mixed_length``: one answer of at most 5 words, one longer)."""
    from diversity_metrics.judges.short_rule import mixed_length

    scores: list[float] = []
    labels: list[int] = []
    for prompt, pairs in _probe_pairs(probes, keys, mixed_length):
        if pairs:
            scores += judge.score_pairs([(a, b) for a, b, _ in pairs], prompt=prompt).tolist()
            labels += [y for _, _, y in pairs]
    return np.asarray(scores), np.asarray(labels)


def mixed_length_darling(judge: Any, probes: dict[str, tuple[list[list[str]], list[str]]],
                         min_recall: float = 0.80) -> tuple[float, str]:
    """A ``mixed_length`` threshold for the ``darling`` point, chosen by the library's
    :func:`~diversity_metrics.training.operating_points.probe_mixed_length_point` on probes A + B (what
    ``train_default_judge.py --darling-mixed-length`` does), and ``"r / s, r / s"`` for A + B's and C's mixed-length
    pairs at it (pair decisions)."""
    from diversity_metrics.training.operating_points import group_score_matrices, probe_mixed_length_point

    groups = probes["A"][0] + probes["B"][0]
    mats = group_score_matrices(judge, groups, prompts=probes["A"][1] + probes["B"][1])
    t_m, r_ab, s_ab, _ = probe_mixed_length_point(groups, mats, min_recall=min_recall)
    s_c, y_c = probe_mixed_pair_scores(judge, probes, "C")
    r_c, sep_c = float(np.mean(s_c[y_c == 1] > t_m)), float(np.mean(s_c[y_c == 0] <= t_m))
    return t_m, f"{r_ab:.3f} / {s_ab:.3f}, {r_c:.3f} / {sep_c:.3f}"


def at_point(judge: Any, threshold: float, mixed: float | None = None) -> Any:
    """A copy of ``judge`` at ``threshold`` (every strategy) with ``mixed`` as its mixed-length threshold."""
    import copy

    out = copy.copy(judge)
    out._variants = {}
    out.threshold = threshold  # the setter clears any per-strategy and mixed-length thresholds
    out.mixed_length_threshold = mixed
    return out


def probe_figures(judge: Any, probes: dict[str, tuple[list[list[str]], list[str]]], threshold: float) -> str:
    """``"r / s, r / s, r / s"``: probes A / B / C recall / separation (greedy) of ``judge`` at ``threshold``."""
    from diversity_metrics.training.operating_points import group_score_matrices, probe_point

    figures = []
    for groups, prompts in probes.values():
        _, r, s = probe_point(groups, group_score_matrices(judge, groups, prompts=prompts), grid=[threshold])
        figures.append(f"{r:.3f} / {s:.3f}")
    return ", ".join(figures)


def darling_probe_figures(judge: Any, probes: dict[str, tuple[list[list[str]], list[str]]]) -> tuple[float, str]:
    """The ``darling`` threshold re-chosen for ``judge`` and ``"r / s, r / s, r / s"`` for probes A / B / C at it."""
    from diversity_metrics.training.operating_points import group_score_matrices, probe_point

    mats = {k: group_score_matrices(judge, groups, prompts=prompts) for k, (groups, prompts) in probes.items()}
    t_d, _, _ = probe_point(probes["A"][0] + probes["B"][0], mats["A"] + mats["B"], min_recall=0.80)
    figures = []
    for k, (groups, _) in probes.items():
        _, r, s = probe_point(groups, mats[k], grid=[t_d])
        figures.append(f"{r:.3f} / {s:.3f}")
    return t_d, ", ".join(figures)


@dataclass
class Study:
    """What both head studies fit and score: the human pairs (features ``x``, labels ``y``, the held-out split
    ``tr`` / ``te`` and cv1000's folds ``outer``), the group pairs ``xa`` / ``ya``, the probes, the monotone mask and the
    memoised shipped judge ``base`` (raw probabilities)."""

    base: Any
    x: np.ndarray
    y: np.ndarray
    xa: np.ndarray
    ya: np.ndarray
    probes: dict[str, tuple[list[list[str]], list[str]]]
    mask: np.ndarray
    tr: np.ndarray
    te: np.ndarray
    outer: np.ndarray


def load_study(
    cache: Path | None, per_file: int, files: tuple[str, ...] = TRAIN_FILES, feature_set: str | None = None
) -> Study:
    """Load the shipped judge and everything a head study needs (the group pairs from ``files``); prints what it
    read and how long it took. ``feature_set`` replaces the shipped judge's pair features (same encoder, adapter
    and sketch), e.g. one with more feature groups; ``cache`` must then be a file of that feature set."""
    from diversity_metrics.judges.learned import LearnedJudge
    from diversity_metrics.training.data import grouped_folds, grouped_split, load_pairs
    from diversity_metrics.training.operating_points import memoised
    from diversity_metrics.training.train import monotone_mask

    t0 = time.perf_counter()
    data = load_pairs(PAIRS)
    y = np.asarray(data.labels)
    base = memoised(LearnedJudge.load(device="cpu"), threshold=0.5)  # raw probabilities
    if feature_set is not None:
        from diversity_metrics.judges.pair_features import feature_names

        base.feature_set = feature_set
        dim = int(base.config.get("embedding_dim", 384))
        base.config = dict(base.config, feature_set=feature_set, feature_names=feature_names(feature_set, dim))
    x = human_features(base, data, cache)
    if x.shape[1] != len(base.config["feature_names"]):
        raise ValueError(f"{cache}: {x.shape[1]} feature columns, feature set {base.feature_set!r} has "
                         f"{len(base.config['feature_names'])}; give another --cache")
    xa, ya, n_groups = group_features(base, per_file, files=files)
    print(f"{len(y)} human pairs; {n_groups} paraphrase groups -> {len(ya)} added pairs ({ya.mean():.2f} positive); "
          f"features in {time.perf_counter() - t0:.0f} s")
    tr, te = (np.asarray(v) for v in grouped_split(data.groups, 0.2, 0))
    return Study(base, x, y, xa, ya, load_probes(), monotone_mask(base.config["feature_names"]), tr, te,
                 grouped_folds(data.groups, y, 5, 1))


@functools.cache
def _generations(system: str) -> tuple[list[dict], list[list[str]], list[str]]:
    rows = read_jsonl(ROOT.parent / "shared" / "data" / "noveltybench" / "generations" / f"{system}.jsonl")
    return rows, [r["generations"] for r in rows], [r["prompt"] for r in rows]


def official_agreement(judge: Any, threshold: float, system: str = "gpt-4o",
                       mixed: float | None = None) -> tuple[float, float]:
    """Mean classes and mean ARI against NoveltyBench's official partitions of ``system``'s generations (greedy,
    ``judge`` at ``threshold`` and, when given, the ``mixed`` mixed-length threshold; the default short rule), as
    ``benchmarks/partition_agreement.py`` prints them."""
    from sklearn.metrics import adjusted_rand_score

    from diversity_metrics import partition_batch

    rows, groups, prompts = _generations(system)
    ours = partition_batch(groups, prompts=prompts, judge=at_point(judge, threshold, mixed), strategy="greedy")
    classes = float(np.mean([max(p) + 1 for p in ours]))
    return classes, float(np.mean([adjusted_rand_score(r["partition"], p) for r, p in zip(rows, ours, strict=True)]))
