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
    p.add_argument("--output", "-o", help="per-prompt results (JSONL); default: <input name>.<judge>.<hash>.scores.jsonl "
                   "here (the hash covers the input path and the settings)")
    p.add_argument("--judge", default=None, help="judge name or path (default: the shipped learned judge); see `judges`")
    p.add_argument(
        "--judge-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an option for the judge, e.g. threshold=0.25 or device=cuda (VALUE read as JSON when it parses); repeatable",
    )
    p.add_argument("--strategy", default=None,
                   help="partition strategy: greedy (NoveltyBench, default), transitive (DARLING), clique, average")
    p.add_argument("--use-file-partitions", action="store_true", help="use the 'partition' stored in the file, no judge")
    p.add_argument("--short-rule", default=None, choices=("normalized", "noveltybench", "off"),
                   help="how pairs of <= 5-word responses are decided: normalized words (default), NoveltyBench's "
                   "exact rule, or off (the judge decides)")
    p.add_argument("--no-short-rule", action="store_true", help="same as --short-rule off")
    p.add_argument("--device", default=None, help="device of model judges: auto, cpu, cuda, cuda:N")
    p.add_argument("--k", type=int, default=None, help="distinct_k / utility_k over the first k generations (default: all)")
    p.add_argument("--patience", type=float, default=0.8, help="utility_k patience (default 0.8)")
    p.add_argument("--chunk-size", type=int, default=64, help="most prompts partitioned per batch (default 64; batches are "
                   "sized to take ~2 s, so results reach the file as they finish)")
    p.add_argument("--no-resume", action="store_true", help="recompute everything instead of skipping finished prompts")
    p.add_argument("--summary-json", help="also write the summary table as JSON to this path")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--order-seeds", default=None, metavar="S1,S2,...",
                   help="after scoring, re-partition every prompt under these seeded shuffled orders and print how "
                   "stable distinct_k is (diversity_metrics.stability)")
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
    output = Path(args.output) if args.output else _default_output(args, input_path)
    order_seeds = _check_order_seeds(args)
    records = score_file(
        input_path,
        output,
        resume=not args.no_resume,
        judge=args.judge,
        judge_options=parse_judge_options(args.judge_option) or None,
        strategy=args.strategy,
        use_file_partitions=args.use_file_partitions,
        short_rule="off" if args.no_short_rule else args.short_rule,
        device=args.device,
        k=args.k,
        patience=args.patience,
        chunk_size=args.chunk_size,
        show_progress=not args.quiet,
    )
    rows = summarize(records)
    settings = records[0]["settings"]
    print(f"\n{len(records)} prompts from {input_path}")
    options = "".join(f" {k}={v!r}" for k, v in settings.get("judge_options", {}).items())
    point = f" @ {settings['operating_point']}" if settings.get("operating_point") else ""
    print(f"judge: {settings['judge']}{point}{options}  strategy: {settings['strategy']}  "
          f"short rule: {settings.get('short_rule')}  per-prompt results: {output}")
    if settings.get("metric_version"):
        print(f"metric version: {settings['metric_version']}")
    print()
    print(format_summary(rows))
    if args.summary_json:
        Path(args.summary_json).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    if order_seeds:
        _print_order_stability(args, input_path, records, order_seeds)
    return 0


def _default_output(args: argparse.Namespace, input_path: Path) -> Path:
    """``<stem>.<judge>.<hash of input path + settings>.scores.jsonl``: no two inputs or judges share one."""
    from diversity_metrics.partitioner import PartitionSpec
    from diversity_metrics.scoring import default_output_path

    if args.use_file_partitions:
        settings: dict[str, object] = {"judge": "file"}
    else:
        settings = PartitionSpec.from_mapping({
            "judge": args.judge, "judge_options": parse_judge_options(args.judge_option) or None,
            "strategy": args.strategy, "short_rule": "off" if args.no_short_rule else args.short_rule,
        }).settings()
    return default_output_path(input_path, {**settings, "k": args.k, "patience": args.patience})


def _check_order_seeds(args: argparse.Namespace) -> list[int] | None:
    if args.order_seeds is None:
        return None
    from diversity_metrics.stability import parse_seeds

    if args.use_file_partitions:
        raise ValueError("--order-seeds re-partitions with a judge; it cannot be used with --use-file-partitions")
    return parse_seeds(args.order_seeds)


def _print_order_stability(args: argparse.Namespace, input_path: Path, records: list, seeds: list[int]) -> None:
    """``score --order-seeds``: the same partition settings, the stored partitions as the original order."""
    from diversity_metrics.io import load_groups
    from diversity_metrics.partitioner import Partitioner, PartitionSpec
    from diversity_metrics.stability import format_order_stability, order_stability

    spec = PartitionSpec.from_mapping({
        "judge": args.judge, "judge_options": parse_judge_options(args.judge_option) or None,
        "strategy": args.strategy, "short_rule": "off" if args.no_short_rule else args.short_rule,
        "device": args.device,
    })
    groups = load_groups(input_path)
    by_id = {str(r["id"]): r for r in records}
    result = order_stability(
        [g.generations for g in groups], Partitioner(spec), seeds, prompts=[g.prompt for g in groups],
        ids=[g.id for g in groups], original=[by_id[g.id]["partition"] for g in groups], k=args.k,
    )
    print()
    print(format_order_stability(result))


def format_judges(rows: Sequence[dict[str, object]]) -> str:
    """The ``judges`` listing: one line per judge (name, aliases, pip extra, summary), the default marked.

    Example:
        >>> print(format_judges([{"name": "unigram", "aliases": ["rouge1"], "summary": "ROUGE-1 F1 > 0.458",
        ...                       "default": False, "extra": ""}]))
        judge    aliases  extra  summary
        unigram  rouge1   -      ROUGE-1 F1 > 0.458
    """
    table = [("judge", "aliases", "extra", "summary")]
    for r in rows:
        name = f"{r['name']} (default)" if r.get("default") else str(r["name"])
        aliases = ", ".join(map(str, r.get("aliases") or [])) or "-"  # type: ignore[call-overload]
        table.append((name, aliases, f"[{r['extra']}]" if r.get("extra") else "-", str(r.get("summary", ""))))
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row[:3], widths)) + "  " + row[3] for row in table)


def _run_judges(args: argparse.Namespace) -> int:
    from diversity_metrics import judges

    describe = getattr(judges, "describe_judges", None)
    if describe is None:  # an older registry without summaries
        print("\n".join(judges.list_judges()))
        return 0
    print(format_judges(describe()))
    print("\nA judge whose extra is not installed needs `pip install 'diversity-metrics[EXTRA]'`. Options: "
          "--judge-option KEY=VALUE (score) or get_judge(name, **options); a local folder also works as --judge.")
    return 0


def _add_judges(sub: argparse._SubParsersAction) -> None:
    help_text = "list the judges get_judge() knows: the default, aliases, the pip extra each needs, one line each"
    sub.add_parser("judges", help=help_text, description=help_text).set_defaults(func=_run_judges)


def _add_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="write a static HTML page with plots comparing scored runs side by side",
        description="Read `score` outputs (*.scores.jsonl) and/or math outputs with pass@k / maj@k (JSONL records or an "
        "lm-eval results_*.json); write OUT/index.html, report_*.png plots and summary.json (works offline).",
    )
    p.add_argument("runs", nargs="+", help="one file per system")
    p.add_argument("--output", "-o", default="report", help="output folder (default: ./report)")
    p.add_argument("--label", action="append", default=None, help="system label, once per run file (default: file name)")
    p.add_argument("--title", default="diversity-metrics report", help="page title")
    p.add_argument("--strict", action="store_true", help="refuse runs scored under different metric versions")
    p.set_defaults(func=_run_report)


def _run_report(args: argparse.Namespace) -> int:
    try:
        from diversity_metrics.report import write_report
    except ImportError as exc:
        print(f"diversity-metrics report: error: {exc}", file=sys.stderr)
        return 2
    index = write_report(args.runs, args.output, labels=args.label, title=args.title, strict=args.strict)
    print(f"report written to {index}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="diversity-metrics", description="Semantic diversity metrics for LLM outputs.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_score(sub)
    _add_judges(sub)
    _add_report(sub)
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
    except (ValueError, TypeError, OSError, ImportError, RuntimeError) as exc:
        # user errors: bad input or settings, files/folders/unreachable servers (OSError), a missing optional extra
        # (MissingExtraError is an ImportError), a judge that fails (a server answering HTTP 4xx: RuntimeError)
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"diversity-metrics {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: finished prompts are saved; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
