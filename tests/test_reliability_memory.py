"""Bounded memory: the transitive strategy streams its pairs, Monte-Carlo maj@k draws in chunks (docs/reliability.md).

The full-size figures (10,000 responses; 150,000 answer classes) come from benchmarks/reliability_memory.py; these
tests check the same bounds at a size that runs in a second or two."""

from __future__ import annotations

import itertools
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from diversity_metrics import strategies
from diversity_metrics.metrics import estimators
from diversity_metrics.metrics.estimators import maj_at_k
from diversity_metrics.strategies import make_strategy, run_strategy


def _reference_transitive(n, same):
    """All n(n-1)/2 pairs at once, union-find: the strategy's definition."""
    edges = [(i, j) for i, j in itertools.combinations(range(n), 2) if same(i, j)]
    if not edges:
        return list(range(n))
    a, b = zip(*edges)
    _, labels = connected_components(coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n)), directed=False)
    return strategies.canonical(labels.tolist())


@pytest.mark.parametrize("block", [1, 7, 64, None])
def test_blocked_transitive_is_exact(monkeypatch, block):
    if block is not None:
        monkeypatch.setattr(strategies, "TRANSITIVE_BLOCK_PAIRS", block)
    rng = np.random.default_rng(block or 0)
    for n in [1, 2, 3, 10, 41]:
        colour = rng.integers(0, 5, size=n)
        noise = rng.random((n, n)) < 0.03
        same = lambda i, j: bool(colour[i] == colour[j] and not noise[i, j]) or bool(noise[j, i])  # noqa: E731
        oracle = lambda pairs: (np.array([float(same(i, j)) for i, j in pairs]), np.array([same(i, j) for i, j in pairs]))  # noqa: E731
        assert run_strategy("transitive", n, oracle) == _reference_transitive(n, same)


def test_transitive_requests_are_bounded_and_cover_every_pair_once():
    n = 1000
    gen = make_strategy("transitive", n)
    seen = 0
    request = next(gen)
    try:
        while True:
            assert len(request) <= strategies.TRANSITIVE_BLOCK_PAIRS
            seen += len(request)
            request = gen.send((np.zeros(len(request)), np.zeros(len(request), dtype=bool)))
    except StopIteration as stop:
        labels = stop.value
    assert seen == n * (n - 1) // 2 and labels == list(range(n))


TRANSITIVE_RSS = """
import resource, sys
import numpy as np
from diversity_metrics.strategies import run_strategy
oracle = lambda pairs: (np.zeros(len(pairs)), (np.asarray(pairs)[:, 0] % 10) == (np.asarray(pairs)[:, 1] % 10))
run_strategy("transitive", 3, oracle)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
labels = run_strategy("transitive", int(sys.argv[1]), oracle)
assert labels == [i % 10 for i in range(int(sys.argv[1]))]
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


def test_transitive_memory_stays_o_n_times_block():
    """1,500 responses = 1,124,250 pairs: all at once grew the process by ~130 MB of tuples; blocks stay small."""
    out = subprocess.run([sys.executable, "-c", TRANSITIVE_RSS, "1500"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    growth_mib = int(out.stdout.strip()) / 1024
    assert growth_mib < 40, growth_mib


def test_monte_carlo_maj_at_k_is_chunked_and_chunking_does_not_change_the_value(monkeypatch):
    counts = np.ones(20_000, dtype=np.int64)
    counts[0] = 40
    full = maj_at_k(counts, 0, 8, method="monte_carlo", n_draws=300, seed=3)
    monkeypatch.setattr(estimators, "MC_CHUNK_CELLS", 1 << 16)  # 3 draws at a time
    tracemalloc.start()
    try:
        chunked = maj_at_k(counts, 0, 8, method="monte_carlo", n_draws=300, seed=3)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert chunked == full
    assert peak < 8 * 2**20, peak / 2**20  # unchunked: 300 x 20,001 int64 = 48 MB for the draws alone
