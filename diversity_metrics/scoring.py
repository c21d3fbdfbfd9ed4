"""Score a file of generations: partition each prompt's responses, compute every metric, write as you go.

This is what ``diversity-metrics score`` runs; the same functions back the lm-eval tasks and the verl reward.

Example:
    >>> from diversity_metrics.io import example_path
    >>> records = score_file(example_path(), "/tmp/example.scores.jsonl", judge="unigram", show_progress=False,
    ...                      resume=False)
    >>> len(records)
    12
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
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
        "qualities": None if group.qualities is None else [float(q) for q in group.qualities],
    }
    if group.qualities is not None:
        q = group.qualities if k is None else group.qualities[:k]
        record["utility_k"] = float(utility_k(head, q, patience=patience))
    return record


# version of the per-prompt metrics besides the partition (bumped when a metric's definition changes, so a resume
# never mixes records computed with two definitions). 2: ngram_uniqueness follows DARLING (case kept, / positions).
METRICS_VERSION = 2
CHUNK_SECONDS = 2.0  # prompts partitioned together are sized to finish in about this long (results written then)


def group_digest(group: Group) -> str:
    """Hash of what a prompt's record is computed from: its prompt, generations, qualities and stored partition."""
    payload = json.dumps([group.prompt, group.generations, group.qualities, group.partition], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def _check_k_patience(k: Any, patience: Any) -> None:
    if k is not None and (isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1):
        raise ValueError(f"k must be a positive integer (generations per prompt), got {k!r}")
    if isinstance(patience, bool) or not isinstance(patience, (int, float, np.floating)):
        raise TypeError(f"patience must be a number in [0, 1], got {type(patience).__name__}")
    if not (math.isfinite(float(patience)) and 0.0 <= float(patience) <= 1.0):
        raise ValueError(f"patience must be a finite number in [0, 1], got {patience!r}")


def score_groups(
    groups: Sequence[Group],
    writer: ResultWriter,
    *,
    partitioner: Any = None,
    judge: Any = None,
    judge_options: Mapping[str, Any] | None = None,
    strategy: str | None = None,
    short_rule: str | bool | None = None,
    device: str | None = None,
    use_file_partitions: bool = False,
    k: int | None = None,
    patience: float = 0.8,
    chunk_size: int = 64,
    show_progress: bool = True,
    source: str | None = None,
) -> list[dict[str, Any]]:
    """Score every group not already in ``writer``; returns the records of all groups, in input order.

    The partition comes from ``partitioner`` (a :class:`~diversity_metrics.Partitioner`) or is built from
    ``judge``, ``judge_options``, ``strategy``, ``short_rule`` and ``device`` through
    :meth:`~diversity_metrics.PartitionSpec.from_mapping` (validated before anything is scored). Its
    :meth:`~diversity_metrics.Partitioner.settings` are part of the settings that a resumed run must match.

    Resume never reuses a record that does not belong to this input: every record stores ``input`` =
    ``{"file": source, "sha256": group_digest(group)}`` and a resumed run refuses an output whose records
    come from another file, hold an id this input does not have, or were computed from other generations.

    Prompts are partitioned in chunks sized to take about ``CHUNK_SECONDS`` (2 s; the first chunk is one
    prompt, then at most double the last, at most ``chunk_size``); each record is written and flushed as its
    chunk finishes, so an interruption loses at most the last ~2 s of work.
    """
    from tqdm.auto import tqdm

    from diversity_metrics.partitioner import Partitioner, PartitionSpec

    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    _check_k_patience(k, patience)
    given = {"judge": judge, "judge_options": judge_options or None, "strategy": strategy,
             "short_rule": short_rule, "device": device}
    if use_file_partitions:
        if partitioner is not None or any(v is not None for v in given.values()):
            raise ValueError("use_file_partitions uses the partitions stored in the file: judge/partition settings "
                             "cannot be given with it")
        settings: dict[str, Any] = {"judge": "file", "strategy": None, "short_rule": None}
    else:
        if partitioner is None:
            from diversity_metrics.judges.base import Judge, SetJudge

            if isinstance(judge, (Judge, SetJudge)):
                partitioner = Partitioner(**{k_: v for k_, v in given.items() if v is not None})
            else:
                partitioner = Partitioner(PartitionSpec.from_mapping(given))
        elif any(v is not None for v in given.values()):
            raise ValueError("pass either partitioner= or judge/partition settings, not both")
        settings = partitioner.settings()
    settings = {**settings, "k": k, "patience": patience, "metrics_version": METRICS_VERSION}
    digests = {g.id: group_digest(g) for g in groups}
    _check_resume(writer, settings, digests, source)
    todo = [g for g in groups if g.id not in writer.done]
    if use_file_partitions:
        missing = [g.id for g in todo if g.partition is None]
        if missing:
            raise ValueError(f"use_file_partitions is set but {len(missing)} prompts have no 'partition', e.g. {missing[0]!r}")
    if todo and not use_file_partitions:
        partitioner.judge  # load the judge (a model) before the clock of the progress bar starts  # noqa: B018
    with tqdm(total=len(groups), initial=len(groups) - len(todo), desc="scoring prompts", unit="prompt",
              disable=not show_progress) as bar:
        size, start = 1, 0
        while start < len(todo):
            chunk = todo[start : start + size]
            began = time.perf_counter()
            if use_file_partitions:
                partitions = [g.partition for g in chunk]
            else:
                partitions = partitioner.partition_batch([g.generations for g in chunk], prompts=[g.prompt for g in chunk])
            for group, part in zip(chunk, partitions):
                record = group_metrics(group, part, k=k, patience=patience)
                record["settings"] = settings
                record["input"] = {"file": source, "sha256": digests[group.id]}
                writer.write(record)
                bar.update(1)
            start += len(chunk)
            per_prompt = (time.perf_counter() - began) / len(chunk)
            fit = int(CHUNK_SECONDS / per_prompt) if per_prompt > 0 else chunk_size
            size = max(1, min(int(chunk_size), 2 * len(chunk), fit))
    return [writer.records[g.id] for g in groups]


def _check_resume(writer: ResultWriter, settings: dict[str, Any], digests: dict[str, str], source: str | None) -> None:
    """Refuse an output whose records were made with other settings or from another input."""
    advice = "pass --no-resume to start afresh, or choose another --output"
    for rec in writer.records.values():
        old = rec.get("settings")
        if old != settings:
            raise ValueError(f"{writer.path} holds results made with other settings ({old}); {advice}")
        where = rec.get("input") or {}
        if source is not None and where.get("file") != source:
            raise ValueError(
                f"{writer.path} holds results of another input file ({where.get('file')!r}, not {source!r}); {advice}"
            )
        rid = str(rec["id"])
        if rid not in digests:
            raise ValueError(f"{writer.path} holds a result for id {rid!r}, which this input does not have; {advice}")
        if where.get("sha256") != digests[rid]:
            raise ValueError(
                f"{writer.path} holds a result for id {rid!r} computed from other generations than this input's; "
                f"{advice}"
            )


def default_output_path(input_path: str | os.PathLike[str], settings: Mapping[str, Any]) -> Path:
    """``<input stem>.<judge>.<hash>.scores.jsonl`` in the current folder; the hash covers the resolved input
    path and the settings, so two inputs (``a/gen.jsonl``, ``b/gen.jsonl``) or two judges never share a file.

    Example:
        >>> default_output_path("a/gen.jsonl", {"judge": "unigram"}) != default_output_path("b/gen.jsonl", {"judge": "unigram"})
        True
    """
    resolved = str(Path(input_path).resolve())
    key = json.dumps([resolved, dict(settings)], sort_keys=True, default=str)
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]
    judge = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(settings.get("judge") or "default")).strip("-.")[:40] or "judge"
    return Path(f"{Path(input_path).stem}.{judge}.{digest}.scores.jsonl")


def score_file(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    resume: bool = True,
    **options: Any,
) -> list[dict[str, Any]]:
    """Read ``input_path``, score it into ``output_path`` (JSONL, one line a prompt), return all records.

    ``options`` are those of :func:`score_groups`. An interrupted run, started again with the same output,
    input and settings, skips the prompts already written. ``output_path`` equal to ``input_path`` is refused;
    two runs writing one output cannot overlap (the output is locked while a run writes it).
    """
    src, out = Path(input_path), Path(output_path)
    if out.exists() and src.exists() and os.path.samefile(src, out) or out.resolve() == src.resolve():
        raise ValueError(f"--output {out} is the input file: the results would overwrite the generations")
    groups = load_groups(src)
    with ResultWriter(out, resume=resume) as writer:
        return score_groups(groups, writer, source=str(src.resolve()), **options)


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
