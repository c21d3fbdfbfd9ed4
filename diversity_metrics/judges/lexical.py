"""Lexical equivalence judges: exact and normalised match, NoveltyBench unigram overlap, BLEU.

All four are symmetric, need no model and score in [0, 1].

* ``exact``: 1 if ``a == b`` else 0 (threshold 0.5).
* ``normalized``: 1 if the texts agree after NFKC normalisation, case folding, dropping punctuation
  and symbols (Unicode categories P* and S*) and collapsing whitespace, else 0 (threshold 0.5).
* ``unigram``: NoveltyBench's lexical rule, ROUGE-1 F1 with ``rouge_score``'s tokenizer (lower-case,
  runs of characters outside ``[a-z0-9]`` become spaces, no stemming); with token multisets A and B,
  ``overlap = sum_w min(A[w], B[w])``, ``P = overlap / max(|B|, 1)``, ``R = overlap / max(|A|, 1)``,
  ``F1 = 2PR / (P + R)`` (0 when P + R = 0); equivalent iff ``F1 > 0.458`` (NoveltyBench
  ``equivalence_check_unigram``). Text without any ASCII letter or digit has no tokens (F1 = 0).
* ``bleu``: NoveltyBench's ``bleu`` score, ``(BLEU(a | ref b) + BLEU(b | ref a)) / 200`` with
  ``sacrebleu.corpus_bleu`` defaults; NoveltyBench gives no threshold for it, the default
  ``BLEU_THRESHOLD`` maximises accuracy on NoveltyBench's 1,000 human-labelled pairs
  (``benchmarks/partition_agreement.py --calibrate``).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

import numpy as np

from diversity_metrics.judges.base import Judge, Pair

__all__ = [
    "ExactJudge",
    "NormalizedJudge",
    "UnigramJudge",
    "BleuJudge",
    "normalize_text",
    "rouge1_tokens",
    "rouge1_f1",
    "UNIGRAM_THRESHOLD",
    "BLEU_THRESHOLD",
]

UNIGRAM_THRESHOLD = 0.458
BLEU_THRESHOLD = 0.382  # accuracy-optimal on the NoveltyBench pairs, see benchmarks/partition_agreement.py --calibrate

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def _as_pairs(pairs: Sequence[Pair]) -> list[Pair]:
    if isinstance(pairs, (str, bytes)):
        raise TypeError("pairs must be a sequence of (text_a, text_b) tuples, got a string")
    out = []
    for i, pair in enumerate(pairs):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"pairs[{i}] must be a (text_a, text_b) pair, got {type(pair).__name__}")
        a, b = pair
        if not isinstance(a, str) or not isinstance(b, str):
            raise TypeError(f"pairs[{i}] holds {type(a).__name__} and {type(b).__name__}, expected two str")
        out.append((a, b))
    return out


def normalize_text(text: str) -> str:
    """NFKC, case-fold, drop punctuation/symbols, collapse whitespace.

    Example:
        >>> normalize_text("  Hello,   WORLD! ")
        'hello world'
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(" " if unicodedata.category(ch)[0] in "PS" else ch for ch in text)
    return " ".join(text.split())


def rouge1_tokens(text: str) -> list[str]:
    """Tokens as ``rouge_score.tokenize.tokenize(text, stemmer=None)`` produces them.

    Example:
        >>> rouge1_tokens("It's 5 o'clock!")
        ['it', 's', '5', 'o', 'clock']
    """
    return _NON_ALNUM.sub(" ", text.lower()).split()


def rouge1_f1(a: str, b: str) -> float:
    """ROUGE-1 F1 between ``a`` (reference) and ``b`` (prediction); symmetric.

    Example:
        >>> rouge1_f1("the cat sat", "the cat ran")
        0.6666666666666666
    """
    ta, tb = Counter(rouge1_tokens(a)), Counter(rouge1_tokens(b))
    overlap = sum(min(count, tb[w]) for w, count in ta.items())
    precision = overlap / max(sum(tb.values()), 1)
    recall = overlap / max(sum(ta.values()), 1)
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


class ExactJudge(Judge):
    """Equivalent iff the texts are identical. Score 1 or 0, threshold 0.5.

    Example:
        >>> ExactJudge().score_pairs([("a", "a"), ("a", "A")]).tolist()
        [1.0, 0.0]
    """

    name = "exact"

    def __init__(self, threshold: float = 0.5) -> None:
        super().__init__(threshold)

    def score_pairs(self, pairs: Sequence[Pair], prompt: str | None = None) -> np.ndarray:
        return np.array([float(a == b) for a, b in _as_pairs(pairs)], dtype=np.float64)


class NormalizedJudge(Judge):
    """Equivalent iff ``normalize_text(a) == normalize_text(b)``. Score 1 or 0, threshold 0.5.

    Example:
        >>> NormalizedJudge().score_pairs([("Hello, world!", "hello world")]).tolist()
        [1.0]
    """

    name = "normalized"

    def __init__(self, threshold: float = 0.5) -> None:
        super().__init__(threshold)

    def score_pairs(self, pairs: Sequence[Pair], prompt: str | None = None) -> np.ndarray:
        return np.array([float(normalize_text(a) == normalize_text(b)) for a, b in _as_pairs(pairs)], dtype=np.float64)


class UnigramJudge(Judge):
    """NoveltyBench's unigram judge: ROUGE-1 F1, equivalent iff ``F1 > 0.458``.

    Example:
        >>> UnigramJudge().equivalent([("the cat sat", "the cat ran")]).tolist()
        [True]
    """

    name = "unigram"

    def __init__(self, threshold: float = UNIGRAM_THRESHOLD) -> None:
        super().__init__(threshold)

    def score_pairs(self, pairs: Sequence[Pair], prompt: str | None = None) -> np.ndarray:
        return np.array([rouge1_f1(a, b) for a, b in _as_pairs(pairs)], dtype=np.float64)


class BleuJudge(Judge):
    """NoveltyBench's BLEU score ``(BLEU(a|b) + BLEU(b|a)) / 200`` (sacrebleu), equivalent iff > threshold.

    Example:
        >>> round(float(BleuJudge().score_pairs([("the cat sat on the mat", "the cat sat on the mat")])[0]), 3)
        1.0
    """

    name = "bleu"

    def __init__(self, threshold: float = BLEU_THRESHOLD) -> None:
        super().__init__(threshold)

    def score_pairs(self, pairs: Sequence[Pair], prompt: str | None = None) -> np.ndarray:
        from sacrebleu import corpus_bleu

        out = np.empty(len(pairs), dtype=np.float64)
        for k, (a, b) in enumerate(_as_pairs(pairs)):
            out[k] = (corpus_bleu([a], [[b]]).score + corpus_bleu([b], [[a]]).score) / 200.0
        return out
