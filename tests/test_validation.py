"""The shared input checks: each row of the first table in docs/errors.md."""

from __future__ import annotations

import math

import numpy as np
import pytest

from diversity_metrics._validation import as_float_array, as_partition, as_texts, check_same_length


@pytest.mark.parametrize(
    ("value", "exc", "message"),
    [
        ([], ValueError, "partition is empty"),
        ([0, -1], ValueError, "negative class ids"),
        ([0.5, 1], ValueError, "integer class ids"),
        ("0101", TypeError, "got a string"),
        ([[0, 1]], ValueError, "one-dimensional"),
        (["a", "b"], TypeError, "integer class ids"),
    ],
)
def test_bad_partitions(value, exc, message):
    with pytest.raises(exc, match=message):
        as_partition(value)


def test_partition_accepts_integral_floats():
    assert as_partition([0.0, 2.0, 1.0]).tolist() == [0, 2, 1]
    assert as_partition(np.array([3, 3], dtype=np.uint8)).dtype == np.int64


def test_nan_is_named_with_position():
    with pytest.raises(ValueError, match=r"quality holds NaN or infinite values at positions \[1\]"):
        as_float_array([1.0, math.nan], "quality")
    assert np.isnan(as_float_array([math.nan], "q", allow_nan=True)[0])


def test_mismatched_lengths():
    with pytest.raises(ValueError, match="quality and partition have mismatched lengths: 3 != 2"):
        check_same_length([1, 2, 3], [0, 1], "quality", "partition")


@pytest.mark.parametrize(
    ("value", "exc", "message"),
    [
        ("one string", TypeError, "got a single str"),
        (["a", 3], TypeError, r"texts\[1\] is int, expected str"),
        ([], ValueError, "texts is empty"),
        (5, TypeError, "sequence of strings, got int"),
    ],
)
def test_bad_texts(value, exc, message):
    with pytest.raises(exc, match=message):
        as_texts(value)


def test_empty_texts_allowed_when_asked():
    assert as_texts([], allow_empty=True) == []
    assert as_texts(("a", "")) == ["a", ""]
