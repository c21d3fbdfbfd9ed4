"""Study (judge v5.1, 2026-12-07): train the head on the human pairs plus pairs from this project's paraphrase groups.

The shipped head is fitted on NoveltyBench's 800 human training pairs only; the paraphrase groups written for this
project (``benchmarks/data/paraphrase_train*.jsonl``, disjoint from every probe) trained only the encoder's adapter.
Here 120 groups of each of the five files (seeded) add their pairs to the head's training -- paraphrase / paraphrase
pairs labelled 1, paraphrase / different-answer pairs 0 -- with a total sample weight of ``alpha`` times the human
pairs'. For each ``alpha`` it prints, with the shipped features and adapter:

* held-out ROC AUC on the 200 held-out human pairs (head fitted on the 800) and cv1000 (5 prompt-grouped folds,
  seed 1, the augmentation added to every fold's training), as ``judge_experiments.py --only "(8)"``;
* the ``darling`` rule re-applied (greedy; highest separation with recall >= 0.80 on probes A + B pooled) and probes
  A / B / C recall / separation at that threshold, as ``paraphrase_probe.py``.

``alpha = 0`` reproduces the shipped judge (0.809, 0.830, 0.841 / 0.903, 0.791 / 0.753, 0.733 / 0.716).

    python benchmarks/studies/head_augmentation.py [--cache FILE.npy]      # ~8 min on 2 CPU cores
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from head_study_setup import darling_probe_figures, load_study, with_heads

ALPHAS = (0.0, 0.03, 0.1, 0.3, 1.0, 3.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=None, help="human-pair feature cache (.npy) to write / reuse")
    parser.add_argument("--per-file", type=int, default=120)
    args = parser.parse_args()

    from sklearn.metrics import roc_auc_score

    from diversity_metrics.training.train import _predict, fit_head

    t0 = time.perf_counter()
    st = load_study(args.cache, args.per_file)
    base, x, y, xa, ya, probes, mask, tr, te, outer = (
        st.base, st.x, st.y, st.xa, st.ya, st.probes, st.mask, st.tr, st.te, st.outer)

    def fit(idx: np.ndarray, alpha: float) -> dict[str, np.ndarray]:
        if alpha == 0:
            return fit_head(x[idx], y[idx], 0.3, 0, mask)
        weights = np.concatenate([np.ones(len(idx)), np.full(len(ya), alpha * len(idx) / len(ya))])
        return fit_head(np.vstack([x[idx], xa]), np.concatenate([y[idx], ya]), 0.3, 0, mask, sample_weight=weights)

    print(f"{'alpha':>6s} {'held-out':>8s} {'cv1000':>7s} {'darling':>7s}  probe A / B / C recall/separation at it")
    for alpha in ALPHAS:
        w = fit(tr, alpha)
        held = roc_auc_score(y[te], _predict(w, x[te]))
        pooled = np.empty(len(y))
        for k in range(5):
            test = outer == k
            pooled[test] = _predict(fit(np.where(~test)[0], alpha), x[test])
        t_d, figures = darling_probe_figures(with_heads(base, w), probes)
        print(f"{alpha:6.2f} {held:8.3f} {roc_auc_score(y, pooled):7.4f} {t_d:7.2f}  {figures}", flush=True)
    print(f"{time.perf_counter() - t0:.0f} s; 2-core x86_64 CPU, no GPU")


if __name__ == "__main__":
    main()
