"""Order stability: how much distinct_k moves when the same responses are judged in another order.

The ``greedy`` strategy (NoveltyBench's protocol) compares each response with the first member of each
class so far, so its partition depends on the order of the responses; an LLM set judge may also answer
differently for another numbering. :func:`order_stability` re-partitions every prompt's responses under
seeded shuffled orders, maps the labels back to the original order, and compares distinct_k with the
partition of the original order:

* per prompt: distinct_k under the original order and under each seed;
* ``mean_abs_change`` = mean over prompts and seeds of ``|distinct_k(seed) - distinct_k(original)|``;
* ``share_changed`` = share of prompts whose distinct_k differs under at least one seed;
* ``share_partition_changed`` = share of prompts whose partition (as a set partition) differs under at
  least one seed, even where the class count does not.

Order-independent strategies (``transitive``; ``clique``/``average`` without score ties) give 0 for all
three. The shuffle of group ``g`` under seed ``s`` is ``random.Random(f"{s}\\x00{key}").shuffle`` where the
key is the prompt id (or the group index), so a figure can be reproduced for a subset of prompts.

Example:
    >>> from diversity_metrics.partitioner import Partitioner
    >>> result = order_stability([["a b", "a c", "c d"]], Partitioner(judge="unigram", short_rule="off"), [1, 2])
    >>> result.seeds, result.original
    ([1, 2], [2])
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["OrderStability", "order_stability", "parse_seeds", "format_order_stability", "shuffle_order"]


@dataclass
class OrderStability:
    """The result of :func:`order_stability` (see the module docstring for the definitions)."""

    seeds: list[int]
    ids: list[str]
    original: list[int]  # distinct_k per prompt under the original order
    by_seed: list[list[int]]  # by_seed[p][s]: distinct_k of prompt p under seeds[s]
    partition_changed: list[bool]  # per prompt: some seed gives another set partition
    k: int | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def mean_abs_change(self) -> float:
        diffs = [abs(d - o) for o, row in zip(self.original, self.by_seed) for d in row]
        return float(np.mean(diffs)) if diffs else float("nan")

    @property
    def max_abs_change(self) -> int:
        return max((abs(d - o) for o, row in zip(self.original, self.by_seed) for d in row), default=0)

    @property
    def share_changed(self) -> float:
        if not self.original:
            return float("nan")
        return float(np.mean([any(d != o for d in row) for o, row in zip(self.original, self.by_seed)]))

    @property
    def share_partition_changed(self) -> float:
        return float(np.mean(self.partition_changed)) if self.partition_changed else float("nan")

    @property
    def mean_original(self) -> float:
        return float(np.mean(self.original)) if self.original else float("nan")

    def mean_by_seed(self) -> list[float]:
        """Mean distinct_k over prompts for each seed."""
        if not self.by_seed:
            return [float("nan")] * len(self.seeds)
        return [float(x) for x in np.mean(np.asarray(self.by_seed, dtype=np.float64), axis=0)]

    def summary(self) -> dict[str, Any]:
        """The headline figures as a JSON-able dict."""
        return {
            "seeds": list(self.seeds),
            "prompts": len(self.original),
            "k": self.k,
            "mean_distinct_original": self.mean_original,
            "mean_distinct_by_seed": dict(zip(map(str, self.seeds), self.mean_by_seed())),
            "mean_abs_change": self.mean_abs_change,
            "max_abs_change": self.max_abs_change,
            "share_changed": self.share_changed,
            "share_partition_changed": self.share_partition_changed,
            **({"metric_version": self.settings["metric_version"]} if "metric_version" in self.settings else {}),
        }

    def rows(self) -> list[dict[str, Any]]:
        """One dict per prompt: id, original distinct_k, distinct_k per seed, mean absolute change."""
        return [
            {"id": i, "original": o, "by_seed": dict(zip(map(str, self.seeds), row)),
             "mean_abs_change": float(np.mean([abs(d - o) for d in row])) if row else 0.0,
             "partition_changed": pc}
            for i, o, row, pc in zip(self.ids, self.original, self.by_seed, self.partition_changed)
        ]


def parse_seeds(text: str | Sequence[int]) -> list[int]:
    """``"1,2,3"`` -> ``[1, 2, 3]``; duplicates and non-integers are errors.

    Example:
        >>> parse_seeds("1, 2,3")
        [1, 2, 3]
    """
    if isinstance(text, str):
        items = [t.strip() for t in text.split(",") if t.strip()]
        try:
            seeds = [int(t) for t in items]
        except ValueError:
            raise ValueError(f"order seeds must be comma-separated integers, got {text!r}") from None
    else:
        seeds = list(text)
        for s in seeds:
            if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
                raise TypeError(f"order seeds must be integers, got {type(s).__name__} {s!r}")
        seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("order seeds: give at least one seed, e.g. 1,2,3")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"order seeds must be distinct, got {seeds}")
    return seeds


def shuffle_order(n: int, seed: int, key: str) -> list[int]:
    """The permutation used for one group: ``order[j]`` is the original index placed at position ``j``.

    Example:
        >>> sorted(shuffle_order(5, 1, "p"))
        [0, 1, 2, 3, 4]
    """
    order = list(range(n))
    random.Random(f"{seed}\x00{key}").shuffle(order)
    return order


def _canonical(labels: Sequence[int]) -> list[int]:
    seen: dict[int, int] = {}
    return [seen.setdefault(int(c), len(seen)) for c in labels]


def _distinct(labels: Sequence[int], k: int | None) -> int:
    head = labels if k is None else labels[:k]
    return len(set(head))


def order_stability(
    groups: Sequence[Sequence[str]],
    partitioner: Any,
    seeds: Sequence[int] | str,
    *,
    prompts: Sequence[str | None] | None = None,
    ids: Sequence[str] | None = None,
    original: Sequence[Sequence[int]] | None = None,
    k: int | None = None,
) -> OrderStability:
    """Re-partition every group under each seeded shuffle and compare distinct_k with the original order.

    Args:
        groups: one list of responses per prompt.
        partitioner: a :class:`~diversity_metrics.partitioner.Partitioner` (or anything with
            ``partition_batch(groups, prompts=...)``, or a callable ``(groups, prompts) -> partitions``).
        seeds: the shuffle seeds (a list or ``"1,2,3"``).
        prompts: one prompt per group (passed to the partitioner).
        ids: prompt ids (shuffle keys and row labels; default: the group index).
        original: partitions of the original order if already computed (e.g. the stored records of
            the same run), else they are computed here.
        k: distinct_k over the first ``k`` responses of the ORIGINAL order (default: all); the shuffle
            changes only the order the judge sees, never which responses count.

    Example:
        >>> from diversity_metrics.partitioner import Partitioner
        >>> p = Partitioner(judge="exact", strategy="transitive")
        >>> order_stability([["a", "b", "a"]], p, "1,2").mean_abs_change
        0.0
    """
    seed_list = parse_seeds(seeds)
    group_list = [list(g) for g in groups]
    n_groups = len(group_list)
    prompt_list = list(prompts) if prompts is not None else [None] * n_groups
    id_list = [str(i) for i in ids] if ids is not None else [str(g) for g in range(n_groups)]
    if len(prompt_list) != n_groups or len(id_list) != n_groups:
        raise ValueError(f"groups, prompts and ids have mismatched lengths: {n_groups}, {len(prompt_list)}, {len(id_list)}")
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
        raise ValueError(f"k must be None or a positive integer, got {k!r}")
    run = _as_runner(partitioner)
    if original is None:
        base = [_canonical(p) for p in run(group_list, prompt_list)]
    else:
        base = [_canonical(p) for p in original]
        if len(base) != n_groups or any(len(p) != len(g) for p, g in zip(base, group_list)):
            raise ValueError("original partitions must have one label per response of every group")
    by_seed: list[list[int]] = [[] for _ in range(n_groups)]
    changed = [False] * n_groups
    for seed in seed_list:
        orders = [shuffle_order(len(g), seed, key) for g, key in zip(group_list, id_list)]
        shuffled = [[g[i] for i in order] for g, order in zip(group_list, orders)]
        parts = run(shuffled, prompt_list)
        for gi, (order, part) in enumerate(zip(orders, parts)):
            back = [0] * len(order)
            for j, i in enumerate(order):
                back[i] = int(part[j])
            back = _canonical(back)
            by_seed[gi].append(_distinct(back, k))
            if back != base[gi]:
                changed[gi] = True
    settings: dict[str, Any] = {}
    if hasattr(partitioner, "settings"):
        try:
            settings = dict(partitioner.settings())
        except Exception:  # pragma: no cover - a partitioner-like object with a different settings()
            settings = {}
    return OrderStability(
        seeds=seed_list,
        ids=id_list,
        original=[_distinct(p, k) for p in base],
        by_seed=by_seed,
        partition_changed=changed,
        k=k,
        settings=settings,
    )


def _as_runner(partitioner: Any) -> Callable[[list[list[str]], list[str | None]], list[list[int]]]:
    if hasattr(partitioner, "partition_batch"):
        return lambda groups, prompts: partitioner.partition_batch(groups, prompts=prompts)
    if callable(partitioner):
        return lambda groups, prompts: partitioner(groups, prompts)
    raise TypeError(
        f"partitioner must be a Partitioner, have partition_batch(groups, prompts=...), or be callable; "
        f"got {type(partitioner).__name__}"
    )


def format_order_stability(result: OrderStability, *, top: int = 5) -> str:
    """A short text report: headline figures, mean distinct_k per seed, the prompts that moved most."""
    lines = [
        f"order stability over {len(result.original)} prompts, seeds {','.join(map(str, result.seeds))}"
        + (f", distinct over the first {result.k}" if result.k else ""),
    ]
    if result.settings.get("metric_version"):
        lines.append(f"metric version: {result.settings['metric_version']}")
    lines += [
        f"  mean distinct_k, original order: {result.mean_original:.3f}",
        "  mean distinct_k per seed:        "
        + "  ".join(f"{s}: {m:.3f}" for s, m in zip(result.seeds, result.mean_by_seed())),
        f"  mean |change| of distinct_k:     {result.mean_abs_change:.3f} (max {result.max_abs_change})",
        f"  prompts whose distinct_k changes: {result.share_changed:.1%}",
        f"  prompts whose partition changes:  {result.share_partition_changed:.1%}",
    ]
    moved = sorted(result.rows(), key=lambda r: -r["mean_abs_change"])[:top]
    moved = [r for r in moved if r["mean_abs_change"] > 0]
    if moved:
        lines.append("  most order-sensitive prompts (id: original -> per seed):")
        for r in moved:
            lines.append(f"    {r['id']}: {r['original']} -> {', '.join(str(v) for v in r['by_seed'].values())}")
    return "\n".join(lines)
