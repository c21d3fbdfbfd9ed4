"""Exact fidelity to DARLING's published code (github.com/facebookresearch/darling), checked against transcriptions of
that code on thousands of random cases (docs/reliability.md). The transcriptions below copy the official logic line
for line (variable names kept); only the I/O around it is adapted."""

from __future__ import annotations

import random

import numpy as np
import pytest

from diversity_metrics import darling_diversity, darling_reward
from diversity_metrics.metrics.lexical import compression_ratio, ngram_uniqueness


# --- verl/utils/reward_score/diversity_rewards.py: process_uid_group (the n-gram reward) ---------------------------
def official_ngram(solution_str: list[str], n: int = 4) -> list[float]:
    resp_list = [s.split() for s in solution_str]
    response_ngrams = []
    for resp in resp_list:
        ngrams = set(tuple(resp[i : i + n]) for i in range(len(resp) - n + 1))
        response_ngrams.append(ngrams)
    group_rewards = []
    for i, ngrams in enumerate(response_ngrams):
        other_ngrams = set()
        for j, other_ngrams_set in enumerate(response_ngrams):
            if i != j:
                other_ngrams.update(other_ngrams_set)
        unique_ngrams = ngrams - other_ngrams
        total_ngrams = max(1, len(resp_list[i]) - n + 1) if len(resp_list[i]) >= n else 1
        group_rewards.append(len(unique_ngrams) / total_ngrams)
    return group_rewards


def _random_texts(rng: random.Random) -> list[str]:
    vocab = ["a", "b", "c", "A", "B", "the", "The", "x.", "x"]
    return [" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 12))) for _ in range(rng.randint(1, 8))]


def test_ngram_uniqueness_matches_darlings_code_on_4000_groups():
    rng = random.Random(0)
    for _ in range(4000):
        texts = _random_texts(rng)
        n = rng.choice([1, 2, 3, 4])
        np.testing.assert_allclose(ngram_uniqueness(texts, n=n), official_ngram(texts, n), rtol=0, atol=1e-12)


def test_ngram_uniqueness_default_is_darling_not_the_old_variant():
    """Old default: lower-cased and divided by DISTINCT n-grams -> 0.5 and 0.5 here; DARLING: 0.4 and 1.0."""
    texts = ["a b a b a b", "A B c"]
    assert ngram_uniqueness(texts, n=2).tolist() == official_ngram(texts, 2) == [0.4, 1.0]
    assert ngram_uniqueness(texts, n=2, lowercase=True, denominator="distinct").tolist() == [0.5, 0.5]
    with pytest.raises(ValueError, match="denominator must be 'total'"):
        ngram_uniqueness(texts, denominator="positions")


def test_compression_ratio_of_all_empty_texts_is_zero():
    assert compression_ratio([""]) == 0.0
    assert compression_ratio(["", ""]) == 0.0  # was 0.0476 (one joining space)
    assert compression_ratio(["", "a"]) > 0


# --- partition_reward_vllm_serve.py: partition_correct (the math variant) --------------------------------------------
def official_partition_correct(parts: list[list[int]], correctness: list[bool]) -> list[float]:
    """The reward loop of ``partition_correct`` for one uid, given ``process_uid_partition_correct``'s partitions."""
    uid_to_indices = list(range(len(correctness)))
    correct_count = sum(correctness)
    rewards = [0.0] * len(correctness)
    if correct_count <= 1:
        for idx in uid_to_indices:
            rewards[idx] = 0.1
        return rewards
    for grp in parts:
        if any(correctness[idx] for idx in grp):
            distinct = correct_count - len([idx for idx in grp if correctness[idx]])
            for idx in grp:
                rewards[idx] = distinct / (correct_count - 1) if correctness[idx] else 0.1
        else:
            for idx in grp:
                rewards[idx] = 0.1
    return [max(r, 0.1) for r in rewards]


def _parts(labels: list[int], correct: list[bool]) -> list[list[int]]:
    """process_uid_partition_correct: classes among the correct rollouts, each incorrect rollout on its own."""
    groups: dict[int, list[int]] = {}
    for i, (lab, ok) in enumerate(zip(labels, correct)):
        if ok:
            groups.setdefault(lab, []).append(i)
    return list(groups.values()) + [[i] for i, ok in enumerate(correct) if not ok]


def test_masked_group_matches_partition_correct_with_singleton_0_1_on_4000_groups():
    rng = np.random.default_rng(0)
    one_correct = 0
    for _ in range(4000):
        n = int(rng.integers(1, 9))
        labels = rng.integers(0, 3, size=n).tolist()
        correct = (rng.random(n) < 0.5).tolist()
        want = official_partition_correct(_parts(labels, correct), correct)
        got = darling_diversity(labels, mask=correct, singleton=0.1)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
        if sum(correct) == 1:  # the default singleton=1.0 gives the lone correct rollout 1.0 instead of 0.1
            one_correct += 1
            default = darling_diversity(labels, mask=correct)
            assert default[correct.index(True)] == 1.0
    assert one_correct > 500


# --- verl/trainer/ppo/ray_trainer.py: add_bias with multiplicative fusion ---------------------------------------------
def official_add_bias_scores(q: np.ndarray, div: np.ndarray, response_length: int) -> np.ndarray:
    """Token-level rm tensor (quality on the last token), + (-min) at every position, x div, summed as GRPO does."""
    reward_tensor_rm = np.zeros((len(q), response_length))
    reward_tensor_rm[:, -1] = q
    rm_rewards_sum = reward_tensor_rm.sum(-1)
    bias_per_response = np.full(len(q), -np.min(rm_rewards_sum))
    reward_tensor_rm = reward_tensor_rm + bias_per_response[:, None]
    reward_tensor_rule = div[:, None]
    return (reward_tensor_rm * reward_tensor_rule).sum(-1)


def test_shift_versus_darlings_add_bias_exactly_as_documented():
    rng = np.random.default_rng(1)
    for _ in range(2000):
        n = int(rng.integers(2, 9))
        labels = rng.integers(0, 4, size=n).tolist()
        q = rng.normal(size=n)
        div = darling_diversity(labels)
        ours = darling_reward(labels, q, negative_quality="shift")
        # L = 1: add_bias always subtracts the group minimum; equal to "shift" whenever that minimum is negative
        theirs = official_add_bias_scores(q, div, 1)
        if q.min() < 0:
            np.testing.assert_allclose(ours, theirs, atol=1e-12)
        else:  # positive minimum: "shift" keeps q, add_bias still subtracts it
            np.testing.assert_allclose(ours - theirs, div * q.min(), atol=1e-12)
        # the padded tensor: the bias is added at every one of the L positions
        length = int(rng.integers(2, 50))
        np.testing.assert_allclose(official_add_bias_scores(q, div, length), div * (q - length * q.min()), atol=1e-9)
