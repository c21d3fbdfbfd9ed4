"""The judge protocol: a judge scores pairs of responses; ``score > threshold`` means "equivalent".

Two families:

* :class:`Judge` -- anything that scores a pair directly (exact match, lexical overlap, cross-encoders,
  NLI, remote servers).
* :class:`EmbeddingJudge` -- judges that embed each response on its own and score a pair from the two
  embeddings (bi-encoders, the learned default judge). The partitioning engine embeds every distinct
  response of a whole batch once and scores all pairs from the cache.
* :class:`SetJudge` -- judges that partition a whole group at once (an LLM that sees all k responses);
  the engine calls them instead of a strategy.

Every judge class declares its constructor options in ``OPTIONS`` (a tuple of :class:`JudgeOption`);
:func:`~diversity_metrics.judges.get_judge` checks names, types and choices against it before building.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any, ClassVar

import numpy as np

Pair = tuple[str, str]

_NO_DEFAULT: Any = object()
PATH_KIND = "path"  # JudgeOption.kind for "a str or os.PathLike" (a local folder or a hub id)


@dataclass(frozen=True)
class JudgeOption:
    """One declared constructor option of a judge: name, accepted type(s), default, help, choices.

    ``kind`` is a type or a tuple of types; ``float`` also accepts ints (never bools); ``"path"`` accepts a
    ``str`` or ``os.PathLike``. ``nullable=True`` also accepts ``None``. ``affects_result=False`` marks
    options that cannot change a partition (device, batch size, URLs, timeouts, caches): they are left
    out of the settings stored with results, so changing them never blocks a resume.

    Example:
        >>> JudgeOption("threshold", float, 0.5, "decision threshold").check(0.25, "unigram")
        0.25
        >>> JudgeOption("threshold", float, 0.5).check("high", "unigram")
        Traceback (most recent call last):
        ...
        TypeError: judge 'unigram' option 'threshold' must be float, got str 'high'
    """

    name: str
    kind: Any
    default: Any = _NO_DEFAULT
    help: str = ""
    choices: tuple[Any, ...] | None = None
    nullable: bool = False
    affects_result: bool = True

    @property
    def required(self) -> bool:
        return self.default is _NO_DEFAULT

    def _kinds(self) -> tuple[Any, ...]:
        return self.kind if isinstance(self.kind, tuple) else (self.kind,)

    def type_name(self) -> str:
        names = ["str or path" if k == PATH_KIND else getattr(k, "__name__", str(k)) for k in self._kinds()]
        return " or ".join(names) + (" or None" if self.nullable else "")

    def check(self, value: Any, judge: str) -> Any:
        """Return ``value`` if it has the declared type and is one of the choices, else raise naming both."""
        import os

        if value is None and (self.nullable or self.default is None):
            return value
        ok = False
        for kind in self._kinds():
            if kind == PATH_KIND:
                ok = isinstance(value, (str, os.PathLike))
            elif kind is float:
                ok = isinstance(value, Real) and not isinstance(value, bool)
            elif kind is int:
                ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
            else:
                ok = isinstance(value, kind)
            if ok:
                break
        if not ok:
            raise TypeError(
                f"judge {judge!r} option {self.name!r} must be {self.type_name()}, got {type(value).__name__} {value!r}"
            )
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"judge {judge!r} option {self.name!r} must be one of {list(self.choices)}, got {value!r}")
        return value

    def describe(self) -> str:
        default = "required" if self.required else f"default {self.default!r}"
        choices = f", one of {list(self.choices)}" if self.choices else ""
        return f"{self.name} ({self.type_name()}, {default}{choices}): {self.help}".rstrip(": ")


THRESHOLD_OPTION = JudgeOption("threshold", float, None, "decision threshold: a pair is equivalent when score > threshold")
DEVICE_OPTION = JudgeOption(
    "device", str, "auto", "'auto' (CUDA when available), 'cpu', 'cuda' or 'cuda:N'", nullable=True, affects_result=False
)
DTYPE_OPTION = JudgeOption("dtype", str, "auto", "model precision", choices=("auto", "float32", "float16", "bfloat16"))


def batch_size_option(default: int) -> JudgeOption:
    return JudgeOption("batch_size", int, default, "inputs per model call", affects_result=False)


class Judge(ABC):
    """Scores pairs of responses in [0, 1]; a pair is equivalent when its score exceeds ``threshold``.

    Subclasses implement :meth:`score_pairs`. Scores should be symmetric: ``score(a, b) == score(b, a)``
    up to floating-point error. The exception is a cross-encoder in NoveltyBench's protocol, which scores
    one order only (``symmetric=True`` averages both); the engine always passes pairs as
    ``(earlier response, later response)``, as NoveltyBench does.

    ``uses_prompt`` tells the engine whether scores depend on the ``prompt`` argument; when False (the
    default) the engine scores the pairs of many prompts in one call and shares the cache across them.

    Example:
        >>> from diversity_metrics import get_judge
        >>> judge = get_judge("exact")
        >>> judge.equivalent([("Paris", "Paris"), ("Paris", "Rome")]).tolist()
        [True, False]
    """

    name: str = "judge"
    uses_prompt: bool = False
    OPTIONS: ClassVar[tuple[JudgeOption, ...]] = (THRESHOLD_OPTION,)
    VERSION: ClassVar[str | None] = None  # bump when the judge's scores change; part of the metric version

    def __init__(self, threshold: float) -> None:
        if isinstance(threshold, bool) or not isinstance(threshold, Real):
            raise TypeError(f"threshold must be a number, got {type(threshold).__name__} {threshold!r}")
        if not np.isfinite(threshold):
            raise ValueError(f"threshold must be a finite number, got {threshold!r}")
        self.threshold = float(threshold)

    @abstractmethod
    def score_pairs(self, pairs: Sequence[Pair], prompt: str | None = None) -> np.ndarray:
        """Return one score in [0, 1] per pair (float64 array of ``len(pairs)``)."""

    def equivalent(self, pairs: Sequence[Pair], prompt: str | None = None) -> np.ndarray:
        """Return a boolean array: ``score_pairs(pairs, prompt) > threshold``."""
        return self.score_pairs(pairs, prompt) > self.threshold

    def for_strategy(self, strategy: str) -> Judge:
        """The judge to use under partition ``strategy``; the engine asks before partitioning.

        ``self`` here: one threshold serves every strategy. A judge whose named operating point was chosen
        per strategy (:meth:`diversity_metrics.judges.learned.LearnedJudge.for_strategy`) returns a copy at
        that strategy's threshold.
        """
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, threshold={self.threshold!r})"


class EmbeddingJudge(Judge):
    """A judge that embeds each response independently and scores pairs from the embeddings.

    Subclasses implement :meth:`embed` and :meth:`score_embeddings`; :meth:`score_pairs` then embeds each
    distinct text once. A subclass with ``uses_prompt = True`` also takes ``prompt=`` in
    :meth:`score_embeddings` (the engine passes each group's prompt; embeddings never depend on it).
    """

    @abstractmethod
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return an array of shape ``(len(texts), dim)``, one row per text."""

    @abstractmethod
    def score_embeddings(
        self, emb_a: np.ndarray, emb_b: np.ndarray, texts_a: Sequence[str], texts_b: Sequence[str]
    ) -> np.ndarray:
        """Score row i of ``emb_a`` against row i of ``emb_b`` (texts given for judges that also use them)."""

    def score_pairs(self, pairs: Sequence[Pair], prompt: str | None = None) -> np.ndarray:
        if len(pairs) == 0:
            return np.zeros(0, dtype=np.float64)
        unique = list(dict.fromkeys(t for pair in pairs for t in pair))
        index = {t: i for i, t in enumerate(unique)}
        emb = self.embed(unique)
        ia = np.fromiter((index[a] for a, _ in pairs), dtype=np.int64, count=len(pairs))
        ib = np.fromiter((index[b] for _, b in pairs), dtype=np.int64, count=len(pairs))
        texts_a = [a for a, _ in pairs]
        texts_b = [b for _, b in pairs]
        extra = {"prompt": prompt} if self.uses_prompt else {}
        return np.asarray(self.score_embeddings(emb[ia], emb[ib], texts_a, texts_b, **extra), dtype=np.float64)


class SetJudge(ABC):
    """A judge that partitions a whole group of responses at once (e.g. one LLM call per prompt).

    Subclasses implement :meth:`partition_groups`. The engine calls it instead of a pairwise strategy;
    the strategy and the short-response rule do not apply (they are recorded as ``"set"`` / ``"off"``).
    Returned labels may be any non-negative ints; the engine canonicalises them.
    """

    name: str = "set-judge"
    uses_prompt: bool = True
    OPTIONS: ClassVar[tuple[JudgeOption, ...]] = ()
    VERSION: ClassVar[str | None] = None  # e.g. the instruction version of an LLM judge

    @abstractmethod
    def partition_groups(self, groups: Sequence[Sequence[str]], prompts: Sequence[str | None]) -> list[list[int]]:
        """Return one list of class ids per group, one id per response, in the group's order."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
