"""Input checks shared by every public function: one place, one wording for each error."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def as_int_array(values: Any, name: str, *, what: str = "integers") -> np.ndarray:
    """Return ``values`` (a scalar or an array of any shape) as int64; strings, booleans or non-integers raise.

    Integral floats (``3.0``) are accepted; ``what`` names the expected content in the messages.
    """
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be an integer or an array of {what}, got a string")
    try:
        arr = np.asarray(values)
    except Exception as exc:  # ragged nested lists and the like
        raise TypeError(f"{name} must be an integer or an array of {what}: {exc}") from None
    if arr.dtype == np.bool_:
        raise TypeError(f"{name} must hold {what}, got booleans")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError(f"{name} must hold {what}, got non-integer values")
        arr = arr.astype(np.int64)
    elif arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold {what}, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def as_partition(partition: Any, name: str = "partition") -> np.ndarray:
    """Return ``partition`` (one class id per generation) as a 1-D int64 array, or raise ValueError."""
    if isinstance(partition, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of integer class ids, got a string")
    arr = as_int_array(partition, name, what="integer class ids")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (one class id per generation), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty: a group needs at least one generation")
    if np.any(arr < 0):
        raise ValueError(f"{name} holds negative class ids: {arr.tolist()!r}")
    return arr


def as_float_array(values: Any, name: str, *, allow_nan: bool = False, ndim: int = 1) -> np.ndarray:
    """Return ``values`` as a float64 array of ``ndim`` dimensions (1: a sequence, 2: one row per item).

    NaN or infinite entries raise ValueError unless ``allow_nan``.
    """
    kind = "a sequence of numbers" if ndim == 1 else f"a {ndim}-D array of numbers"
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be {kind}, got a string")
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be {kind}: {exc}") from None
    if arr.ndim != ndim:
        shape_rule = "one-dimensional" if ndim == 1 else f"{ndim}-D (one row per item)"
        raise ValueError(f"{name} must be {shape_rule}, got shape {arr.shape}")
    if not allow_nan and not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr)).squeeze(-1 if ndim == 1 else ()).tolist()
        raise ValueError(f"{name} holds NaN or infinite values at positions {bad}")
    return arr


def check_same_length(a: Sequence[Any] | np.ndarray, b: Sequence[Any] | np.ndarray, name_a: str, name_b: str) -> None:
    """Raise ValueError naming both arguments when their lengths differ."""
    if len(a) != len(b):
        raise ValueError(f"{name_a} and {name_b} have mismatched lengths: {len(a)} != {len(b)}")


def as_texts(texts: Any, name: str = "texts", *, allow_empty: bool = False) -> list[str]:
    """Return ``texts`` as a list of str; a bare string, non-string items or (unless allowed) no texts raise."""
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of strings, got a single {type(texts).__name__}")
    try:
        items = list(texts)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of strings, got {type(texts).__name__}") from None
    for i, t in enumerate(items):
        if not isinstance(t, str):
            raise TypeError(f"{name}[{i}] is {type(t).__name__}, expected str")
    if not items and not allow_empty:
        raise ValueError(f"{name} is empty: a group needs at least one text")
    return items


def check_number(
    value: Any,
    name: str,
    *,
    integer: bool = False,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> Any:
    """Return ``value`` as a Python ``float`` (or ``int`` with ``integer=True``) after checking it.

    A non-number (a string, a bool, None) is a ``TypeError``; NaN, infinity or a value outside
    ``[low, high]`` (open ends with ``low_open`` / ``high_open``) is a ``ValueError``. Every scalar
    argument of the public API goes through here, so each kind of mistake gets the same exception type.

    Example:
        >>> check_number(0.8, "patience", low=0, high=1, low_open=True)
        0.8
        >>> check_number("0.8", "patience")
        Traceback (most recent call last):
        ...
        TypeError: patience must be a number, got str '0.8'
    """
    import math
    from numbers import Integral, Real

    kind = "an integer" if integer else "a number"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise TypeError(f"{name} must be {kind}, got {type(value).__name__} {value!r}")
    if integer:
        if not isinstance(value, Integral):
            raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
        out: Any = int(value)
    else:
        out = float(value)
        if not math.isfinite(out):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
    if low is not None and (out < low or (low_open and out == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and (out > high or (high_open and out == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {value!r}")
    return out
