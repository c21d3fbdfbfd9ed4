"""The DARLING reward for groups of rollouts: the one implementation the trainer integrations call.

For each group (the ``n`` rollouts of one prompt) with qualities ``q`` and a partition ``C`` from a
:class:`~diversity_metrics.Partitioner` (DARLING: ``strategy="transitive"``)::

    r_i = q_i * max((n - |C(y_i)|) / (n - 1), floor)           (fusion="multiplicative", the paper)
    r_i = q_i + additive_weight * Norm(Div)_i                  (fusion="additive", an ablation)

``correct_only=True`` (DARLING's math variant) partitions only rollouts with ``q > 0``; the others get
diversity 0 and so reward ``0 * ...``. ``diversity=False`` returns the qualities (the GRPO baseline).
verl (``verl_plugin``) and TRL (:mod:`diversity_metrics.integrations.trl`) read the same
:class:`RewardSpec` keys.

Reference: Li et al., *Jointly Reinforcing Diversity and Quality in Language Model Generations*, 2025
(arXiv 2509.02534).

Example:
    >>> from diversity_metrics.partitioner import Partitioner
    >>> out = group_rewards(Partitioner(judge="exact", strategy="transitive"),
    ...                     [["a", "a", "b"]], [[1.0, 1.0, 1.0]])
    >>> out[0].rewards.tolist(), out[0].labels
    ([0.5, 0.5, 1.0], [0, 0, 1])
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from diversity_metrics.metrics.darling import darling_diversity, darling_reward
from diversity_metrics.metrics.partition_metrics import canonical_labels

__all__ = ["RewardSpec", "GroupReward", "group_rewards", "REWARD_KEYS"]

_CHOICES = {"fusion": ("multiplicative", "additive"), "negative_quality": ("keep", "shift", "error")}


@dataclass(frozen=True)
class RewardSpec:
    """How quality and diversity combine (defaults: the paper's RL reward)."""

    diversity: bool = True
    floor: float = 0.1
    singleton: float = 1.0
    fusion: str = "multiplicative"
    additive_weight: float = 1.0
    negative_quality: str = "keep"
    correct_only: bool = False
    where: str = dataclasses.field(default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        w = self.where
        for key, choices in _CHOICES.items():
            value = getattr(self, key)
            if not isinstance(value, str):
                raise TypeError(f"{w}{key} must be one of {choices}, got {type(value).__name__} {value!r}")
            if value not in choices:
                raise ValueError(f"{w}{key} must be one of {choices}, got {value!r}")
        for key in ("diversity", "correct_only"):
            if not isinstance(getattr(self, key), bool):
                raise TypeError(f"{w}{key} must be true or false, got {getattr(self, key)!r}")
        from diversity_metrics._validation import check_number

        for key in ("floor", "singleton"):
            object.__setattr__(self, key, check_number(getattr(self, key), f"{w}{key}", low=0.0, high=1.0))
        object.__setattr__(self, "additive_weight", check_number(self.additive_weight, f"{w}additive_weight"))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None, *, where: str = "") -> RewardSpec:
        """Build from a plain mapping; unknown keys are errors, ``None`` values mean "default"."""
        data = {k: v for k, v in dict(mapping or {}).items() if v is not None}
        unknown = sorted(set(data) - set(REWARD_KEYS))
        if unknown:
            raise ValueError(f"unknown reward setting(s) {[where + k for k in unknown]}; known: {list(REWARD_KEYS)}")
        return cls(**data, where=where)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in REWARD_KEYS}


REWARD_KEYS: tuple[str, ...] = (
    "diversity", "floor", "singleton", "fusion", "additive_weight", "negative_quality", "correct_only",
)


@dataclass
class GroupReward:
    """The reward of one group: per-rollout rewards, the qualities used, Norm(Div), and the classes.

    ``labels`` is ``[-1] * n`` when the diversity term was not computed (``diversity=False``).
    """

    rewards: np.ndarray
    quality: np.ndarray
    diversity: np.ndarray
    labels: list[int]

    @property
    def distinct(self) -> int:
        """Number of classes (``0`` when no partition was computed)."""
        return len(set(self.labels)) if self.labels and self.labels[0] >= 0 else 0


def quality_only(q: np.ndarray) -> GroupReward:
    """A group rewarded by quality alone (diversity 1, no classes)."""
    return GroupReward(q.copy(), q, np.ones_like(q), [-1] * len(q))


def _check_qualities(groups: Sequence[Sequence[str]], qualities: Sequence[Sequence[float]]) -> list[np.ndarray]:
    from diversity_metrics._validation import as_float_array

    if len(groups) != len(qualities):
        raise ValueError(f"groups and qualities have mismatched lengths: {len(groups)} != {len(qualities)}")
    out = []
    for g, (texts, q) in enumerate(zip(groups, qualities)):
        if q is None or any(v is None for v in q):
            raise ValueError(f"qualities[{g}] holds None: every rollout needs a quality score")
        arr = as_float_array(q, f"qualities[{g}]")
        if arr.size != len(texts):
            raise ValueError(f"groups[{g}] has {len(texts)} rollouts but qualities[{g}] has {arr.size} values")
        out.append(arr)
    return out


def group_partitions(
    partitioner: Any, groups: Sequence[Sequence[str]], qualities: Sequence[np.ndarray], *,
    prompts: Sequence[str | None] | None = None, correct_only: bool = False,
) -> list[list[int]]:
    """One partition per group in one batched engine call (``correct_only``: only ``q > 0`` rollouts judged;
    the others get classes of their own)."""
    subsets = [np.flatnonzero(q > 0).tolist() if correct_only else list(range(len(t))) for t, q in zip(groups, qualities)]
    labels: list[list[int]] = [list(range(len(t))) if correct_only else [0] * len(t) for t in groups]
    todo = [i for i, keep in enumerate(subsets) if len(keep) > 1]
    if todo:
        prompt_list = list(prompts) if prompts is not None else [None] * len(groups)
        parts = partitioner.partition_batch(
            [[groups[i][j] for j in subsets[i]] for i in todo], prompts=[prompt_list[i] for i in todo]
        )
        for i, part in zip(todo, parts):
            base = len(groups[i])
            for j, lab in zip(subsets[i], part):
                labels[i][j] = base + int(lab) if correct_only else int(lab)
    return [canonical_labels(lab) for lab in labels]


def rewards_from_partition(labels: Sequence[int], q: np.ndarray, spec: RewardSpec) -> GroupReward:
    """Fuse one group's qualities with the Norm(Div) of a known partition."""
    mask = (q > 0) if spec.correct_only else None
    kw: dict[str, Any] = dict(floor=spec.floor, mask=mask, singleton=spec.singleton)
    rewards = darling_reward(
        list(labels), q, fusion=spec.fusion, negative_quality=spec.negative_quality,
        additive_weight=spec.additive_weight, **kw,
    )
    return GroupReward(rewards, q, darling_diversity(list(labels), **kw), list(labels))


def group_rewards(
    partitioner: Any,
    groups: Sequence[Sequence[str]],
    qualities: Sequence[Sequence[float]],
    *,
    prompts: Sequence[str | None] | None = None,
    spec: RewardSpec | None = None,
) -> list[GroupReward]:
    """DARLING rewards of many groups, partitioned together in one batched call.

    Args:
        partitioner: a :class:`~diversity_metrics.Partitioner` (DARLING uses ``strategy="transitive"``).
        groups: the rollouts (texts) of each prompt.
        qualities: one finite quality per rollout, per group.
        prompts: one prompt per group, for judges that read it.
        spec: the :class:`RewardSpec` (default: the paper's reward).
    """
    spec = spec or RewardSpec()
    q = _check_qualities(groups, qualities)
    if not spec.diversity:
        return [quality_only(x) for x in q]
    labels = group_partitions(partitioner, groups, q, prompts=prompts, correct_only=spec.correct_only)
    return [rewards_from_partition(lab, x, spec) for lab, x in zip(labels, q)]
