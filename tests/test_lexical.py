"""Lexical set diversity: hand values, agreement with direct sacrebleu/gzip computations, invariants."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sacrebleu.metrics import BLEU

from diversity_metrics.metrics.lexical import compression_ratio, distinct_n, ngram_uniqueness, self_bleu, word_tokens

words = st.sampled_from(["the", "cat", "sat", "on", "mat", "a", "dog", "ran", "The", "CAT."])
texts_st = st.lists(st.lists(words, max_size=8).map(" ".join), min_size=1, max_size=6)


def test_tokenisation_is_lowercased_whitespace_split():
    assert word_tokens("The  Cat\tsat.\nOK") == ["the", "cat", "sat.", "ok"]


# ---------------------------------------------------------------- distinct-n
def test_distinct_n_hand_values():
    texts = ["the cat sat", "the cat ran"]
    assert distinct_n(texts, n=1) == pytest.approx(4 / 6)
    assert distinct_n(texts, n=2) == pytest.approx(3 / 4)
    assert distinct_n(texts, n=3) == 1.0
    assert distinct_n(texts, n=4) == 0.0  # no 4-gram anywhere: defined as 0
    assert distinct_n(["The Cat", "the cat"], n=1) == 0.5  # lowercased


def test_distinct_n_documented_edge_values():
    assert distinct_n([""], n=1) == 0.0
    assert distinct_n(["", "  "], n=2) == 0.0
    assert distinct_n(["a b c"], n=1) == 1.0  # single text
    assert distinct_n(["a b c"] * 4, n=2) == 0.25  # k identical texts -> 1/k
    assert distinct_n(["x y", "z w"], n=2) == 1.0  # disjoint texts are maximally diverse (no special case)
    assert distinct_n(["a b", "a b"], n=[1, 2]) == {1: 0.5, 2: 0.5}


@settings(max_examples=150, deadline=None)
@given(texts_st, st.integers(1, 4), st.randoms(use_true_random=False))
def test_distinct_n_range_and_permutation_invariance(texts, n, rnd):
    v = distinct_n(texts, n=n)
    assert 0.0 <= v <= 1.0
    shuffled = list(texts)
    rnd.shuffle(shuffled)
    assert distinct_n(shuffled, n=n) == v
    grams = [tuple(t.lower().split()[i : i + n]) for t in texts for i in range(len(t.split()) - n + 1)]
    assert v == (len(set(grams)) / len(grams) if grams else 0.0)


# ---------------------------------------------------------------- self-BLEU
def test_self_bleu_matches_direct_sacrebleu():
    texts = ["the cat sat on the mat", "a dog ran in the park today", "the cat sat on a red mat"]
    bleu = BLEU(effective_order=True)
    want = np.mean([bleu.sentence_score(h, [t for t in texts if t is not h]).score for h in texts]) / 100
    assert self_bleu(texts) == pytest.approx(want, abs=1e-12)
    assert 0.0 < self_bleu(texts) < 1.0


def test_self_bleu_documented_edge_values():
    assert self_bleu(["only one text"]) == 0.0
    assert self_bleu(["same text here ok", "same text here ok", "same text here ok"]) == 1.0
    assert self_bleu(["", ""]) == 0.0
    assert self_bleu(["alpha beta gamma", "delta epsilon zeta"]) == 0.0
    assert self_bleu(["The Cat sat", "the cat sat"], lowercase=True) == 1.0
    assert self_bleu(["The Cat sat", "the cat sat"]) < 1.0


# ---------------------------------------------------------------- n-gram uniqueness (DARLING baseline)
def test_ngram_uniqueness_hand_values():
    texts = ["a b c d e", "a b c d f", "x y z w"]
    np.testing.assert_allclose(ngram_uniqueness(texts), [0.5, 0.5, 1.0])
    np.testing.assert_allclose(ngram_uniqueness(["a b c", "a b d"], n=2), [0.5, 0.5])
    np.testing.assert_allclose(ngram_uniqueness(["a b c d"] * 3), [0.0, 0.0, 0.0])


def test_ngram_uniqueness_documented_edge_values():
    np.testing.assert_array_equal(ngram_uniqueness(["short text", "a b c d e"]), [0.0, 1.0])
    np.testing.assert_array_equal(ngram_uniqueness([""]), [0.0])
    np.testing.assert_array_equal(ngram_uniqueness(["a b c d"]), [1.0])
    # repeated n-grams inside one text count once (sets of n-grams)
    np.testing.assert_allclose(ngram_uniqueness(["a b a b a b", "c a b"], n=2), [0.2, 0.5])
    np.testing.assert_allclose(
        ngram_uniqueness(["a b a b a b", "c a b"], n=2, lowercase=True, denominator="distinct"), [0.5, 0.5]
    )


@settings(max_examples=150, deadline=None)
@given(texts_st, st.integers(1, 4), st.randoms(use_true_random=False))
def test_ngram_uniqueness_range_and_equivariance(texts, n, rnd):
    u = ngram_uniqueness(texts, n=n)
    assert u.shape == (len(texts),) and np.all((u >= 0) & (u <= 1))
    perm = list(range(len(texts)))
    rnd.shuffle(perm)
    np.testing.assert_array_equal(ngram_uniqueness([texts[i] for i in perm], n=n), u[perm])


# ---------------------------------------------------------------- compression ratio
def test_compression_ratio_definition_and_edges():
    texts = ["one two three", "four five six"]
    raw = b"one two three four five six"
    assert compression_ratio(texts) == len(raw) / len(gzip.compress(raw, compresslevel=9, mtime=0))
    assert compression_ratio([""]) == 0.0
    assert compression_ratio(["same words here"] * 50) > 10 * compression_ratio(["same words here"])
    assert compression_ratio(texts) == compression_ratio(list(texts))  # deterministic (mtime=0)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("func", "args", "kwargs", "exc", "match"),
    [
        (distinct_n, ("a single string",), {}, TypeError, "got a single str"),
        (distinct_n, ([],), {}, ValueError, "texts is empty"),
        (distinct_n, (["ok", 3],), {}, TypeError, "texts\\[1\\] is int"),
        (distinct_n, (["a b"],), {"n": 0}, ValueError, "n must be >= 1"),
        (distinct_n, (["a b"],), {"n": 1.5}, TypeError, "n must be a positive integer"),
        (distinct_n, (["a b"],), {"n": []}, ValueError, "n is an empty sequence"),
        (self_bleu, ("abc",), {}, TypeError, "got a single str"),
        (self_bleu, ([],), {}, ValueError, "texts is empty"),
        (self_bleu, (["a", "b"],), {"tokenize": "nope"}, ValueError, "tokenize must be a sacrebleu tokeniser"),
        (ngram_uniqueness, ([None],), {}, TypeError, "texts\\[0\\] is NoneType"),
        (ngram_uniqueness, (["a b"],), {"n": -1}, ValueError, "n must be >= 1"),
        (compression_ratio, ([],), {}, ValueError, "texts is empty"),
        (compression_ratio, (b"bytes",), {}, TypeError, "got a single bytes"),
    ],
)
def test_bad_input(func, args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        func(*args, **kwargs)

