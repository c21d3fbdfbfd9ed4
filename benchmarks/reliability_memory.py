"""Peak memory of the two jobs issue 13 found unbounded: the transitive strategy on 10,000 responses and
Monte-Carlo maj@k over 150,000 answer classes (docs/reliability.md quotes this script's output).

Each case runs in a fresh subprocess; the figure is the growth of its peak resident memory (ru_maxrss) over the
process after imports, and the wall time.

    python benchmarks/reliability_memory.py            # all cases (several minutes on a 2-core CPU)
    python benchmarks/reliability_memory.py --quick    # 3,000 responses, 20,000 draws x 15,000 classes
"""

from __future__ import annotations

import argparse
import subprocess
import sys

CASES = {
    "run_strategy": """
import numpy as np
from diversity_metrics.strategies import run_strategy
oracle = lambda pairs: (np.zeros(len(pairs)), (np.asarray(pairs)[:, 0] % 10) == (np.asarray(pairs)[:, 1] % 10))
run_strategy("transitive", 3, oracle)
def job(n):
    assert run_strategy("transitive", n, oracle) == [i % 10 for i in range(n)]
""",
    "partition": """
import diversity_metrics as dm
dm.partition(["a b", "a c"], judge="exact", strategy="transitive", short_rule="off")
def job(n):
    texts = [f"response number {i} of the group" for i in range(n)]  # n distinct texts: every pair judged
    labels = dm.partition(texts, judge="exact", strategy="transitive", short_rule="off")
    assert labels == list(range(n))
""",
    "maj_at_k": """
import numpy as np
from diversity_metrics.metrics.estimators import maj_at_k
maj_at_k([2, 1], 0, 2, method="monte_carlo", n_draws=10)
def job(n, draws=DRAWS):
    counts = np.ones(n, dtype=np.int64); counts[0] = 50
    print("value", maj_at_k(counts, 0, 16, method="monte_carlo", n_draws=draws, seed=0))
""",
}
RUNNER = """
import resource, sys, time
{setup}
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
job(int(sys.argv[1]))
print("result", (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024, time.perf_counter() - start)
"""


def run(case: str, n: int, draws: int) -> None:
    code = RUNNER.format(setup=CASES[case].replace("DRAWS", str(draws)))
    out = subprocess.run([sys.executable, "-c", code, str(n)], capture_output=True, text=True)
    if out.returncode != 0:
        print(f"{case:13s} n={n:>7,}: FAILED {out.stderr.strip().splitlines()[-1:]}")
        return
    lines = out.stdout.split("\n")
    growth, seconds = next(line for line in lines if line.startswith("result")).split()[1:]
    extra = " ".join(line for line in lines if line.startswith("value"))
    pairs = f" ({n * (n - 1) // 2:,} pairs)" if case != "maj_at_k" else f" ({draws:,} draws)"
    print(f"{case:13s} n={n:>7,}{pairs}: peak memory +{float(growth):.0f} MiB, {float(seconds):.1f} s {extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--case", choices=sorted(CASES), action="append")
    args = parser.parse_args()
    n_resp, n_classes, draws = (3_000, 15_000, 20_000) if args.quick else (10_000, 150_000, 2_000)
    print(f"python {sys.version.split()[0]} on {sys.platform}; figures: growth of peak RSS over the imports")
    for case in args.case or ["run_strategy", "partition", "maj_at_k"]:
        run(case, n_classes if case == "maj_at_k" else n_resp, draws)


if __name__ == "__main__":
    main()
