"""Equivalence judges and the registry behind :func:`get_judge`.

Registry names (``list_judges()``):

========================  =========================================================================
``learned`` (``default``) the shipped learned judge (``judges/default/``, MiniLM + trained head)
``exact``                 byte-identical texts
``normalized``            identical after Unicode NFKC, case folding, punctuation and whitespace removal
``unigram``               NoveltyBench's lexical rule: ROUGE-1 F1 > 0.458
``bleu``                  symmetric sentence BLEU (NoveltyBench's ``bleu`` score), threshold documented
``embedding``             cosine of sentence-transformers embeddings (default: offline all-MiniLM-L6-v2)
``cross-encoder``         any HF sequence-classification model, NoveltyBench pair encoding (``model=``)
``noveltybench``          ``cross-encoder`` preset for yimingzhang/deberta-v3-large-generation-similarity
                          (threshold 0.102; downloads from the Hugging Face hub when first used)
``nli``                   bidirectional entailment with any NLI model (``model=``)
``math``                  final-answer equivalence with math-verify
``remote``                a vLLM ``/classify`` server (``url=``)
========================  =========================================================================

Example:
    >>> from diversity_metrics.judges import get_judge
    >>> get_judge("unigram").threshold
    0.458
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from diversity_metrics.judges.base import EmbeddingJudge, Judge

__all__ = [
    "Judge",
    "EmbeddingJudge",
    "get_judge",
    "list_judges",
    "resolve_judge",
    "check_judge_spec",
    "check_judge_options",
    "DEFAULT_JUDGE",
]

DEFAULT_JUDGE = "learned"
_DEFAULT_DIR = Path(__file__).resolve().parent / "default"

_ALIASES = {
    "default": "learned",
    "normalised": "normalized",
    "rouge1": "unigram",
    "minilm": "embedding",
    "cosine": "embedding",
    "classifier": "cross-encoder",
    "cross_encoder": "cross-encoder",
    "crossencoder": "cross-encoder",
    "vllm": "remote",
}


def _learned(**options: Any) -> Judge:
    from diversity_metrics.judges.learned import LearnedJudge

    path = options.pop("path", None)
    return LearnedJudge.load(path, **options)


def _exact(**options: Any) -> Judge:
    from diversity_metrics.judges.lexical import ExactJudge

    return ExactJudge(**options)


def _normalized(**options: Any) -> Judge:
    from diversity_metrics.judges.lexical import NormalizedJudge

    return NormalizedJudge(**options)


def _unigram(**options: Any) -> Judge:
    from diversity_metrics.judges.lexical import UnigramJudge

    return UnigramJudge(**options)


def _bleu(**options: Any) -> Judge:
    from diversity_metrics.judges.lexical import BleuJudge

    return BleuJudge(**options)


def _embedding(**options: Any) -> Judge:
    from diversity_metrics.judges.embedding import SentenceEmbeddingJudge

    return SentenceEmbeddingJudge(**options)


def _cross_encoder(**options: Any) -> Judge:
    from diversity_metrics.judges.cross_encoder import CrossEncoderJudge

    if "model" not in options:
        raise ValueError(
            "judge 'cross-encoder' needs model=<local folder or hub name of a sequence-classification model>; "
            "use get_judge('noveltybench') for NoveltyBench's DeBERTa classifier"
        )
    return CrossEncoderJudge(**options)


def _noveltybench(**options: Any) -> Judge:
    from diversity_metrics.judges.cross_encoder import CrossEncoderJudge

    return CrossEncoderJudge.noveltybench(**options)


def _nli(**options: Any) -> Judge:
    from diversity_metrics.judges.nli import NLIJudge

    if "model" not in options:
        raise ValueError("judge 'nli' needs model=<local folder or hub name of an NLI sequence-classification model>")
    return NLIJudge(**options)


def _math(**options: Any) -> Judge:
    from diversity_metrics.judges.math import MathAnswerJudge

    return MathAnswerJudge(**options)


def _remote(**options: Any) -> Judge:
    from diversity_metrics.judges.remote import RemoteJudge

    if "url" not in options:
        raise ValueError("judge 'remote' needs url=<base URL of a vLLM server with /classify>, e.g. http://host:8000")
    return RemoteJudge(**options)


_REGISTRY: dict[str, Callable[..., Judge]] = {
    "learned": _learned,
    "exact": _exact,
    "normalized": _normalized,
    "unigram": _unigram,
    "bleu": _bleu,
    "embedding": _embedding,
    "cross-encoder": _cross_encoder,
    "noveltybench": _noveltybench,
    "nli": _nli,
    "math": _math,
    "remote": _remote,
}


_UNEXPECTED_OPTION = re.compile(r"unexpected keyword argument '(\w+)'")


def _build(label: str, factory: Callable[..., Judge], options: dict[str, Any]) -> Judge:
    """``factory(**options)``, with a misspelt or unsupported option reported by name."""
    try:
        return factory(**options)
    except TypeError as exc:
        match = _UNEXPECTED_OPTION.search(str(exc))
        if match is None or match.group(1) not in options:
            raise
        raise ValueError(f"judge {label!r} has no option {match.group(1)!r} ({exc})") from None


def list_judges() -> list[str]:
    """Return the registry names accepted by :func:`get_judge` (aliases excluded), sorted.

    Example:
        >>> "unigram" in list_judges()
        True
    """
    return sorted(_REGISTRY)


def _default_available() -> bool:
    return (_DEFAULT_DIR / "config.json").is_file() and (_DEFAULT_DIR / "model.safetensors").is_file()


def _judge_from_folder(path: Path, options: dict[str, Any]) -> Judge:
    config_path = path / "config.json"
    config: dict[str, Any] = {}
    if config_path.is_file():
        try:
            config = json.loads(config_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"name_or_path {os.fspath(path)!r}: cannot read config.json ({exc})") from None
    label = os.fspath(path)
    if "feature_set" in config and "format_version" in config:
        return _build(label, _learned, {"path": path, **options})
    if (path / "modules.json").is_file() or (path / "config_sentence_transformers.json").is_file():
        return _build(label, _embedding, {"model": path, **options})
    if any(str(a).endswith("ForSequenceClassification") for a in config.get("architectures") or []):
        return _build(label, _cross_encoder, {"model": path, **options})
    raise ValueError(
        f"name_or_path {os.fspath(path)!r} is a folder but not a judge: expected a learned-judge folder "
        "(config.json with feature_set), a sentence-transformers folder (modules.json) or a Hugging Face "
        "sequence-classification model (config.json architectures *ForSequenceClassification)"
    )


def get_judge(name_or_path: str | os.PathLike[str] | Judge | None = None, **options: Any) -> Judge:
    """Return a judge by registry name, local folder, or pass a :class:`Judge` instance through.

    * ``None`` -> the package default, the learned judge shipped in ``diversity_metrics/judges/default/``.
      While that folder is missing (development checkouts), falls back to ``"embedding"`` with a
      ``UserWarning``.
    * a registry name (see :func:`list_judges`; aliases such as ``"default"`` accepted); ``options`` go to
      the judge's constructor (e.g. ``threshold=``, ``model=``, ``device=``, ``url=``).
    * a folder: a learned-judge folder (``config.json`` with ``feature_set``) -> learned judge; a
      sentence-transformers folder -> ``embedding``; a HF ``*ForSequenceClassification`` folder ->
      ``cross-encoder``.

    Unknown names raise ``ValueError`` listing the known ones, and so does an option the judge does not
    take (naming it).

    Example:
        >>> judge = get_judge("exact")
        >>> judge.equivalent([("a", "a"), ("a", "b")]).tolist()
        [True, False]
    """
    if isinstance(name_or_path, Judge):
        if options:
            raise ValueError(f"options {sorted(options)} cannot be applied to an existing Judge instance")
        return name_or_path
    if name_or_path is None:
        if _default_available():
            return _build("learned", _learned, options)
        warnings.warn(
            f"the default learned judge is not installed at {_DEFAULT_DIR}; falling back to the 'embedding' judge "
            "(all-MiniLM-L6-v2 cosine). Pass judge='embedding' explicitly to silence this warning.",
            UserWarning,
            stacklevel=2,
        )
        return _build("embedding", _embedding, options)
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise TypeError(
            f"judge must be None, a registry name, a folder path or a Judge instance, got {type(name_or_path).__name__}"
        )
    name = os.fspath(name_or_path)
    key = _ALIASES.get(name.lower(), name.lower())
    if key in _REGISTRY:
        if key == "learned" and "path" not in options and not _default_available():
            raise ValueError(
                f"judge 'learned': the default learned judge is not installed at {_DEFAULT_DIR} "
                "(train one with `diversity-metrics train-judge` and pass path=...)"
            )
        return _build(key, _REGISTRY[key], options)
    path = Path(name).expanduser()
    if path.is_dir():
        return _judge_from_folder(path, options)
    raise ValueError(
        f"unknown judge {name!r}: expected one of {list_judges()} (aliases: {sorted(_ALIASES)}) "
        "or an existing local folder"
    )


def check_judge_spec(judge: object) -> None:
    """Raise the error :func:`get_judge` would raise for a bad name or type, without loading anything."""
    if judge is None or isinstance(judge, Judge):
        return
    if not isinstance(judge, (str, os.PathLike)):
        raise TypeError(f"judge must be None, a registry name, a folder path or a Judge instance, got {type(judge).__name__}")
    name = os.fspath(judge)
    if _ALIASES.get(name.lower(), name.lower()) in _REGISTRY or Path(name).expanduser().is_dir():
        return
    raise ValueError(
        f"unknown judge {name!r}: expected one of {list_judges()} (aliases: {sorted(_ALIASES)}) "
        "or an existing local folder"
    )


def check_judge_options(options: object, *, name: str = "judge_options", json_values: bool = False) -> dict[str, Any]:
    """``options`` for :func:`get_judge` as a dict (``None`` -> ``{}``), with option-name keys.

    ``json_values=True`` also requires JSON values, for options that are stored with results.

    Example:
        >>> check_judge_options({"threshold": 0.25}, json_values=True)
        {'threshold': 0.25}
    """
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise TypeError(f"{name} must be a mapping of get_judge options, got {type(options).__name__}")
    bad = [k for k in options if not (isinstance(k, str) and k.isidentifier())]
    if bad:
        raise ValueError(f"{name} keys must be option names, got {bad}")
    if json_values:
        try:
            json.dumps(dict(options))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must hold JSON values (they are stored with the results): {exc}") from None
    return dict(options)


def resolve_judge(judge: str | os.PathLike[str] | Judge | None) -> Judge:
    """``get_judge(judge)`` without options: the form the engine, CLI and reward managers accept."""
    return get_judge(judge)
