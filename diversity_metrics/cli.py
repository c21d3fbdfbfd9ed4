"""The ``diversity-metrics`` command.

    diversity-metrics score FILE.jsonl [--output OUT.jsonl] [--judge NAME_OR_PATH] [--strategy greedy]
    diversity-metrics score --example          # the example shipped with the package, offline
    diversity-metrics judges                   # list the judge names
    diversity-metrics train-judge PAIRS.jsonl --output DIR
    diversity-metrics tasks-path               # the lm-eval task folder, for --include_path
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from diversity_metrics import __version__

# modules that add their own sub-commands with register_cli(subparsers)
PLUGIN_COMMAND_MODULES = ("diversity_metrics.training", "diversity_metrics.lm_eval_tasks")


def _add_score(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "score",
        help="partition each prompt's generations and compute diversity metrics",
        description="Read NoveltyBench-style JSONL (id, prompt, generations[, partition, generation_scores]) or flat "
        "JSONL (id/prompt, response[, quality]); write one JSON line of metrics per prompt (resumable) and print a summary.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("input", nargs="?", help="input JSONL file")
    src.add_argument("--example", action="store_true", help="score the example file shipped with the package")
    p.add_argument("--output", "-o", help="per-prompt results (JSONL); default: <input name>.scores.jsonl here")
    p.add_argument("--judge", default=None, help="judge name or path (default: the shipped learned judge); see `judges`")
    p.add_argument(
        "--judge-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an option for the judge, e.g. threshold=0.25 or device=cuda (VALUE read as JSON when it parses); repeatable",
    )
    p.add_argument("--strategy", default="greedy", help="partition strategy: greedy (NoveltyBench), transitive (DARLING), ...")
    p.add_argument("--use-file-partitions", action="store_true", help="use the 'partition' stored in the file, no judge")
    p.add_argument("--no-short-rule", action="store_true", help="disable the <= 5-word short-response rule")
    p.add_argument("--k", type=int, default=None, help="distinct_k / utility_k over the first k generations (default: all)")
    p.add_argument("--patience", type=float, default=0.8, help="utility_k patience (default 0.8)")
    p.add_argument("--chunk-size", type=int, default=64, help="prompts partitioned per batch (default 64)")
    p.add_argument("--no-resume", action="store_true", help="recompute everything instead of skipping finished prompts")
    p.add_argument("--summary-json", help="also write the summary table as JSON to this path")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_score)


def parse_judge_options(items: Sequence[str]) -> dict[str, object]:
    """``["threshold=0.25", "device=cpu"]`` -> ``{"threshold": 0.25, "device": "cpu"}``; values parsed as JSON if they parse.

    Example:
        >>> parse_judge_options(["threshold=0.25", "device=cpu"])
        {'threshold': 0.25, 'device': 'cpu'}
    """
    options: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep:
            raise ValueError(f"--judge-option must look like KEY=VALUE, got {item!r}")
        if key in options:
            raise ValueError(f"--judge-option {key} is given twice")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def _run_score(args: argparse.Namespace) -> int:
    from diversity_metrics.io import example_path
    from diversity_metrics.scoring import format_summary, score_file, summarize

    input_path = example_path() if args.example else Path(args.input)
    output = Path(args.output) if args.output else Path(f"{Path(input_path).stem}.scores.jsonl")
    records = score_file(
        input_path,
        output,
        resume=not args.no_resume,
        judge=args.judge,
        judge_options=parse_judge_options(args.judge_option),
        strategy=args.strategy,
        use_file_partitions=args.use_file_partitions,
        short_rule=not args.no_short_rule,
        k=args.k,
        patience=args.patience,
        chunk_size=args.chunk_size,
        show_progress=not args.quiet,
    )
    rows = summarize(records)
    settings = records[0]["settings"]
    print(f"\n{len(records)} prompts from {input_path}")
    options = "".join(f" {k}={v!r}" for k, v in settings.get("judge_options", {}).items())
    print(f"judge: {settings['judge']}{options}  strategy: {settings['strategy']}  per-prompt results: {output}\n")
    print(format_summary(rows))
    if args.summary_json:
        Path(args.summary_json).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


def _add_judges(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("judges", help="list the equivalence judges that get_judge() knows")
    p.set_defaults(func=lambda args: print("\n".join(__import__("diversity_metrics").list_judges())) or 0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="diversity-metrics", description="Semantic diversity metrics for LLM outputs.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_score(sub)
    _add_judges(sub)
    for name in PLUGIN_COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue  # an optional integration whose dependencies are not installed
        register = getattr(module, "register_cli", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``diversity-metrics`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"diversity-metrics {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: finished prompts are saved; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
