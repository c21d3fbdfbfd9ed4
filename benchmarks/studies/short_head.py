"""Study (2026-12-07, after v5.1): a second head for short pairs (config format 6), length-gated, not shipped.

``head_augmentation.py`` found that adding the paraphrase-group pairs to the one head's training helps the probes
and costs cv1000. Here the human head is kept and a *short head* is fitted on the human pairs weighted by the length
gate (1 when the shorter answer has at most ``lo`` words, 0 from ``hi``, linear in log words between) plus the group
pairs (total weight ``alpha`` x the human pairs'); the judge blends the two logits by the gate
(``diversity_metrics.training.train.fit_heads`` / ``LearnedJudge`` with ``short_head``: the library's own path).

Below, the earlier study's description of the data (the same 4,275 pairs). The shipped head is fitted on NoveltyBench's 800 human training pairs only; the paraphrase groups written for this
project (``benchmarks/data/paraphrase_train*.jsonl``, disjoint from every probe) trained only the encoder's adapter.
Here 120 groups of each of the five files (seeded) add their pairs to the head's training -- paraphrase / paraphrase
pairs labelled 1, paraphrase / different-answer pairs 0 -- with a total sample weight of ``alpha`` times the human
pairs'. For each ``alpha`` it prints, with the shipped features and adapter:

* held-out ROC AUC on the 200 held-out human pairs (head fitted on the 800) and cv1000 (5 prompt-grouped folds,
  seed 1, the augmentation added to every fold's training), as ``judge_experiments.py --only "(8)"``;
* the ``darling`` rule re-applied (greedy; highest separation with recall >= 0.80 on probes A + B pooled) and probes
  A / B / C recall / separation at that threshold, as ``paraphrase_probe.py``.

for each gate (``--gates``) and ``alpha`` in 0.3, 1, 3 (``alpha = 0``: no short head, the shipped judge: 0.809,
0.830, 0.841 / 0.903, 0.791 / 0.753, 0.733 / 0.716). ``benchmarks/train_default_judge.py --short-head`` builds the
gate 40-150, alpha 1 judge in full (its ``C`` re-chosen by cross-validation: 0.1).

With ``--official`` each row also prints GPT-4o's and the human file's mean classes and ARI against NoveltyBench's
official partitions (greedy, at the row's ``darling`` threshold; as ``benchmarks/partition_agreement.py``; alpha 0
gives the shipped default point's 1.83 / 0.442 and 6.96 / 0.698), and how many of ``mixed_length_pairs.py``'s six
one-word-vs-longer pairs of different answers score above it (v5.1: 0 of 6, max 0.073). ``--nonneg length_ratio`` keeps
that weight >= 0 in both heads (the human head's is already positive, so only the short head changes).

Added after the narrow gate (docs/model-card.md, "Mixed-length groups and a short-answer feature"): ``--groups`` picks
the group files (e.g. with ``paraphrase_train_mixed`` and ``paraphrase_train_mixed_facts``), ``--alphas`` the weights,
``--feature-set`` other pair features than the shipped judge's (e.g. ``cos+lex+struct+tok+ctr+ptok+ans``; give a
``--cache`` of that set), ``--short-exclude F ...`` fixes those short-head weights at 0, and ``--official`` also counts
the probes' paraphrase / different pairs of a <= 3-word and a longer answer merged (v5.1: 4 of 40).
``--mixed-threshold`` adds a ``mixed_length`` threshold for the ``darling`` point (the mechanism the ``noveltybench``
point uses since v5.1), chosen by the ``darling`` rule on probes A + B's mixed-length pairs only (one answer of at most
5 words), with A + B's and C's mixed pairs' recall / separation and the six pairs merged at it.

    python benchmarks/studies/short_head.py [--cache FILE.npy] [--gates 40,150 30,100 60,250] [--official] [--nonneg length_ratio]   # ~4 min on 2 CPU cores (80 s with --cache)
        [--groups STEM ...] [--alphas 0 1] [--feature-set SET] [--short-exclude length_ratio log_max_words]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np
from head_study_setup import (
    TRAIN_FILES,
    darling_probe_figures,
    load_study,
    at_point,
    mixed_length_darling,
    official_agreement,
    probe_figures,
    probe_mixed_length_merges,
    with_heads,
)
from mixed_length_pairs import PAIRS as MIXED_PAIRS

ALPHAS = (0.0, 0.3, 1.0, 3.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=None, help="human-pair feature cache (.npy) to write / reuse")
    parser.add_argument("--per-file", type=int, default=120)
    parser.add_argument("--groups", nargs="+", default=list(TRAIN_FILES),
                        help="paraphrase-group files (stems in benchmarks/data) the short head is fitted on")
    parser.add_argument("--gates", nargs="+", default=["40,150", "30,100", "60,250"], help="lo,hi words")
    parser.add_argument("--alphas", type=float, nargs="+", default=list(ALPHAS), help="group-pair weights (0: no short head)")
    parser.add_argument("--feature-set", default=None,
                        help="pair features instead of the shipped judge's (e.g. cos+lex+struct+tok+ctr+ptok+ans)")
    parser.add_argument("--short-exclude", nargs="*", default=[],
                        help="features whose short-head weight is fixed at 0 (e.g. length_ratio log_max_words)")
    parser.add_argument("--nonneg", nargs="*", default=[],
                        help="more features whose weights both heads must keep >= 0 (e.g. length_ratio)")
    parser.add_argument("--official", action="store_true",
                        help="also GPT-4o / humans classes and ARI against the official partitions at the darling threshold")
    parser.add_argument("--mixed-threshold", action="store_true",
                        help="also a mixed_length threshold for the darling point, chosen on probes A + B's mixed-length pairs")
    args = parser.parse_args()

    from sklearn.metrics import roc_auc_score

    from diversity_metrics.judges.learned import GATE_FEATURE
    from diversity_metrics.training.train import ShortHeadData, _predict, fit_heads

    t0 = time.perf_counter()
    st = load_study(args.cache, args.per_file, tuple(args.groups), args.feature_set)
    base, x, y, xa, ya, probes, tr, te, outer = st.base, st.x, st.y, st.xa, st.ya, st.probes, st.tr, st.te, st.outer
    names = base.config["feature_names"]
    unknown = sorted(set(args.nonneg) | set(args.short_exclude) - set(names))
    if unknown:
        parser.error(f"--nonneg / --short-exclude: not pair features of the judge: {unknown}")
    drop = [names.index(n) for n in args.short_exclude]

    def fit(xh: np.ndarray, yh: np.ndarray, short: ShortHeadData | None) -> dict[str, np.ndarray]:
        """fit_heads, with the --short-exclude columns zeroed (so their weight is 0) for the short head only."""
        w = fit_heads(xh, yh, 0.3, 0, mask, short)
        if short is None or not drop:
            return w
        xz, xs = xh.copy(), short.x.copy()
        xz[:, drop] = 0.0
        xs[:, drop] = 0.0
        ws = fit_heads(xz, yh, 0.3, 0, mask, dataclasses.replace(short, x=xs))
        return {**w, **{k: v for k, v in ws.items() if k.startswith("short_")}}
    mask = st.mask | np.isin(names, args.nonneg)

    gi = names.index(GATE_FEATURE)
    official = ("  GPT-4o / humans classes / ARI at it (official 2.89 / 6.58); mixed_length_pairs.py pairs merged at it;"
                " probes' different pairs of a <= 3-word and a longer answer merged at it"
                if args.official else "")
    print(f"{'gate':>8s} {'alpha':>6s} {'held-out':>8s} {'cv1000':>7s} {'darling':>7s}  probe A / B / C recall/separation at it{official}")
    for gate_arg in args.gates:
        lo, hi = (float(v) for v in gate_arg.split(","))
        for alpha in args.alphas:
            short = ShortHeadData(xa, ya, alpha, gi, (lo, hi)) if alpha > 0 else None
            w = fit(x[tr], y[tr], short)
            held = roc_auc_score(y[te], _predict(w, x[te], short))
            pooled = np.empty(len(y))
            for k in range(5):
                test = outer == k
                pooled[test] = _predict(fit(x[~test], y[~test], short), x[test], short)
            judge = with_heads(base, w, (lo, hi) if short else None)
            t_d, figures = darling_probe_figures(judge, probes)
            six = [float(judge.score_pairs([(a, b)], prompt=p)[0]) for p, a, b in MIXED_PAIRS]
            if args.official:
                figures += "  {:.2f} / {:.3f}, {:.2f} / {:.3f}".format(
                    *official_agreement(judge, t_d, "gpt-4o"), *official_agreement(judge, t_d, "humans"))
                figures += f"; {sum(v > t_d for v in six)} of {len(six)} (max {max(six):.3f})"
                figures += "; probes' mixed-length different pairs merged {} of {}".format(
                    *probe_mixed_length_merges(judge, probes, t_d))
            if args.mixed_threshold:
                t_m, mixed_figures = mixed_length_darling(judge, probes)
                both = at_point(judge, t_d, t_m)
                figures += (f"; mixed_length threshold {t_m:.2f}: A + B / C mixed pairs {mixed_figures}, "
                            f"six pairs merged {sum(v > t_m for v in six)} of {len(six)}; with it, probes A / B / C "
                            f"{probe_figures(both, probes, t_d)}, probes' mixed-length different pairs merged "
                            "{} of {}".format(*probe_mixed_length_merges(both, probes, t_d)))
                if args.official:
                    figures += ", GPT-4o / humans {:.2f} / {:.3f}, {:.2f} / {:.3f}".format(
                        *official_agreement(judge, t_d, "gpt-4o", t_m), *official_agreement(judge, t_d, "humans", t_m))
            print(f"{gate_arg:>8s} {alpha:6.2f} {held:8.3f} {roc_auc_score(y, pooled):7.4f} {t_d:7.2f}  {figures}", flush=True)
    print(f"{time.perf_counter() - t0:.0f} s; 2-core x86_64 CPU, no GPU")


if __name__ == "__main__":
    main()
