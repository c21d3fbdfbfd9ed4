"""Estimators over k samples per problem: pass@k, maj@k, and bootstrap confidence intervals.

All estimators draw the k samples WITHOUT replacement from the n generated ones (the unbiased
estimators of Chen et al. 2021); a with-replacement bootstrap of "best@k" is biased.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import stats
from scipy.special import gammaln

from diversity_metrics._validation import as_int_array, check_same_length
from diversity_metrics.answers import group_answers

__all__ = ["pass_at_k", "pass_at_k_from_answers", "maj_at_k", "maj_at_k_from_answers", "bootstrap_ci"]


def pass_at_k(num_samples: Any, num_correct: Any, k: Any) -> float | np.ndarray:
    """Unbiased pass@k estimator, vectorised over problems (inputs broadcast like numpy arrays).

    ``pass@k = 1 - C(n - c, k) / C(n, k)``: the probability that at least one of k samples drawn without
    replacement from the n generated samples (c of them correct) is correct. Computed as a product of
    ``min(c, k)`` factors in [0, 1] (never a binomial coefficient, so no overflow for any n):
    ``C(n-c, k)/C(n, k) = prod_{i=n-c+1}^{n} (1 - k/i) = prod_{j=0}^{k-1} (1 - c/(n-j))``;
    the ratio is 0 (pass@k = 1) when ``n - c < k``. Agrees with exact rational arithmetic to 1e-12 (tested up to n = 10,000).

    Args:
        num_samples: n, samples generated per problem (int or array).
        num_correct: c, correct samples among them, ``0 <= c <= n``.
        k: samples the metric assumes, ``1 <= k <= n``.

    Returns:
        a float if every input is a scalar, otherwise an array of the broadcast shape.

    Reference: Chen et al., "Evaluating Large Language Models Trained on Code", 2021.

    Example:
        >>> round(pass_at_k(8, 3, 5), 12)
        0.982142857143
        >>> pass_at_k([2, 2], [1, 1], [1, 2]).tolist()
        [0.5, 1.0]
    """
    n = as_int_array(num_samples, "num_samples")
    c = as_int_array(num_correct, "num_correct")
    kk = as_int_array(k, "k")
    try:
        n, c, kk = np.broadcast_arrays(n, c, kk)
    except ValueError:
        raise ValueError(
            f"num_samples, num_correct and k cannot be broadcast together: shapes {n.shape}, {c.shape}, {kk.shape}"
        ) from None
    scalar = n.ndim == 0
    if np.any(n < 0):
        raise ValueError("num_samples holds negative counts")
    if np.any(c < 0):
        raise ValueError("num_correct holds negative counts")
    if np.any(kk <= 0):
        raise ValueError("k must be >= 1")
    if np.any(c > n):
        raise ValueError("num_correct exceeds num_samples (c > n)")
    if np.any(kk > n):
        raise ValueError("k exceeds num_samples (n < k): pass@k is undefined with fewer than k samples")

    shape = n.shape
    n, c, kk = n.ravel(), c.ravel(), kk.ravel()
    out = np.ones(n.shape, dtype=np.float64)
    live = np.flatnonzero(n - c >= kk)  # elsewhere every k-subset holds a correct sample
    if live.size:
        # C(n-c,k)/C(n,k) = prod_{t<lo} (1 - hi/(n-t)) with lo = min(c,k), hi = max(c,k)
        nl, cl, kl = n[live], c[live], kk[live]
        lo, hi = np.minimum(cl, kl), np.maximum(cl, kl)
        top = int(nl.max()) + 1
        if live.size > 1024 and top < 2_000_000:  # many problems share (n, lo, hi): compute each once
            key = (nl * top + hi) * top + lo
            uniq, inverse = np.unique(key, return_inverse=True)
            u_lo, rest = uniq % top, uniq // top
            out[live] = 1.0 - _survival_ratio(rest // top, u_lo, rest % top)[inverse]
        else:
            out[live] = 1.0 - _survival_ratio(nl, lo, hi)
    if scalar:
        return float(out[0])
    return out.reshape(shape)


def _survival_ratio(n: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """prod_{t < lo} (1 - hi / (n - t)), vectorised over problems; the terms lie in [0, 1]."""
    order = np.argsort(-lo, kind="stable")
    neg_lo = -lo[order]  # ascending
    hi_f = hi[order].astype(np.float64)
    n_f = n[order].astype(np.float64)
    ratio = np.ones(lo.size, dtype=np.float64)
    for t in range(int(-neg_lo[0]) if lo.size else 0):
        active = int(np.searchsorted(neg_lo, -t, side="left"))  # problems with lo > t form a prefix
        ratio[:active] *= 1.0 - hi_f[:active] / (n_f[:active] - t)
        if t % 256 == 255 and not ratio[:active].any():  # factors are <= 1: once 0 (underflow), always 0
            break
    result = np.empty(lo.size, dtype=np.float64)
    result[order] = ratio
    return result


def _default_equal(a: Any, b: Any) -> bool:
    return bool(a == b)


_cluster = group_answers  # the one answer grouping (diversity_metrics.answers)


def _per_problem_answers(answers: Any, name: str = "answers") -> list[list[Any]]:
    if isinstance(answers, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of per-problem answer lists, got a string")
    try:
        rows = [row for row in answers]
    except TypeError:
        raise TypeError(f"{name} must be a sequence of per-problem answer lists") from None
    out = []
    for i, row in enumerate(rows):
        if isinstance(row, (str, bytes)) or not hasattr(row, "__iter__"):
            raise TypeError(f"{name}[{i}] must be a list of answers (one per sample), got {type(row).__name__}")
        out.append(list(row))
    if not out:
        raise ValueError(f"{name} is empty: need at least one problem")
    return out


def pass_at_k_from_answers(
    answers: Any,
    ground_truth: Sequence[Any] | None = None,
    k: Any = 1,
    *,
    equal: Callable[[Any, Any], bool] | None = None,
) -> np.ndarray:
    """pass@k per problem from raw samples.

    Either ``answers`` holds per-problem lists of correctness flags (``ground_truth=None``), or per-problem
    lists of extracted answers compared with ``ground_truth[i]`` by ``equal`` (default ``==``; for math
    use e.g. math-verify). ``None`` answers (extraction failed) count as wrong. Then
    ``c_i = #correct`` and the result is :func:`pass_at_k` ``(n_i, c_i, k)``.

    Example:
        >>> pass_at_k_from_answers([["4", "5"], ["1", "1"]], ["4", "2"], k=1).tolist()
        [0.5, 0.0]
        >>> pass_at_k_from_answers([[True, False, False, False]], k=4).tolist()
        [1.0]
    """
    rows = _per_problem_answers(answers)
    eq = equal or _default_equal
    if ground_truth is None:
        correct = []
        for i, row in enumerate(rows):
            for v in row:
                if not isinstance(v, (bool, np.bool_, int, np.integer)) or v not in (0, 1):
                    raise TypeError(
                        f"answers[{i}] must hold booleans when ground_truth is None, got {v!r}"
                    )
            correct.append(int(sum(bool(v) for v in row)))
    else:
        if isinstance(ground_truth, (str, bytes)):
            raise TypeError("ground_truth must be a sequence with one truth per problem, got a string")
        truths = list(ground_truth)
        check_same_length(rows, truths, "answers", "ground_truth")
        correct = [sum(1 for a in row if a is not None and eq(a, t)) for row, t in zip(rows, truths)]
    n = np.array([len(r) for r in rows], dtype=np.int64)
    return np.asarray(pass_at_k(n, np.array(correct, dtype=np.int64), k), dtype=np.float64).reshape(-1)


# ----------------------------------------------------------------------------------------- maj@k
def _hypergeom_pmf_matrix(pool: int, good: int, draws: np.ndarray, ymax: int) -> np.ndarray:
    """P[s, y] = P(y successes | draw draws[s] from pool holding good successes), y = 0..ymax."""
    y = np.arange(ymax + 1)[None, :]
    d = draws[:, None]
    valid = (y <= good) & (y <= d) & (d - y <= pool - good)
    yy, dd = np.where(valid, y, 0), np.where(valid, d, 0)

    def lcomb(a: Any, b: Any) -> Any:
        return gammaln(a + 1) - gammaln(b + 1) - gammaln(a - b + 1)

    logp = lcomb(good, yy) + lcomb(pool - good, dd - yy) - lcomb(pool, dd)
    return np.where(valid, np.exp(logp), 0.0)


def _maj_exact(counts: np.ndarray, correct: int, k: int, abstain: int) -> float:
    n = int(counts.sum()) + abstain
    m_c = int(counts[correct])
    sizes = np.delete(counts, correct)
    sizes = sizes[sizes > 0]
    pool_o = n - m_c
    px = _hypergeom_pmf_matrix(n, m_c, np.array([k]), k)[0]
    total = 0.0
    for x in range(max(1, k - pool_o), min(k, m_c) + 1):
        rem = k - x
        # Classes smaller than x can neither beat nor tie the correct one: merged with the abstentions into
        # one pool that is drawn freely. Only classes of size >= x are followed one by one.
        big = [int(m) for m in sizes if m >= x]
        free = pool_o - sum(big)
        ties = min(len(big), rem // x)  # most classes that can reach x votes
        # a[s, t]: probability that the classes seen so far took s of the rem other draws, none above x,
        # t of them tied at x. Classes are drawn one after another (sequential hypergeometric).
        a = np.zeros((rem + 1, ties + 1))
        a[0, 0] = 1.0
        pool = pool_o
        draws_left = rem - np.arange(rem + 1)
        for m, votes in [(m, True) for m in big] + ([(free, False)] if free else []):
            cap = min(m, rem, x) if votes else min(m, rem)
            p = _hypergeom_pmf_matrix(pool, m, draws_left, cap)
            new = np.zeros_like(a)
            for y in range(cap + 1):
                moved = a[: rem + 1 - y] * p[: rem + 1 - y, y : y + 1]
                if votes and y == x:
                    new[y:, 1:] += moved[:, :-1]
                else:
                    new[y:, :] += moved
            a = new
            pool -= m
        total += px[x] * float(np.sum(a[rem] / (1.0 + np.arange(ties + 1))))
    return float(total)


def _exact_cost(counts: np.ndarray, correct: int, k: int, abstain: int) -> tuple[int, int]:
    """(slice updates, array cells updated) of :func:`_maj_exact`."""
    m_c = int(counts[correct])
    others = np.delete(counts, correct)
    others = others[others > 0]
    pool_o = int(counts.sum()) + abstain - m_c
    x = np.arange(max(1, k - pool_o), min(k, m_c) + 1)
    if x.size * max(others.size, 1) > 5_000_000:
        return 10**18, 10**18
    rem = k - x
    is_big = others[None, :] >= x[:, None]
    n_big = is_big.sum(axis=1)
    free = pool_o - np.where(is_big, others[None, :], 0).sum(axis=1)
    ops = n_big * (np.minimum(x, rem) + 1) + np.where(free > 0, np.minimum(free, rem) + 1, 0)
    ties = np.minimum(n_big, rem // x) + 1
    return int(ops.sum()), int(np.sum(ops * (rem + 1) * ties))


MC_CHUNK_CELLS = 1 << 22  # Monte-Carlo maj@k draws at most this many (draw, class) cells at a time (32 MiB)


def _maj_monte_carlo(
    counts: np.ndarray, correct: int, k: int, abstain: int, n_draws: int, rng: np.random.Generator
) -> float:
    colors = np.append(counts, abstain).astype(np.int64)
    # draws are made in chunks of rows so memory stays O(MC_CHUNK_CELLS), whatever the number of classes;
    # the Generator yields the same stream as one call of size n_draws, so the value does not depend on chunking
    rows = max(1, MC_CHUNK_CELLS // colors.size)
    credit = 0.0
    for start in range(0, n_draws, rows):
        draws = rng.multivariate_hypergeometric(colors, k, size=min(rows, n_draws - start))[:, :-1]
        top = draws.max(axis=1, keepdims=True)
        tied = (draws == top) & (top > 0)
        credit += float(np.sum(tied[:, correct] / np.maximum(tied.sum(axis=1), 1)))
    return credit / n_draws


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)):
        return np.random.default_rng(seed)
    raise TypeError(f"seed must be an int, a numpy Generator or None, got {type(seed).__name__}")


def maj_at_k(
    answer_counts: Any,
    correct: int | None,
    k: int,
    *,
    abstentions: int = 0,
    method: str = "auto",
    n_draws: int = 20_000,
    seed: int | np.random.Generator | None = 0,
) -> float:
    """Expected accuracy of a majority vote over k samples drawn without replacement from n (one problem).

    The n samples fall into answer classes of sizes ``answer_counts`` (plus ``abstentions`` samples with
    no answer, which are drawn but do not vote). For a uniformly random k-subset, the class with the most
    votes wins. Tie rule: ties are broken uniformly at random, so a correct class tied with t others earns
    fractional credit ``1/(t+1)``; a subset with no votes at all earns 0. Formally
    ``maj@k = E_S[ 1[x_c = max_j x_j > 0] / #{j: x_j = max} ]`` with ``(x_j)`` the multivariate
    hypergeometric vote counts of the k-subset S.

    ``method="exact"`` sums over the correct class's count x (hypergeometric) and a dynamic programme over
    the classes of size >= x (the smaller ones, merged with the abstentions, can neither beat nor tie it),
    drawn one after another, tracking (draws, classes tied at x); log-gamma probabilities (no overflow).
    ``"monte_carlo"`` averages ``n_draws`` seeded draws (local Generator), drawn in chunks of at most
    ``MC_CHUNK_CELLS`` (2**22) draw x class cells, so memory is ~32 MiB whatever the number of answer classes
    (150,000 classes used to need 22 GiB); time grows with draws x classes. ``"auto"`` uses exact when the
    programme needs at most 2e5 slice updates on at most 5e7 array cells (every n <= 256 qualifies, in
    well under a second), else Monte-Carlo.

    Args:
        answer_counts: samples per distinct answer (non-negative ints).
        correct: index into ``answer_counts`` of the correct answer, or None (no sample is correct -> 0.0).
        k: voters, ``1 <= k <= n`` where ``n = sum(answer_counts) + abstentions``.

    Reference: majority voting / self-consistency (Wang et al. 2023); without-replacement estimator as in
    Chen et al. 2021.

    Example:
        >>> round(maj_at_k([2, 1], 0, 1), 12)  # 2 of 3 samples correct, one voter
        0.666666666667
        >>> round(maj_at_k([1, 1], 0, 2), 12)  # both drawn, a tie broken at random
        0.5
    """
    counts = as_int_array(answer_counts, "answer_counts")
    if counts.ndim != 1:
        raise ValueError(f"answer_counts must be one-dimensional, got shape {counts.shape}")
    if np.any(counts < 0):
        raise ValueError("answer_counts holds negative counts")
    kk = int(as_int_array(k, "k")) if np.ndim(k) == 0 else None
    if kk is None:
        raise TypeError("k must be a single integer")
    ab = int(as_int_array(abstentions, "abstentions"))
    if ab < 0:
        raise ValueError("abstentions must be >= 0")
    n = int(counts.sum()) + ab
    if kk <= 0:
        raise ValueError("k must be >= 1")
    if kk > n:
        raise ValueError(f"k exceeds the number of samples (n={n} < k={kk})")
    if method not in ("auto", "exact", "monte_carlo"):
        raise ValueError(f"method must be 'auto', 'exact' or 'monte_carlo', got {method!r}")
    if correct is None:
        return 0.0
    if isinstance(correct, bool) or not isinstance(correct, (int, np.integer)):
        raise TypeError(f"correct must be an index into answer_counts or None, got {type(correct).__name__}")
    if not 0 <= correct < counts.size:
        raise ValueError(f"correct index {correct} is out of range for {counts.size} answer classes")
    if counts[correct] == 0:
        return 0.0
    if method == "auto":
        ops, cells = _exact_cost(counts, int(correct), kk, ab)
        method = "exact" if ops <= 200_000 and cells <= 50_000_000 else "monte_carlo"
    if method == "exact":
        return float(min(1.0, max(0.0, _maj_exact(counts, int(correct), kk, ab))))
    if isinstance(n_draws, bool) or not isinstance(n_draws, (int, np.integer)) or n_draws < 1:
        raise ValueError(f"n_draws must be a positive integer, got {n_draws!r}")
    return _maj_monte_carlo(counts, int(correct), kk, ab, int(n_draws), _rng(seed))


def maj_at_k_from_answers(
    answers: Any,
    ground_truth: Sequence[Any],
    k: int = 1,
    *,
    equal: Callable[[Any, Any], bool] | None = None,
    method: str = "auto",
    n_draws: int = 20_000,
    seed: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """maj@k per problem from raw extracted answers.

    Answers of one problem are grouped by ``equal`` (default ``==``) against each group's first member;
    ``None`` answers (extraction failed) are drawn but abstain. The correct group is the one whose first
    member equals ``ground_truth[i]``. Then :func:`maj_at_k` is applied per problem (each problem may have
    a different n; every n must be >= k). A shared Generator built from ``seed`` serves all problems.

    Example:
        >>> maj_at_k_from_answers([["4", "4", "5"], ["1", "2", None]], ["4", "2"], k=3).tolist()
        [1.0, 0.5]
    """
    rows = _per_problem_answers(answers)
    if isinstance(ground_truth, (str, bytes)):
        raise TypeError("ground_truth must be a sequence with one truth per problem, got a string")
    truths = list(ground_truth)
    check_same_length(rows, truths, "answers", "ground_truth")
    eq = equal or _default_equal
    rng = _rng(seed)
    out = np.empty(len(rows), dtype=np.float64)
    for i, (row, truth) in enumerate(zip(rows, truths)):
        reps, counts, abstain = _cluster(row, eq)
        correct = next((j for j, r in enumerate(reps) if eq(r, truth)), None)
        if len(row) < k:
            raise ValueError(f"answers[{i}] has {len(row)} samples, fewer than k={k}")
        out[i] = maj_at_k(
            np.array(counts, dtype=np.int64), correct, k, abstentions=abstain, method=method, n_draws=n_draws, seed=rng
        )
    return out


# ------------------------------------------------------------------------------------ bootstrap
def bootstrap_ci(
    per_problem_values: Any,
    *,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: int | np.random.Generator | None = 0,
    method: str = "percentile",
) -> tuple[float, float, float]:
    """Bootstrap confidence interval of the mean over problems.

    Resamples problems with replacement (``scipy.stats.bootstrap``, vectorised) using a local numpy
    Generator built from ``seed`` (or the Generator itself); never touches global random state.

    Returns:
        ``(point, low, high)`` where ``point`` is the plain mean of the values. All values equal gives
        ``(v, v, v)``.

    Example:
        >>> point, low, high = bootstrap_ci([0.0, 1.0, 1.0, 0.0, 1.0], seed=1)
        >>> point, bool(low < point < high)
        (0.6, True)
    """
    from diversity_metrics._validation import as_float_array, check_number

    v = as_float_array(per_problem_values, "per_problem_values")
    if v.size < 2:
        raise ValueError(f"per_problem_values needs at least 2 values for a bootstrap, got {v.size}")
    confidence = check_number(confidence, "confidence", low=0.0, high=1.0, low_open=True, high_open=True)
    n_resamples = check_number(n_resamples, "n_resamples", integer=True, low=1)
    methods = {"percentile": "percentile", "basic": "basic", "bca": "BCa"}
    if method not in methods:
        raise ValueError(f"method must be one of {sorted(methods)}, got {method!r}")
    point = float(v.mean())
    if np.all(v == v[0]):
        return point, point, point
    res = stats.bootstrap(
        (v,),
        np.mean,
        n_resamples=int(n_resamples),
        confidence_level=float(confidence),
        method=methods[method],
        vectorized=True,
        rng=_rng(seed),
    )
    return point, float(res.confidence_interval.low), float(res.confidence_interval.high)
