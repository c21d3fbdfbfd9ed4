"""DARLING for TRL: a ``GRPOTrainer`` reward function that scores quality x Norm(Div) per prompt group.

For the ``n`` completions ``y_1..y_n`` of one prompt, partitioned into classes ``C(.)`` of equivalent answers
(Li et al. 2025, "Jointly Reinforcing Diversity and Quality in Language Model Generations", arXiv 2509.02534):

    r_i = q_i * max((n - |C(y_i)|) / (n - 1), floor)          (fusion="multiplicative", the paper)
    r_i = q_i + additive_weight * max(..., floor)              (fusion="additive", the paper's ablation)

``q_i`` is the weighted sum of the user's quality functions (ordinary TRL reward functions). TRL adds the outputs
of several ``reward_funcs`` up, so a multiplicative reward has to call the quality functions itself: use
:class:`DarlingReward` as the (only) reward function and give it the quality functions. The partition and the
reward come from the shared engine (:class:`diversity_metrics.partitioner.Partitioner`,
:func:`diversity_metrics.reward.group_rewards`); this module only finds the groups in TRL's batch.

Grouping: TRL's ``RepeatSampler`` puts the ``num_generations`` completions of each prompt next to each other in
the global generation batch, which is then split across processes (one prompt's completions may sit on two
processes). The reward gathers prompts, texts and qualities from every process (``accelerate``'s
``gather_object``), cuts the global batch into consecutive blocks of ``num_generations`` (exactly the blocks TRL
normalises advantages over), checks that each block holds one prompt (else ``ValueError``), scores the blocks
and returns this process's slice. Two identical prompts in one batch are two groups, told apart by position.

Example:
    >>> from diversity_metrics.integrations.trl import DarlingReward
    >>> def nonempty(completions, **kwargs):
    ...     return [1.0 if c.strip() else 0.0 for c in completions]
    >>> reward = DarlingReward(nonempty, judge="exact", num_generations=4)
    >>> [round(r, 3) for r in reward(prompts=["Name a fruit:"] * 4, completions=["fig", "fig", "pear", ""])]
    [0.667, 0.667, 1.0, 0.0]
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from diversity_metrics.chat import content_text, prompt_text

if TYPE_CHECKING:  # pragma: no cover
    from diversity_metrics.partitioner import Partitioner

__all__ = ["DarlingReward", "Collective", "AccelerateCollective", "completion_text", "prompt_key"]

QualityFunc = Callable[..., Sequence[Any]]


class Collective(Protocol):
    """What the reward needs from the process group: its rank, the world size and an all-gather of lists."""

    rank: int
    world_size: int

    def gather(self, items: list[Any]) -> list[Any]:
        """Every process's ``items`` concatenated in rank order, returned on every process."""
        ...


class AccelerateCollective:
    """:class:`Collective` over ``accelerate`` (the process group TRL trains in).

    Without a distributed launch (or without ``accelerate`` installed, so without TRL) it is the single
    process: rank 0 of 1, and ``gather`` returns the items.

    Example:
        >>> c = AccelerateCollective()
        >>> (c.rank, c.world_size, c.gather([1, 2]))
        (0, 1, [1, 2])
    """

    def __init__(self) -> None:
        try:
            from accelerate import PartialState
        except ImportError:  # no accelerate, so no TRL process group: one process
            self.rank, self.world_size = 0, 1
            return
        state = PartialState()
        self.rank = int(state.process_index)
        self.world_size = int(state.num_processes)

    def gather(self, items: list[Any]) -> list[Any]:
        if self.world_size == 1:
            return list(items)
        from accelerate.utils import gather_object

        return list(gather_object(list(items)))


def completion_text(completion: Any) -> str:
    """The text a judge compares: a plain completion, or the message contents of a conversational one.

    Conversational completions (``[{"role": "assistant", "content": ...}, ...]``) give the contents of their
    assistant messages (all messages when none has a role) joined by newlines; list contents keep their text parts.

    Example:
        >>> completion_text([{"role": "assistant", "content": "Paris"}])
        'Paris'
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Sequence) and not isinstance(completion, (bytes, bytearray)):
        messages = list(completion)
        if not all(isinstance(m, Mapping) for m in messages):
            raise TypeError("a conversational completion must be a list of message dicts with a 'content' key")
        chosen = [m for m in messages if m.get("role") == "assistant"] or messages
        return "\n".join(content_text(m.get("content")) for m in chosen)
    raise TypeError(f"a completion must be a string or a list of messages, got {type(completion).__name__}")


def prompt_key(prompt: Any) -> str:
    """The grouping key of a TRL prompt (a string, or a conversation serialised as sorted JSON).

    Example:
        >>> prompt_key([{"role": "user", "content": "Hi"}])
        '[{"content": "Hi", "role": "user"}]'
    """
    if isinstance(prompt, str):
        return prompt
    try:
        return json.dumps(prompt, sort_keys=True, default=str, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"a prompt must be a string or a list of messages, got {type(prompt).__name__}") from exc


def _callable_name(func: Any) -> str:
    while isinstance(func, functools.partial):
        func = func.func
    return str(getattr(func, "__name__", type(func).__name__))


class DarlingReward:
    """A TRL reward function: DARLING's ``quality x Norm(Div)`` over each prompt's ``num_generations`` completions.

    Use it as the only entry of ``GRPOTrainer(reward_funcs=[...])`` (TRL sums several reward functions; the
    product needs the quality inside). TRL logs its output as ``rewards/<name>/mean`` and ``/std``; the reward
    adds ``<name>/distinct_k`` (classes per group), ``<name>/diversity`` (mean Norm(Div) after the floor),
    ``<name>/quality`` and ``<name>/quality/<func>`` through TRL's ``log_metric``, and the per-completion
    columns ``<name>_quality``, ``<name>_diversity``, ``<name>_class`` through ``log_extra``.

    Args:
        quality_funcs: one TRL reward function or a list of them (``f(prompts, completions, completion_ids,
            **kwargs) -> list[float | None]``, called with every argument TRL passes); the quality is their
            weighted sum. ``None``: quality 1.0, so the reward is Norm(Div) alone (to add it to other rewards with
            TRL's ``reward_weights``). A completion for which every quality function returns ``None`` gets
            ``None`` (TRL: no reward) and is left out of its group's partition.
        quality_weights: one weight per quality function (default 1.0 each).
        num_generations: completions per prompt. Inside ``GRPOTrainer`` it is read from the trainer
            (``num_generations``, or ``num_generations_eval`` while evaluating) and, when given, must agree;
            outside a trainer it is required.
        judge, judge_options, device, strategy, short_rule: the partition settings
            (:class:`diversity_metrics.partitioner.PartitionSpec`; ``None``: the default). The reward's default
            strategy is ``"transitive"`` (DARLING's RL protocol: all pairs judged, union-find); the default judge
            is the package's learned judge, ``short_rule`` defaults to ``"normalized"``.
        partitioner: an existing :class:`~diversity_metrics.partitioner.Partitioner` to share (its loaded
            judge); then the partition settings above must be left unset.
        diversity, floor, singleton, fusion, additive_weight, negative_quality, correct_only: the reward
            settings (:class:`diversity_metrics.reward.RewardSpec`; same meaning as the verl manager's options).
        name: the name TRL logs the reward under (``rewards/<name>/mean``) and the prefix of the extra metrics.
        collective: the process group (default: accelerate's, which TRL trains in); for tests and custom loops.

    Example:
        >>> reward = DarlingReward(None, judge="exact", num_generations=2)
        >>> reward(prompts=["p", "p", "q", "q"], completions=["a", "a", "a", "b"])
        [0.1, 0.1, 1.0, 1.0]
    """

    def __init__(
        self,
        quality_funcs: QualityFunc | Sequence[QualityFunc] | None = None,
        *,
        quality_weights: Sequence[float] | None = None,
        num_generations: int | None = None,
        judge: str | os.PathLike[str] | Any = None,  # a name, a folder or a Judge instance
        judge_options: Mapping[str, Any] | None = None,
        device: str | None = None,
        strategy: str | None = None,
        short_rule: str | None = None,
        partitioner: Partitioner | None = None,
        diversity: bool = True,
        floor: float = 0.1,
        singleton: float = 1.0,
        fusion: str = "multiplicative",
        additive_weight: float = 1.0,
        negative_quality: str = "keep",
        correct_only: bool = False,
        name: str = "darling",
        collective: Collective | None = None,
    ) -> None:
        self.quality_funcs = _check_funcs(quality_funcs)
        self.quality_weights = _check_weights(quality_weights, len(self.quality_funcs))
        self.quality_names = [_callable_name(f) for f in self.quality_funcs]
        if num_generations is not None:
            if isinstance(num_generations, bool) or not isinstance(num_generations, int):
                raise TypeError(f"num_generations must be a positive integer or None, got {num_generations!r}")
            if num_generations < 1:
                raise ValueError(f"num_generations must be a positive integer or None, got {num_generations!r}")
        self.num_generations = num_generations
        if not isinstance(name, str):
            raise TypeError(f"name must be a non-empty string, got {type(name).__name__}")
        if not name:
            raise ValueError("name must be a non-empty string")
        self.__name__ = name  # TRL's get_callable_name reads it: rewards/<name>/mean
        self._engine = _Engine(
            partition_settings=dict(
                judge=judge, judge_options=judge_options, device=device, strategy=strategy, short_rule=short_rule
            ),
            partitioner=partitioner,
            reward_settings=dict(
                diversity=diversity, floor=floor, singleton=singleton, fusion=fusion,
                additive_weight=additive_weight, negative_quality=negative_quality, correct_only=correct_only,
            ),
        )
        self._collective = collective

    def __repr__(self) -> str:
        return f"DarlingReward(name={self.__name__!r}, quality={self.quality_names}, {self._engine.describe()})"

    @property
    def collective(self) -> Collective:
        if self._collective is None:  # resolved on first call, once the trainer has set up the process group
            self._collective = AccelerateCollective()
        return self._collective

    def settings(self) -> dict[str, Any]:
        """JSON-able record of the partition and reward settings (stored with results, shown in logs)."""
        return self._engine.settings()

    def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], completion_ids: Any = None, **kwargs: Any
    ) -> list[float | None]:
        comm = self.collective
        # 1. local work (quality functions, texts, keys); a failure is shared so no process waits forever
        try:
            local = self._local_rows(prompts, completions, completion_ids, kwargs)
            failure = None
        except Exception as exc:  # re-raised below on every process
            local, failure = [], exc
        shared = comm.gather([(comm.rank, _describe(failure), local)])
        _raise_shared(shared, failure, "computing the quality")
        rows = [row for _, _, part in shared for row in part]
        offset = sum(len(part) for rank, _, part in shared if rank < comm.rank)
        # 2. the global groups (identical on every process, so a bad grouping raises everywhere)
        size = self._group_size(kwargs)
        blocks = _blocks([r[0] for r in rows], size)
        # 3. score: each process partitions every world_size-th group, results are shared
        mine = [b for i, b in enumerate(blocks) if i % comm.world_size == comm.rank]
        try:
            scored = self._score(rows, mine)
            failure = None
        except Exception as exc:
            scored, failure = [], exc
        shared = comm.gather([(comm.rank, _describe(failure), scored)])
        _raise_shared(shared, failure, "partitioning")
        results: dict[int, tuple[float | None, float, int]] = {}
        classes: list[int] = []
        for _, _, part in shared:
            for members, n_classes in part:
                results.update(members)
                if n_classes is not None:
                    classes.append(n_classes)
        self._log(kwargs, rows, results, classes, offset, len(local))
        return [results[offset + i][0] for i in range(len(local))]

    # -- pieces ---------------------------------------------------------------------------------------------
    def _local_rows(
        self, prompts: Sequence[Any], completions: Sequence[Any], completion_ids: Any, kwargs: dict[str, Any]
    ) -> list[tuple[str, str | None, str, float | None, list[float | None]]]:
        if isinstance(prompts, (str, bytes)) or isinstance(completions, (str, bytes)):
            raise TypeError("prompts and completions must be lists (one entry per completion), got a string")
        prompts, completions = list(prompts), list(completions)
        if len(prompts) != len(completions):
            raise ValueError(f"prompts and completions have mismatched lengths: {len(prompts)} != {len(completions)}")
        per_func = [
            self._call_quality(f, name, prompts, completions, completion_ids, kwargs)
            for f, name in zip(self.quality_funcs, self.quality_names)
        ]
        rows = []
        for i, (p, c) in enumerate(zip(prompts, completions)):
            values = [col[i] for col in per_func]
            if not self.quality_funcs:
                quality: float | None = 1.0
            elif all(v is None for v in values):
                quality = None
            else:
                quality = float(sum(w * v for w, v in zip(self.quality_weights, values) if v is not None))
            rows.append((prompt_key(p), prompt_text(p), completion_text(c), quality, values))
        return rows

    @staticmethod
    def _call_quality(
        func: QualityFunc, name: str, prompts: list[Any], completions: list[Any], completion_ids: Any,
        kwargs: dict[str, Any],
    ) -> list[float | None]:
        out = func(prompts=prompts, completions=completions, completion_ids=completion_ids, **kwargs)
        if inspect.isawaitable(out):
            out = asyncio.run(_await(out))
        if isinstance(out, (str, bytes)) or not isinstance(out, Sequence | np.ndarray):
            raise TypeError(f"quality function {name!r} must return a list of numbers, got {type(out).__name__}")
        values = list(out)
        if len(values) != len(completions):
            raise ValueError(
                f"quality function {name!r} returned {len(values)} values for {len(completions)} completions"
            )
        checked: list[float | None] = []
        for i, v in enumerate(values):
            if v is None:
                checked.append(None)
                continue
            if isinstance(v, (str, bytes)) or not isinstance(v, (int, float, np.integer, np.floating)):
                raise TypeError(f"quality function {name!r} returned {type(v).__name__} at position {i}, not a number")
            if not math.isfinite(float(v)):
                raise ValueError(
                    f"quality function {name!r} returned {float(v)} at position {i}; return None for 'no reward'"
                )
            checked.append(float(v))
        return checked

    def _group_size(self, kwargs: Mapping[str, Any]) -> int:
        trainer = getattr(kwargs.get("log_metric"), "__self__", None)  # TRL passes its bound _log_metric
        if trainer is not None and isinstance(getattr(trainer, "num_generations", None), int):
            training = bool(getattr(getattr(trainer, "model", None), "training", True))
            size = trainer.num_generations if training else (
                getattr(trainer, "num_generations_eval", None) or trainer.num_generations
            )
            if training and self.num_generations is not None and self.num_generations != size:
                raise ValueError(
                    f"DarlingReward(num_generations={self.num_generations}) but the trainer generates "
                    f"num_generations={size} completions per prompt; drop the argument or make them agree"
                )
            return int(size)
        if self.num_generations is None:
            raise ValueError(
                "DarlingReward needs num_generations outside a TRL GRPOTrainer (the number of completions per prompt)"
            )
        return self.num_generations

    def _score(
        self, rows: list[tuple[str, str | None, str, float | None, list[float | None]]], blocks: list[range]
    ) -> list[tuple[dict[int, tuple[float | None, float, int]], int | None]]:
        """Per block: {global index: (reward, diversity, class)} and the number of classes judged."""
        todo = []
        out: list[tuple[dict[int, tuple[float | None, float, int]], int | None]] = []
        for block in blocks:
            members = [j for j in block if rows[j][3] is not None]
            if not members:
                out.append(({j: (None, math.nan, -1) for j in block}, None))
            else:
                todo.append((block, members))
        if todo:
            groups = self._engine.score(
                [[rows[j][2] for j in members] for _, members in todo],
                [[float(rows[j][3]) for j in members] for _, members in todo],  # type: ignore[arg-type]
                [rows[block[0]][1] for block, _ in todo],
            )
            for (block, members), (rewards, div, labels, n_classes) in zip(todo, groups):
                result: dict[int, tuple[float | None, float, int]] = {j: (None, math.nan, -1) for j in block}
                for k, j in enumerate(members):
                    result[j] = (float(rewards[k]), float(div[k]), int(labels[k]))
                out.append((result, n_classes))
        return out

    def _log(
        self, kwargs: Mapping[str, Any], rows: list[tuple[Any, ...]], results: dict[int, tuple[float | None, float, int]],
        classes: list[int], offset: int, n_local: int,
    ) -> None:
        name = self.__name__
        log_metric, log_extra = kwargs.get("log_metric"), kwargs.get("log_extra")
        if callable(log_metric):  # the same global value on every process: TRL's cross-process mean keeps it
            scored = [j for j in range(len(rows)) if results[j][0] is not None]  # global order: same on every process
            if classes:
                log_metric(f"{name}/distinct_k", float(np.mean(classes)))
            if scored:
                log_metric(f"{name}/diversity", float(np.mean([results[j][1] for j in scored])))
                log_metric(f"{name}/quality", float(np.mean([rows[j][3] for j in scored])))
            for k, fname in enumerate(self.quality_names):
                values = [rows[j][4][k] for j in range(len(rows)) if rows[j][4][k] is not None]
                if values:
                    log_metric(f"{name}/quality/{fname}", float(np.mean(values)))
        if callable(log_extra):
            local = range(offset, offset + n_local)
            log_extra(f"{name}_quality", [rows[j][3] for j in local])
            log_extra(f"{name}_diversity", [_none_if_nan(results[j][1]) for j in local])
            log_extra(f"{name}_class", [results[j][2] for j in local])


def _blocks(keys: list[str], size: int) -> list[range]:
    """Consecutive blocks of ``size`` global positions, each holding one prompt (TRL's advantage groups)."""
    if len(keys) % size:
        raise ValueError(
            f"darling: the global batch holds {len(keys)} completions, not a multiple of num_generations={size}; "
            "every prompt must have exactly num_generations completions"
        )
    blocks = []
    for start in range(0, len(keys), size):
        block = range(start, start + size)
        distinct = list(dict.fromkeys(keys[j] for j in block))
        if len(distinct) > 1:
            shown = ", ".join(repr(k[:60]) for k in distinct[:3])
            raise ValueError(
                f"darling: completions {start}..{start + size - 1} of the global batch (a block of num_generations="
                f"{size}) belong to {len(distinct)} different prompts ({shown}); a prompt's completions do not add up "
                "to num_generations consecutive completions. TRL's RepeatSampler repeats each prompt num_generations "
                "times in a row; check num_generations and any custom sampler or data collator"
            )
        blocks.append(block)
    return blocks


def _describe(exc: BaseException | None) -> str | None:
    return None if exc is None else f"{type(exc).__name__}: {exc}"


def _raise_shared(shared: list[tuple[int, str | None, Any]], own: BaseException | None, stage: str) -> None:
    if own is not None:
        raise own
    failed = [(rank, msg) for rank, msg, _ in shared if msg is not None]
    if failed:
        rank, msg = failed[0]
        raise RuntimeError(f"darling: process {rank} failed while {stage}: {msg}")


def _none_if_nan(value: float) -> float | None:
    return None if math.isnan(value) else value


async def _await(awaitable: Any) -> Any:
    return await awaitable


def _check_funcs(funcs: Any) -> list[QualityFunc]:
    if funcs is None:
        return []
    items = list(funcs) if isinstance(funcs, (list, tuple)) else [funcs]
    for f in items:
        if isinstance(f, str):
            raise TypeError(
                f"quality function {f!r} is a string; pass a callable (wrap a reward model in a function that scores "
                "the completions)"
            )
        if not callable(f):
            raise TypeError(f"quality functions must be callables, got {type(f).__name__}")
    return items


def _check_weights(weights: Any, n: int) -> list[float]:
    if weights is None:
        return [1.0] * n
    if isinstance(weights, (str, bytes)):
        raise TypeError("quality_weights must be a list of numbers, got a string")
    values = list(weights)
    if len(values) != n:
        raise ValueError(f"quality_weights has {len(values)} entries for {n} quality functions")
    for w in values:
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w):
            raise TypeError(f"quality_weights must be finite numbers, got {w!r}")
    return [float(w) for w in values]


class _Engine:
    """The one place that talks to the shared engine: a Partitioner, a RewardSpec and group_rewards."""

    def __init__(self, partition_settings: dict[str, Any], partitioner: Any, reward_settings: dict[str, Any]):
        from diversity_metrics.partitioner import Partitioner
        from diversity_metrics.reward import RewardSpec
        from diversity_metrics.strategies import REWARD_STRATEGY

        given = {k: v for k, v in partition_settings.items() if v is not None}
        if partitioner is not None:
            if given:
                raise ValueError(f"pass either partitioner= or the partition settings {sorted(given)}, not both")
            if not isinstance(partitioner, Partitioner):
                raise TypeError(f"partitioner must be a diversity_metrics Partitioner, got {type(partitioner).__name__}")
            self.partitioner = partitioner
        else:
            self.partitioner = Partitioner(**{"strategy": REWARD_STRATEGY, **given})  # judge may be an instance
        self.spec = RewardSpec.from_mapping(reward_settings)

    def describe(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in {**self.partitioner.spec.to_dict(), **self.spec.to_dict()}.items())

    def settings(self) -> dict[str, Any]:
        return {"partition": self.partitioner.settings(), "reward": self.spec.to_dict()}

    def score(
        self, groups: list[list[str]], qualities: list[list[float]], prompts: list[str | None]
    ) -> list[tuple[np.ndarray, np.ndarray, list[int], int | None]]:
        """Per group: rewards, Norm(Div), class labels and the number of classes among the judged completions."""
        from diversity_metrics.reward import group_rewards

        out = []
        for g in group_rewards(self.partitioner, groups, qualities, prompts=prompts, spec=self.spec):
            judged = [lab for lab, q in zip(g.labels, g.quality) if q > 0 or not self.spec.correct_only]
            n_classes = len(set(judged)) if self.spec.diversity and judged else None
            out.append((g.rewards, g.diversity, g.labels, n_classes))
        return out
