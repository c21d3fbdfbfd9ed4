"""Study (judge v5.1, 2026-12-07): do labeller fixed effects in the head's training lift cv1000?

NoveltyBench's 1,000 human pairs come from 8 labellers whose "similar" rates range 14-44%, so part of the label
is the labeller, not the pair. This refits the shipped head's model (monotone logistic regression on the shipped
judge's 30 pair features, shipped adapter) in cv1000's folds (5 prompt-grouped folds, seed 1, as
``benchmarks/judge_experiments.py --only "(8)"``) three ways and prints the pooled out-of-fold ROC AUC:

* as shipped;
* with one-hot labeller columns in training (unconstrained), set to their training mean when scoring, so the score
  never reads a labeller (a judge does not know one) while the similarity weights are fitted net of labeller bias;
* with per-labeller class-balancing sample weights.

    python benchmarks/studies/labeller_effects.py [--cache FILE.npy]        # ~5 min on 2 CPU cores (embedding)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

PAIRS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "noveltybench" / "equivalence_pairs_train.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=None, help="feature cache (.npy) to write / reuse")
    args = parser.parse_args()

    from sklearn.metrics import roc_auc_score

    from diversity_metrics.judges.learned import LearnedJudge
    from diversity_metrics.training.data import grouped_folds, load_pairs
    from diversity_metrics.training.train import _predict, fit_head, monotone_mask

    rows = [json.loads(line) for line in PAIRS.read_text().splitlines() if line.strip()]
    data = load_pairs(PAIRS)
    y = np.asarray(data.labels)
    judge = LearnedJudge.load(device="cpu")
    if args.cache is not None and args.cache.exists():
        x = np.load(args.cache)
    else:
        t0 = time.perf_counter()
        texts = list(dict.fromkeys([*data.texts_a, *data.texts_b]))
        emb = dict(zip(texts, judge.embed(texts), strict=True))
        x = np.vstack([
            judge.features(emb[a][None], emb[b][None], [a], [b], p)
            for a, b, p in zip(data.texts_a, data.texts_b, data.prompt_list(), strict=True)
        ])
        print(f"features {x.shape} in {time.perf_counter() - t0:.0f} s")
        if args.cache is not None:
            np.save(args.cache, x)
    if len(rows) != len(y) or any(r["generation_0"] != a for r, a in zip(rows, data.texts_a, strict=True)):
        raise ValueError("the pairs file's rows and load_pairs' pairs are not in the same order")
    labellers = sorted({r["labeler"] for r in rows})
    one_hot = np.array([[r["labeler"] == name for name in labellers] for r in rows], dtype=np.float64)
    mask = monotone_mask(judge.config["feature_names"])
    outer = grouped_folds(data.groups, y, 5, 1)

    def cv(with_labellers: bool, c: float = 0.3, weight: np.ndarray | None = None) -> float:
        pooled = np.empty(len(y))
        xt = np.hstack([x, one_hot]) if with_labellers else x
        m = np.concatenate([mask, np.zeros(one_hot.shape[1], bool)]) if with_labellers else mask
        for k in range(5):
            test = outer == k
            w = fit_head(xt[~test], y[~test], c, 0, m, sample_weight=None if weight is None else weight[~test])
            xe = xt[test].copy()
            if with_labellers:
                xe[:, x.shape[1]:] = w["mean"][x.shape[1]:]  # labeller columns at their mean: they add nothing
            pooled[test] = _predict(w, xe)
        return float(roc_auc_score(y, pooled))

    print(f"{len(y)} pairs, {len(labellers)} labellers; cv1000 pooled out-of-fold ROC AUC")
    print(f"  as shipped (C 0.3): {cv(False):.4f}")
    for c in (0.1, 0.3, 1.0):
        print(f"  labeller fixed effects, C {c}: {cv(True, c):.4f}")
    balance = np.ones(len(y))
    for li in range(one_hot.shape[1]):
        sel = one_hot[:, li] == 1
        for v in (0, 1):
            s = sel & (y == v)
            balance[s] = sel.sum() / (2 * max(s.sum(), 1))
    print(f"  per-labeller balanced weights: {cv(False, 0.3, balance):.4f}; with fixed effects too: {cv(True, 0.3, balance):.4f}")
    print("2-core x86_64 CPU, no GPU")


if __name__ == "__main__":
    main()
