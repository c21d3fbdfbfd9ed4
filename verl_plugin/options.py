"""Options of the DARLING reward manager, read from ``reward.reward_kwargs`` of a verl config.

verl passes no per-manager keyword arguments from the config, so, like verl's own DAPO manager, the options
live in ``config.reward.reward_kwargs`` (set with ``+reward.reward_kwargs.<key>=<value>`` on the command line).
Unknown keys are an error (a typo must not silently fall back to a default).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from diversity_metrics.partitioner import PARTITION_KEYS, PartitionSpec
from diversity_metrics.reward import REWARD_KEYS, RewardSpec
from diversity_metrics.strategies import REWARD_STRATEGY

__all__ = ["DarlingOptions", "QUALITY_SOURCES"]

QUALITY_SOURCES = ("compute_score", "reward_router", "hf", "rm_scores")
_CHOICES: dict[str, tuple[Any, ...]] = {
    "quality": QUALITY_SOURCES,
    "on_timeout": ("partial", "error"),
    "on_judge_error": ("error", "quality_only"),
    "rendezvous": ("auto", "ray", "local"),
}


@dataclass(frozen=True)
class DarlingOptions:
    """Every knob of the DARLING reward (defaults = the paper's RL reward).

    Reward of rollout ``i`` in a group of ``n`` rollouts of one prompt (Li et al. 2025, arXiv 2509.02534):
    ``r_i = q_i * max((n - |C(y_i)|) / (n - 1), floor)`` with the partition ``C`` from the diversity_metrics
    engine (``strategy="transitive"``: all pairs judged, union-find).

    The partition keys (``judge``, ``judge_options``, ``strategy``, ``short_rule``, ``device``,
    ``batch_size``) are validated by :class:`diversity_metrics.PartitionSpec` and the reward keys by
    :class:`diversity_metrics.RewardSpec` when the options are built -- that is, when verl builds the
    manager, before any rollout. ``device`` is the one device setting (judge and local HF reward model).

    Example:
        >>> DarlingOptions.from_mapping({"floor": 0.2, "judge": "unigram"}).floor
        0.2
        >>> DarlingOptions.from_mapping({"strategy": "transitve"})
        Traceback (most recent call last):
        ...
        ValueError: reward_kwargs.strategy must be one of ['greedy', 'transitive', 'clique', 'average'], got 'transitve'
    """

    diversity: bool = True  # False: reward = quality (the GRPO baseline)
    judge: str | None = None  # None: the shipped learned default judge
    judge_options: dict[str, Any] = field(default_factory=dict)
    device: str | None = None  # device of the judge (and of the local HF reward model)
    strategy: str = REWARD_STRATEGY
    short_rule: str = "normalized"
    batch_size: int = 1024
    floor: float = 0.1
    singleton: float = 1.0
    fusion: str = "multiplicative"
    additive_weight: float = 1.0
    negative_quality: str = "keep"
    correct_only: bool = False  # partition only rollouts with quality > 0 (math variant)
    quality: str = "compute_score"  # or reward_router, hf, rm_scores (batch manager only)
    quality_model_path: str | None = None  # quality="hf": local sequence-classification reward model
    quality_max_length: int = 2048
    group_size: int | None = None  # None: actor_rollout_ref.rollout.n
    val_group_size: int | None = None  # None: actor_rollout_ref.rollout.val_kwargs.n
    val_splits: tuple[str, ...] = ("test", "val", "validation")
    timeout_s: float = 600.0
    on_timeout: str = "partial"
    on_judge_error: str = "error"
    rendezvous: str = "auto"
    actor_name: str = "darling_rendezvous"
    actor_namespace: str = "diversity_metrics"
    actor_num_cpus: float = 1.0
    actor_num_gpus: float = 0.0
    late_cache_groups: int = 512

    def __post_init__(self) -> None:
        w = "reward_kwargs."
        spec = PartitionSpec.from_mapping({k: getattr(self, k) for k in PARTITION_KEYS}, where=w,
                                          defaults={"strategy": REWARD_STRATEGY})
        RewardSpec.from_mapping({k: getattr(self, k) for k in REWARD_KEYS}, where=w)
        for key in ("judge", "strategy", "short_rule", "batch_size"):  # canonical forms
            object.__setattr__(self, key, getattr(spec, key))
        object.__setattr__(self, "judge_options", dict(spec.judge_options))
        object.__setattr__(self, "device", self.device if self.device is not None else spec.device)
        for key, choices in _CHOICES.items():
            value = getattr(self, key)
            if value not in choices:
                raise ValueError(f"reward_kwargs.{key} must be one of {choices}, got {value!r}")
        for key in ("timeout_s", "actor_num_cpus", "actor_num_gpus"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise TypeError(f"reward_kwargs.{key} must be a finite number, got {value!r}")
        if self.timeout_s <= 0:
            raise ValueError(f"reward_kwargs.timeout_s must be > 0 seconds, got {self.timeout_s!r}")
        for key in ("group_size", "val_group_size"):
            value = getattr(self, key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"reward_kwargs.{key} must be a positive integer or null, got {value!r}")
        if self.quality == "hf" and not self.quality_model_path:
            raise ValueError("reward_kwargs.quality='hf' needs reward_kwargs.quality_model_path (a local model folder)")
        if self.quality == "hf" and not self.diversity:
            raise ValueError("reward_kwargs.quality='hf' is scored in the rendezvous; it needs diversity=true")
        if isinstance(self.val_splits, str):
            raise TypeError("reward_kwargs.val_splits must be a list of split names, got a string")
        object.__setattr__(self, "val_splits", tuple(str(s) for s in self.val_splits))

    @classmethod
    def from_mapping(cls, kwargs: Mapping[str, Any] | None) -> DarlingOptions:
        """Build from a plain mapping (``reward.reward_kwargs``); unknown keys raise ValueError."""
        kwargs = dict(kwargs or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise ValueError(f"unknown reward_kwargs for the darling reward manager: {unknown}; known: {sorted(known)}")
        return cls(**kwargs)

    @classmethod
    def from_config(cls, config: Any) -> DarlingOptions:
        """Read ``config.reward.reward_kwargs`` (OmegaConf or dict) and fill group sizes from the rollout config."""
        opts = cls.from_mapping(_plain(_select(config, "reward", "reward_kwargs")) or {})
        updates: dict[str, Any] = {}
        n = _select(config, "actor_rollout_ref", "rollout", "n")
        val_n = _select(config, "actor_rollout_ref", "rollout", "val_kwargs", "n")
        if opts.group_size is None and n is not None:
            updates["group_size"] = int(n)
        if opts.val_group_size is None and val_n is not None:
            updates["val_group_size"] = int(val_n)
        return dataclasses.replace(opts, **updates) if updates else opts

    def partition_spec(self) -> PartitionSpec:
        """The validated partition settings (shared with every other front-end)."""
        return PartitionSpec.from_mapping({k: getattr(self, k) for k in PARTITION_KEYS}, where="reward_kwargs.")

    def reward_spec(self) -> RewardSpec:
        """The validated reward settings (shared with the TRL integration)."""
        return RewardSpec.from_mapping({k: getattr(self, k) for k in REWARD_KEYS}, where="reward_kwargs.")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (picklable, for the rendezvous actor)."""
        out = dataclasses.asdict(self)
        out["val_splits"] = list(self.val_splits)
        return out


def _select(config: Any, *keys: str) -> Any:
    node = config
    for key in keys:
        if node is None:
            return None
        if not isinstance(node, Mapping) and not hasattr(node, "get"):
            raise TypeError(f"config must be a mapping or an OmegaConf DictConfig, got {type(node).__name__}")
        node = node.get(key)
    return node


def _plain(node: Any) -> Any:
    try:
        from omegaconf import DictConfig, ListConfig, OmegaConf

        if isinstance(node, (DictConfig, ListConfig)):
            return OmegaConf.to_container(node, resolve=True)
    except ImportError:  # pragma: no cover - omegaconf ships with verl
        pass
    return node
