"""The DARLING diversity signal and reward (Li et al. 2025, arXiv 2509.02534).

For one prompt with ``n`` rollouts partitioned into equivalence classes ``C(.)``:

* ``Div(y_i) = n - |C(y_i)|`` (other rollouts outside ``y_i``'s class),
* ``Norm(Div)(y_i) = Div(y_i) / (n - 1)`` in ``[0, 1]``, floored at ``floor`` (official code: 0.1),
* ``r_darling(y_i) = r_quality(y_i) * Norm(Div)(y_i)`` (multiplicative fusion; additive is an ablation).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from diversity_metrics._validation import as_float_array, as_partition, check_same_length

__all__ = ["darling_diversity", "darling_reward"]

_FUSIONS = ("multiplicative", "additive")
_NEGATIVE_MODES = ("keep", "shift", "error")


def _unit_interval(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number in [0, 1], got {type(value).__name__}")
    value = float(value)
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return value


def _as_mask(mask: Any, n: int) -> np.ndarray:
    if isinstance(mask, (str, bytes)):
        raise TypeError("mask must be a sequence of booleans, got a string")
    arr = np.asarray(mask)
    if arr.ndim != 1:
        raise ValueError(f"mask must be one-dimensional (one flag per generation), got shape {arr.shape}")
    if arr.dtype != np.bool_:
        if arr.dtype.kind in "iu" and np.all((arr == 0) | (arr == 1)):
            arr = arr.astype(bool)
        else:
            raise TypeError(f"mask must hold booleans (or 0/1), got dtype {arr.dtype}")
    if arr.size != n:
        raise ValueError(f"partition and mask have mismatched lengths: {n} != {arr.size}")
    return arr


def darling_diversity(
    partition: Any,
    *,
    floor: float = 0.1,
    mask: Any = None,
    singleton: float = 1.0,
) -> np.ndarray:
    """Per-response normalised DARLING diversity of one group of rollouts.

    ``Norm(Div)_i = max((n - |C(y_i)|) / (n - 1), floor)`` where ``n`` is the group size and
    ``|C(y_i)|`` the size of ``y_i``'s equivalence class. ``floor=0`` disables the floor.

    Args:
        partition: one non-negative integer class id per response (any labelling).
        floor: lower bound applied to every value (official DARLING code: ``max(Norm, 0.1)``).
        mask: optional booleans; diversity is computed only among the masked responses (``n`` and class
            sizes count masked members only; DARLING's math variant "partition only the correct
            rollouts"). Unmasked responses get ``floor``.
        singleton: value for a group (or masked subset) of exactly one response, which has no evidence of
            redundancy; returned as given (not floored). The official code differs by case: its
            ``partition`` reward divides by zero for a group of one, while its math variant
            ``partition_correct`` gives 0.1 to EVERY rollout of a group with at most one correct rollout;
            ``singleton=0.1`` with ``mask=correct`` reproduces that exactly.

    Returns:
        float64 array of length ``n``, values in ``[min(floor, singleton), 1]``.

    Reference: Li et al., "Jointly Reinforcing Diversity and Quality in Language Model Generations", 2025.

    Example:
        >>> darling_diversity([0, 0, 1, 2]).tolist()
        [0.6666666666666666, 0.6666666666666666, 1.0, 1.0]
        >>> darling_diversity([0, 0, 0]).tolist()
        [0.1, 0.1, 0.1]
    """
    labels = as_partition(partition)
    floor = _unit_interval(floor, "floor")
    singleton = _unit_interval(singleton, "singleton")
    n_all = labels.size
    selected = np.ones(n_all, dtype=bool) if mask is None else _as_mask(mask, n_all)
    out = np.full(n_all, floor, dtype=np.float64)
    members = labels[selected]
    n = members.size
    if n == 0:
        return out
    if n == 1:
        out[selected] = singleton
        return out
    _, inverse, counts = np.unique(members, return_inverse=True, return_counts=True)
    norm = (n - counts[inverse]) / (n - 1)
    out[selected] = np.maximum(norm, floor)
    return out


def darling_reward(
    partition: Any = None,
    qualities: Any = None,
    *,
    floor: float = 0.1,
    fusion: Literal["multiplicative", "additive"] = "multiplicative",
    negative_quality: Literal["keep", "shift", "error"] = "keep",
    additive_weight: float = 1.0,
    mask: Any = None,
    singleton: float = 1.0,
    quality: Any = None,
) -> np.ndarray:
    """DARLING reward of one group: quality fused with :func:`darling_diversity`.

    * ``fusion="multiplicative"`` (paper): ``r_i = q_i * div_i``.
    * ``fusion="additive"`` (ablation): ``r_i = q_i + additive_weight * div_i``.

    Negative quality (e.g. a reward model's raw score), applied before fusion:

    * ``"keep"`` (paper behaviour): used as is. Caution: with multiplicative fusion a negative quality
      times a LARGER diversity is MORE negative, so diverse bad answers are punished harder.
    * ``"shift"``: if ``min(q) < 0`` the group minimum is subtracted from every quality first, so all are
      ``>= 0``; a group whose qualities are all ``>= 0`` is left as is. This is NOT exactly the official
      code's optional ``add_bias`` (``ray_trainer.py``, off in its released scripts), which (a) subtracts
      the group minimum ALWAYS, also when it is positive (the worst rollout of every group then gets 0),
      and (b) adds that bias to every position of the ``(batch, response_length)`` token-level reward
      tensor, so the scalar GRPO sums is ``div_i * (q_i - L * min(q))`` with ``L`` the padded response
      length. For a group with ``min(q) < 0``, ``"shift"`` equals (a) without (b); tests check both
      statements against a transcription of that code.
    * ``"error"``: any negative quality raises ``ValueError``.

    Args:
        partition: one class id per response.
        qualities: one finite quality score per response (math: 1 correct / 0 wrong), same length.
            (Before 0.2 the order was ``(quality, partition)``; the keyword ``quality=`` still works for
            one release with a ``DeprecationWarning``.)
        floor, mask, singleton: passed to :func:`darling_diversity`.
        fusion: ``"multiplicative"`` or ``"additive"``.
        negative_quality: ``"keep"``, ``"shift"`` or ``"error"``.
        additive_weight: weight of diversity in the additive fusion (ignored for multiplicative).

    Reference: Li et al. 2025, arXiv 2509.02534, Eq. for ``r_darling``.

    Example:
        >>> darling_reward([0, 0, 1, 2], [1.0, 1.0, 0.0, 1.0]).tolist()
        [0.6666666666666666, 0.6666666666666666, 0.0, 1.0]
    """
    if quality is not None:
        import warnings

        if qualities is not None:
            raise TypeError("darling_reward got both qualities= and the deprecated quality=; pass qualities only")
        warnings.warn("darling_reward(quality=...) is deprecated; use darling_reward(partition, qualities)",
                      DeprecationWarning, stacklevel=2)
        qualities = quality
    if partition is None or qualities is None:
        raise TypeError("darling_reward needs partition and qualities: darling_reward(partition, qualities)")
    q = as_float_array(qualities, "qualities")
    first = np.asarray(partition)
    if first.dtype.kind == "f" and first.size and not np.all(np.isfinite(first) & (first == np.round(first))):
        raise TypeError(
            "partition holds non-integer values: darling_reward takes (partition, qualities) since 0.2 "
            "(it used to take (quality, partition))"
        )
    labels = as_partition(partition)
    check_same_length(labels, q, "partition", "qualities")
    if fusion not in _FUSIONS:
        raise ValueError(f"fusion must be one of {_FUSIONS}, got {fusion!r}")
    if negative_quality not in _NEGATIVE_MODES:
        raise ValueError(f"negative_quality must be one of {_NEGATIVE_MODES}, got {negative_quality!r}")
    if isinstance(additive_weight, bool) or not isinstance(additive_weight, (int, float, np.integer, np.floating)):
        raise TypeError(f"additive_weight must be a number, got {type(additive_weight).__name__}")
    if not math.isfinite(float(additive_weight)):
        raise ValueError(f"additive_weight must be finite, got {additive_weight!r}")
    div = darling_diversity(labels, floor=floor, mask=mask, singleton=singleton)
    low = float(q.min())
    if low < 0:
        if negative_quality == "error":
            bad = np.flatnonzero(q < 0).tolist()
            raise ValueError(f"quality holds negative values at positions {bad} (negative_quality='error')")
        if negative_quality == "shift":
            q = q - low
    if fusion == "multiplicative":
        return q * div
    return q + float(additive_weight) * div
