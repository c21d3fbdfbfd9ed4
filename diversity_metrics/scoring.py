"""Score a file of generations: partition each prompt's responses, compute every metric, write as you go.

This is what ``diversity-metrics score`` runs; the same functions back the lm-eval tasks and the verl reward.

Example:
    >>> from diversity_metrics.io import example_path
    >>> records = score_file(example_path(), "/tmp/example.scores.jsonl", judge="unigram", show_progress=False)
    >>> len(records)
    12
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from diversity_metrics.io import Group, ResultWriter, load_groups

# metrics averaged in the summary, in display order
SUMMARY_METRICS = (
    "distinct_k",
    "utility_k",
    "darling_diversity",
    "semantic_entropy",
    "distinct_1",
    "distinct_2",
    "self_bleu",
    "ngram_uniqueness",
    "compression_ratio",
)


def group_metrics(group: Group, partition: Sequence[int], *, k: int | None = None, patience: float = 0.8) -> dict[str, Any]:
    """All per-prompt metrics for one group whose partition is known.

    With ``k`` set, distinct/utility use the first ``k`` generations (NoveltyBench's distinct_k, utility_k);
    the set metrics always use every generation.
    """
    from diversity_metrics.metrics.darling import darling_diversity
    from diversity_metrics.metrics.lexical import compression_ratio, distinct_n, ngram_uniqueness, self_bleu
    from diversity_metrics.metrics.partition_metrics import canonical_labels, distinct_k, semantic_entropy, utility_k

    n = len(group.generations)
    if k is not None and n < k:
        raise ValueError(f"prompt {group.id!r} has {n} generations, fewer than k = {k}")
    labels = canonical_labels(partition)
    head = labels if k is None else labels[:k]
    record: dict[str, Any] = {
        "id": group.id,
        "prompt": group.prompt,
        "n": n,
        "partition": [int(c) for c in labels],
        "distinct_k": int(distinct_k(head)),
        "utility_k": None,
        "darling_diversity": float(np.mean(darling_diversity(labels))),
        "semantic_entropy": float(semantic_entropy(labels)),
        "distinct_1": float(distinct_n(group.generations, n=1)),
        "distinct_2": float(distinct_n(group.generations, n=2)),
        "self_bleu": float(self_bleu(group.generations)),
        "ngram_uniqueness": float(np.mean(ngram_uniqueness(group.generations, n=4))),
        "compression_ratio": float(compression_ratio(group.generations)),
    }
    if group.qualities is not None:
        q = group.qualities if k is None else group.qualities[:k]
        record["utility_k"] = float(utility_k(head, q, patience=patience))
    return record


def _describe_judge(judge: Any) -> str:
    if judge is None or isinstance(judge, str):
        return judge or "default"
    return getattr(judge, "name", type(judge).__name__)


def score_groups(
    groups: Sequence[Group],
    writer: ResultWriter,
    *,
    judge: Any = None,
    judge_options: Mapping[str, Any] | None = None,
    strategy: str = "greedy",
    use_file_partitions: bool = False,
    short_rule: bool = True,
    k: int | None = None,
    patience: float = 0.8,
    chunk_size: int = 64,
    show_progress: bool = True,
) -> list[dict[str, Any]]:
    """Score every group not already in ``writer``; returns the records of all groups, in input order.

    ``judge_options`` go to :func:`~diversity_metrics.judges.get_judge` (e.g. ``{"threshold": 0.25}``)
    and are part of the settings that a resumed run must match.
    """
    from tqdm.auto import tqdm

    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    from diversity_metrics.judges import check_judge_options

    options = check_judge_options(judge_options, json_values=True)
    if options and use_file_partitions:
        raise ValueError("judge_options cannot be used with use_file_partitions (no judge is run)")
    settings: dict[str, Any] = {
        "judge": "file" if use_file_partitions else _describe_judge(judge),
        "strategy": None if use_file_partitions else strategy,
        "short_rule": None if use_file_partitions else short_rule,
        "k": k,
        "patience": patience,
    }
    if options:
        settings["judge_options"] = options
    for rec in writer.records.values():
        old = rec.get("settings")
        if old != settings:
            raise ValueError(
                f"{writer.path} holds results made with other settings ({old}); "
                "pass --no-resume to start afresh, or choose another --output"
            )
    todo = [g for g in groups if g.id not in writer.done]
    if use_file_partitions:
        missing = [g.id for g in todo if g.partition is None]
        if missing:
            raise ValueError(f"use_file_partitions is set but {len(missing)} prompts have no 'partition', e.g. {missing[0]!r}")
    judge_obj = None
    if todo and not use_file_partitions:
        from diversity_metrics.judges import get_judge
        from diversity_metrics.judges.base import Judge

        judge_obj = judge if isinstance(judge, Judge) and not options else get_judge(judge, **options)
    with tqdm(total=len(groups), initial=len(groups) - len(todo), desc="scoring prompts", unit="prompt",
              disable=not show_progress) as bar:
        for start in range(0, len(todo), chunk_size):
            chunk = todo[start : start + chunk_size]
            if use_file_partitions:
                partitions = [g.partition for g in chunk]
            else:
                from diversity_metrics.partitioning import partition_batch

                partitions = partition_batch(
                    [g.generations for g in chunk],
                    prompts=[g.prompt for g in chunk],
                    judge=judge_obj,
                    strategy=strategy,
                    short_rule=short_rule,
                )
            for group, part in zip(chunk, partitions):
                record = group_metrics(group, part, k=k, patience=patience)
                record["settings"] = settings
                writer.write(record)
                bar.update(1)
    return [writer.records[g.id] for g in groups]


def score_file(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    resume: bool = True,
    **options: Any,
) -> list[dict[str, Any]]:
    """Read ``input_path``, score it into ``output_path`` (JSONL, one line a prompt), return all records.

    ``options`` are those of :func:`score_groups`. An interrupted run, started again with the same output
    and settings, skips the prompts already written.
    """
    groups = load_groups(input_path)
    with ResultWriter(output_path, resume=resume) as writer:
        return score_groups(groups, writer, **options)


def summarize(records: Sequence[dict[str, Any]], *, seed: int = 0) -> list[dict[str, Any]]:
    """Mean of each metric over prompts with a 95% bootstrap interval (rows for the summary table)."""
    from diversity_metrics.metrics.estimators import bootstrap_ci

    rows = []
    for name in SUMMARY_METRICS:
        values = [r[name] for r in records if r.get(name) is not None]
        if not values:
            continue
        arr = np.asarray(values, dtype=np.float64)
        if arr.size > 1:
            mean, low, high = bootstrap_ci(arr, seed=seed)
        else:
            mean, low, high = float(arr[0]), math.nan, math.nan
        rows.append({"metric": name, "mean": float(mean), "ci_low": float(low), "ci_high": float(high), "prompts": int(arr.size)})
    return rows


def format_summary(rows: Sequence[dict[str, Any]]) -> str:
    """Render summary rows as an aligned text table."""
    header = ("metric", "mean", "95% CI", "prompts")
    body = [
        (
            r["metric"],
            f"{r['mean']:.4f}",
            "n/a" if math.isnan(r["ci_low"]) else f"[{r['ci_low']:.4f}, {r['ci_high']:.4f}]",
            str(r["prompts"]),
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in (header, *body)) for i in range(len(header))]
    line = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, body)])
