"""Learned-judge approach (3b): a LoRA adapter on MiniLM's top layers, fine-tuned for token alignment.

The shipped judge's strongest feature is the IDF-weighted token alignment (BERTScore) between the two
responses' 64-piece token sketches, computed from a FROZEN all-MiniLM-L6-v2. Here the top two encoder
layers get rank-8 LoRA adapters (query, value, attention output, both feed-forward projections: 98,306
parameters, about 0.4 MB -- an adapter, not a fine-tuned encoder) trained so that the alignment itself
separates equivalent from different pairs:

    loss = BCE(s * (align(a, b) - c), similar),   align = (R + P) / 2 over the token sketches

``--align-mode`` (judge v2.2, which reads the prompt): ``plain`` aligns the whole sketches (the v1 study),
``answer`` leaves the word pieces the pair's prompt holds out of the weights (the plain alignment where a side
has nothing else; close to the ``token_align_answer`` feature, which also leaves them out of each max -- here
the max still runs over every piece, as in the 2026-12-04 run), ``mean`` (default) trains on the mean of both --
the two features the v2.2 head weighs most.

Split (the shipped judge's, seed 0): the 200 held-out pairs are only scored at the end; of the 800
training pairs, 640 (4 of 5 prompt-grouped folds) train the adapter and 160 validate it: the epoch with
the best validation AUC of ``align`` is kept. The adapter is then merged into the encoder weights
(``W + (alpha / r) B A``, so scoring costs exactly what the shipped judge costs), all 26 features of the
shipped feature set are recomputed (with each pair's prompt), and the shipped head pipeline (monotone
logistic regression, C by 5-fold out-of-fold AUC, threshold by out-of-fold accuracy, on the 800) is fitted on
them. ``--output DIR`` also saves the merged encoder, for ``benchmarks/train_default_judge.py --base-encoder
DIR`` (operating points, probe). Caveat: 640 of those 800 pairs trained the
adapter, so the head's out-of-fold predictions (and its threshold) are optimistic; the held-out 200 are
clean.

Layers 1-4 are frozen, so their outputs are computed once and cached. Only chunks holding a token-sketch piece
run through the top layers, in batches of similar length (``--token-budget`` padded tokens). Cost on a 2-core CPU,
no GPU: about 93 s an epoch with v2's sentence chunks (18 a response, 36,015 for the 1,997 responses). The
2026-12-04 run took about 3,500 s an epoch: it padded every chunk of a 16-pair batch to the longest one (4.4x
the tokens) and ran the chunks without a sketch piece too (neither changes what is computed; the
adapters' random start is drawn differently now).

``--cv1000`` cross-fits the whole pipeline for ``benchmarks/judge_experiments.py``'s cv1000 (its 5 prompt-grouped
folds over all 1,000 pairs): in each fold the adapter is trained on the other four folds (a fifth of them, by
prompt, picks the epoch), every response is re-embedded, and the shipped head (monotone, C=0.3, approach 7) is
fitted on the four folds and scores the fifth; the frozen encoder goes through the same folds and head (it
reproduces approach 7's cv1000). About 10 min a fold at 6 epochs on this CPU.

    python benchmarks/studies/judge_adapter.py [--epochs 4] [--lr 3e-4] [--rank 8] [--seed 0] \
        [--align-mode mean] [--output /tmp/minilm_align] [--device cpu|cuda]
    python benchmarks/studies/judge_adapter.py --cv1000 --epochs 6 [--folds 0,1]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PAIRS = ROOT.parent / "shared" / "data" / "noveltybench" / "equivalence_pairs_train.jsonl"
TRAINED = ("query", "value", "attention.output.dense", "intermediate.dense", "output.dense")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--top-layers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-boot", type=int, default=2000)
    parser.add_argument("--align-mode", choices=("plain", "answer", "mean"), default="mean")
    parser.add_argument("--output", default=None, help="folder for the merged encoder (optional)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--token-budget", type=int, default=4096, help="padded tokens per forward batch")
    parser.add_argument("--cv1000", action="store_true", help="cross-fitted cv1000 instead of the held-out split")
    parser.add_argument("--folds", default="", help="with --cv1000: comma-separated outer folds to run (default all)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    import torch

    from diversity_metrics.judges.learned import LearnedJudge, length_batches, prompt_sketch_masks
    from diversity_metrics.judges.pair_features import feature_names, pair_features
    from diversity_metrics.training.data import grouped_folds, grouped_split, load_pairs
    from diversity_metrics.training.evaluation import bootstrap_metrics, calibrate_threshold, roc_auc
    from diversity_metrics.training.train import _oof, _predict, fit_head, monotone_mask

    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    t_start = time.perf_counter()
    shipped = LearnedJudge.load(device="cpu")  # its encoder settings and IDF table (training split only)
    enc = shipped.encoder
    model, tok, dim, k = enc.model, enc.tokenizer, enc.dim, enc.sketch_tokens
    n_layers = model.config.num_hidden_layers
    split_at = n_layers - args.top_layers

    data = load_pairs(PAIRS)
    y = data.labels
    tr, te = grouped_split(data.groups, 0.2, args.seed)
    folds = grouped_folds(np.asarray(data.groups, dtype=object)[tr].tolist(), y[tr], 5, args.seed)
    fit_idx, val_idx = tr[folds != 0], tr[folds == 0]
    texts = list(dict.fromkeys([*data.texts_a, *data.texts_b]))
    tix = {t: i for i, t in enumerate(texts)}
    ia = np.array([tix[t] for t in data.texts_a])
    ib = np.array([tix[t] for t in data.texts_b])

    # which sketch slots of each pair's two sides hold a word piece of the pair's prompt
    pm_a, pm_b = prompt_sketch_masks(enc, data.texts_a, data.texts_b, data.prompt_list())

    # chunks and sketch positions exactly as the shipped encoder makes them
    chunks, owner, picks = enc._chunk_ids(texts)
    text_chunks: list[list[int]] = [[] for _ in texts]
    for c, t in enumerate(owner):
        text_chunks[t].append(c)
    sketch = []
    for t in range(len(texts)):
        sel = [(c, off) for c in text_chunks[t] for _, off in picks[c]]
        slots = [slot for c in text_chunks[t] for slot, _ in picks[c]]
        order = np.argsort(slots)
        sel = [sel[i] for i in order]
        w = [max(float(shipped.idf[chunks[c][off]]), 1e-6) for c, off in sel]
        sketch.append((sel, torch.tensor(w, dtype=torch.float32)))

    device = torch.device(args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True  # fp32 weights and optimiser, TF32 matmuls
    model.to(device)
    enc.device = device
    budget = args.token_budget
    t0 = time.perf_counter()
    cache: list = [None] * len(chunks)
    lengths = [len(c) for c in chunks]
    by_len = [int(c) for c in np.argsort(lengths, kind="stable")]
    with torch.inference_mode():
        for idx in length_batches(by_len, lengths, budget):
            width = len(chunks[idx[-1]])
            ids = torch.zeros((len(idx), width), dtype=torch.long)
            mask = torch.zeros_like(ids)
            for r, c in enumerate(idx):
                ids[r, : len(chunks[c])] = torch.tensor(chunks[c])
                mask[r, : len(chunks[c])] = 1
            hs = model(input_ids=ids.to(device), attention_mask=mask.to(device), output_hidden_states=True)
            hs = hs.hidden_states[split_at]
            for r, c in enumerate(idx):
                cache[c] = hs[r, : len(chunks[c])].clone().half()
    print(
        f"{len(texts)} responses, {len(chunks)} chunks; layers 1-{split_at} cached in {time.perf_counter() - t0:.0f} s "
        f"({device})",
        flush=True,
    )
    sketch = [(sel, w.to(device)) for sel, w in sketch]

    class LoRA(torch.nn.Module):
        def __init__(self, base: torch.nn.Linear, r: int, alpha: float) -> None:
            super().__init__()
            self.base, self.scale = base, alpha / r
            self.A = torch.nn.Parameter(torch.zeros(r, base.in_features, device=base.weight.device))
            self.B = torch.nn.Parameter(torch.zeros(base.out_features, r, device=base.weight.device))

        def reset(self) -> None:
            with torch.no_grad():
                self.A.normal_(0.0, 0.01)
                self.B.zero_()

        def forward(self, x):
            return self.base(x) + (x @ self.A.T @ self.B.T) * self.scale

    for p in model.parameters():
        p.requires_grad_(False)
    top = [model.encoder.layer[j] for j in range(split_at, n_layers)]
    adapters: dict[str, LoRA] = {}
    for j, layer in zip(range(split_at, n_layers), top, strict=True):
        for name in TRAINED:
            parent_name, _, attr = ("attention.self." + name if name in ("query", "value") else name).rpartition(".")
            parent = layer.get_submodule(parent_name)
            lora = LoRA(getattr(parent, attr), args.rank, 2.0 * args.rank)
            setattr(parent, attr, lora)
            adapters[f"encoder.layer.{j}.{parent_name}.{attr}"] = lora
    s_param = torch.nn.Parameter(torch.tensor(10.0, device=device))
    c_param = torch.nn.Parameter(torch.tensor(0.6, device=device))
    params = [p for a in adapters.values() for p in (a.A, a.B)] + [s_param, c_param]
    print(f"LoRA rank {args.rank} on the top {args.top_layers} layers: {sum(p.numel() for p in params[:-2])} parameters")

    def run_top(h, mask, train: bool):
        for layer in top:
            layer.train(train)
        ext = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in top:
            out = layer(h, attention_mask=ext)
            h = out[0] if isinstance(out, tuple) else out
        return h

    def embed(tids: list[int], train: bool) -> dict[int, tuple]:
        """Token-sketch vectors of texts ``tids`` through the (adapted) top layers.

        Only chunks holding a sketch piece are run, in batches of similar length (padding kept small)."""
        cks = sorted({c for t in tids for c in text_chunks[t] if picks[c]}, key=lambda c: len(chunks[c]))
        flat, row_of = [], {}
        offset = 0
        for sub in length_batches(cks, lengths, budget):
            width = cache[sub[-1]].shape[0]
            h = torch.zeros((len(sub), width, dim), device=device)
            mask = torch.zeros((len(sub), width), dtype=torch.long, device=device)
            for r, c in enumerate(sub):
                h[r, : cache[c].shape[0]] = cache[c].float()
                mask[r, : cache[c].shape[0]] = 1
                row_of[c] = offset + r * width
            out = torch.nn.functional.normalize(run_top(h, mask, train), dim=-1)
            flat.append(out.reshape(-1, dim))
            offset += len(sub) * width
        states = torch.cat(flat) if flat else torch.zeros((0, dim), device=device)
        res = {}
        for t in tids:
            sel, w = sketch[t]
            at = torch.tensor([row_of[c] + off for c, off in sel], dtype=torch.long, device=device)
            res[t] = (states.index_select(0, at), w)
        return res

    def align(ea, eb, i: int):
        """Alignment of pair ``i`` in ``--align-mode``."""
        (ha, wa), (hb, wb) = ea, eb
        if len(ha) == 0 or len(hb) == 0:
            return torch.tensor(float(len(ha) == len(hb)), device=device)
        sim = ha @ hb.T
        plain = 0.5 * ((sim.max(1).values * wa).sum() / wa.sum() + (sim.max(0).values * wb).sum() / wb.sum())
        if args.align_mode == "plain":
            return plain
        keep_a = torch.tensor(~pm_a[i][: len(wa)], device=device)
        keep_b = torch.tensor(~pm_b[i][: len(wb)], device=device)
        if not keep_a.any() or not keep_b.any():
            answer = plain
        else:
            va, vb = wa * keep_a, wb * keep_b
            answer = 0.5 * ((sim.max(1).values * va).sum() / va.sum() + (sim.max(0).values * vb).sum() / vb.sum())
        return answer if args.align_mode == "answer" else 0.5 * (plain + answer)

    def align_scores(idx: np.ndarray) -> np.ndarray:
        out = []
        with torch.no_grad():
            for s in range(0, len(idx), 32):
                b = idx[s : s + 32]
                e = embed(sorted({*ia[b].tolist(), *ib[b].tolist()}), False)
                out += [float(align(e[ia[i]], e[ib[i]], i)) for i in b]
        return np.array(out)

    def train_adapter(fit: np.ndarray, val: np.ndarray, test: np.ndarray, test_name: str, seed: int) -> int:
        """Train fresh adapters on pairs ``fit``; keep (and leave loaded) the epoch best on ``val``'s alignment AUC.

        ``test``'s alignment AUC is printed for information only."""

        def report(epoch: int, loss: float | None, seconds: float) -> float:
            v = roc_auc(align_scores(val), y[val])
            h = roc_auc(align_scores(test), y[test])
            extra = "" if loss is None else f" loss {loss:.3f} ({seconds:.0f} s)"
            print(f"epoch {epoch}{extra}: align AUC validation({len(val)}) {v:.4f}, {test_name}({len(test)}) {h:.4f}",
                  flush=True)
            return v

        torch.manual_seed(seed)
        for a in adapters.values():
            a.reset()
        with torch.no_grad():
            s_param.fill_(10.0)
            c_param.fill_(0.6)
        best_val, best_epoch = report(0, None, 0.0), 0
        best_state = {k2: (a.A.detach().clone(), a.B.detach().clone()) for k2, a in adapters.items()}
        opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
        rng = np.random.default_rng(seed)
        for epoch in range(1, args.epochs + 1):
            t0, total = time.perf_counter(), 0.0
            perm = rng.permutation(fit)
            for s in range(0, len(perm), 16):
                b = perm[s : s + 16]
                e = embed(sorted({*ia[b].tolist(), *ib[b].tolist()}), True)
                logits = torch.stack([s_param * (align(e[ia[i]], e[ib[i]], i) - c_param) for i in b])
                target = torch.tensor(y[b], dtype=torch.float32, device=device)
                loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(b)
            v = report(epoch, total / len(perm), time.perf_counter() - t0)
            if v > best_val:
                best_val, best_epoch = v, epoch
                best_state = {k2: (a.A.detach().clone(), a.B.detach().clone()) for k2, a in adapters.items()}
        with torch.no_grad():
            for k2, a in adapters.items():
                a.A.copy_(best_state[k2][0])
                a.B.copy_(best_state[k2][1])
        print(f"kept epoch {best_epoch} (best validation AUC {best_val:.4f})", flush=True)
        return best_epoch

    def features(embs: np.ndarray, idx: np.ndarray) -> np.ndarray:
        ta = [data.texts_a[i] for i in idx]
        tb = [data.texts_b[i] for i in idx]
        return pair_features(
            embs[ia[idx]], embs[ib[idx]], ta, tb, feature_set=shipped.feature_set, dim=dim, sketch_tokens=k,
            sketch_masks=(pm_a[idx], pm_b[idx]),
        )

    nonneg = monotone_mask(feature_names(shipped.feature_set, dim))

    def cross_fit() -> None:
        """cv1000 with the adapter cross-fitted: the folds of ``benchmarks/judge_experiments.py`` (5 prompt-grouped
        folds over all 1,000 pairs, seed + 1); in each, the adapter is trained on the other four folds (one fifth of
        them, by prompt, validates the epoch), every response is re-embedded, and the shipped head (monotone, C=0.3,
        as judge_experiments.py's approach 7) is fitted on the four folds' features and scores the held-back fold.
        The frozen encoder goes through the same head and folds (reproduces approach 7's cv1000, 0.825)."""
        t0 = time.perf_counter()
        emb_frozen = enc.encode(texts)  # adapters start at B = 0: exactly the shipped encoder
        print(f"frozen encoder: {len(texts)} responses embedded in {time.perf_counter() - t0:.0f} s", flush=True)
        groups = np.asarray(data.groups, dtype=object)
        outer = grouped_folds(data.groups, y, 5, args.seed + 1)
        every = np.arange(len(y))
        x0 = features(emb_frozen, every)
        run = [int(f) for f in args.folds.split(",")] if args.folds else list(range(5))
        pooled = {"frozen": np.full(len(y), np.nan), "adapter": np.full(len(y), np.nan)}
        correct = {name: np.zeros(len(y), dtype=bool) for name in pooled}
        for fold in run:
            test, rest = every[outer == fold], every[outer != fold]
            inner = grouped_folds(groups[rest].tolist(), y[rest], 5, args.seed)
            print(f"--- fold {fold}: adapter trained on {int((inner != 0).sum())} pairs, validated on "
                  f"{int((inner == 0).sum())}, fold of {len(test)} held back", flush=True)
            train_adapter(rest[inner != 0], rest[inner == 0], test, f"fold {fold}", args.seed + fold)
            t0 = time.perf_counter()
            x1 = features(enc.encode(texts), every)
            print(f"re-embedded {len(texts)} responses in {time.perf_counter() - t0:.0f} s", flush=True)
            line = []
            for name, x in (("frozen", x0), ("adapter", x1)):
                p = _predict(fit_head(x[rest], y[rest], 0.3, args.seed, nonneg), x[test])
                threshold = calibrate_threshold(_oof(x[rest], y[rest], inner, 0.3, args.seed, nonneg), y[rest])
                pooled[name][test], correct[name][test] = p, (p > threshold) == (y[test] == 1)
                line.append(f"{name} AUC {roc_auc(p, y[test]):.4f}")
            print(f"fold {fold}: " + ", ".join(line), flush=True)
        done = np.isin(outer, run)
        what = "cv1000" if done.all() else f"folds {args.folds} ({int(done.sum())} pairs)"
        for name in pooled:
            print(f"{what} {name}: AUC {roc_auc(pooled[name][done], y[done]):.4f}, accuracy {correct[name][done].mean():.4f}")
        print(f"total {time.perf_counter() - t_start:.0f} s")

    if args.cv1000:
        cross_fit()
        return

    train_adapter(fit_idx, val_idx, te, "held-out", args.seed)
    # merge the kept adapter into plain Linear layers: the judge then costs what the shipped one costs
    with torch.no_grad():
        for name, lora in adapters.items():
            lora.base.weight += (lora.B @ lora.A) * lora.scale
            parent_name, _, attr = name.rpartition(".")
            setattr(model.get_submodule(parent_name), attr, lora.base)
    model.eval()
    if args.output:
        model.to("cpu").save_pretrained(args.output)
        tok.save_pretrained(args.output)
        model.to(device)
        print(f"saved the merged encoder to {args.output}", flush=True)

    t0 = time.perf_counter()
    emb = enc.encode(texts)
    print(f"re-embedded {len(texts)} responses with the merged adapter in {time.perf_counter() - t0:.0f} s")
    x_tr, x_te = features(emb, tr), features(emb, te)
    cv = {c: _oof(x_tr, y[tr], folds, c, args.seed, nonneg) for c in (0.03, 0.1, 0.3, 1.0)}
    best_c = max(cv, key=lambda c: (roc_auc(cv[c], y[tr]), -c))
    threshold = calibrate_threshold(cv[best_c], y[tr])
    p_te = _predict(fit_head(x_tr, y[tr], best_c, args.seed, nonneg), x_te)
    m = bootstrap_metrics(p_te, y[te], threshold, n_boot=args.n_boot, seed=args.seed)
    print(
        f"adapter + shipped features + LR head (C={best_c}, threshold {threshold:.3f}): held-out AUC {m['auc']:.3f} "
        f"[{m['auc_ci95'][0]:.3f}, {m['auc_ci95'][1]:.3f}], accuracy {m['accuracy']:.3f} "
        f"[{m['accuracy_ci95'][0]:.3f}, {m['accuracy_ci95'][1]:.3f}]; out-of-fold AUC on the 800 (optimistic) "
        f"{roc_auc(cv[best_c], y[tr]):.3f}"
    )
    print(f"total {time.perf_counter() - t_start:.0f} s ({device}, {torch.get_num_threads()} torch threads)")


if __name__ == "__main__":
    main()
