"""Repeated ``dm.partition(texts)`` calls against passing a judge object (the judge cache, issue 12).

Prints seconds per call, over the first N prompts of the shared GPT-4o generations, for
1. ``dm.partition(texts)`` (judge by name: built once, then taken from the cache),
2. ``dm.partition(texts, judge=judge_object)`` (the judge built by the caller),
3. ``Partitioner().partition(texts)`` (one configured engine),
and the ratio of 1 to 2 (target: <= 1.2).

    python benchmarks/partition_cache.py [--prompts 20] [--judge learned]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import diversity_metrics as dm
from diversity_metrics.partitioner import Partitioner, clear_judge_cache

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "noveltybench" / "generations" / "gpt-4o.jsonl"


def timed(fns, groups) -> list[float]:
    """Seconds per call of each fn; the fns take turns on every group, so machine load hits all alike."""
    totals = [0.0] * len(fns)
    for i, g in enumerate(groups):
        order = list(range(len(fns)))
        if i % 2:
            order.reverse()
        for k in order:
            start = time.perf_counter()
            fns[k](g)
            totals[k] += time.perf_counter() - start
    return [t / len(groups) for t in totals]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=20)
    parser.add_argument("--judge", default="learned")
    args = parser.parse_args()
    rows = [json.loads(line) for line in SHARED.open()][: args.prompts]
    groups = [r["generations"] for r in rows]
    print(f"machine: {platform.machine()} {platform.processor() or ''}, {__import__('os').cpu_count()} CPUs; "
          f"{len(groups)} prompts x {len(groups[0])} responses, judge {args.judge}")
    clear_judge_cache()
    judge = dm.get_judge(args.judge)
    dm.partition(groups[0], judge=judge)  # warm-up: loads the encoder
    dm.partition(groups[0], judge=args.judge)
    engine = Partitioner(judge=args.judge)
    by_name, by_object, by_engine = timed(
        [lambda g: dm.partition(g, judge=args.judge), lambda g: dm.partition(g, judge=judge), engine.partition], groups
    )
    print(f"dm.partition(texts, judge={args.judge!r}) : {by_name:.4f} s per call")
    print(f"dm.partition(texts, judge=<object>)     : {by_object:.4f} s per call")
    print(f"Partitioner().partition(texts)          : {by_engine:.4f} s per call")
    print(f"ratio name / object: {by_name / by_object:.3f} (target <= 1.2)")


if __name__ == "__main__":
    main()
