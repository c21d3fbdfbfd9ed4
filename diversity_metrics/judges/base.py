"""The judge protocol: a judge scores pairs of responses; ``score > threshold`` means "equivalent".

Two families:

* :class:`Judge` -- anything that scores a pair directly (exact match, lexical overlap, cross-encoders,
  NLI, remote servers).
* :class:`EmbeddingJudge` -- judges that embed each response on its own and score a pair from the two
  embeddings (bi-encoders, the learned default judge). The partitioning engine embeds every distinct
  response of a whole batch once and scores all pairs from the cache.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from numbers import Real

import numpy as np

Pair = tuple[str, str]


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

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, threshold={self.threshold!r})"


class EmbeddingJudge(Judge):
    """A judge that embeds each response independently and scores pairs from the embeddings.

    Subclasses implement :meth:`embed` and :meth:`score_embeddings`; :meth:`score_pairs` then embeds each
    distinct text once.
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
        return np.asarray(self.score_embeddings(emb[ia], emb[ib], texts_a, texts_b), dtype=np.float64)
