"""Regenerate the shipped learned judge (diversity_metrics/judges/default/) -- seeded, CPU, < 30 min.

Trains on ../shared/data/noveltybench/equivalence_pairs_train.jsonl with a prompt-grouped 80/20
held-out split (seed 0): C and the threshold are chosen by 5-fold out-of-fold predictions on the 800
training pairs; the 200 held-out pairs are only scored at the end. Prints the config's metrics (ROC AUC
and accuracy with 95% bootstrap intervals) and the training time.

    python benchmarks/train_default_judge.py [--output DIR] [--cache /tmp/dm_judge_cache.npz]

Encoding the ~2,000 responses with MiniLM takes about 2-3 minutes on a 2-core CPU; the rest < 1 minute.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAIRS = ROOT.parent / "shared" / "data" / "noveltybench" / "equivalence_pairs_train.jsonl"
DEFAULT_OUT = ROOT / "diversity_metrics" / "judges" / "default"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", default=str(DEFAULT_OUT))
    parser.add_argument("--pairs", default=str(PAIRS))
    parser.add_argument("--cache", default="/tmp/dm_judge_cache.npz", help="embedding cache ('' disables)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch

    from diversity_metrics.training import train_judge

    torch.manual_seed(args.seed)
    t0 = time.perf_counter()
    judge = train_judge(
        args.pairs,
        args.output,
        seed=args.seed,
        test_fraction=0.2,
        embedding_cache=args.cache or None,
        device="cpu",
    )
    cfg = judge.config
    keys = ("feature_set", "C", "threshold", "training_data_sha256", "n_train", "n_heldout", "train_seconds")
    print(json.dumps({k: cfg[k] for k in keys}, indent=2))
    print(f"{len(cfg['feature_names'])} pair features")
    for split in ("cross_validation", "heldout"):
        m = cfg["metrics"][split]
        print(
            f"{split:16s} n={m['n']:4d}  AUC {m['auc']:.3f} [{m['auc_ci95'][0]:.3f}, {m['auc_ci95'][1]:.3f}]  "
            f"accuracy {m['accuracy']:.3f} [{m['accuracy_ci95'][0]:.3f}, {m['accuracy_ci95'][1]:.3f}]"
        )
    size = (Path(args.output) / "model.safetensors").stat().st_size
    print(
        f"wrote {args.output} (model.safetensors: {size} bytes) in {time.perf_counter() - t0:.1f} s (2-core CPU, no GPU)"
    )


if __name__ == "__main__":
    main()
