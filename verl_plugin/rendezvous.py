"""Group rendezvous: bring the n rollouts of one uid together across verl's reward workers.

verl 0.9 scores one trajectory at a time in several ``RewardLoopWorker`` actors. Each worker ``submit``s its
trajectory to ONE named async Ray actor (``RendezvousActor``; or, without Ray, an in-process
:class:`GroupRendezvous`). The rendezvous holds the judge, collects the members of each uid, and once the
group is complete partitions it ONCE (all groups that completed together go to the judge in one batch), then
answers every waiter.

Rules (documented in docs/verl.md):

* A group closes when ``expected`` members arrived (``rollout.n`` in training, ``val_kwargs.n`` in
  validation), or ``timeout_s`` after its FIRST member arrived. On timeout ``on_timeout="partial"`` scores
  what arrived (warning with the counts, ``darling_status=1``); ``"error"`` fails every waiter.
* A member arriving after its group closed (verl's padding rows, or extra rollouts): if its text equals a
  member's text it gets that member's result (padding duplicate); otherwise it is scored against the closed
  group's texts as one extra rollout (warning, ``darling_status=3``). Closed groups are remembered for the
  last ``late_cache_groups`` uids only; everything else is freed when a group is answered.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from verl_plugin.core import STATUS, Group, GroupResult, GroupScorer
from verl_plugin.options import DarlingOptions

__all__ = ["GroupRendezvous", "RendezvousActor", "get_rendezvous", "submit"]

logger = logging.getLogger("verl_plugin")


@dataclass
class _Open:
    expected: int
    group: Group
    waiters: list[asyncio.Future] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    timer: asyncio.TimerHandle | None = None


class GroupRendezvous:
    """asyncio rendezvous; ``await submit(...)`` returns the member's run_single result dict."""

    def __init__(self, options: dict[str, Any] | DarlingOptions) -> None:
        self.options = options if isinstance(options, DarlingOptions) else DarlingOptions.from_mapping(options)
        self.scorer = GroupScorer(self.options)
        self._open: dict[str, _Open] = {}
        self._closed: collections.OrderedDict[str, tuple[Group, GroupResult]] = collections.OrderedDict()
        self._ready: list[tuple[_Open, int]] = []
        self._drain_task: asyncio.Task | None = None
        self._lock = asyncio.Lock()  # one judge call at a time
        self.stats = collections.Counter()

    async def submit(
        self, uid: str, text: str, quality: float | None, expected: int, prompt: str | None = None, chat: Any = None
    ) -> dict[str, Any]:
        if not isinstance(expected, int) or expected < 1:
            raise ValueError(f"expected group size must be a positive integer, got {expected!r}")
        loop = asyncio.get_running_loop()
        if uid in self._closed:
            return await self._late(uid, text, quality, chat)
        entry = self._open.get(uid)
        if entry is None:
            entry = _Open(expected, Group(uid, [], [], prompt, []))
            entry.timer = loop.call_later(self.options.timeout_s, self._expire, uid)
            self._open[uid] = entry
        elif entry.expected != expected:
            logger.warning("darling: uid %s submitted with group sizes %d and %d; using %d",
                           uid, entry.expected, expected, entry.expected)
        fut = loop.create_future()
        entry.group.texts.append(text)
        entry.group.quality.append(quality)
        entry.group.chats.append(chat)
        entry.waiters.append(fut)
        self.stats["submitted"] += 1
        if len(entry.waiters) >= entry.expected:
            self._close(uid, STATUS["ok"])
        return await fut

    def _expire(self, uid: str) -> None:
        entry = self._open.get(uid)
        if entry is None:
            return
        got, want = len(entry.waiters), entry.expected
        self.stats["timeouts"] += 1
        if self.options.on_timeout == "error":
            del self._open[uid]
            err = TimeoutError(
                f"darling: group {uid} got {got} of {want} rollouts within timeout_s={self.options.timeout_s}"
                " (reward_kwargs.on_timeout=error)"
            )
            for fut in entry.waiters:
                if not fut.done():
                    fut.set_exception(err)
            return
        logger.warning("darling: group %s timed out after %.1fs with %d of %d rollouts; scoring the %d that "
                       "arrived (darling_status=1)", uid, self.options.timeout_s, got, want, got)
        self._close(uid, STATUS["timeout_partial"])

    def _close(self, uid: str, status: int) -> None:
        entry = self._open.pop(uid)
        if entry.timer is not None:
            entry.timer.cancel()
        self._ready.append((entry, status))
        if self._drain_task is None or self._drain_task.done():
            self._drain_task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._ready:
            await asyncio.sleep(0)  # let groups completing in the same tick join this batch
            batch, self._ready = self._ready, []
            groups = [e.group for e, _ in batch]
            try:
                async with self._lock:
                    results = await loop.run_in_executor(None, self.scorer.score, groups, [s for _, s in batch])
            except Exception as exc:  # surfaced to every waiter of these groups
                for entry, _ in batch:
                    for fut in entry.waiters:
                        if not fut.done():
                            fut.set_exception(exc)
                continue
            for (entry, _), result in zip(batch, results):
                for i, fut in enumerate(entry.waiters):
                    if not fut.done():
                        fut.set_result(result.row(i))
                self._remember(entry.group, result)
                self.stats["groups"] += 1

    def _remember(self, group: Group, result: GroupResult) -> None:
        group.chats = []
        self._closed[group.uid] = (group, result)
        while len(self._closed) > self.options.late_cache_groups:
            self._closed.popitem(last=False)

    async def _late(self, uid: str, text: str, quality: float | None, chat: Any) -> dict[str, Any]:
        group, result = self._closed[uid]
        if text in group.texts:
            self.stats["duplicates"] += 1
            return result.row(group.texts.index(text))
        self.stats["late_extra"] += 1
        logger.warning("darling: uid %s got a rollout after its group of %d closed; scoring it against that "
                       "group as one extra rollout (darling_status=3)", uid, len(group.texts))
        extra = Group(uid, group.texts + [text], list(result.quality) + [quality], group.prompt,
                      [None] * len(group.texts) + [chat])
        loop = asyncio.get_running_loop()
        async with self._lock:
            res = await loop.run_in_executor(None, self.scorer.score, [extra], [STATUS["late_extra"]])
        return res[0].row(len(group.texts))

    def pending(self) -> dict[str, int]:
        """Open groups and how many members each holds (for tests and debugging)."""
        return {uid: len(e.waiters) for uid, e in self._open.items()}

    def get_stats(self) -> dict[str, int]:
        return dict(self.stats)


try:
    import ray

    @ray.remote
    class RendezvousActor(GroupRendezvous):
        """The rendezvous as a named async Ray actor (one per training job; the judge lives here)."""

        async def ping(self) -> bool:
            return True

except ImportError:  # pragma: no cover - ray ships with verl
    ray = None  # type: ignore[assignment]
    RendezvousActor = None  # type: ignore[assignment,misc]


_LOCAL: dict[str, GroupRendezvous] = {}


def get_rendezvous(options: DarlingOptions) -> Any:
    """The job's rendezvous: a named Ray actor if Ray is initialised (or ``rendezvous="ray"``), else local.

    The actor is created by whichever worker asks first (``get_if_exists=True``) and named
    ``<actor_name>_<job id>_<hash of the options>`` in ``actor_namespace``: two jobs on one cluster, or two
    managers with different options, never share one.
    """
    use_ray = options.rendezvous == "ray" or (
        options.rendezvous == "auto" and ray is not None and ray.is_initialized()
    )
    if not use_ray:
        key = f"{options.actor_name}:{id(asyncio.get_event_loop())}"
        if key not in _LOCAL:
            _LOCAL[key] = GroupRendezvous(options)
        return _LOCAL[key]
    digest = hashlib.sha1(json.dumps(options.to_dict(), sort_keys=True, default=str).encode()).hexdigest()[:10]
    name = f"{options.actor_name}_{ray.get_runtime_context().get_job_id()}_{digest}"
    return RendezvousActor.options(
        name=name,
        namespace=options.actor_namespace,
        get_if_exists=True,
        num_cpus=options.actor_num_cpus,
        num_gpus=options.actor_num_gpus,
        max_concurrency=1_000_000,  # every waiting member holds a slot until its group closes
    ).remote(options.to_dict())


async def submit(rendezvous: Any, **kwargs: Any) -> dict[str, Any]:
    """Submit one member to a local or Ray rendezvous and wait for its result."""
    if isinstance(rendezvous, GroupRendezvous):
        return await rendezvous.submit(**kwargs)
    return await rendezvous.submit.remote(**kwargs)
