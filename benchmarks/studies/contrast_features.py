"""Study: which content-contrast features to add to the learned judge (2-core CPU, no GPU, ~5 min cached).

The shipped judge (v2.1) adds three *content-contrast* features to v2's 26 (``ctr`` in
``diversity_metrics/judges/pair_features.py``). This script compares the candidate sets that were tried,
each with the shipped pipeline's head (standardised L2 logistic regression, C = 1, every similarity
coefficient >= 0) fitted on the 800 training pairs only:

* ``v2``: no contrast features;
* ``shipped``: ``no_word_swap``, ``no_short_number_conflict``, ``no_name_conflict``;
* ``+minimal20`` / ``+minimal8``: the shipped three plus ``no_short_minimal_swap`` = 1 - [both answers
  have <= 20 (or <= 8) content words, each has 1 or 2 the other lacks, and they are >= 20% of the union];
* ``names-short``: the shipped three with the name conflict limited to answers of <= 20 content words.

For each it prints the held-out ROC AUC (200 pairs), the ``darling`` point chosen on the paraphrase probe
(highest (recall + separation) / 2, greedy, normalised short rule) with its recall / separation, and at that
point the GPT-4o class count and mean ARI against NoveltyBench's official partitions (replayed exactly as
the engine partitions; ``diversity_metrics.training.operating_points``).

    python benchmarks/studies/contrast_features.py [--cache /tmp/dm_judge_cache_v2.npz]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data" / "noveltybench"
PROBE = ROOT / "benchmarks" / "data" / "paraphrase_probe.jsonl"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def contrast_columns(a: str, b: str) -> dict[str, float]:
    from diversity_metrics.judges.pair_features import SHORT_CONTENT_WORDS, content_words, name_words

    ca, cb = content_words(a), content_words(b)
    sa, sb = set(ca), set(cb)
    only_a, only_b = sa - sb, sb - sa
    union = sa | sb
    overlap = len(sa & sb) / len(union) if union else 1.0
    swap = bool(only_a) and bool(only_b)
    longest = max(len(ca), len(cb))
    short = longest <= SHORT_CONTENT_WORDS
    na = {w for w in sa if re.fullmatch(r"\d+", w)}
    nb = {w for w in sb if re.fullmatch(r"\d+", w)}
    names = bool(set(name_words(a)) - sb) and bool(set(name_words(b)) - sa)

    def minimal(limit: int) -> float:
        small = len(only_a) <= 2 and len(only_b) <= 2 and len(only_a | only_b) >= 0.2 * len(union)
        return 1.0 - float(longest <= limit and swap and small)

    return {
        "no_word_swap": 1.0 - overlap * swap,
        "no_short_number_conflict": 1.0 - float(short and bool(na) and bool(nb) and not na & nb),
        "no_name_conflict": 1.0 - float(names),
        "no_name_conflict_short": 1.0 - float(short and names),
        "no_short_minimal_swap20": minimal(20),
        "no_short_minimal_swap8": minimal(8),
    }


VARIANTS = {
    "v2": [],
    "shipped": ["no_word_swap", "no_short_number_conflict", "no_name_conflict"],
    "+minimal20": ["no_word_swap", "no_short_number_conflict", "no_name_conflict", "no_short_minimal_swap20"],
    "+minimal8": ["no_word_swap", "no_short_number_conflict", "no_name_conflict", "no_short_minimal_swap8"],
    "names-short": ["no_word_swap", "no_short_number_conflict", "no_name_conflict_short"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default="/tmp/dm_judge_cache_v2.npz", help="embedding cache of the frozen encoder (train_default_judge.py --cache FILE without --adapter)")
    args = parser.parse_args()

    from sklearn.metrics import adjusted_rand_score, roc_auc_score

    from diversity_metrics.judges.learned import LearnedJudge
    from diversity_metrics.judges.pair_features import feature_names, pair_features
    from diversity_metrics.training.data import grouped_split, load_pairs
    from diversity_metrics.training.operating_points import probe_point, replay_partitions
    from diversity_metrics.training.train import _predict, embed_texts, fit_head, monotone_mask

    judge = LearnedJudge.load(device="cpu")
    pairs = load_pairs(SHARED / "equivalence_pairs_train.jsonl")
    tr, te = grouped_split(pairs.groups, 0.2, 0)
    gpt = read_jsonl(SHARED / "generations" / "gpt-4o.jsonl")
    gpt_groups = [r["generations"] for r in gpt]
    probe_groups = [g["paraphrases"] + g["different"] for g in read_jsonl(PROBE)]
    texts = [*pairs.texts_a, *pairs.texts_b, *(t for g in gpt_groups for t in g), *(t for g in probe_groups for t in g)]
    emb = embed_texts(judge.encoder, texts, args.cache or None)
    base_set, dim, sketch = "cos+lex+struct+tok", 384, judge.sketch_tokens
    base_names = feature_names(base_set, dim)

    def features(a: list[str], b: list[str]) -> tuple[np.ndarray, list[dict[str, float]]]:
        ea, eb = np.stack([emb[t] for t in a]), np.stack([emb[t] for t in b])
        x = pair_features(ea, eb, a, b, feature_set=base_set, dim=dim, sketch_tokens=sketch)
        return x, [contrast_columns(p, q) for p, q in zip(a, b, strict=True)]

    def group_pairs(groups: list[list[str]]) -> tuple[list[str], list[str]]:
        a = [g[i] for g in groups for i in range(len(g)) for j in range(i + 1, len(g))]
        b = [g[j] for g in groups for i in range(len(g)) for j in range(i + 1, len(g))]
        return a, b

    x_pairs, c_pairs = features(pairs.texts_a, pairs.texts_b)
    x_gpt, c_gpt = features(*group_pairs(gpt_groups))
    x_probe, c_probe = features(*group_pairs(probe_groups))

    def matrices(groups: list[list[str]], scores: np.ndarray) -> list[np.ndarray]:
        out, k = [], 0
        for g in groups:
            m = np.eye(len(g))
            for i in range(len(g)):
                for j in range(i + 1, len(g)):
                    m[i, j] = m[j, i] = scores[k]
                    k += 1
            out.append(m)
        return out

    print("variant        features  held-out AUC  darling t  probe recall  separation  GPT-4o classes  GPT-4o ARI")
    for name, extra in VARIANTS.items():
        def design(x: np.ndarray, c: list[dict[str, float]], extra: list[str] = extra) -> np.ndarray:
            return np.hstack([x, np.array([[row[e] for e in extra] for row in c]).reshape(len(c), len(extra))])

        mono = np.concatenate([monotone_mask(base_names), np.ones(len(extra), dtype=bool)])
        x_all = design(x_pairs, c_pairs)
        head = fit_head(x_all[tr], pairs.labels[tr], 1.0, 0, mono)
        auc = roc_auc_score(pairs.labels[te], _predict(head, x_all[te]))
        probe_m = matrices(probe_groups, _predict(head, design(x_probe, c_probe)))
        t, recall, separation = probe_point(probe_groups, probe_m)
        gpt_m = matrices(gpt_groups, _predict(head, design(x_gpt, c_gpt)))
        parts = replay_partitions(gpt_groups, gpt_m, t)
        classes = np.mean([max(p) + 1 for p in parts])
        ari = np.mean([adjusted_rand_score(r["partition"], p) for r, p in zip(gpt, parts, strict=True)])
        print(f"{name:14s} {x_all.shape[1]:8d}  {auc:12.3f}  {t:9.2f}  {recall:12.3f}  {separation:10.3f}  "
              f"{classes:14.2f}  {ari:10.3f}")
    print("2-core x86_64 CPU, no GPU; official GPT-4o classes 2.89")


if __name__ == "__main__":
    main()
