"""Group rendezvous: bring the n rollouts of one uid together across verl's reward workers.

verl 0.9 scores one trajectory at a time in several ``RewardLoopWorker`` actors. Each worker ``submit``s its
trajectory to ONE named async Ray actor (``RendezvousActor``; or, without Ray, an in-process
:class:`GroupRendezvous`). The rendezvous holds the judge, collects the members of each group, and once the
group is complete partitions it ONCE (all groups that completed together go to the judge in one batch), then
answers every waiter.

A group is the rollouts of one ``(uid, prompt)``. Rules (documented in docs/verl.md and docs/reliability.md;
every event below is counted in :meth:`GroupRendezvous.get_stats` and logged with its running count):

* A group closes when ``expected`` members arrived (``rollout.n`` in training, ``val_kwargs.n`` in
  validation), or ``timeout_s`` after its FIRST member arrived. On timeout ``on_timeout="partial"`` scores
  what arrived (warning with the counts, ``darling_status=1``); ``"error"`` fails every waiter.
* Members of one uid that disagree on ``expected``: the first member's size is used (``size_conflicts``).
* One uid carrying two different prompts: each prompt is its own group (``uid_prompt_conflicts``), never
  mixed.
* A member arriving while its group is being judged, or after it closed: a *copy* (same text and same
  quality as a member: verl's padding rows, a resubmitted rollout) gets that member's result as soon as the
  group is scored (``copies``); any other text is scored against the group's texts as one extra rollout with
  its OWN quality (warning, ``darling_status=3``, ``late_extra``). Closed groups are remembered for the last
  ``late_cache_groups`` groups only; everything else is freed when a group is answered. A uid seen again
  after that is a new group.
* While a group is open, a repeated text takes a slot like any other member (identical answers are common
  and cannot be told from a resubmission; ``repeated_texts``).
* Failures stay with their group (:meth:`verl_plugin.core.GroupScorer.score_each`): a group with a missing
  (None) or non-finite quality fails alone (``ValueError`` to its waiters, ``bad_quality_groups``) without
  being judged; when the batched judge call fails, every group of the batch is partitioned on its own
  (``isolation_retries``), so only the group the judge fails on gets the error or, with
  ``on_judge_error=quality_only``, the quality-only reward (``quality_only_groups`` / ``quality_only_rows``,
  ``darling_status=2``).
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

__all__ = ["GroupRendezvous", "RendezvousActor", "ensure_ready", "get_rendezvous", "submit"]

logger = logging.getLogger("verl_plugin")

Key = tuple[str, "str | None"]


@dataclass
class _Entry:
    key: Key
    expected: int
    group: Group
    waiters: list[asyncio.Future] = field(default_factory=list)
    copies: list[tuple[int, asyncio.Future]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    timer: asyncio.TimerHandle | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    result: GroupResult | None = None
    error: BaseException | None = None


def _same_quality(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return False


def _copy_of(group: Group, text: str, quality: float | None) -> int | None:
    """Index of the member with the same text and the same quality, or None."""
    for i, (t, q) in enumerate(zip(group.generations, group.qualities)):
        if t == text and _same_quality(q, quality):
            return i
    return None


class GroupRendezvous:
    """asyncio rendezvous; ``await submit(...)`` returns the member's run_single result dict."""

    def __init__(self, options: dict[str, Any] | DarlingOptions) -> None:
        self.options = options if isinstance(options, DarlingOptions) else DarlingOptions.from_mapping(options)
        self.scorer = GroupScorer(self.options)
        self._open: dict[Key, _Entry] = {}
        self._scoring: dict[Key, _Entry] = {}
        self._closed: collections.OrderedDict[Key, tuple[Group, GroupResult]] = collections.OrderedDict()
        self._keys_by_uid: dict[str, set[Key]] = collections.defaultdict(set)
        self._ready: list[tuple[_Entry, int]] = []
        self._drain_task: asyncio.Task | None = None
        self._lock = asyncio.Lock()  # one judge call at a time
        self.stats: collections.Counter[str] = collections.Counter()

    # ------------------------------------------------------------------ submission
    async def submit(
        self, uid: str, text: str, quality: float | None, expected: int, prompt: str | None = None, chat: Any = None
    ) -> dict[str, Any]:
        if isinstance(expected, bool) or not isinstance(expected, int) or expected < 1:
            raise ValueError(f"expected group size must be a positive integer, got {expected!r}")
        loop = asyncio.get_running_loop()
        key: Key = (str(uid), prompt)
        self.stats["submitted"] += 1
        if key in self._scoring:
            return await self._while_scoring(self._scoring[key], text, quality, chat)
        if key in self._closed:
            group, result = self._closed[key]
            return await self._late(key, group, result, text, quality, chat)
        entry = self._open.get(key)
        if entry is None:
            self._check_prompts(key)
            entry = _Entry(key, expected, Group(key[0], prompt, [], qualities=[]))
            entry.timer = loop.call_later(self.options.timeout_s, self._expire, key)
            self._open[key] = entry
            self._keys_by_uid[key[0]].add(key)
        else:
            if entry.expected != expected:
                self._count("size_conflicts", "uid %s: members disagree on the group size (%d and %d); the group "
                            "waits for %d (the first member's)", key[0], entry.expected, expected, entry.expected)
            if text in entry.group.generations:
                self.stats["repeated_texts"] += 1
        fut = loop.create_future()
        entry.group.generations.append(text)
        entry.group.qualities.append(quality)
        entry.group.chats.append(chat)
        entry.waiters.append(fut)
        if len(entry.waiters) >= entry.expected:
            self._close(key, STATUS["ok"])
        return await fut

    def _check_prompts(self, key: Key) -> None:
        others = [k for k in self._keys_by_uid.get(key[0], ()) if k != key]
        if not others:
            return
        sizes = []
        for k in others:
            if k in self._open:
                sizes.append(len(self._open[k].waiters))
            elif k in self._scoring:
                sizes.append(len(self._scoring[k].waiters))
            elif k in self._closed:
                sizes.append(len(self._closed[k][0].generations))
        self._count("uid_prompt_conflicts", "uid %s carries %d different prompts (rollouts so far: %s + this one); "
                    "scoring each prompt as its own group, never mixed", key[0], len(others) + 1, sizes)

    def _count(self, stat: str, message: str, *args: Any) -> None:
        self.stats[stat] += 1
        logger.warning("darling: " + message + " [%s: %d so far]", *args, stat, self.stats[stat])

    def _expire(self, key: Key) -> None:
        entry = self._open.get(key)
        if entry is None:
            return
        got, want = len(entry.waiters), entry.expected
        self.stats["timeouts"] += 1
        if self.options.on_timeout == "error":
            del self._open[key]
            self._forget_key(key)
            err = TimeoutError(
                f"darling: group {key[0]} got {got} of {want} rollouts within timeout_s={self.options.timeout_s}"
                " (reward_kwargs.on_timeout=error)"
            )
            self._fail(entry, err)
            return
        logger.warning("darling: group %s timed out after %.1fs with %d of %d rollouts; scoring the %d that "
                       "arrived (darling_status=1) [timeouts: %d so far]", key[0], self.options.timeout_s, got, want,
                       got, self.stats["timeouts"])
        self._close(key, STATUS["timeout_partial"])

    def _close(self, key: Key, status: int) -> None:
        entry = self._open.pop(key)
        if entry.timer is not None:
            entry.timer.cancel()
        self._scoring[key] = entry
        self._ready.append((entry, status))
        if self._drain_task is None or self._drain_task.done():
            self._drain_task = asyncio.get_running_loop().create_task(self._drain())

    # ------------------------------------------------------------------ scoring
    async def _drain(self) -> None:
        while self._ready:
            await asyncio.sleep(0)  # let groups completing in the same tick join this batch
            batch, self._ready = self._ready, []
            results = await self._score([e.group for e, _ in batch], [s for _, s in batch])
            for (entry, _), result in zip(batch, results):
                if isinstance(result, BaseException):
                    self._fail(entry, result)
                else:
                    self._answer(entry, result)

    async def _score(self, groups: list[Group], status: list[int]) -> list[GroupResult | Exception]:
        """One batched ``GroupScorer.score_each`` call (failures stay with their group)."""
        loop = asyncio.get_running_loop()
        self.stats["batches"] += 1
        async with self._lock:
            try:
                return await loop.run_in_executor(None, self.scorer.score_each, groups, status)
            except Exception as exc:  # noqa: BLE001 - an unexpected error: every group of the batch gets it
                return [exc] * len(groups)

    def _answer(self, entry: _Entry, result: GroupResult) -> None:
        for i, fut in enumerate(entry.waiters):
            if not fut.done():
                fut.set_result(result.row(i))
        for i, fut in entry.copies:
            if not fut.done():
                fut.set_result(result.row(i))
        entry.result = result
        self._scoring.pop(entry.key, None)
        self._remember(entry.key, entry.group, result)
        self.stats["groups"] += 1
        entry.done.set()
        if self.stats["groups"] % 256 == 0:
            logger.info("darling: rendezvous stats %s", self.get_stats())

    def _fail(self, entry: _Entry, exc: BaseException) -> None:
        self.stats["failed_groups"] += 1
        for fut in [*entry.waiters, *(f for _, f in entry.copies)]:
            if not fut.done():
                fut.set_exception(exc)
        entry.error = exc
        self._scoring.pop(entry.key, None)
        self._forget_key(entry.key)
        entry.done.set()

    def _remember(self, key: Key, group: Group, result: GroupResult) -> None:
        group.chats = []
        self._closed[key] = (group, result)
        while len(self._closed) > self.options.late_cache_groups:
            old, _ = self._closed.popitem(last=False)
            self._forget_key(old)

    def _forget_key(self, key: Key) -> None:
        keys = self._keys_by_uid.get(key[0])
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._keys_by_uid[key[0]]

    # ------------------------------------------------------------------ members after the group closed
    async def _while_scoring(self, entry: _Entry, text: str, quality: float | None, chat: Any) -> dict[str, Any]:
        i = _copy_of(entry.group, text, quality)
        if i is not None:
            self.stats["copies"] += 1
            fut = asyncio.get_running_loop().create_future()
            entry.copies.append((i, fut))
            return await fut
        await entry.done.wait()
        if entry.result is None:
            raise RuntimeError(f"darling: group {entry.key[0]!r} could not be scored: {entry.error}") from entry.error
        return await self._late(entry.key, entry.group, entry.result, text, quality, chat)

    async def _late(
        self, key: Key, group: Group, result: GroupResult, text: str, quality: float | None, chat: Any
    ) -> dict[str, Any]:
        i = _copy_of(group, text, quality)
        if i is not None:
            self.stats["copies"] += 1
            return result.row(i)
        self._count("late_extra", "uid %s got a rollout after its group of %d closed; scoring it against that "
                    "group as one extra rollout with its own quality (darling_status=3)", key[0], len(group.generations))
        extra = Group(key[0], group.prompt, group.generations + [text],
                      qualities=list(result.quality) + [quality], chats=[None] * len(group.generations) + [chat])
        res = (await self._score([extra], [STATUS["late_extra"]]))[0]
        if isinstance(res, BaseException):
            raise res
        return res.row(len(group.generations))

    # ------------------------------------------------------------------ introspection
    def pending(self) -> dict[str, int]:
        """Open groups and how many members each holds (for tests and debugging)."""
        return {uid: len(e.waiters) for (uid, _), e in self._open.items()}

    def get_stats(self) -> dict[str, int]:
        """Counters: submitted, groups, batches, copies, late_extra, timeouts, size_conflicts,
        uid_prompt_conflicts, repeated_texts, failed_groups, and the scorer's isolation_retries,
        bad_quality_groups, judge_failed_groups, quality_only_groups, quality_only_rows."""
        return {**self.stats, **self.scorer.counts}


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


def _digest(options: DarlingOptions) -> str:
    return hashlib.sha1(json.dumps(options.to_dict(), sort_keys=True, default=str).encode()).hexdigest()[:10]


def get_rendezvous(options: DarlingOptions) -> Any:
    """The job's rendezvous: a named Ray actor if Ray is initialised (or ``rendezvous="ray"``), else local.

    The actor is created by whichever worker asks first (``get_if_exists=True``) and named
    ``<actor_name>_<job id>_<hash of the options>`` in ``actor_namespace``: two jobs on one cluster, or two
    managers with different options, never share one (the in-process rendezvous is keyed the same way).
    """
    use_ray = options.rendezvous == "ray" or (
        options.rendezvous == "auto" and ray is not None and ray.is_initialized()
    )
    if not use_ray:
        key = f"{options.actor_name}:{_digest(options)}:{id(asyncio.get_event_loop())}"
        if key not in _LOCAL:
            _LOCAL[key] = GroupRendezvous(options)
        return _LOCAL[key]
    name = f"{options.actor_name}_{ray.get_runtime_context().get_job_id()}_{_digest(options)}"
    return RendezvousActor.options(
        name=name,
        namespace=options.actor_namespace,
        get_if_exists=True,
        num_cpus=options.actor_num_cpus,
        num_gpus=options.actor_num_gpus,
        max_concurrency=1_000_000,  # every waiting member holds a slot until its group closes
    ).remote(options.to_dict())


async def ensure_ready(rendezvous: Any, options: DarlingOptions) -> None:
    """Make sure a Ray rendezvous actor can run; otherwise raise naming the resources it asked for.

    An actor that asks for more CPUs/GPUs than any node of the cluster has is never scheduled; without this
    check every ``run_single`` would wait on it for good. Such a request fails at once; an actor that is
    feasible but not running after ``max(timeout_s, 60)`` seconds (a busy cluster; the 60 s leave room for
    the actor's process to start and import verl) fails then.
    """
    if isinstance(rendezvous, GroupRendezvous) or ray is None:
        return
    want = {"CPU": float(options.actor_num_cpus), "GPU": float(options.actor_num_gpus)}
    nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
    largest = {r: max((float(n.get(r, 0)) for n in nodes), default=0.0) for r in want}
    if any(want[r] > 0 and want[r] > largest[r] for r in want):
        _kill(rendezvous)
        raise RuntimeError(_unschedulable(options, "no node of the Ray cluster has that much"))
    wait = max(float(options.timeout_s), 60.0)
    try:
        await asyncio.wait_for(_await_ref(rendezvous.ping.remote()), timeout=wait)
    except asyncio.TimeoutError:
        _kill(rendezvous)
        raise RuntimeError(_unschedulable(options, f"it was not running after {wait:g}s")) from None


def _unschedulable(options: DarlingOptions, why: str) -> str:
    total, free = ray.cluster_resources(), ray.available_resources()
    return (
        f"darling: the rendezvous actor cannot be scheduled ({why}): it asks Ray for "
        f"num_cpus={options.actor_num_cpus:g}, num_gpus={options.actor_num_gpus:g} "
        f"(reward_kwargs.actor_num_cpus / actor_num_gpus); the cluster has CPU={total.get('CPU', 0):g}, "
        f"GPU={total.get('GPU', 0):g} in all and CPU={free.get('CPU', 0):g}, GPU={free.get('GPU', 0):g} free. "
        "Lower those options or add resources."
    )


def _kill(actor: Any) -> None:
    try:
        ray.kill(actor)  # do not leave a pending actor behind
    except Exception:  # noqa: BLE001 - best effort
        pass


async def _await_ref(ref: Any) -> Any:
    return await ref


async def submit(rendezvous: Any, **kwargs: Any) -> dict[str, Any]:
    """Submit one member to a local or Ray rendezvous and wait for its result."""
    if isinstance(rendezvous, GroupRendezvous):
        return await rendezvous.submit(**kwargs)
    return await rendezvous.submit.remote(**kwargs)
