"""Can the learned judge match NoveltyBench's official greedy partitions without fitting on them? (2-core CPU)

The official partitions (DeBERTa-v3-large, each side cut to 128 tokens, threshold 0.102, greedy) are
coarser than the human pair labels the learned judge is trained on. Parts 1-4 try, WITHOUT fitting
anything on ``generations/gpt-4o.jsonl`` (the evaluation set of the agreement check):

1. first-128-token features: word 1-gram/2-gram Jaccard, unigram containment, first-20 Jaccard, ...
   recomputed on the first 100 words of each side (~128 DeBERTa tokens), added to the shipped features
   (``+first100``) or replacing the lexical/structure features (``first100 only``); prompt-grouped
   5-fold CV AUC on the 800 training pairs (C chosen from {0.03, 0.1, 0.3, 1} there), then held-out;
2. partition operating points chosen without gpt-4o: accuracy / Youden / F1 / F2 optimum of the
   shipped pipeline's out-of-fold predictions, NoveltyBench's own probability threshold 0.102, and the
   accuracy-optimal threshold against DeBERTa's pair decisions *recovered from the official greedy
   partitions of* ``humans.jsonl`` (each response vs the class representatives it was compared with;
   identical texts and pairs the short-response rule decides are left out);
3. for each candidate: greedy mean ARI / class count against the official partitions of both systems
   (gpt-4o only evaluated, never fitted);
4. what the human labels say about those prompts: the 94 human-labelled pairs whose prompts are
   NB-Curated prompts (the prompts of ``generations/gpt-4o.jsonl``), scored by 5-fold prompt-grouped
   out-of-fold predictions of the shipped pipeline, against ``unigram`` at NoveltyBench's 0.458;
5. a ceiling, and the noise: how far can the shipped features go towards the official partitions if a
   head is fitted on DeBERTa's own decisions recovered from ``gpt-4o.jsonl`` (the evaluation file, so
   this is diagnosis, not a candidate)? 5-fold prompt-grouped cross-fitting (each prompt partitioned by
   a head that never saw its decisions) over a threshold grid, and the in-sample upper bound (head and
   threshold both fitted on all 100 prompts); then paired bootstrap intervals (2,000 resamples of
   prompts) of the greedy ARI difference learned - unigram at the operating points of part 2, and
   ``unigram``'s ARI around its 0.458.

The shipped judge's encoder (with its token sketch and IDF table) embeds everything; its feature set is used.

    python benchmarks/studies/judge_operating_point.py [--cache /tmp/dm_judge_cache.npz] [--gen-cache-dir /tmp]
"""

from __future__ import annotations

import argparse
import json
import re
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "noveltybench"
_WORD = re.compile(r"\w+")
C_GRID = (0.03, 0.1, 0.3, 1.0)


def first_words(text: str, n: int = 100) -> str:
    """``text`` cut after its n-th word (layout kept), about DeBERTa's 128-token window."""
    ends = [m.end() for m in _WORD.finditer(text)]
    return text if len(ends) <= n else text[: ends[n - 1]]


def load(system: str) -> list[dict]:
    return [json.loads(x) for x in (DATA / "generations" / f"{system}.jsonl").read_text().splitlines() if x.strip()]


def recovered_decisions(system: str | list[dict]) -> list[tuple[str, str, int]]:
    """(representative, candidate, equivalent) pairs implied by the official representative-greedy partitions.

    ``system`` names a generations file or gives its rows.
    """
    from diversity_metrics.partitioning import short_response_equivalent
    from diversity_metrics.training.operating_points import greedy_decisions

    out = []
    for row in load(system) if isinstance(system, str) else system:
        gens = row["generations"]
        for i, rep, same in greedy_decisions(gens, row["partition"]):
            a, g = gens[rep], gens[i]
            if a != g and short_response_equivalent(a, g) is None:
                out.append((a, g, int(same)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", default="/tmp/dm_judge_cache.npz")
    parser.add_argument("--gen-cache-dir", default="/tmp")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    import torch
    from scipy.stats import spearmanr
    from sklearn.metrics import adjusted_rand_score, precision_recall_curve, roc_curve

    torch.set_num_threads(1)
    from diversity_metrics import partition_batch
    from diversity_metrics.judges.learned import LearnedJudge
    from diversity_metrics.judges.pair_features import pair_features
    from diversity_metrics.training.data import grouped_folds, grouped_split, load_pairs
    from diversity_metrics.training.evaluation import calibrate_threshold, roc_auc
    from diversity_metrics.training.train import _oof, _predict, embed_texts, fit_head

    shipped = LearnedJudge.load(device="cpu")
    encoder, fset, sketch = shipped.encoder, shipped.feature_set, shipped.sketch_tokens
    data = load_pairs(DATA / "equivalence_pairs_train.jsonl")
    emb = embed_texts(encoder, [*data.texts_a, *data.texts_b], args.cache)
    systems = {s: load(s) for s in ("gpt-4o", "humans")}
    for s, rows in systems.items():
        texts = [g for r in rows for g in r["generations"]]
        emb.update(embed_texts(encoder, texts, f"{args.gen_cache_dir}/dm_gen_{s}.npz"))

    def feats(ta: list[str], tb: list[str], mode: str) -> np.ndarray:
        ea, eb = np.stack([emb[t] for t in ta]), np.stack([emb[t] for t in tb])
        full = pair_features(ea, eb, ta, tb, feature_set=fset, sketch_tokens=sketch)
        if mode == "shipped":
            return full
        fa, fb = [first_words(t) for t in ta], [first_words(t) for t in tb]
        first = pair_features(ea, eb, fa, fb, feature_set="cos+lex+struct", sketch_tokens=sketch)
        if mode == "+first100":
            return np.concatenate([full, first[:, 6:16]], 1)  # the 10 lexical columns on the first 100 words
        return np.concatenate([first[:, [1]], first[:, 6:]], 1)  # first100 only: cos_first + lex + struct

    tr_idx, te_idx = grouped_split(data.groups, 0.2, 0)
    tr, te = data.subset(tr_idx), data.subset(te_idx)
    y = tr.labels
    folds = grouped_folds(tr.groups, y, 5, 0)
    print("1. feature variants (CV = 5-fold prompt-grouped out-of-fold on the 800 training pairs; held-out 200)")
    heads = {}
    for mode in ("shipped", "+first100", "first100 only"):
        x = feats(tr.texts_a, tr.texts_b, mode)
        cv = {c: _oof(x, y, folds, c, 0) for c in C_GRID}
        aucs = {c: roc_auc(p, y) for c, p in cv.items()}
        c = max(C_GRID, key=lambda c: (aucs[c], -c))
        t = calibrate_threshold(cv[c], y)
        w = fit_head(x, y, c, 0)
        pt = _predict(w, feats(te.texts_a, te.texts_b, mode))
        heads[mode] = (w, t, cv[c])
        print(
            f"   {mode:14s} C={c:<5} CV AUC {aucs[c]:.3f} CV acc {np.mean((cv[c] > t) == y):.3f} threshold {t:.3f} | "
            f"held-out AUC {roc_auc(pt, te.labels):.3f} acc {np.mean((pt > t) == te.labels):.3f}"
        )

    print("2. operating points chosen without gpt-4o (shipped head)")
    w, t_acc, oof = heads["shipped"]
    fpr, tpr, th = roc_curve(y, oof)
    p, r, tp = precision_recall_curve(y, oof)
    f1, f2 = 2 * p * r / (p + r + 1e-12), 5 * p * r / (4 * p + r + 1e-12)
    rec = recovered_decisions("humans")
    s_rec = _predict(w, feats([a for a, _, _ in rec], [b for _, b, _ in rec], "shipped"))
    l_rec = np.array([d for *_, d in rec])
    t_rec = calibrate_threshold(s_rec, l_rec)
    print(
        f"   humans.jsonl recovered DeBERTa decisions: {len(rec)} pairs, {l_rec.sum()} equivalent; "
        f"AUC of the learned judge {roc_auc(s_rec, l_rec):.3f}; accuracy-optimal threshold {t_rec:.3f} "
        f"(accuracy {np.mean((s_rec > t_rec) == l_rec):.3f}, all-different {1 - l_rec.mean():.3f})"
    )
    points = {
        "accuracy (shipped)": t_acc,
        "Youden J": float(th[np.argmax(tpr - fpr)]),
        "F1": float(tp[np.argmax(f1[:-1])]),
        "F2": float(tp[np.argmax(f2[:-1])]),
        "NoveltyBench 0.102": 0.102,
        "humans recovered": t_rec,
    }
    judge = LearnedJudge(shipped.config, {**w, "idf": shipped.idf}, device="cpu")
    judge.embed = lambda texts: np.stack([emb[t] for t in texts])
    print("3. greedy agreement with the official partitions (gpt-4o evaluated only)")
    print(f"   {'operating point':20s} {'threshold':>9s} | gpt-4o ARI  rho  classes | humans ARI  rho  classes")
    per_prompt = {}
    for name, t in points.items():
        judge.threshold = t
        cells = []
        for system, rows in systems.items():
            off = [r["partition"] for r in rows]
            ours = partition_batch([r["generations"] for r in rows], prompts=[r["prompt"] for r in rows], judge=judge)
            aris = np.array([adjusted_rand_score(o, q) for o, q in zip(off, ours, strict=True)])
            per_prompt[name, system] = aris
            ari = aris.mean()
            oc, qc = np.array([max(o) + 1 for o in off]), np.array([max(q) + 1 for q in ours])
            cells.append(f"{ari:.3f} {spearmanr(oc, qc).statistic:.3f} {qc.mean():5.2f} (official {oc.mean():.2f})")
        print(f"   {name:20s} {t:9.3f} | {cells[0]} | {cells[1]}", flush=True)

    print("4. human labels on the NB-Curated prompts (the prompts of gpt-4o.jsonl)")
    from diversity_metrics import get_judge

    curated_prompts = {r["prompt"] for r in systems["gpt-4o"]}
    cur = np.array([g in curated_prompts for g in data.groups])
    x_all = feats(data.texts_a, data.texts_b, "shipped")
    outer = grouped_folds(data.groups, data.labels, 5, 1)
    pooled = _oof(x_all, data.labels, outer, float(shipped.config["C"]), 0)
    uni = get_judge("unigram").score_pairs(list(zip(data.texts_a, data.texts_b, strict=True)))
    yc = data.labels[cur]
    print(
        f"   {cur.sum()} pairs on NB-Curated prompts, {yc.mean():.1%} labelled equivalent "
        f"(all 1,000 pairs: {data.labels.mean():.1%}); learned out-of-fold AUC {roc_auc(pooled[cur], yc):.3f}, "
        f"unigram AUC {roc_auc(uni[cur], yc):.3f}"
    )
    for name, scores, t in (
        ("learned", pooled, shipped.threshold),
        ("learned", pooled, 0.3),
        ("learned", pooled, 0.2),
        ("learned", pooled, 0.102),
        ("unigram (NoveltyBench)", uni, 0.458),
    ):
        said = scores[cur] > t
        print(
            f"   {name:22s} threshold {t:.3f}: accuracy {np.mean(said == yc):.3f}, judged equivalent {said.mean():.1%}"
        )

    print("5. ceiling and noise (diagnosis only: heads fitted on DeBERTa decisions recovered from gpt-4o.jsonl)")
    rows = systems["gpt-4o"]
    off = [r["partition"] for r in rows]

    def greedy_aris(judge_: object, idx: list[int]) -> np.ndarray:
        sub = [rows[i] for i in idx]
        ours = partition_batch([r["generations"] for r in sub], prompts=[r["prompt"] for r in sub], judge=judge_)
        return np.array([adjusted_rand_score(off[i], q) for i, q in zip(idx, ours, strict=True)])

    def decisions(idx: list[int]) -> tuple[np.ndarray, np.ndarray]:
        rec = recovered_decisions([rows[i] for i in idx])
        return feats([a for a, _, _ in rec], [b for _, b, _ in rec], "shipped"), np.array([d for *_, d in rec])

    c_distil = float(shipped.config["C"])
    grid = np.round(np.arange(0.25, 0.701, 0.05), 2)
    prompt_fold = np.arange(len(rows)) % 5
    np.random.default_rng(0).shuffle(prompt_fold)
    cross = np.zeros((len(grid), len(rows)))
    oof_p, oof_y = [], []
    for k in range(5):
        tr_p = [i for i in range(len(rows)) if prompt_fold[i] != k]
        te_p = [i for i in range(len(rows)) if prompt_fold[i] == k]
        x_d, y_d = decisions(tr_p)
        w_d = fit_head(x_d, y_d, c_distil, 0)
        x_t, y_t = decisions(te_p)
        oof_p.append(_predict(w_d, x_t))
        oof_y.append(y_t)
        judge_d = LearnedJudge(shipped.config, {**w_d, "idf": shipped.idf}, device="cpu")
        judge_d.embed = judge.embed
        for g, t in enumerate(grid):
            judge_d.threshold = float(t)
            cross[g, te_p] = greedy_aris(judge_d, te_p)
    x_d, y_d = decisions(list(range(len(rows))))  # all of gpt-4o
    uni_d = get_judge("unigram").score_pairs([(a, b) for a, b, _ in recovered_decisions(rows)])
    print(
        f"   {len(y_d)} recovered decisions on gpt-4o, {y_d.mean():.1%} equivalent; cross-fitted head AUC "
        f"{roc_auc(np.concatenate(oof_p), np.concatenate(oof_y)):.3f} (unigram {roc_auc(uni_d, y_d):.3f}, "
        f"shipped head {roc_auc(_predict(w, x_d), y_d):.3f})"
    )
    print(
        "   cross-fitted greedy ARI by threshold: "
        + " ".join(f"{t:.2f}:{a:.3f}" for t, a in zip(grid, cross.mean(1), strict=True))
    )
    everything = list(range(len(rows)))
    w_all = fit_head(x_d, y_d, c_distil, 0)
    judge_all = LearnedJudge(shipped.config, {**w_all, "idf": shipped.idf}, device="cpu")
    judge_all.embed = judge.embed
    insample = []
    for t in grid:
        judge_all.threshold = float(t)
        insample.append(greedy_aris(judge_all, everything).mean())
    best = int(np.argmax(insample))
    print(
        f"   in-sample upper bound (head and threshold fitted on all of gpt-4o): ARI {insample[best]:.3f} at {grid[best]:.2f}"
    )
    uni_sweep = {t: greedy_aris(get_judge("unigram", threshold=t), everything) for t in (0.42, 0.44, 0.458, 0.48, 0.50)}
    print(
        "   unigram greedy ARI around NoveltyBench's 0.458: "
        + " ".join(f"{t}:{a.mean():.3f}" for t, a in uni_sweep.items())
    )
    uni_aris = uni_sweep[0.458]
    boot = np.random.default_rng(0).integers(0, len(rows), (2000, len(rows)))
    for name in points:
        diff = per_prompt[name, "gpt-4o"] - uni_aris
        lo, hi = np.percentile(diff[boot].mean(1), [2.5, 97.5])
        print(f"   learned ({name}) - unigram, greedy ARI: {diff.mean():+.3f} [{lo:+.3f}, {hi:+.3f}]")


if __name__ == "__main__":
    main()
