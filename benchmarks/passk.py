"""Time the vectorised pass@k against the usual per-problem loop, in the same run.

100,000 problems, n = 256 samples each, c uniform in [0, n], k in {1, 2, 4, ..., 256}.
The vectorised call is timed as the median of 3 runs after a small warm-up call; the loop runs once.
Prints both times, the speed-up and the largest absolute difference between the two.

    python benchmarks/passk.py [--problems 100000] [--samples 256] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from diversity_metrics import pass_at_k


def loop_pass_at_k(n: int, c: int, k: int) -> float:
    """The per-problem formula used by Codex/HumanEval-style evaluation scripts."""
    if n - c < k:
        return 1.0
    return 1.0 - float(np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        return platform.processor()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    n = args.samples
    ks = 2 ** np.arange(int(np.log2(n)) + 1)
    rng = np.random.default_rng(args.seed)
    correct = rng.integers(0, n + 1, size=args.problems)

    pass_at_k(n, correct[:100, None], ks[None, :])  # warm-up (imports, first-touch allocations)
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        fast = pass_at_k(n, correct[:, None], ks[None, :])
        runs.append(time.perf_counter() - start)
    t_fast = float(np.median(runs))

    start = time.perf_counter()
    slow = np.empty((args.problems, ks.size))
    for j, k in enumerate(ks.tolist()):
        for i, c in enumerate(correct.tolist()):
            slow[i, j] = loop_pass_at_k(n, c, k)
    t_loop = time.perf_counter() - start

    print(f"machine: {platform.machine()} {cpu_name()} cpus={os.cpu_count()} "
          f"python={platform.python_version()} numpy={np.__version__}")
    print(f"problems={args.problems} n={n} k={ks.tolist()} ({fast.size:,} values)")
    print(f"vectorised pass_at_k: {t_fast:.3f} s (median of 3 runs: {', '.join(f'{r:.3f}' for r in runs)})")
    print(f"per-problem loop:     {t_loop:.3f} s")
    print(f"speed-up:             {t_loop / t_fast:.1f}x")
    print(f"max abs difference:   {np.max(np.abs(fast - slow)):.3e}")


if __name__ == "__main__":
    main()
