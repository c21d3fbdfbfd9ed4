"""The one function both verl interfaces share: score whole groups of rollouts with DARLING.

``GroupScorer.score_each(groups)`` partitions every group with the diversity_metrics engine (one batched
judge call for all groups that are ready) and fuses quality with ``Norm(Div)`` through
:func:`diversity_metrics.darling_reward`. A failure stays with its group: a missing or non-finite quality,
or a judge error on that group's pairs, fails (or, for the judge, falls back to quality only) that group
alone; every other group of the batch gets its exact reward. No maths lives here.
"""

from __future__ import annotations

import collections
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from diversity_metrics.chat import prompt_text
from diversity_metrics.io import Group
from verl_plugin.options import DarlingOptions

__all__ = ["Group", "GroupResult", "GroupScorer", "EXTRA_KEYS", "STATUS", "chat_of", "group_prompt"]

logger = logging.getLogger("verl_plugin")

# every result carries exactly these reward_extra_info keys (verl stacks them across rows)
EXTRA_KEYS = ("darling_quality", "darling_diversity", "darling_class", "darling_group_size", "darling_status")
# darling_status values
STATUS = {"ok": 0, "timeout_partial": 1, "judge_error_quality_only": 2, "late_extra": 3, "diversity_off": 4}


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
    """Holds the partitioner (judge loaded once, on first use) and the optional local reward model."""

    def __init__(self, options: DarlingOptions) -> None:
        from diversity_metrics.partitioner import Partitioner

        self.options = options
        self.partitioner = Partitioner(options.partition_spec())
        self.reward_spec = options.reward_spec()
        self._quality_model: Any = None
        # isolation_retries: batched judge calls that failed and were re-run group by group;
        # bad_quality_groups, judge_failed_groups, quality_only_groups, quality_only_rows
        self.counts: collections.Counter[str] = collections.Counter()

    @property
    def judge(self) -> Any:
        return self.partitioner.judge

    def partitions(self, groups: list[Group], quality: list[np.ndarray]) -> list[list[int]]:
        """One partition per group (correct_only: only rollouts with quality > 0 are judged)."""
        from diversity_metrics.reward import group_partitions

        return group_partitions(
            self.partitioner, [g.generations for g in groups], quality, prompts=[g.prompt for g in groups],
            correct_only=self.options.correct_only,
        )

    def score(self, groups: list[Group], status: list[int] | None = None) -> list[GroupResult]:
        """Score whole groups; raises the first group's error (see :meth:`score_each` for one result a group)."""
        results = self.score_each(groups, status)
        for r in results:
            if isinstance(r, BaseException):
                raise r
        return results  # type: ignore[return-value]

    def score_each(self, groups: list[Group], status: list[int] | None = None) -> list[GroupResult | Exception]:
        """One result per group, failures kept with their group (a ``GroupResult`` or the group's exception).

        * A group whose quality is missing or not finite gets a ``ValueError`` naming it and is not judged.
        * All other groups are partitioned in ONE batched judge call. If that call fails, each group is
          partitioned on its own (``isolation_retries`` counts these), so only the group(s) the judge fails on
          get ``RuntimeError`` -- or, with ``on_judge_error="quality_only"``, reward = quality
          (``darling_status=2``) -- and every other group gets its exact reward.
        """
        status = list(status) if status is not None else [STATUS["ok"]] * len(groups)
        out: list[GroupResult | Exception | None] = [None] * len(groups)
        quality: list[np.ndarray | None] = [None] * len(groups)
        for i, g in enumerate(groups):
            try:
                quality[i] = self._group_quality(g)
            except Exception as exc:  # noqa: BLE001 - kept with its group
                self.counts["bad_quality_groups"] += 1
                logger.warning("%s", exc)
                out[i] = _named(exc, g)
        todo = [i for i in range(len(groups)) if out[i] is None]
        if not self.options.diversity:
            for i in todo:
                out[i] = self._quality_only(quality[i], STATUS["diversity_off"])  # type: ignore[arg-type]
            return out  # type: ignore[return-value]
        try:
            labels = dict(zip(todo, self.partitions([groups[i] for i in todo], [quality[i] for i in todo])))
        except Exception as exc:  # noqa: BLE001 - retried group by group below
            if len(todo) == 1:
                labels = {todo[0]: exc}
            else:
                self.counts["isolation_retries"] += 1
                labels = {}
                for i in todo:
                    try:
                        labels[i] = self.partitions([groups[i]], [quality[i]])[0]
                    except Exception as one:  # noqa: BLE001
                        labels[i] = one
        from diversity_metrics.reward import rewards_from_partition

        for i in todo:
            lab, q = labels[i], quality[i]
            assert q is not None
            if isinstance(lab, BaseException):
                out[i] = self._judge_failed(groups[i], q, lab)
                continue
            try:
                r = rewards_from_partition(lab, q, self.reward_spec)
            except Exception as exc:  # noqa: BLE001 - e.g. negative_quality="error"
                out[i] = _named(exc, groups[i])
                continue
            out[i] = GroupResult(r.rewards, r.quality, r.diversity, r.labels, status[i])
        return out  # type: ignore[return-value]

    def _judge_failed(self, group: Group, q: np.ndarray, exc: BaseException) -> GroupResult | Exception:
        self.counts["judge_failed_groups"] += 1
        if self.options.on_judge_error == "error":
            err = RuntimeError(
                f"darling: the judge {self.options.judge or 'learned (default)'!r} failed on group {group.id!r}: "
                f"{type(exc).__name__}: {exc}. Set reward_kwargs.on_judge_error=quality_only to train that group "
                "on quality alone instead."
            )
            err.__cause__ = exc
            return err
        self.counts["quality_only_groups"] += 1
        self.counts["quality_only_rows"] += len(q)
        logger.warning("darling: judge failed on group %s (%s: %s); rewarded by quality only (darling_status=2) "
                       "[quality_only_groups: %d so far]", group.id, type(exc).__name__, exc,
                       self.counts["quality_only_groups"])
        return self._quality_only(q, STATUS["judge_error_quality_only"])

    def _group_quality(self, g: Group) -> np.ndarray:
        """The group's qualities as a finite float array (ValueError naming the group otherwise)."""
        q = self._quality([g])[0]
        bad = [i for i, v in enumerate(q) if not np.isfinite(v)]
        if bad:
            raise ValueError(
                f"darling: group {g.id!r} has non-finite quality at positions {bad} (values {[float(q[i]) for i in bad]});"
                " this group fails alone, the other groups are scored"
            )
        return q

    @staticmethod
    def _quality_only(q: np.ndarray, status: int) -> GroupResult:
        return GroupResult(q.copy(), q, np.ones_like(q), [-1] * len(q), status)

    def _quality(self, groups: list[Group]) -> list[np.ndarray]:
        if self.options.quality != "hf":
            out = []
            for g in groups:
                missing = [i for i, v in enumerate(g.qualities) if v is None]
                if missing:
                    raise ValueError(
                        f"darling: group {g.id!r} has no quality at positions {missing} (compute_score failed or "
                        "returned None); this group fails alone, the other groups are scored"
                    )
                try:
                    out.append(np.asarray(g.qualities, dtype=np.float64))
                except (TypeError, ValueError):
                    raise ValueError(f"darling: group {g.id!r} has qualities that are not numbers: {g.qualities!r}") from None
            return out
        from verl_plugin.quality import HFRewardModel

        if self._quality_model is None:
            self._quality_model = HFRewardModel(
                self.options.quality_model_path, device=self.options.device, max_length=self.options.quality_max_length
            )
        return [self._quality_model.score(g.prompt, g.generations, g.chats) for g in groups]


def _named(exc: BaseException, group: Group) -> Exception:
    """``exc`` for the waiters of ``group``; names the group unless the message already does."""
    if str(exc).startswith("darling:") and isinstance(exc, Exception):
        return exc
    wrapped = RuntimeError(f"darling: group {group.id!r} could not be scored: {type(exc).__name__}: {exc}")
    wrapped.__cause__ = exc
    return wrapped


def chat_of(raw_prompt: Any) -> list[dict[str, str]] | None:
    """verl's ``raw_prompt`` (a list of message dicts, or ``None``) as plain dicts."""
    if raw_prompt is None:
        return None
    return [dict(m) for m in list(raw_prompt)]


def group_prompt(chat: list[dict[str, str]] | None, decoded: str) -> str:
    """The prompt a group is keyed and judged by: the last user message of verl's ``raw_prompt`` chat
    (``data.return_raw_chat``, on by default) when there is one, else the decoded prompt tokens, which carry the
    chat template's words (``system``, ``user``, a cutoff date) that a prompt-aware judge would read as the question.

    Example:
        >>> group_prompt([{"role": "user", "content": "Name a colour."}], "system\\nBe brief.\\nuser\\nName a colour.")
        'Name a colour.'
    """
    return (prompt_text(chat) if chat else None) or decoded
