"""One configured partition engine for every front-end: :class:`PartitionSpec` and :class:`Partitioner`.

A :class:`PartitionSpec` holds the settings that decide a partition (judge, judge options, strategy,
short-response rule, device, batch size). It is validated in full when built -- unknown judge, option,
option type, operating point, strategy, short rule or device -- without loading any model, so a typo in a
CLI flag, an lm-eval ``--metadata`` entry or a verl ``reward_kwargs`` fails before any work. The CLI,
``score_file``, the lm-eval tasks, the verl plug-in and the TRL integration all build their partition
through :meth:`PartitionSpec.from_mapping`; the same setting has the same name everywhere.

A :class:`Partitioner` is a spec plus its judge, loaded once on first use and reused:

>>> p = Partitioner(judge="exact", strategy="transitive")
>>> p.partition(["Paris", "paris", "Rome"])
[0, 0, 1]
>>> p.settings()["short_rule"]
'normalized'

Built judges are also kept in a small process-wide cache keyed by (judge, options, device), so
``diversity_metrics.partition(texts, judge="unigram")`` in a loop builds the judge once
(:func:`clear_judge_cache` empties it).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import threading
import warnings
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from diversity_metrics.judges import (
    DEFAULT_JUDGE,
    check_judge_options,
    get_judge,
    judge_options_for,
    resolve_judge_name,
)
from diversity_metrics.judges.base import Judge, SetJudge
from diversity_metrics.judges.short_rule import SHORT_RULES, ShortRuleJudge
from diversity_metrics.strategies import DEFAULT_STRATEGY, check_strategy

__all__ = [
    "PartitionSpec",
    "Partitioner",
    "PARTITION_KEYS",
    "clear_judge_cache",
    "metric_version",
]

DEFAULT_SHORT_RULE = "normalized"
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def _check_short_rule(value: Any, where: str) -> str:
    if isinstance(value, bool):
        warnings.warn(
            f"{where}short_rule=True/False is deprecated; use 'normalized' (the default), 'noveltybench' or 'off'",
            DeprecationWarning,
            stacklevel=4,
        )
        return DEFAULT_SHORT_RULE if value else "off"
    if not isinstance(value, str):
        raise TypeError(f"{where}short_rule must be one of {list(SHORT_RULES)}, got {type(value).__name__} {value!r}")
    if value not in SHORT_RULES:
        raise ValueError(f"{where}short_rule must be one of {list(SHORT_RULES)}, got {value!r}")
    return value


def _check_device(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{where}device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {type(value).__name__} {value!r}")
    if not _DEVICE.match(value):
        raise ValueError(f"{where}device must be 'auto', 'cpu', 'mps', 'cuda' or 'cuda:N', got {value!r}")
    return value


@dataclass(frozen=True)
class PartitionSpec:
    """The validated settings of a partition (see the module docstring).

    Attributes:
        judge: a registry name or alias (``"learned"``, ``"unigram"``, ...) or a local judge folder; stored
            as the canonical registry name (the folder path for folders).
        judge_options: options for the judge, checked against its declared ``OPTIONS`` (JSON values).
        strategy: ``"greedy"`` (NoveltyBench, the evaluation default), ``"transitive"`` (DARLING's reward,
            the default of the reward front-ends), ``"clique"`` or ``"average"``.
        short_rule: ``"normalized"`` (default), ``"noveltybench"`` or ``"off"``
            (:mod:`diversity_metrics.judges.short_rule`).
        device: passed to the judge when it declares a ``device`` option (ignored by model-free judges).
            ``judge_options={"device": ...}`` is the same setting; giving both differently is an error.
        batch_size: maximum pairs per judge call and texts per embedding call.

    Example:
        >>> PartitionSpec.from_mapping({"judge": "rouge1", "strategy": "transitive"}).judge
        'unigram'
        >>> PartitionSpec(judge="unigram", judge_options={"thresold": 0.3})
        Traceback (most recent call last):
        ...
        ValueError: judge 'unigram' has no option 'thresold'; it takes: threshold
    """

    judge: str = DEFAULT_JUDGE
    judge_options: Mapping[str, Any] = field(default_factory=dict)
    strategy: str = DEFAULT_STRATEGY
    short_rule: str = DEFAULT_SHORT_RULE
    device: str | None = None
    batch_size: int = 1024
    where: str = field(default="", compare=False, repr=False)  # prefix for error messages, e.g. "reward_kwargs."

    def __post_init__(self) -> None:
        w = self.where
        judge = self.judge if self.judge is not None else DEFAULT_JUDGE
        if isinstance(judge, (Judge, SetJudge)):
            raise TypeError(f"{w}judge must be a name or folder in a PartitionSpec; pass judge objects to Partitioner")
        try:
            key, implied = resolve_judge_name(judge)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{w}judge: {exc}") from None
        name = implied.get("path") or implied.get("model") or key
        options = check_judge_options(self.judge_options, judge=key, name=f"{w}judge_options", json_values=True)
        device = _check_device(self.device, w)
        if "device" in options:
            option_device = _check_device(options.pop("device"), f"{w}judge_options.")
            if device is not None and option_device != device:
                raise ValueError(f"{w}device={device!r} and {w}judge_options.device={option_device!r} disagree; set one")
            device = option_device
        declared = judge_options_for(key)
        if device is not None and "device" not in declared:
            device = None  # a model-free judge runs anywhere; recorded as no device
        try:
            strategy = check_strategy(self.strategy)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{w}{exc}") from None
        short_rule = _check_short_rule(self.short_rule, w)
        from diversity_metrics._validation import check_number

        object.__setattr__(self, "batch_size", check_number(self.batch_size, f"{w}batch_size", integer=True, low=1))
        object.__setattr__(self, "judge", os.fspath(name))
        object.__setattr__(self, "judge_options", dict(sorted(options.items())))
        object.__setattr__(self, "device", device)
        object.__setattr__(self, "strategy", strategy)
        object.__setattr__(self, "short_rule", short_rule)

    @property
    def judge_key(self) -> str:
        """The registry name of the judge (``"learned"`` for a learned-judge folder)."""
        return resolve_judge_name(self.judge)[0]

    @classmethod
    def from_mapping(
        cls, mapping: Mapping[str, Any] | None, *, where: str = "", defaults: Mapping[str, Any] | None = None
    ) -> PartitionSpec:
        """Build from a plain mapping (CLI flags, lm-eval metadata, verl reward_kwargs); unknown keys are errors.

        ``None`` values mean "not set" (the default applies). ``defaults`` overrides this class's
        defaults for one front-end (the reward front-ends use ``{"strategy": "transitive"}``).

        Example:
            >>> PartitionSpec.from_mapping({"judge": "exact", "short_rule": "off"}).short_rule
            'off'
        """
        data = {**dict(defaults or {}), **{k: v for k, v in dict(mapping or {}).items() if v is not None}}
        unknown = sorted(set(data) - set(PARTITION_KEYS))
        if unknown:
            raise ValueError(f"unknown partition setting(s) {[where + k for k in unknown]}; known: {list(PARTITION_KEYS)}")
        if isinstance(data.get("judge_options"), str):
            text = data["judge_options"]
            try:
                data["judge_options"] = json.loads(text) if text.strip() else {}
            except json.JSONDecodeError as exc:
                raise ValueError(f"{where}judge_options must be a JSON object, got {text!r} ({exc.msg})") from None
        return cls(**data, where=where)

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain JSON-able dict that :meth:`from_mapping` reads back."""
        return {k: (dict(v) if isinstance(v, Mapping) else v)
                for k, v in dataclasses.asdict(self).items() if k in PARTITION_KEYS}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def operating_point(self) -> str | None:
        """The judge's named operating point (``None`` for judges without one; ``"custom"`` for a threshold).

        Without an explicit choice this is the judge's default, asked of the judge class
        (``default_operating_point(options)``, e.g. the learned judge folder's ``default_operating_point``)
        without loading a model.
        """
        from diversity_metrics.judges import _REGISTRY

        declared = judge_options_for(self.judge_key)
        if "operating_point" not in declared:
            return None
        if self.judge_options.get("operating_point") is not None:
            return str(self.judge_options["operating_point"])
        if self.judge_options.get("threshold") is not None:
            return "custom"
        options = dict(self.judge_options)
        implied = resolve_judge_name(self.judge)[1]
        hook = getattr(_REGISTRY[self.judge_key].judge_class(), "default_operating_point", None)
        if callable(hook):
            return hook({**implied, **options})
        opt = declared["operating_point"]
        return None if opt.required else opt.default

    def result_options(self) -> dict[str, Any]:
        """The judge options that can change a partition (declared ``affects_result``)."""
        declared = judge_options_for(self.judge_key)
        return {k: v for k, v in self.judge_options.items() if k not in declared or declared[k].affects_result}

    def settings(self, *, set_judge: bool = False) -> dict[str, Any]:
        """The record stored with every result: what decided the partition, and the metric version.

        Options that cannot change a partition (device, batch size, URLs, timeouts) are left out, so a
        resume on another machine or server is allowed.
        """
        from diversity_metrics.judges import judge_version

        out: dict[str, Any] = {
            "judge": self.judge,
            "judge_version": judge_version(self.judge, self.judge_options),
            "judge_options": self.result_options(),
            "operating_point": self.operating_point(),
            "strategy": "set" if set_judge else self.strategy,
            "short_rule": "off" if set_judge else self.short_rule,
        }
        out["metric_version"] = metric_version(out)
        return out

    def replace(self, **changes: Any) -> PartitionSpec:
        return dataclasses.replace(self, **changes)


PARTITION_KEYS: tuple[str, ...] = ("judge", "judge_options", "strategy", "short_rule", "device", "batch_size")


def metric_version(settings: Mapping[str, Any]) -> str:
    """A string naming everything that makes partition-based numbers comparable.

    ``dm<package version>/<judge>[#<judge version>][@<operating point>][;option=value...]/<strategy>/short=<rule>``
    (the result-affecting options other than the operating point are appended as ``;key=value``).

    Example:
        >>> metric_version({"judge": "unigram", "judge_options": {}, "operating_point": None,
        ...                 "strategy": "greedy", "short_rule": "normalized"})  # doctest: +ELLIPSIS
        'dm.../unigram/greedy/short=normalized'
    """
    from diversity_metrics import __version__

    judge = str(settings.get("judge"))
    if settings.get("judge_version"):
        judge += f"#{settings['judge_version']}"
    op = settings.get("operating_point")
    options = {k: v for k, v in dict(settings.get("judge_options") or {}).items() if k not in ("operating_point", "device")}
    extra = "".join(f";{k}={json.dumps(v, sort_keys=True)}" for k, v in sorted(options.items()))
    head = f"{judge}@{op}" if op else judge
    return f"dm{__version__}/{head}{extra}/{settings.get('strategy')}/short={settings.get('short_rule')}"


_CACHE_SIZE = 8
_judge_cache: OrderedDict[tuple[str, str, str | None], Any] = OrderedDict()
_cache_lock = threading.Lock()


def _cached_judge(spec: PartitionSpec) -> Any:
    key = (spec.judge, json.dumps(dict(spec.judge_options), sort_keys=True), spec.device)
    with _cache_lock:
        judge = _judge_cache.get(key)
        if judge is not None:
            _judge_cache.move_to_end(key)
            return judge
    options = dict(spec.judge_options)
    if spec.device is not None:
        options["device"] = spec.device
    judge = get_judge(spec.judge, **options)
    with _cache_lock:
        _judge_cache[key] = judge
        while len(_judge_cache) > _CACHE_SIZE:
            _judge_cache.popitem(last=False)
    return judge


def clear_judge_cache() -> None:
    """Forget every judge built by :class:`Partitioner` / :func:`diversity_metrics.partition` (frees models)."""
    with _cache_lock:
        _judge_cache.clear()


class Partitioner:
    """A :class:`PartitionSpec` with its judge: build once, partition many groups.

    ``Partitioner(spec)``, ``Partitioner(judge="unigram", strategy="transitive")`` or
    ``Partitioner(judge=<Judge instance>, ...)`` (an instance is used as given). Everything is validated
    when built; the judge (a model for ``learned``/``embedding``/...) loads on first use and is shared with
    other partitioners of the same judge settings through the judge cache (``cache=False`` opts out).

    Example:
        >>> p = Partitioner(judge="unigram")
        >>> p.partition_batch([["red", "Red.", "blue"], ["yes"]])
        [[0, 0, 1], [0]]
    """

    def __init__(self, spec: PartitionSpec | Mapping[str, Any] | None = None, /, *, cache: bool = True,
                 **settings: Any) -> None:
        judge_obj = settings.get("judge")
        if isinstance(judge_obj, (Judge, SetJudge)):
            settings = {**settings, "judge": None}
            if settings.get("judge_options") or settings.get("device"):
                raise ValueError("judge_options/device cannot be applied to an existing judge instance")
        else:
            judge_obj = None
        if spec is None:
            spec = PartitionSpec.from_mapping(settings)
        elif isinstance(spec, Mapping):
            spec = PartitionSpec.from_mapping({**spec, **settings})
        elif settings:
            spec = spec.replace(**settings)
        if not isinstance(spec, PartitionSpec):
            raise TypeError(f"spec must be a PartitionSpec or a mapping, got {type(spec).__name__}")
        self.spec = spec
        # a given judge is resolved for the strategy now (a copy, no model load); a named one when it loads
        self._judge: Any = judge_obj.for_strategy(spec.strategy) if isinstance(judge_obj, Judge) else judge_obj
        self._given = judge_obj is not None
        self._cache = cache
        self._lock = threading.Lock()

    @property
    def judge(self) -> Judge | SetJudge:
        """The judge, loaded on first use (without the short-rule wrapper), at the threshold for this strategy.

        A named operating point may hold one threshold per strategy (``Judge.for_strategy``); a judge instance
        given to the constructor is resolved the same way.
        """
        if self._judge is None:
            with self._lock:
                if self._judge is None:
                    if self._cache:
                        judge = _cached_judge(self.spec)
                    else:
                        options = dict(self.spec.judge_options)
                        if self.spec.device is not None:
                            options["device"] = self.spec.device
                        judge = get_judge(self.spec.judge, **options)
                    self._judge = judge.for_strategy(self.spec.strategy) if isinstance(judge, Judge) else judge
        return self._judge

    @property
    def is_set_judge(self) -> bool:
        if self._judge is not None:
            return isinstance(self._judge, SetJudge)
        from diversity_metrics.judges import judge_is_set_judge

        return judge_is_set_judge(self.spec.judge_key)

    def engine_judge(self) -> Judge | SetJudge:
        """The judge the engine calls: wrapped in the short-response rule unless it is off or a set judge."""
        judge = self.judge
        if isinstance(judge, SetJudge) or self.spec.short_rule == "off":
            return judge
        return ShortRuleJudge(judge, self.spec.short_rule)

    def partition_batch(
        self, groups: Sequence[Sequence[str]], *, prompts: Sequence[str | None] | None = None,
        show_progress: bool = False,
    ) -> list[list[int]]:
        """Canonical class ids per group; see :func:`diversity_metrics.partitioning.partition_batch`."""
        from diversity_metrics.partitioning import run_engine

        return run_engine(groups, prompts, self, show_progress=show_progress)

    def partition(self, texts: Sequence[str], *, prompt: str | None = None) -> list[int]:
        """Canonical class ids of one prompt's responses."""
        from diversity_metrics._validation import as_texts

        checked = as_texts(texts, "responses")
        if prompt is not None and not isinstance(prompt, str):
            raise TypeError(f"prompt must be a str or None, got {type(prompt).__name__}")
        return self.partition_batch([checked], prompts=[prompt])[0]

    def settings(self) -> dict[str, Any]:
        """What decided the partitions (stored with results); a judge instance is named by its ``name``."""
        out = self.spec.settings(set_judge=self.is_set_judge)
        if self._given:
            out["judge"] = f"instance:{getattr(self._judge, 'name', type(self._judge).__name__)}"
            out["judge_options"] = {}
            out["operating_point"] = getattr(self._judge, "operating_point", None)
            out["metric_version"] = metric_version(out)
        return out

    def __repr__(self) -> str:
        return f"Partitioner({self.spec!r})"
