"""The one function both verl interfaces share: score whole groups of rollouts with DARLING.

``GroupScorer.score(groups)`` partitions every group with the diversity_metrics engine (one batched judge
call for all groups that are ready) and fuses quality with ``Norm(Div)`` through
:func:`diversity_metrics.darling_reward`. No maths lives here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from diversity_metrics.metrics.partition_metrics import canonical_labels
from verl_plugin.options import DarlingOptions

__all__ = ["Group", "GroupResult", "GroupScorer", "EXTRA_KEYS", "STATUS"]

logger = logging.getLogger("verl_plugin")

# every result carries exactly these reward_extra_info keys (verl stacks them across rows)
EXTRA_KEYS = ("darling_quality", "darling_diversity", "darling_class", "darling_group_size", "darling_status")
# darling_status values
STATUS = {"ok": 0, "timeout_partial": 1, "judge_error_quality_only": 2, "late_extra": 3, "diversity_off": 4}


@dataclass
class Group:
    """The rollouts of one prompt (one uid). ``quality`` entries may be None when computed centrally."""

    uid: str
    texts: list[str]
    quality: list[float | None]
    prompt: str | None = None
    chats: list[Any] = field(default_factory=list)


@dataclass
class GroupResult:
    rewards: np.ndarray
    quality: np.ndarray
    diversity: np.ndarray
    labels: list[int]
    status: int

    def row(self, i: int) -> dict[str, Any]:
        """``{"reward_score", "reward_extra_info"}`` of member ``i`` in verl's run_single format."""
        return {
            "reward_score": float(self.rewards[i]),
            "reward_extra_info": {
                "darling_quality": float(self.quality[i]),
                "darling_diversity": float(self.diversity[i]),
                "darling_class": int(self.labels[i]),
                "darling_group_size": len(self.labels),
                "darling_status": int(self.status),
            },
        }


class GroupScorer:
    """Holds the judge (and the optional local reward model); loads each once, on first use."""

    def __init__(self, options: DarlingOptions) -> None:
        self.options = options
        self._judge: Any = None
        self._quality_model: Any = None

    @property
    def judge(self) -> Any:
        if self._judge is None:
            from diversity_metrics import get_judge

            judge_options = dict(self.options.judge_options)
            if self.options.device is not None and "device" not in judge_options:
                try:
                    self._judge = get_judge(self.options.judge, device=self.options.device, **judge_options)
                except ValueError as exc:  # a judge without a model (exact, unigram, ...) takes no device
                    if "has no option 'device'" not in str(exc):
                        raise
            if self._judge is None:
                self._judge = get_judge(self.options.judge, **judge_options)
            logger.info("darling: loaded judge %r", self._judge)
        return self._judge

    def partitions(self, groups: list[Group], quality: list[np.ndarray]) -> list[list[int]]:
        """One partition per group (correct_only: only rollouts with quality > 0 are judged)."""
        from diversity_metrics import partition_batch

        subsets: list[list[int]] = []
        for group, q in zip(groups, quality):
            keep = np.flatnonzero(q > 0) if self.options.correct_only else np.arange(len(group.texts))
            subsets.append(keep.tolist())
        todo = [i for i, keep in enumerate(subsets) if len(keep) > 1]
        labels = [[0] * len(g.texts) if len(g.texts) else [] for g in groups]
        for i, keep in enumerate(subsets):
            if self.options.correct_only:  # unjudged rollouts: classes of their own (masked out anyway)
                labels[i] = list(range(len(groups[i].texts)))
        if todo:
            parts = partition_batch(
                [[groups[i].texts[j] for j in subsets[i]] for i in todo],
                prompts=[groups[i].prompt for i in todo],
                judge=self.judge,
                strategy=self.options.strategy,
                short_rule=self.options.short_rule,
            )
            for i, part in zip(todo, parts):
                base = len(groups[i].texts)
                for j, lab in zip(subsets[i], part):
                    labels[i][j] = base + int(lab) if self.options.correct_only else int(lab)
        return [canonical_labels(lab) for lab in labels]

    def score(self, groups: list[Group], status: list[int] | None = None) -> list[GroupResult]:
        """Score whole groups; judge failures raise unless ``on_judge_error="quality_only"``."""
        status = list(status) if status is not None else [STATUS["ok"]] * len(groups)
        quality = self._quality(groups)
        if not self.options.diversity:
            return [self._quality_only(q, STATUS["diversity_off"]) for q in quality]
        try:
            labels = self.partitions(groups, quality)
        except Exception as exc:
            if self.options.on_judge_error == "error":
                raise RuntimeError(
                    f"darling: the judge {self.options.judge or 'learned (default)'!r} failed on "
                    f"{len(groups)} group(s) (uids {[g.uid for g in groups][:4]}...): {type(exc).__name__}: {exc}. "
                    "Set reward_kwargs.on_judge_error=quality_only to train on quality alone instead."
                ) from exc
            logger.warning("darling: judge failed (%s: %s); %d group(s) rewarded by quality only "
                           "(darling_status=2)", type(exc).__name__, exc, len(groups))
            return [self._quality_only(q, STATUS["judge_error_quality_only"]) for q in quality]
        from diversity_metrics import darling_diversity, darling_reward

        out = []
        for q, lab, st in zip(quality, labels, status):
            mask = (q > 0) if self.options.correct_only else None
            kw = dict(floor=self.options.floor, mask=mask, singleton=self.options.singleton)
            rewards = darling_reward(
                q, lab, fusion=self.options.fusion, negative_quality=self.options.negative_quality,
                additive_weight=self.options.additive_weight, **kw,
            )
            out.append(GroupResult(rewards, q, darling_diversity(lab, **kw), lab, st))
        return out

    @staticmethod
    def _quality_only(q: np.ndarray, status: int) -> GroupResult:
        return GroupResult(q.copy(), q, np.ones_like(q), [-1] * len(q), status)

    def _quality(self, groups: list[Group]) -> list[np.ndarray]:
        if self.options.quality != "hf":
            out = []
            for g in groups:
                if any(v is None for v in g.quality):
                    raise ValueError(f"darling: group {g.uid!r} has rollouts without a quality score")
                out.append(np.asarray(g.quality, dtype=np.float64))
            return out
        from verl_plugin.quality import HFRewardModel

        if self._quality_model is None:
            self._quality_model = HFRewardModel(
                self.options.quality_model_path, device=self.options.device, max_length=self.options.quality_max_length
            )
        return [self._quality_model.score(g.prompt, g.texts, g.chats) for g in groups]
