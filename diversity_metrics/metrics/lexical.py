"""Reference-free lexical diversity of a set of texts: distinct-n, self-BLEU, n-gram uniqueness, compression.

Tokenisation of distinct-n: ``text.lower().split()``, i.e. lowercased and split on runs of Unicode
whitespace; punctuation stays attached to its word ("cat." != "cat"). n-gram uniqueness follows DARLING:
``text.split()``, case kept (``lowercase=True`` lower-cases). Self-BLEU uses sacrebleu's own tokeniser
(``13a``, case-sensitive by default).
"""

from __future__ import annotations

import gzip
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from diversity_metrics._validation import as_texts

__all__ = ["distinct_n", "self_bleu", "ngram_uniqueness", "compression_ratio", "word_tokens"]


def word_tokens(text: str) -> list[str]:
    """The tokenisation used by the lexical metrics: lowercased whitespace split."""
    return text.lower().split()


def _ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def _check_n(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be a positive integer, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return int(n)


def distinct_n(texts: Sequence[str], n: int | Sequence[int] = 2) -> float | dict[int, float]:
    """Distinct-n of a set of texts: unique n-grams / total n-grams, pooled over the set.

    ``distinct_n = |set of all n-grams| / (number of n-gram occurrences)``, in ``[0, 1]``; one value per
    n (never summed over n). Texts shorter than n contribute no n-grams. If the whole set has no n-gram
    (e.g. only empty strings) the value is defined as 0.0. A single text is scored on its own n-grams;
    k identical texts of m distinct n-grams score 1/k.

    Args:
        texts: the generations of one prompt.
        n: an n-gram order, or several (then a dict ``{n: value}`` is returned).

    Reference: Li et al., "A Diversity-Promoting Objective Function for Neural Conversation Models", 2016.

    Example:
        >>> distinct_n(["the cat sat", "the cat ran"], n=1)
        0.6666666666666666
        >>> distinct_n(["a b", "a b"], n=[1, 2])
        {1: 0.5, 2: 0.5}
    """
    items = as_texts(texts)
    if not isinstance(n, (int, np.integer)) and isinstance(n, Sequence) and not isinstance(n, (str, bytes)):
        orders = [_check_n(v) for v in n]
        if not orders:
            raise ValueError("n is an empty sequence: give at least one n-gram order")
        return {o: float(distinct_n(items, o)) for o in orders}  # type: ignore[arg-type]
    order = _check_n(n)
    seen: set[tuple[str, ...]] = set()
    total = 0
    for t in items:
        grams = _ngrams(word_tokens(t), order)
        total += len(grams)
        seen.update(grams)
    return len(seen) / total if total else 0.0


def self_bleu(texts: Sequence[str], *, tokenize: str = "13a", lowercase: bool = False) -> float:
    """Self-BLEU of a set: mean over texts of sentence BLEU(text, references = all the other texts).

    Uses ``sacrebleu`` (``BLEU(effective_order=True)``, exponential smoothing), rescaled from 0-100 to
    ``[0, 1]``. Higher means MORE similar (less diverse). A single text has no references: defined as 0.0.
    Empty strings score 0.0 as hypotheses. Identical texts score 1.0.

    Reference: Zhu et al., "Texygen: A Benchmarking Platform for Text Generation Models", 2018.

    Example:
        >>> self_bleu(["the cat sat on the mat", "the cat sat on the mat"])
        1.0
        >>> self_bleu(["only one"])
        0.0
    """
    from diversity_metrics._extras import require

    BLEU = require("sacrebleu.metrics", extra="lexical", feature="self_bleu").BLEU  # noqa: N806 - sacrebleu's class
    items = as_texts(texts)
    if len(items) < 2:
        return 0.0
    try:
        bleu = BLEU(effective_order=True, tokenize=tokenize, lowercase=lowercase)
    except KeyError:
        raise ValueError(
            f"tokenize must be a sacrebleu tokeniser name (e.g. '13a', 'intl', 'none'), got {tokenize!r}"
        ) from None
    scores = [bleu.sentence_score(h, items[:i] + items[i + 1 :]).score for i, h in enumerate(items)]
    return float(min(1.0, max(0.0, np.mean(scores) / 100.0)))  # sacrebleu's 100.0000000004 -> 1.0


def ngram_uniqueness(
    texts: Sequence[str], n: int = 4, *, lowercase: bool = False, denominator: str = "total"
) -> np.ndarray:
    """DARLING's n-gram diversity baseline, one value per text (its ``ngram`` reward, default 4-grams).

    ``u_i = |G_i minus union_{j != i} G_j| / (len(tokens_i) - n + 1)`` where ``tokens_i = text_i.split()``
    (case kept) and ``G_i`` is the set of distinct n-grams of text i: the n-grams that no other text has,
    over the number of n-gram POSITIONS of the text. A text shorter than n words scores 0.0 (DARLING divides
    by 1 there and has no n-gram), so degenerate short outputs cannot earn the reward; use a smaller n for
    short-answer tasks. A text repeating its own n-grams scores below 1 even alone (``"a b a b a b"``
    with n=2 has 2 distinct bigrams over 5 positions: 0.4).

    This is a transcription of ``process_uid_group`` in DARLING's
    ``verl/utils/reward_score/diversity_rewards.py`` (tests/test_reliability_fidelity.py checks it on
    thousands of random groups). ``lowercase=True, denominator="distinct"`` gives this package's earlier
    variant (lower-cased words, divided by the number of DISTINCT n-grams of the text, so a text's own
    repetitions do not lower it).

    Args:
        texts: the rollouts of one prompt.
        n: n-gram order (DARLING: 4).
        lowercase: lower-case the words first (DARLING: no).
        denominator: ``"total"`` (DARLING: n-gram positions) or ``"distinct"`` (distinct n-grams).

    Reference: Li et al. 2025 (DARLING), the n-gram diversity ablation.

    Example:
        >>> ngram_uniqueness(["a b c d e", "a b c d f", "x y z w"]).tolist()
        [0.5, 0.5, 1.0]
        >>> ngram_uniqueness(["a b a b a b", "c a b"], n=2).tolist()
        [0.2, 0.5]
        >>> ngram_uniqueness(["a b a b a b", "c a b"], n=2, denominator="distinct").tolist()
        [0.5, 0.5]
    """
    items = as_texts(texts)
    order = _check_n(n)
    if denominator not in ("total", "distinct"):
        raise ValueError(f"denominator must be 'total' (DARLING) or 'distinct', got {denominator!r}")
    if not isinstance(lowercase, bool):
        raise TypeError(f"lowercase must be True or False, got {type(lowercase).__name__}")
    tokens = [t.lower().split() if lowercase else t.split() for t in items]
    grams = [set(_ngrams(tok, order)) for tok in tokens]
    owners: Counter[tuple[str, ...]] = Counter()
    for g in grams:
        owners.update(g)
    out = np.zeros(len(items), dtype=np.float64)
    for i, g in enumerate(grams):
        if g:
            size = len(g) if denominator == "distinct" else len(tokens[i]) - order + 1
            out[i] = sum(1 for x in g if owners[x] == 1) / size
    return out


def compression_ratio(texts: Sequence[str]) -> float:
    """Compression ratio of a set: raw UTF-8 bytes / gzip-compressed bytes of the texts joined by spaces.

    ``CR = len(b) / len(gzip(b, level=9, mtime=0))`` with ``b = " ".join(texts).encode()``; higher means
    more repetition (less diverse). gzip adds ~20 bytes of header, so short sets score below 1; only
    compare sets of similar size. All-empty input (``[""]``, ``["", ""]``) gives 0.0. Deterministic.

    Reference: Shaib et al., "Standardizing the Measurement of Text Diversity", 2024.

    Example:
        >>> compression_ratio(["same words here"] * 50) > compression_ratio(["same words here"])
        True
    """
    items = as_texts(texts)
    if not any(items):  # every text empty (the joining spaces are no content)
        return 0.0
    raw = " ".join(items).encode("utf-8")
    return len(raw) / len(gzip.compress(raw, compresslevel=9, mtime=0))
