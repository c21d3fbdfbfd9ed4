"""DARLING Norm(Div) and reward: hand-computed values, invariants and bad input."""

from __future__ import annotations


import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diversity_metrics.metrics.darling import darling_diversity, darling_reward

partitions = st.lists(st.integers(0, 5), min_size=1, max_size=12)


# ---------------------------------------------------------------- hand-computed values
def test_diversity_hand_values():
    # n = 8: classes {0: 4 members, 1: 2, 2: 1, 3: 1}
    part = [0, 0, 1, 0, 2, 1, 0, 3]
    expected = [4 / 7, 4 / 7, 6 / 7, 4 / 7, 1.0, 6 / 7, 4 / 7, 1.0]
    np.testing.assert_allclose(darling_diversity(part), expected, rtol=0, atol=1e-15)


def test_all_equivalent_hits_floor_and_floor_zero_disables():
    np.testing.assert_array_equal(darling_diversity([5, 5, 5, 5]), [0.1] * 4)
    np.testing.assert_array_equal(darling_diversity([5, 5, 5, 5], floor=0), [0.0] * 4)
    np.testing.assert_array_equal(darling_diversity([5, 5, 5, 5], floor=0.25), [0.25] * 4)


def test_floor_only_raises_low_values():
    # n = 11, class of 10 -> 1/10 ; singleton class -> 1
    part = [0] * 10 + [1]
    d = darling_diversity(part, floor=0.3)
    np.testing.assert_allclose(d, [0.3] * 10 + [1.0])
    np.testing.assert_allclose(darling_diversity(part, floor=0.0), [0.1] * 10 + [1.0])


def test_all_distinct_is_one():
    np.testing.assert_array_equal(darling_diversity(list(range(6))), np.ones(6))


def test_labels_need_not_be_canonical():
    np.testing.assert_array_equal(darling_diversity([7, 7, 2, 9]), darling_diversity([0, 0, 1, 2]))


def test_singleton_group_default_and_custom():
    np.testing.assert_array_equal(darling_diversity([0]), [1.0])
    np.testing.assert_array_equal(darling_diversity([0], singleton=0.5), [0.5])
    # singleton is returned as given, not floored
    np.testing.assert_array_equal(darling_diversity([0], singleton=0.0, floor=0.1), [0.0])


def test_mask_partitions_only_masked():
    part = [0, 0, 1, 1, 2]
    mask = [True, False, True, True, True]  # masked members: labels 0, 1, 1, 2 -> n = 4
    d = darling_diversity(part, mask=mask)
    np.testing.assert_allclose(d, [1.0, 0.1, 2 / 3, 2 / 3, 1.0])


def test_mask_single_member_and_none():
    np.testing.assert_allclose(darling_diversity([0, 0, 0], mask=[False, True, False]), [0.1, 1.0, 0.1])
    np.testing.assert_allclose(darling_diversity([0, 1, 2], mask=[False] * 3, floor=0.2), [0.2] * 3)
    np.testing.assert_allclose(darling_diversity([0, 1], mask=np.array([1, 1])), [1.0, 1.0])


def test_reward_multiplicative_math_example():
    quality = [1, 1, 0, 1, 0, 1, 1, 1]
    part = [0, 0, 1, 0, 2, 1, 0, 3]
    r = darling_reward(part, quality)
    expected = np.array([4 / 7, 4 / 7, 0.0, 4 / 7, 0.0, 6 / 7, 4 / 7, 1.0])
    np.testing.assert_allclose(r, expected, atol=1e-15)


def test_reward_mask_correct_only():
    quality = np.array([1.0, 1.0, 0.0, 1.0])
    part = [0, 0, 0, 1]
    r = darling_reward(part, quality, mask=quality > 0)
    # correct ones: labels 0, 0, 1 -> n = 3 -> 1/2, 1/2, 1
    np.testing.assert_allclose(r, [0.5, 0.5, 0.0, 1.0])


def test_reward_additive():
    r = darling_reward([0, 0, 1], [2.0, 2.0, 3.0], fusion="additive", additive_weight=0.5)
    np.testing.assert_allclose(r, [2.0 + 0.5 * 0.5, 2.0 + 0.5 * 0.5, 3.0 + 0.5 * 1.0])


def test_negative_quality_keep_is_more_negative_for_diverse():
    r = darling_reward([0, 0, 1], [-2.0, -2.0, -2.0], floor=0)
    np.testing.assert_allclose(r, [-1.0, -1.0, -2.0])
    assert r[2] < r[0]  # the diverse answer is punished harder (documented)


def test_negative_quality_shift():
    r = darling_reward([0, 0, 1], [-2.0, 1.0, 3.0], negative_quality="shift", floor=0)
    # q - min -> [0, 3, 5]; div -> [0.5, 0.5, 1]
    np.testing.assert_allclose(r, [0.0, 1.5, 5.0])
    # no shift when nothing is negative
    np.testing.assert_allclose(darling_reward([0, 1], [1.0, 2.0], negative_quality="shift"), [1.0, 2.0])


def test_negative_quality_error():
    with pytest.raises(ValueError, match="negative values at positions \\[1\\]"):
        darling_reward([0, 1], [1.0, -0.5], negative_quality="error")
    assert darling_reward([0, 1], [0.0, 0.5], negative_quality="error").tolist() == [0.0, 0.5]


# ---------------------------------------------------------------- invariants
@settings(max_examples=200, deadline=None)
@given(partitions, st.floats(0, 1))
def test_range_and_floor(part, floor):
    d = darling_diversity(part, floor=floor)
    assert d.shape == (len(part),)
    if len(part) > 1:
        assert np.all(d >= floor - 1e-15) and np.all(d <= 1.0)
        raw = darling_diversity(part, floor=0)
        np.testing.assert_allclose(d, np.maximum(raw, floor))


@settings(max_examples=200, deadline=None)
@given(partitions, st.randoms(use_true_random=False))
def test_permutation_equivariant(part, rnd):
    perm = list(range(len(part)))
    rnd.shuffle(perm)
    d = darling_diversity(part)
    d_perm = darling_diversity([part[i] for i in perm])
    np.testing.assert_array_equal(d_perm, d[perm])


@settings(max_examples=200, deadline=None)
@given(partitions, st.lists(st.integers(0, 50), min_size=6, max_size=6))
def test_relabel_invariant(part, codes):
    mapping = {c: 1000 + 7 * i + codes[i % 6] * 97 for i, c in enumerate(sorted(set(part)))}
    np.testing.assert_array_equal(darling_diversity(part), darling_diversity([mapping[c] for c in part]))


@settings(max_examples=200, deadline=None)
@given(partitions)
def test_same_class_same_value_and_larger_class_lower(part):
    d = darling_diversity(part, floor=0)
    sizes = {c: part.count(c) for c in part}
    for i in range(len(part)):
        for j in range(len(part)):
            if sizes[part[i]] >= sizes[part[j]]:
                assert d[i] <= d[j] + 1e-15


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_reward_is_quality_times_diversity(data):
    part = data.draw(partitions)
    q = data.draw(st.lists(st.floats(0, 10), min_size=len(part), max_size=len(part)))
    np.testing.assert_allclose(darling_reward(part, q), np.asarray(q) * darling_diversity(part))
    shifted = darling_reward(part, q, negative_quality="shift")
    np.testing.assert_allclose(shifted, darling_reward(part, q))  # q >= 0 -> no shift


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_shift_makes_rewards_non_negative(data):
    part = data.draw(partitions)
    q = data.draw(st.lists(st.floats(-10, 10), min_size=len(part), max_size=len(part)))
    assert np.all(darling_reward(part, q, negative_quality="shift") >= 0)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"partition": []}, ValueError, "partition is empty"),
        ({"partition": [0, -1]}, ValueError, "negative class ids"),
        ({"partition": [0.5, 1]}, ValueError, "integer class ids"),
        ({"partition": "aab"}, TypeError, "got a string"),
        ({"partition": [[0, 1]]}, ValueError, "one-dimensional"),
        ({"partition": [0, 1], "floor": 1.5}, ValueError, "floor must be a number in \\[0, 1\\]"),
        ({"partition": [0, 1], "floor": float("nan")}, ValueError, "floor"),
        ({"partition": [0, 1], "floor": "0.1"}, TypeError, "floor"),
        ({"partition": [0], "singleton": -1}, ValueError, "singleton"),
        ({"partition": [0, 1], "mask": [True]}, ValueError, "mismatched lengths"),
        ({"partition": [0, 1], "mask": [0.5, 1.0]}, TypeError, "mask must hold booleans"),
        ({"partition": [0, 1], "mask": [[True, False]]}, ValueError, "mask must be one-dimensional"),
    ],
)
def test_diversity_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        darling_diversity(**kwargs)


@pytest.mark.parametrize(
    ("args", "kwargs", "exc", "match"),
    [
        (([0, 1], [1.0, float("nan")]), {}, ValueError, "qualities holds NaN"),
        (([0, 1], [1.0, 2.0, 3.0]), {}, ValueError, "mismatched lengths"),
        (([], []), {}, ValueError, "empty"),
        (([0], [1.0]), {"fusion": "sum"}, ValueError, "fusion must be one of"),
        (([0], [1.0]), {"negative_quality": "clip"}, ValueError, "negative_quality must be one of"),
        (([0], [1.0]), {"additive_weight": float("inf"), "fusion": "additive"}, ValueError, "additive_weight"),
        (([0], [1.0]), {"additive_weight": None}, TypeError, "additive_weight"),
        (([0, 1], "ab"), {}, TypeError, "qualities must be a sequence of numbers"),
        (([1.0, 0.5], [0, 1]), {}, TypeError, "takes \\(partition, qualities\\) since 0.2"),
        (([0, 1],), {}, TypeError, "needs partition and qualities"),
    ],
)
def test_reward_bad_input(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        darling_reward(*args, **kwargs)



def test_reward_old_quality_keyword_still_works_with_a_deprecation_warning():
    with pytest.warns(DeprecationWarning, match="darling_reward\\(quality=...\\) is deprecated"):
        old = darling_reward(quality=[1.0, 1.0, 0.0], partition=[0, 0, 1])
    np.testing.assert_allclose(old, darling_reward([0, 0, 1], [1.0, 1.0, 0.0]))
    with pytest.raises(TypeError, match="both qualities= and the deprecated quality="):
        darling_reward([0, 1], [1.0, 1.0], quality=[1.0, 1.0])
