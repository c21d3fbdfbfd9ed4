"""Study: do prompt-centred sentence similarities help the learned judge? (2-core CPU, no GPU, ~3 min cached).

Answers to one prompt share its topic, so their sentence embeddings share the prompt's direction, and two answers
with other content ("The capital of Australia is Sydney." / "... is Canberra.") look alike. Judge v2.2 leaves the
prompt's word pieces out of one token alignment (``token_align_answer``); this study does the same at sentence level.
With ``p`` the prompt's unit sentence embedding (one extra encoder pass per prompt, not per response) and ``u - (u.p) p``
each answer vector with the prompt direction removed, three symmetric similarities:

* ``centred_cos``: cosine of the centred mean sentence embeddings;
* ``centred_align``: sentence alignment ``(mean_i max_j S_ij + mean_j max_i S_ij) / 2`` over centred sentences;
* ``centred_max``: ``max_ij S_ij`` over centred sentences.

For each added set, the shipped head (standardised L2 logistic regression, C = 0.3, every similarity coefficient
>= 0) is fitted on the 800 training pairs; printed: held-out ROC AUC (200 pairs), cv1000 (5-fold prompt-grouped over
all 1,000 pairs, the folds of ``benchmarks/judge_experiments.py``), the ROC AUC over the paraphrase probe's pairs,
and the ``darling`` rule (most probe separation at recall >= 0.80) under greedy, clique and transitive, replayed
exactly as the engine partitions (``diversity_metrics.training.operating_points``). The first row reproduces the
shipped judge.

    python benchmarks/studies/prompt_centred_features.py [--cache /tmp/dm_judge_cache_v2.npz]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data" / "noveltybench"
PROBE = ROOT / "benchmarks" / "data" / "paraphrase_probe.jsonl"
CENTRED = ("centred_cos", "centred_align", "centred_max")
ADDED = ((), ("centred_cos",), ("centred_align",), ("centred_cos", "centred_align"), CENTRED)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def sentences(row: np.ndarray, max_chunks: int, dim: int) -> np.ndarray:
    """The sentence embeddings of one judge row ``[n_chunks, chunk_0, ..., chunk_{K-1}, sketch...]``."""
    n = max(int(round(row[0])), 1)
    return row[1 : 1 + max_chunks * dim].reshape(max_chunks, dim)[:n].astype(np.float64)


def centred(vectors: np.ndarray, p: np.ndarray) -> np.ndarray:
    out = vectors - np.outer(vectors @ p, p)
    return out / (np.linalg.norm(out, axis=1, keepdims=True) + 1e-9)


def centred_features(row_a: np.ndarray, row_b: np.ndarray, p: np.ndarray, max_chunks: int, dim: int) -> list[float]:
    sa, sb = sentences(row_a, max_chunks, dim), sentences(row_b, max_chunks, dim)
    ma, mb = centred(sa.mean(0, keepdims=True), p), centred(sb.mean(0, keepdims=True), p)
    s = centred(sa, p) @ centred(sb, p).T
    return [float(ma[0] @ mb[0]), float(0.5 * (s.max(1).mean() + s.max(0).mean())), float(s.max())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", default="/tmp/dm_judge_cache_v2.npz", help="embedding cache ('' disables)")
    args = parser.parse_args()

    import torch
    from sklearn.metrics import roc_auc_score

    from diversity_metrics.judges.learned import LearnedJudge
    from diversity_metrics.training.data import grouped_folds, grouped_split, load_pairs
    from diversity_metrics.training.operating_points import probe_point
    from diversity_metrics.training.train import _predict, embed_texts, fit_head, monotone_mask

    torch.set_num_threads(2)
    judge = LearnedJudge.load(device="cpu")
    names = list(judge.config["feature_names"])
    max_chunks, dim = int(judge.config["max_chunks"]), int(judge.config["embedding_dim"])
    pairs = load_pairs(SHARED / "equivalence_pairs_train.jsonl")
    probe = read_jsonl(PROBE)
    groups = [g["paraphrases"] + g["different"] for g in probe]
    probe_pairs = [(k, i, j) for k, g in enumerate(groups) for i in range(len(g)) for j in range(i + 1, len(g))]
    texts_a = [*pairs.texts_a, *(groups[k][i] for k, i, _ in probe_pairs)]
    texts_b = [*pairs.texts_b, *(groups[k][j] for k, _, j in probe_pairs)]
    prompts = [*pairs.prompt_list(), *(probe[k]["prompt"] for k, _, _ in probe_pairs)]
    emb = embed_texts(judge.encoder, [*texts_a, *texts_b], args.cache or None)
    distinct_prompts = list(dict.fromkeys(prompts))
    prompt_vec = {}
    for p, row in zip(distinct_prompts, judge.encoder.encode(distinct_prompts), strict=True):
        m = sentences(row, max_chunks, dim).mean(0)
        prompt_vec[p] = m / np.linalg.norm(m)

    x = np.zeros((len(texts_a), len(names)))
    for p in distinct_prompts:  # the shipped 30 features, each pair under its own prompt
        idx = [i for i, q in enumerate(prompts) if q == p]
        x[idx] = judge.features(
            np.stack([emb[texts_a[i]] for i in idx]), np.stack([emb[texts_b[i]] for i in idx]),
            [texts_a[i] for i in idx], [texts_b[i] for i in idx], prompt=p,
        )
    extra = np.array([
        centred_features(emb[a], emb[b], prompt_vec[p], max_chunks, dim) for a, b, p in zip(texts_a, texts_b, prompts)
    ])
    n_human = len(pairs.labels)
    y = np.asarray(pairs.labels, dtype=float)
    y_probe = np.array([j < len(probe[k]["paraphrases"]) for k, _, j in probe_pairs])
    train, held = grouped_split(pairs.groups, 0.2, 0)
    outer = grouped_folds(pairs.groups, y, 5, 1)
    print(f"{n_human} human pairs (held-out {len(held)}), {len(probe_pairs)} probe pairs; 2-core x86_64 CPU, no GPU")
    for name, column in [(n, x[:, names.index(n)]) for n in ("cos_mean", "chunk_align", "token_align_answer")] + [
        (n, extra[:, k]) for k, n in enumerate(CENTRED)
    ]:
        print(f"  {name:20s} alone: ROC AUC on all 1,000 human pairs {roc_auc_score(y, column[:n_human]):.3f}, "
              f"on the probe's pairs {roc_auc_score(y_probe, column[n_human:]):.3f}")
    print(f"{'added features':44s} {'held-out':>8s} {'cv1000':>7s} {'probe AUC':>9s}  darling rule: threshold recall / separation")
    for added in ADDED:
        cols = [CENTRED.index(n) for n in added]
        features = np.hstack([x, extra[:, cols]])
        mask = np.concatenate([monotone_mask(names), np.ones(len(cols), dtype=bool)])
        xh, xp = features[:n_human], features[n_human:]
        head = fit_head(xh[train], y[train], 0.3, 0, nonnegative=mask)
        held_auc = roc_auc_score(y[held], _predict(head, xh[held]))
        oof = np.empty(n_human)
        for k in range(5):
            fold = fit_head(xh[outer != k], y[outer != k], 0.3, 0, nonnegative=mask)
            oof[outer == k] = _predict(fold, xh[outer == k])
        scores = _predict(head, xp)
        mats = [np.eye(len(g)) for g in groups]
        for s, (k, i, j) in zip(scores, probe_pairs, strict=True):
            mats[k][i, j] = mats[k][j, i] = s
        rules = []
        for strategy in ("greedy", "clique", "transitive"):
            t, r, sep = probe_point(groups, mats, min_recall=0.80, strategy=strategy)
            rules.append(f"{strategy} {t:.2f} {r:.3f} / {sep:.3f}")
        label = "+ " + ", ".join(added) if added else "none (shipped v2.2)"
        print(
            f"{label:44s} {held_auc:8.3f} {roc_auc_score(y, oof):7.3f} {roc_auc_score(y_probe, scores):9.3f}  "
            + "; ".join(rules),
            flush=True,
        )


if __name__ == "__main__":
    main()
