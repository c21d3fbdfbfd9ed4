"""Equivalence judges and the one registry behind :func:`get_judge`.

Registry names (``list_judges()``; ``describe_judges()`` gives aliases and a line each):

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
``llm``                   an OpenAI-compatible chat model that partitions a whole group in one call (``url=``)
========================  =========================================================================

Every judge class declares its options (``OPTIONS``, a tuple of
:class:`~diversity_metrics.judges.base.JudgeOption`); :func:`get_judge` and
:func:`check_judge_options` check names, types and choices against that declaration before anything is
built, so a misspelt option fails at once and names the options the judge takes.

Example:
    >>> from diversity_metrics.judges import get_judge
    >>> get_judge("unigram").threshold
    0.458
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diversity_metrics.judges.base import (
    DEVICE_OPTION,
    PATH_KIND,
    EmbeddingJudge,
    Judge,
    JudgeOption,
    SetJudge,
)

__all__ = [
    "Judge",
    "EmbeddingJudge",
    "SetJudge",
    "JudgeOption",
    "JudgeEntry",
    "get_judge",
    "list_judges",
    "describe_judges",
    "resolve_judge_name",
    "judge_options_for",
    "judge_is_set_judge",
    "judge_version",
    "check_judge_options",
    "DEFAULT_JUDGE",
]

DEFAULT_JUDGE = "learned"
_DEFAULT_DIR = Path(__file__).resolve().parent / "default"

AnyJudge = Judge | SetJudge


@dataclass(frozen=True)
class JudgeEntry:
    """A registry entry: where the judge class lives, what it needs, how users call it."""

    name: str
    target: str  # "module:Class" or "module:Class.factory_classmethod"
    summary: str
    aliases: tuple[str, ...] = ()
    extra_options: tuple[JudgeOption, ...] = ()  # options of the factory beyond the class's OPTIONS
    preset: Mapping[str, Any] = field(default_factory=dict)  # options applied unless given
    extra: str = "judges"  # the pip extra that installs what it needs ("" = none)

    def load_target(self) -> Any:
        module, _, attr = self.target.partition(":")
        try:
            obj: Any = importlib.import_module(module)
        except ImportError as exc:  # pragma: no cover - the judge modules import only numpy at import time
            raise ImportError(f"judge {self.name!r} needs `pip install diversity-metrics[{self.extra}]` ({exc})") from exc
        for part in attr.split("."):
            obj = getattr(obj, part)
        return obj

    def judge_class(self) -> type:
        module, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module), attr.split(".")[0])

    def options(self) -> dict[str, JudgeOption]:
        """The declared options, by name (factory extras first, then the class's ``OPTIONS``)."""
        out: dict[str, JudgeOption] = {}
        for opt in (*self.extra_options, *getattr(self.judge_class(), "OPTIONS", ())):
            out.setdefault(opt.name, opt)
        return out


_LEARNED_PATH = JudgeOption("path", PATH_KIND, None, "a learned-judge folder (default: the shipped judge)")
_MODEL_REQUIRED = JudgeOption("model", PATH_KIND, help="local folder or hub name of the model")

_ENTRIES: tuple[JudgeEntry, ...] = (
    JudgeEntry("learned", "diversity_metrics.judges.learned:LearnedJudge.load",
               "the shipped learned judge: one MiniLM pass per response + a trained head (default)",
               aliases=("default",),
               extra_options=(
                   _LEARNED_PATH,
                   JudgeOption("encoder", PATH_KIND, None, "local MiniLM folder replacing the config's base_encoder"),
                   DEVICE_OPTION,
               )),
    JudgeEntry("exact", "diversity_metrics.judges.lexical:ExactJudge", "byte-identical texts", extra=""),
    JudgeEntry("normalized", "diversity_metrics.judges.lexical:NormalizedJudge",
               "identical after NFKC, case folding, punctuation and whitespace removal", aliases=("normalised",),
               extra=""),
    JudgeEntry("unigram", "diversity_metrics.judges.lexical:UnigramJudge",
               "NoveltyBench's lexical rule: ROUGE-1 F1 > 0.458", aliases=("rouge1",), extra=""),
    JudgeEntry("bleu", "diversity_metrics.judges.lexical:BleuJudge", "symmetric sentence BLEU (sacrebleu)",
               extra="lexical"),
    JudgeEntry("embedding", "diversity_metrics.judges.embedding:SentenceEmbeddingJudge",
               "cosine of sentence-transformers embeddings (offline all-MiniLM-L6-v2 by default)",
               aliases=("minilm", "cosine")),
    JudgeEntry("cross-encoder", "diversity_metrics.judges.cross_encoder:CrossEncoderJudge",
               "a HF sequence-classification model scoring each pair (model=...)",
               aliases=("classifier", "cross_encoder", "crossencoder"), extra_options=(_MODEL_REQUIRED,)),
    JudgeEntry("noveltybench", "diversity_metrics.judges.cross_encoder:CrossEncoderJudge.noveltybench",
               "NoveltyBench's DeBERTa-v3-large classifier at P > 0.102 (hub download unless model= is local)",
               extra_options=(JudgeOption("model", PATH_KIND, None, "local copy of the classifier"),)),
    JudgeEntry("nli", "diversity_metrics.judges.nli:NLIJudge", "bidirectional entailment with an NLI model (model=...)",
               extra_options=(_MODEL_REQUIRED,)),
    JudgeEntry("math", "diversity_metrics.judges.math:MathAnswerJudge", "final-answer equivalence with math-verify"),
    JudgeEntry("remote", "diversity_metrics.judges.remote:RemoteJudge", "a vLLM /classify server (url=...)",
               aliases=("vllm",), extra=""),
    JudgeEntry("llm", "diversity_metrics.judges.llm:LLMSetJudge",
               "an OpenAI-compatible chat model partitioning each whole group in one call (url=...)",
               aliases=("llm-set",), extra=""),
)
_REGISTRY: dict[str, JudgeEntry] = {e.name: e for e in _ENTRIES}
_ALIASES: dict[str, str] = {a: e.name for e in _ENTRIES for a in e.aliases}


def _available(entry: JudgeEntry) -> bool:
    module = entry.target.partition(":")[0]
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # pragma: no cover
        return False


def list_judges() -> list[str]:
    """Return the registry names accepted by :func:`get_judge` (aliases excluded), sorted.

    Example:
        >>> "unigram" in list_judges()
        True
    """
    return sorted(name for name, e in _REGISTRY.items() if _available(e))


def describe_judges() -> list[dict[str, Any]]:
    """One row per registry judge: ``name``, ``aliases``, ``summary``, ``default`` (bool), ``extra``.

    Example:
        >>> [r["name"] for r in describe_judges() if r["default"]]
        ['learned']
    """
    return [
        {"name": e.name, "aliases": list(e.aliases), "summary": e.summary, "default": e.name == DEFAULT_JUDGE,
         "extra": e.extra}
        for e in sorted(_ENTRIES, key=lambda e: e.name)
        if _available(e)
    ]


def _default_available() -> bool:
    return (_DEFAULT_DIR / "config.json").is_file() and (_DEFAULT_DIR / "model.safetensors").is_file()


def _unknown(name: str) -> ValueError:
    return ValueError(
        f"unknown judge {name!r}: expected one of {list_judges()} (aliases: {sorted(_ALIASES)}) "
        "or an existing local folder"
    )


def _folder_kind(path: Path) -> tuple[str, dict[str, Any]]:
    """The registry judge a local folder is, and the option that points it at the folder."""
    config_path = path / "config.json"
    config: dict[str, Any] = {}
    if config_path.is_file():
        try:
            config = json.loads(config_path.read_text())
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"judge folder {os.fspath(path)!r}: cannot read config.json ({exc})") from None
        if not isinstance(config, dict):
            raise ValueError(f"judge folder {os.fspath(path)!r}: config.json is not a JSON object")
    if "feature_set" in config and "format_version" in config:
        return "learned", {"path": os.fspath(path)}
    if (path / "modules.json").is_file() or (path / "config_sentence_transformers.json").is_file():
        return "embedding", {"model": os.fspath(path)}
    if any(str(a).endswith("ForSequenceClassification") for a in config.get("architectures") or []):
        return "cross-encoder", {"model": os.fspath(path)}
    raise ValueError(
        f"judge folder {os.fspath(path)!r} is not a judge: expected a learned-judge folder "
        "(config.json with feature_set), a sentence-transformers folder (modules.json) or a Hugging Face "
        "sequence-classification model (config.json architectures *ForSequenceClassification)"
    )


def resolve_judge_name(judge: str | os.PathLike[str] | None) -> tuple[str, dict[str, Any]]:
    """The one name resolution: ``(registry name, options implied by the name)``; loads nothing.

    ``None`` and the alias ``"default"`` are ``"learned"``; a local folder maps to the judge that reads it
    (``("learned", {"path": ...})``, ``("embedding", {"model": ...})``, ``("cross-encoder", {"model": ...})``).

    Example:
        >>> resolve_judge_name("rouge1")
        ('unigram', {})
        >>> resolve_judge_name(None)
        ('learned', {})
    """
    if judge is None:
        return DEFAULT_JUDGE, {}
    if isinstance(judge, bool) or not isinstance(judge, (str, os.PathLike)):
        raise TypeError(f"judge must be None, a registry name, a folder path or a Judge instance, got {type(judge).__name__}")
    name = os.fspath(judge)
    key = _ALIASES.get(name.strip().lower(), name.strip().lower())
    if key in _REGISTRY:
        return key, {}
    path = Path(name).expanduser()
    if path.is_dir():
        return _folder_kind(path)
    raise _unknown(name)


def judge_options_for(name: str) -> dict[str, JudgeOption]:
    """The declared options of registry judge ``name`` (after alias resolution), by option name.

    Example:
        >>> sorted(judge_options_for("unigram"))
        ['threshold']
    """
    key, _ = resolve_judge_name(name)
    return _REGISTRY[key].options()


def judge_version(name: str, options: Mapping[str, Any] | None = None) -> str | None:
    """The version tag of judge ``name`` with ``options``; loads no model.

    A judge class with a ``version_for(options)`` hook answers it (the learned judge: a hash of its folder's
    ``config.json`` and weights, so results made with other weights never pass for these); otherwise its
    ``VERSION`` attribute; ``None`` when it declares neither.

    Example:
        >>> judge_version("unigram") is None
        True
    """
    key, implied = resolve_judge_name(name)
    try:
        cls = _REGISTRY[key].judge_class()
    except ImportError:
        return None
    hook = getattr(cls, "version_for", None)
    if callable(hook):
        return hook({**implied, **dict(options or {})})
    return getattr(cls, "VERSION", None)


def judge_is_set_judge(name: str) -> bool:
    """Whether registry judge ``name`` partitions whole groups (a :class:`SetJudge`) rather than pairs."""
    key, _ = resolve_judge_name(name)
    try:
        return issubclass(_REGISTRY[key].judge_class(), SetJudge)
    except ImportError:
        return False


def check_judge_options(
    options: object, *, judge: str | None = None, name: str = "judge_options", json_values: bool = False
) -> dict[str, Any]:
    """``options`` as a dict (``None`` -> ``{}``), checked against ``judge``'s declared options when given.

    Unknown option names raise ``ValueError`` naming the options the judge takes; a wrong type raises
    ``TypeError`` and a value outside the declared choices ``ValueError``. ``json_values=True`` also requires
    JSON values, for options that are stored with results.

    Example:
        >>> check_judge_options({"threshold": 0.25}, judge="unigram", json_values=True)
        {'threshold': 0.25}
        >>> check_judge_options({"thresold": 0.25}, judge="unigram")
        Traceback (most recent call last):
        ...
        ValueError: judge 'unigram' has no option 'thresold'; it takes: threshold
    """
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise TypeError(f"{name} must be a mapping of judge options, got {type(options).__name__}")
    bad = [k for k in options if not (isinstance(k, str) and k.isidentifier())]
    if bad:
        raise ValueError(f"{name} keys must be option names, got {bad}")
    out = dict(options)
    if json_values:
        try:
            json.dumps(out, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must hold JSON values (they are stored with the results): {exc}") from None
    if judge is not None:
        key, _ = resolve_judge_name(judge)
        declared = _REGISTRY[key].options()
        for opt_name, value in out.items():
            if opt_name not in declared:
                raise ValueError(f"judge {key!r} has no option {opt_name!r}; it takes: {', '.join(sorted(declared))}")
            declared[opt_name].check(value, key)
    return out


def _build(key: str, options: dict[str, Any]) -> AnyJudge:
    entry = _REGISTRY[key]
    declared = entry.options()
    merged = {**entry.preset, **options}
    missing = [o.name for o in declared.values() if o.required and o.name not in merged]
    if missing:
        raise ValueError(
            f"judge {key!r} needs option(s) {missing}: "
            + "; ".join(declared[m].describe() for m in missing)
        )
    check_judge_options(merged, judge=key)
    try:
        return entry.load_target()(**merged)
    except ModuleNotFoundError as exc:
        if not entry.extra:
            raise
        from diversity_metrics._extras import missing_extra_error

        raise missing_extra_error(exc, extra=entry.extra, feature=f"judge {key!r}") from exc


def get_judge(name_or_path: str | os.PathLike[str] | AnyJudge | None = None, **options: Any) -> AnyJudge:
    """Return a judge by registry name, local folder, or pass a judge instance through.

    * ``None`` -> the package default, the learned judge shipped in ``diversity_metrics/judges/default/``.
    * a registry name (see :func:`list_judges`; aliases such as ``"default"`` accepted); ``options`` go to
      the judge (e.g. ``threshold=``, ``model=``, ``device=``, ``url=``), checked against its declared
      ``OPTIONS`` first.
    * a folder: a learned-judge folder (``config.json`` with ``feature_set``) -> learned judge; a
      sentence-transformers folder -> ``embedding``; a HF ``*ForSequenceClassification`` folder ->
      ``cross-encoder``.

    This builds a new judge each call; :class:`diversity_metrics.Partitioner` and
    :func:`diversity_metrics.partition` keep built judges in a cache.

    Example:
        >>> judge = get_judge("exact")
        >>> judge.equivalent([("a", "a"), ("a", "b")]).tolist()
        [True, False]
    """
    if isinstance(name_or_path, (Judge, SetJudge)):
        if options:
            raise ValueError(f"options {sorted(options)} cannot be applied to an existing judge instance")
        return name_or_path
    key, implied = resolve_judge_name(name_or_path)
    if key == DEFAULT_JUDGE and "path" not in implied and "path" not in options and not _default_available():
        raise ValueError(
            f"judge 'learned': the default learned judge is not installed at {_DEFAULT_DIR} "
            "(train one with `diversity-metrics train-judge` and pass path=...)"
        )
    clash = sorted(set(implied) & set(options))
    if clash:
        raise ValueError(f"judge {os.fspath(name_or_path)!r} is a folder; do not also pass {clash}")
    return _build(key, {**implied, **options})
