"""The short-response rule as a judge wrapper: pairs of short answers are decided by shared words.

NoveltyBench (``maybe_test_equality``) and DARLING's reward decide a pair without the model when both
responses have at most 5 words: equivalent iff

    2 * |set(words_a) & set(words_b)| >= max(len(words_a), len(words_b))

Two word rules (``SHORT_RULES``):

* ``"normalized"`` (the package default): words are NFKC-normalised, case-folded and stripped of leading
  and trailing punctuation and symbols, so ``"Blue"``, ``"blue"`` and ``"Blue."`` are one answer. Tokens
  that are only punctuation are dropped; when both texts have no word left, they are equivalent iff
  their normalised texts are equal (``"!!!"`` vs ``"???"`` stay apart).
* ``"noveltybench"``: NoveltyBench's exact rule, ``text.strip().lower().split()`` (punctuation stays
  part of a word, so ``"Blue"`` and ``"Blue."`` differ). Use it to reproduce NoveltyBench's numbers.

Identical texts are always one class (the engine never sends them to a judge), which differs from
NoveltyBench, whose rule can split two identical answers (e.g. the two identical emoji answers of
NB-Curated prompt 91 fall to its classifier).

Example:
    >>> from diversity_metrics.judges import get_judge
    >>> judge = ShortRuleJudge(get_judge("exact"), "normalized")
    >>> judge.equivalent([("Blue", "Blue."), ("Blue", "Red")]).tolist()
    [True, False]
    >>> ShortRuleJudge(get_judge("exact"), "noveltybench").equivalent([("Blue", "Blue.")]).tolist()
    [False]
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import numpy as np

from diversity_metrics.judges.base import Judge, Pair

__all__ = [
    "SHORT_RULES",
    "SHORT_RESPONSE_WORDS",
    "ShortRuleJudge",
    "mixed_length",
    "normalized_words",
    "short_rule_decision",
]

SHORT_RESPONSE_WORDS = 5
SHORT_RULES: tuple[str, ...] = ("normalized", "noveltybench", "off")


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch)[0] in ("P", "S")


def normalized_words(text: str) -> list[str]:
    """NFKC + case-folded words with leading/trailing punctuation and symbols stripped (empty ones dropped).

    Example:
        >>> normalized_words("  The SKY: blue! ")
        ['the', 'sky', 'blue']
    """
    out = []
    for token in unicodedata.normalize("NFKC", text).casefold().split():
        start, end = 0, len(token)
        while start < end and _is_punct(token[start]):
            start += 1
        while end > start and _is_punct(token[end - 1]):
            end -= 1
        if start < end:
            out.append(token[start:end])
    return out


def short_rule_decision(a: str, b: str, rule: str = "normalized") -> bool | None:
    """The rule's decision for one pair when both texts have <= 5 words, else ``None`` (ask the judge).

    Example:
        >>> short_rule_decision("Blue.", "blue")
        True
        >>> short_rule_decision("Red", "Deep blue")
        False
        >>> short_rule_decision("one two three four five six", "one") is None
        True
    """
    if rule == "noveltybench":
        words_a, words_b = a.strip().lower().split(), b.strip().lower().split()
    elif rule == "normalized":
        words_a, words_b = normalized_words(a), normalized_words(b)
        if not words_a and not words_b:
            norm = lambda t: " ".join(unicodedata.normalize("NFKC", t).casefold().split())  # noqa: E731
            # texts made only of punctuation/symbols (or empty): equal when their normalised texts are
            if len(norm(a).split()) > SHORT_RESPONSE_WORDS or len(norm(b).split()) > SHORT_RESPONSE_WORDS:
                return None
            return norm(a) == norm(b)
    elif rule == "off":
        return None
    else:
        raise ValueError(f"short_rule must be one of {list(SHORT_RULES)}, got {rule!r}")
    longest = max(len(words_a), len(words_b))
    if longest > SHORT_RESPONSE_WORDS:
        return None
    return 2 * len(set(words_a) & set(words_b)) >= longest


def mixed_length(a: str, b: str) -> bool:
    """True when one text has at most 5 whitespace words and the other more (the rule leaves the pair to a judge).

    NoveltyBench's classifier decides these pairs; the learned judge's ``noveltybench`` operating point gives
    them their own threshold (see :func:`diversity_metrics.training.operating_points.mixed_length_point`).

    Example:
        >>> mixed_length("Handbag", "seeds to plant in the garden"), mixed_length("Red", "Deep blue")
        (True, False)
    """
    na, nb = len(a.split()), len(b.split())
    return min(na, nb) <= SHORT_RESPONSE_WORDS < max(na, nb)


class ShortRuleJudge(Judge):
    """Wraps a judge: pairs of short responses are decided by the rule, the rest go to ``inner``.

    The engine keeps the inner judge's batching (an embedding judge still embeds each text once) and only
    sends the pairs the rule leaves undecided. Scores of decided pairs are 1.0 / 0.0.
    """

    def __init__(self, inner: Judge, rule: str = "normalized") -> None:
        if not isinstance(inner, Judge):
            raise TypeError(f"ShortRuleJudge wraps a pairwise Judge, got {type(inner).__name__}")
        if rule not in ("normalized", "noveltybench"):
            raise ValueError(f"ShortRuleJudge rule must be 'normalized' or 'noveltybench', got {rule!r}")
        super().__init__(inner.threshold)
        self.inner = inner
        self.rule = rule
        self.name = inner.name
        self.uses_prompt = inner.uses_prompt

    def decide(self, a: str, b: str) -> bool | None:
        return short_rule_decision(a, b, self.rule)

    def _split(self, pairs: Sequence[Pair]) -> tuple[list[bool | None], list[int]]:
        decisions = [self.decide(a, b) for a, b in pairs]
        return decisions, [i for i, d in enumerate(decisions) if d is None]

    def score_pairs(self, pairs: Sequence[Pair], prompt: str | None = None) -> np.ndarray:
        decisions, rest = self._split(pairs)
        scores = np.array([1.0 if d else 0.0 for d in decisions], dtype=np.float64)
        if rest:
            scores[rest] = np.asarray(self.inner.score_pairs([pairs[i] for i in rest], prompt), dtype=np.float64)
        return scores

    def equivalent(self, pairs: Sequence[Pair], prompt: str | None = None) -> np.ndarray:
        decisions, rest = self._split(pairs)
        out = np.array([bool(d) for d in decisions], dtype=bool)
        if rest:
            out[rest] = self.inner.score_pairs([pairs[i] for i in rest], prompt) > self.inner.threshold
        return out

    def __repr__(self) -> str:
        return f"ShortRuleJudge({self.inner!r}, rule={self.rule!r})"
