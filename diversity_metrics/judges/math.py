"""Final-answer judge for math: two solutions are equivalent iff their final answers are equal.

Answers are extracted and compared by :mod:`diversity_metrics.answers` (math-verify's ``parse`` then
``verify``, the rule the lm-eval math tasks and the estimators share):
``score(a, b) = max(verify(parse(a), parse(b)), verify(parse(b), parse(a)))`` in {0, 1}, threshold 0.5,
so the score is symmetric even where ``verify`` is not. A response with no extractable answer is
equivalent to nothing (score 0), including another response without one. Each distinct text is parsed
once per call. math-verify's signal-based timeouts only work in the main thread; elsewhere they are off.

This is the "same answer" partition (answer diversity); DARLING's math-RL classifier instead judges
"same solution strategy" with a fine-tuned model (use ``cross-encoder`` or ``remote`` for that).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from diversity_metrics._extras import require
from diversity_metrics.answers import parse_answer, same_answer
from diversity_metrics.judges.base import THRESHOLD_OPTION, JudgeOption, Judge, Pair
from diversity_metrics.judges.lexical import _as_pairs

__all__ = ["MathAnswerJudge"]


class MathAnswerJudge(Judge):
    """Equivalent iff math-verify finds the two final answers equal (in either direction).

    Example:
        >>> judge = MathAnswerJudge()
        >>> judge.score_pairs([("The answer is $\\\\boxed{1/2}$", "so it is 0.5"), ("$2$", "$3$")]).tolist()
        [1.0, 0.0]
    """

    OPTIONS = (THRESHOLD_OPTION, JudgeOption("timeout_seconds", int, 5, "math-verify time limit per comparison"))

    name = "math"

    def __init__(self, threshold: float = 0.5, timeout_seconds: int = 5) -> None:
        super().__init__(threshold)
        if isinstance(timeout_seconds, bool) or not isinstance(timeout_seconds, int) or timeout_seconds < 0:
            raise ValueError(f"timeout_seconds must be a non-negative integer, got {timeout_seconds!r}")
        self.timeout_seconds = timeout_seconds
        require("math_verify", extra="judges", feature="the math judge")  # fail at build, not on the first pair

    def score_pairs(self, pairs: Sequence[Pair], prompt: str | None = None) -> np.ndarray:
        pairs = _as_pairs(pairs)
        timeout = self.timeout_seconds
        parsed = {t: parse_answer(t, timeout_seconds=timeout) for t in dict.fromkeys(x for p in pairs for x in p)}
        return np.array(
            [float(same_answer(parsed[a], parsed[b], timeout_seconds=timeout)) for a, b in pairs], dtype=np.float64
        )
