"""Final answers: grouping samples by an equality, and math-verify's equality for math answers.

The one home for "which samples gave the same answer", used by

* :class:`diversity_metrics.judges.math.MathAnswerJudge` (the ``math`` judge),
* the lm-eval math tasks (:func:`grade_samples`, behind ``process_math``'s pass@k / maj@k),
* the estimators ``pass_at_k_from_answers`` / ``maj_at_k_from_answers`` (:func:`group_answers`).

Rules (math-verify, Hugging Face, ``parse`` then ``verify``):

* an answer is ``parse(text)``; a text with nothing extractable has no answer (``None``): it abstains and
  equals nothing, not even another ``None``;
* a sample is correct iff ``verify(reference, answer)`` (math-verify's own order: gold first);
* two samples give the same answer iff ``verify(a, b) or verify(b, a)`` (symmetric, since ``verify`` is not
  always);
* groups are formed greedily: each answer joins the first group whose first member it equals.

math-verify's time limits use ``SIGALRM``, which only works in the main thread; elsewhere they are off.
Importing this module needs neither math-verify nor torch (the ``judges`` extra installs math-verify).

Example:
    >>> group_answers(["4", "4.0", None, "5", "4"], lambda a, b: float(a) == float(b))
    (['4', '5'], [3, 1], 1)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from typing import Any

__all__ = ["group_answers", "parse_answer", "parse_reference", "same_answer", "matches_reference", "grade_samples"]

DEFAULT_TIMEOUT_SECONDS = 5


def group_answers(
    answers: Sequence[Any],
    equal: Callable[[Any, Any], bool],
    *,
    key: Callable[[Any], Hashable] | None = None,
) -> tuple[list[Any], list[int], int]:
    """Group ``answers`` by ``equal`` against each group's first member; ``None`` answers abstain.

    Returns ``(representatives, counts, abstentions)``: ``representatives[j]`` is group j's first member,
    ``counts[j]`` its size, groups in order of first appearance. ``key`` (optional) is a shortcut: answers
    with the same key join the same group without calling ``equal`` again.

    Example:
        >>> group_answers(["a", "b", "a", None], str.__eq__)
        (['a', 'b'], [2, 1], 1)
    """
    reps: list[Any] = []
    counts: list[int] = []
    by_key: dict[Hashable, int] = {}
    abstain = 0
    for a in answers:
        if a is None:
            abstain += 1
            continue
        k = key(a) if key is not None else None
        j = by_key.get(k) if key is not None else None
        if j is None:
            j = next((m for m, r in enumerate(reps) if equal(a, r)), None)
        if j is None:
            reps.append(a)
            counts.append(0)
            j = len(reps) - 1
        if key is not None:
            by_key.setdefault(k, j)
        counts[j] += 1
    return reps, counts, abstain


def _timeout(seconds: int | None) -> int | None:
    if not seconds or threading.current_thread() is not threading.main_thread():
        return None
    return int(seconds)


def _math_verify() -> Any:
    from diversity_metrics._extras import require

    return require("math_verify", extra="judges", feature="math answer checking (math-verify)")


def parse_answer(text: str, *, timeout_seconds: int | None = DEFAULT_TIMEOUT_SECONDS) -> list[Any] | None:
    """math-verify's parsed final answer of ``text``, or ``None`` when it extracts nothing.

    Example:
        >>> parse_answer("so the answer is $\\\\boxed{1/2}$") is not None, parse_answer("no idea")
        (True, None)
    """
    parsed = _math_verify().parse(text, parsing_timeout=_timeout(timeout_seconds))
    return parsed or None


def parse_reference(answer: str) -> list[Any]:
    """The reference answer, parsed as LaTeX math (``$answer$``) first, then as given; ``ValueError`` if neither.

    Example:
        >>> len(parse_reference("\\\\frac{1}{2}")) > 0
        True
    """
    mv = _math_verify()
    gold = mv.parse(f"${answer}$", parsing_timeout=_timeout(DEFAULT_TIMEOUT_SECONDS)) or mv.parse(
        answer, parsing_timeout=_timeout(DEFAULT_TIMEOUT_SECONDS)
    )
    if not gold:
        raise ValueError(f"math-verify cannot parse the reference answer {answer!r}")
    return gold


def matches_reference(
    reference: list[Any], answer: list[Any] | None, *, timeout_seconds: int | None = DEFAULT_TIMEOUT_SECONDS
) -> bool:
    """``verify(reference, answer)``; an answer of ``None`` is wrong."""
    if not answer:
        return False
    return bool(_math_verify().verify(reference, answer, timeout_seconds=_timeout(timeout_seconds)))


def same_answer(a: list[Any] | None, b: list[Any] | None, *, timeout_seconds: int | None = DEFAULT_TIMEOUT_SECONDS) -> bool:
    """``verify(a, b) or verify(b, a)``; ``None`` (no answer) equals nothing.

    Example:
        >>> same_answer(parse_answer("$0.5$"), parse_answer("$\\\\frac{1}{2}$")), same_answer(None, None)
        (True, False)
    """
    if not a or not b:
        return False
    verify = _math_verify().verify
    t = _timeout(timeout_seconds)
    return bool(verify(a, b, timeout_seconds=t) or verify(b, a, timeout_seconds=t))


def grade_samples(answer: str, samples: Sequence[str]) -> tuple[list[bool], list[int], int]:
    """Check ``samples`` against the reference ``answer`` and group the final answers of the wrong ones.

    Returns ``(correct, counts, abstentions)``: ``correct[i]`` says whether sample i's answer matches the
    reference (:func:`matches_reference`); ``counts[0]`` is the number of correct samples, ``counts[1:]`` the
    sizes of the groups of wrong answers (:func:`group_answers` with :func:`same_answer`); ``abstentions``
    counts samples with no parseable answer. This is the input of :func:`~diversity_metrics.maj_at_k`.

    Example:
        >>> grade_samples("1/2", ["\\\\boxed{0.5}", "\\\\boxed{3}", "\\\\boxed{3}", "no idea"])
        ([True, False, False, False], [1, 2], 1)
    """
    gold = parse_reference(answer)
    parsed = [parse_answer(text) for text in samples]
    correct = [matches_reference(gold, p) for p in parsed]
    wrong = [p for p, ok in zip(parsed, correct) if not ok]
    _, wrong_counts, abstain = group_answers(wrong, same_answer, key=lambda p: str(p[-1]))
    return correct, [sum(correct), *wrong_counts], abstain
