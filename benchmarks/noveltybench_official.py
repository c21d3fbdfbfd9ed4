"""Reproduce NoveltyBench's stored distinct/utility from the stored partitions and scores.

Prints, for each system in ../shared/data/noveltybench/generations, the mean class count (distinct_k),
the mean of NoveltyBench's stored "distinct" field (which is classes - 1), our utility_k against the stored
utility, and the largest per-prompt difference.

    python benchmarks/noveltybench_official.py [--data ../shared/data/noveltybench/generations]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from diversity_metrics import distinct_k, utility_k

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "noveltybench" / "generations"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT)
    args = parser.parse_args()
    print(f"{'system':<10} {'prompts':>7} {'distinct_k':>10} {'stored distinct':>15} {'utility_k':>9} {'stored utility':>14} {'max |diff|':>10}")
    for path in sorted(args.data.glob("*.jsonl")):
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        ours_d = np.array([distinct_k(r["partition"]) for r in rows], dtype=float)
        ours_u = np.array([utility_k(r["partition"], r["generation_scores"]) for r in rows])
        stored_u = np.array([r["utility"] for r in rows])
        stored_d = np.array([r["distinct"] for r in rows], dtype=float)
        diff = max(np.max(np.abs(ours_u - stored_u)), np.max(np.abs(ours_d - (stored_d + 1))))
        print(f"{path.stem:<10} {len(rows):>7} {ours_d.mean():>10.2f} {stored_d.mean():>15.2f} "
              f"{ours_u.mean():>9.4f} {stored_u.mean():>14.4f} {diff:>10.1e}")


if __name__ == "__main__":
    main()
