"""Cross-encoder judge: any Hugging Face sequence-classification model reading both responses at once.

Pair encoding, exactly NoveltyBench's ``classifier_score`` (``src/partition.py``)::

    input_ids      = [CLS] + tok(a)[:128] + [SEP] + tok(b)[:128] + [SEP]
    token_type_ids = 0 for "[CLS] a [SEP]", 1 for "b [SEP]"

where ``tok`` encodes without special tokens and each side is truncated to ``max_length`` (128) tokens
on its own, so over-long responses are compared on their first 128 tokens. The score is
``P(equivalent) = softmax(logits)[positive_class]`` (class 1), equivalent iff ``score > threshold``.
NoveltyBench's DeBERTa-v3-large classifier (``yimingzhang/deberta-v3-large-generation-similarity``,
tokenizer ``microsoft/deberta-v3-large``) uses threshold 0.102: :meth:`CrossEncoderJudge.noveltybench`.

NoveltyBench scores one order, ``(representative, candidate)``; this judge does the same by default
(the engine passes ``(earlier, later)`` pairs). ``symmetric=True`` averages both orders (2x the cost).
Pairs are batched (padding right, attention mask); with a padded batch the scores equal NoveltyBench's
one-pair forwards up to floating-point error. ``token_type_ids`` are passed when the model's forward
accepts them (DeBERTa-v3 has ``type_vocab_size = 0`` and ignores them, as in NoveltyBench).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from diversity_metrics._device import resolve_device, resolve_dtype
from diversity_metrics.judges.base import PATH_KIND, THRESHOLD_OPTION, DEVICE_OPTION, DTYPE_OPTION, JudgeOption, batch_size_option, Judge, Pair
from diversity_metrics.judges.lexical import _as_pairs

__all__ = ["CrossEncoderJudge", "encode_pair", "NOVELTYBENCH_MODEL", "NOVELTYBENCH_TOKENIZER", "NOVELTYBENCH_THRESHOLD"]

NOVELTYBENCH_MODEL = "yimingzhang/deberta-v3-large-generation-similarity"
NOVELTYBENCH_TOKENIZER = "microsoft/deberta-v3-large"
NOVELTYBENCH_THRESHOLD = 0.102


def _side_ids(tokenizer: Any, texts: Sequence[str], max_length: int) -> list[list[int]]:
    if not texts:
        return []
    enc = tokenizer(list(texts), add_special_tokens=False, truncation=True, max_length=max_length, verbose=False)
    return [list(ids) for ids in enc["input_ids"]]


def _join(cls_id: int, sep_id: int, ids_a: list[int], ids_b: list[int]) -> tuple[list[int], list[int]]:
    input_ids = [cls_id, *ids_a, sep_id, *ids_b, sep_id]
    first = len(ids_a) + 2
    return input_ids, [0] * first + [1] * (len(input_ids) - first)


def encode_pair(tokenizer: Any, a: str, b: str, max_length: int = 128) -> tuple[list[int], list[int]]:
    """NoveltyBench's pair encoding: ``([CLS] a [SEP] b [SEP], token_type_ids)``, each side <= max_length.

    Example:
        >>> ids, types = encode_pair(tokenizer, "a b", "c")          # doctest: +SKIP
        >>> len(ids) == len(types) and types == [0, 0, 0, 0, 1, 1]   # doctest: +SKIP
        True
    """
    if tokenizer.cls_token_id is None or tokenizer.sep_token_id is None:
        raise ValueError("tokenizer has no [CLS]/[SEP] tokens; NoveltyBench's pair encoding needs both")
    ids_a, ids_b = _side_ids(tokenizer, [a, b], max_length)
    return _join(tokenizer.cls_token_id, tokenizer.sep_token_id, ids_a, ids_b)


def _fspath(x: Any) -> Any:
    return os.fspath(x) if isinstance(x, (str, os.PathLike)) else x


def _name(model: Any) -> str:
    if isinstance(model, (str, os.PathLike)):
        return os.fspath(model)
    return getattr(getattr(model, "config", None), "_name_or_path", "") or type(model).__name__


class _Classifier:
    """A sequence-classification model on a device, run on pre-encoded inputs in padded batches."""

    def __init__(
        self, model: Any, tokenizer: Any, device: str | None, dtype: str, batch_size: int
    ) -> None:
        """``model``/``tokenizer``: names or folders to load, or already-built objects."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        if isinstance(tokenizer, str) or tokenizer is None:
            name = tokenizer or model
            if not isinstance(name, str):
                raise ValueError("tokenizer is required when model is an already-built model object")
            tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=False)
        self.tokenizer = tokenizer
        if isinstance(model, str):
            model = AutoModelForSequenceClassification.from_pretrained(model, dtype=self.dtype, trust_remote_code=False)
        else:
            model = model.to(self.dtype)
        self.model = model.to(self.device).eval()
        self.batch_size = int(batch_size)
        params = inspect.signature(self.model.forward).parameters
        self.takes_token_types = "token_type_ids" in params
        pad = self.tokenizer.pad_token_id
        self.pad_id = int(pad) if pad is not None else 0

    def probs(self, inputs: list[tuple[list[int], list[int]]]) -> np.ndarray:
        """Softmax class probabilities, shape ``(len(inputs), num_labels)``, float64."""
        import torch

        n_labels = int(self.model.config.num_labels)
        out = np.zeros((len(inputs), n_labels), dtype=np.float64)
        order = np.argsort([len(ids) for ids, _ in inputs], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                width = max(len(inputs[k][0]) for k in idx)
                ids = torch.full((len(idx), width), self.pad_id, dtype=torch.long)
                types = torch.zeros((len(idx), width), dtype=torch.long)
                mask = torch.zeros((len(idx), width), dtype=torch.long)
                for r, k in enumerate(idx):
                    seq, tt = inputs[k]
                    ids[r, : len(seq)] = torch.tensor(seq)
                    types[r, : len(tt)] = torch.tensor(tt)
                    mask[r, : len(seq)] = 1
                kwargs = {"input_ids": ids.to(self.device), "attention_mask": mask.to(self.device)}
                if self.takes_token_types:
                    kwargs["token_type_ids"] = types.to(self.device)
                logits = self.model(**kwargs).logits.float()
                out[idx] = logits.softmax(-1).cpu().numpy()
        return out


class CrossEncoderJudge(Judge):
    """Judge pairs with a sequence-classification model, encoding pairs as NoveltyBench does.

    Args:
        model: local folder or hub name of an ``AutoModelForSequenceClassification`` model, or such a
            model object (then ``tokenizer`` must be given, as a name, folder or tokenizer object).
        tokenizer: tokenizer folder or name when it differs from ``model``, or a tokenizer object.
        threshold: equivalent iff ``P(positive_class) > threshold``.
        max_length: tokens kept per response (NoveltyBench: 128).
        symmetric: average ``score(a, b)`` and ``score(b, a)`` (NoveltyBench: one order, False).
        positive_class: index of the "equivalent" class (NoveltyBench: 1).
        batch_size: pairs per forward pass; device ``"auto"``/``"cpu"``/``"cuda"``; dtype ``"auto"`` is half
            precision on CUDA, float32 on CPU.

    Example:
        >>> judge = CrossEncoderJudge.noveltybench()                 # doctest: +SKIP
        >>> judge.score_pairs([("Paris.", "It is Paris.")])          # doctest: +SKIP
    """

    OPTIONS = (
        JudgeOption("model", PATH_KIND, help="local folder or hub name of a sequence-classification model"),
        JudgeOption("tokenizer", PATH_KIND, None, "tokenizer folder or hub name (default: the model's)"),
        THRESHOLD_OPTION,
        JudgeOption("max_length", int, 128, "tokens per side"),
        JudgeOption("symmetric", bool, False, "average both pair orders"),
        JudgeOption("positive_class", int, 1, "logit index of 'equivalent'"),
        batch_size_option(32),
        DEVICE_OPTION,
        DTYPE_OPTION,
    )

    name = "cross-encoder"

    def __init__(
        self,
        model: str | os.PathLike[str] | Any,
        *,
        tokenizer: str | os.PathLike[str] | Any | None = None,
        threshold: float = 0.5,
        max_length: int = 128,
        symmetric: bool = False,
        positive_class: int = 1,
        batch_size: int = 32,
        device: str | None = "auto",
        dtype: str = "auto",
    ) -> None:
        super().__init__(threshold)
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
            raise ValueError(f"max_length must be a positive integer, got {max_length!r}")
        self.model_name = _name(model)
        self.clf = _Classifier(_fspath(model), _fspath(tokenizer), device, dtype, batch_size)
        n_labels = int(self.clf.model.config.num_labels)
        if not 0 <= positive_class < n_labels:
            raise ValueError(f"positive_class must be in [0, {n_labels}), got {positive_class!r}")
        tok = self.clf.tokenizer
        if tok.cls_token_id is None or tok.sep_token_id is None:
            raise ValueError(f"tokenizer of {self.model_name!r} has no [CLS]/[SEP] tokens")
        self.max_length = max_length
        self.symmetric = bool(symmetric)
        self.positive_class = int(positive_class)

    @classmethod
    def noveltybench(cls, **options: Any) -> CrossEncoderJudge:
        """NoveltyBench's evaluation classifier (DeBERTa-v3-large, threshold 0.102, 128 tokens a side).

        Downloads ``yimingzhang/deberta-v3-large-generation-similarity`` from the Hugging Face hub on
        first use unless ``model=``/``tokenizer=`` point to local copies.
        """
        options.setdefault("model", NOVELTYBENCH_MODEL)
        options.setdefault("tokenizer", NOVELTYBENCH_TOKENIZER)
        options.setdefault("threshold", NOVELTYBENCH_THRESHOLD)
        options.setdefault("max_length", 128)
        return cls(**options)

    @property
    def tokenizer(self) -> Any:
        return self.clf.tokenizer

    def encode(self, pairs: Sequence[Pair]) -> list[tuple[list[int], list[int]]]:
        """NoveltyBench encodings of ``pairs``; each distinct text is tokenized once."""
        pairs = _as_pairs(pairs)
        distinct = list(dict.fromkeys(t for p in pairs for t in p))
        ids = dict(zip(distinct, _side_ids(self.tokenizer, distinct, self.max_length)))
        cls_id, sep_id = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        return [_join(cls_id, sep_id, ids[a], ids[b]) for a, b in pairs]

    def score_pairs(self, pairs: Sequence[Pair], prompt: str | None = None) -> np.ndarray:
        pairs = _as_pairs(pairs)
        if not pairs:
            return np.zeros(0, dtype=np.float64)
        if self.symmetric:
            both = self.encode(pairs + [(b, a) for a, b in pairs])
            p = self.clf.probs(both)[:, self.positive_class]
            return (p[: len(pairs)] + p[len(pairs) :]) / 2.0
        return self.clf.probs(self.encode(pairs))[:, self.positive_class]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model_name!r}, threshold={self.threshold!r})"
