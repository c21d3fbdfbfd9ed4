"""Functions that this package's lm-eval task YAML files call (``!function diversity_metrics.lm_eval_tasks.utils.X``).

* :func:`load_docs` -- ``custom_dataset``: the Hugging Face hub dataset by default, or local JSONL files
  under a data folder (``metadata: data_dir`` or ``$DIVERSITY_METRICS_DATA_DIR``).
* :func:`keep_all_samples` -- the ``custom`` filter that keeps all k samples (lm-eval's default filter,
  ``take_first``, silently drops k - 1 of them).
* :func:`process_noveltybench` -- distinct_k (and utility_k when a reward model is configured) of the k
  generations of one prompt, partitioned by :func:`diversity_metrics.partition`.
* :func:`process_math` -- pass@k and maj@k for powers of two k <= n from n samples, checked with math-verify.

Settings (lm-eval ``--metadata '{"judge": "unigram"}'`` / ``TaskManager(metadata=...)`` win over the
environment variables, which win over the defaults):

==============  ===================================  ==========================================
metadata key    environment variable                 default
==============  ===================================  ==========================================
data_dir        DIVERSITY_METRICS_DATA_DIR           unset: the Hugging Face hub datasets
judge           DIVERSITY_METRICS_JUDGE              ``learned`` (the shipped learned judge)
judge_options   DIVERSITY_METRICS_JUDGE_OPTIONS      ``{}`` (a JSON object of judge options)
strategy        DIVERSITY_METRICS_STRATEGY           ``greedy`` (NoveltyBench's protocol)
short_rule      DIVERSITY_METRICS_SHORT_RULE         ``normalized`` (or ``noveltybench``, ``off``)
device          DIVERSITY_METRICS_DEVICE             unset: the judge's own choice (CUDA when available)
reward_model    DIVERSITY_METRICS_REWARD_MODEL       unset: utility_k is not reported
quality_scale   DIVERSITY_METRICS_QUALITY_SCALE      ``noveltybench`` (1..10 thresholds) or ``raw``
patience        DIVERSITY_METRICS_PATIENCE           0.8
==============  ===================================  ==========================================

The partition settings are validated by :class:`diversity_metrics.PartitionSpec` (the same object the
CLI and the verl plug-in use) when lm-eval loads the documents, so a bad judge, option, strategy or short
rule fails before any generation. The loader copies the resolved settings into every document (columns
``dm_*``; ``dm_partition`` holds the spec as JSON) because lm-eval passes ``process_results`` only the
document and the responses.
"""

from __future__ import annotations

import functools
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA_DIR_ENV = "DIVERSITY_METRICS_DATA_DIR"
JUDGE_ENV = "DIVERSITY_METRICS_JUDGE"
JUDGE_OPTIONS_ENV = "DIVERSITY_METRICS_JUDGE_OPTIONS"
STRATEGY_ENV = "DIVERSITY_METRICS_STRATEGY"
SHORT_RULE_ENV = "DIVERSITY_METRICS_SHORT_RULE"
DEVICE_ENV = "DIVERSITY_METRICS_DEVICE"
REWARD_MODEL_ENV = "DIVERSITY_METRICS_REWARD_MODEL"
QUALITY_SCALE_ENV = "DIVERSITY_METRICS_QUALITY_SCALE"
PATIENCE_ENV = "DIVERSITY_METRICS_PATIENCE"

DEFAULT_PATIENCE = 0.8
QUALITY_SCALES = ("noveltybench", "raw")


@dataclass(frozen=True)
class Source:
    """Where one task's documents come from: a hub dataset split, or ``<data_dir>/<local_file>``."""

    kind: str  # "noveltybench" or "math"
    hub_id: str
    split: str
    local_file: str


SOURCES: dict[str, Source] = {
    "noveltybench_curated": Source("noveltybench", "yimingzhang/novelty-bench", "curated", "noveltybench/curated.jsonl"),
    "noveltybench_wildchat": Source("noveltybench", "yimingzhang/novelty-bench", "wildchat", "noveltybench/wildchat-1k.jsonl"),
    "aime24": Source("math", "HuggingFaceH4/aime_2024", "train", "math/aime24.jsonl"),
    "aime25": Source("math", "math-ai/aime25", "test", "math/aime25.jsonl"),
    "amc23": Source("math", "math-ai/amc23", "test", "math/amc23.jsonl"),
    "hmmt_feb25": Source("math", "MathArena/hmmt_feb_2025", "train", "math/hmmt.jsonl"),
    "brumo25": Source("math", "MathArena/brumo_2025", "train", "math/brumo.jsonl"),
}


# ------------------------------------------------------------------------------------------ data
def _setting(value: Any, env: str, default: Any) -> Any:
    if value is not None and value != "":
        return value
    from_env = os.environ.get(env, "")
    return from_env if from_env != "" else default


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{line_no} is not valid JSON: {exc}") from None
    return rows


def _answer_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _math_doc(row: dict[str, Any], i: int, where: str) -> dict[str, Any]:
    question = row.get("question") or row.get("problem") or row.get("Problem")
    answer = row.get("answer", row.get("Answer"))
    if not isinstance(question, str) or not question.strip():
        raise ValueError(f"{where} row {i} has no 'question' or 'problem' text")
    if answer is None or _answer_text(answer) == "":
        raise ValueError(f"{where} row {i} has no 'answer'")
    doc_id = row.get("id", row.get("problem_idx", i))
    return {"id": str(doc_id), "question": question, "answer": _answer_text(answer)}


def _noveltybench_doc(row: dict[str, Any], i: int, where: str) -> dict[str, Any]:
    prompt = row.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError(f"{where} row {i} has no 'prompt' text")
    return {"id": str(row.get("id", i)), "prompt": prompt}


def _hub_rows(source: str, spec: Source) -> list[dict[str, Any]]:
    """The hub copy of ``spec``; offline or unreachable -> ``FileNotFoundError`` naming the data-folder settings."""
    import datasets

    try:
        return list(datasets.load_dataset(spec.hub_id, split=spec.split))
    except OSError as exc:  # ConnectionError (offline / no network), DatasetNotFoundError, ...
        offline = [v for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE") if os.environ.get(v, "") not in ("", "0")]
        mode = f" (offline: {', '.join(offline)} set)" if offline else ""
        raise FileNotFoundError(
            f"task source {source!r}: no data folder is set and the Hugging Face hub dataset "
            f"{spec.hub_id}[{spec.split}] cannot be loaded{mode}: {exc}. Point the environment variable "
            f"{DATA_DIR_ENV} or the lm-eval metadata key data_dir (--metadata '{{\"data_dir\": \"/path\"}}') "
            f"at a folder holding {spec.local_file}, or go online so the hub copy can be downloaded"
        ) from exc


def load_docs(
    source: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    judge: str | None = None,
    strategy: str | None = None,
    reward_model: str | None = None,
    quality_scale: str | None = None,
    patience: float | str | None = None,
    judge_options: dict[str, Any] | str | None = None,
    short_rule: str | None = None,
    device: str | None = None,
    **_other_metadata: Any,
) -> Any:
    """``custom_dataset`` of every task: the documents of ``source`` as a ``DatasetDict`` with split ``test``.

    lm-eval calls it as ``fn(**metadata, **dataset_kwargs)``; the task YAML sets ``dataset_kwargs: {source:
    ...}`` (a key of :data:`SOURCES`) and the other keyword arguments come from ``--metadata``. Unknown
    metadata keys (lm-eval adds ``version``, model arguments, ...) are ignored.

    Documents: math ``{id, question, answer}`` (answer as text: ``27.0`` becomes ``"27"``); NoveltyBench
    ``{id, prompt}``. Every document also carries the resolved settings ``dm_partition`` (the
    :class:`~diversity_metrics.PartitionSpec` as JSON text), ``dm_reward_model`` (``""`` = none),
    ``dm_quality_scale`` and ``dm_patience``.

    With a data folder, the file ``<data_dir>/<SOURCES[source].local_file>`` is read (the layout of
    NoveltyBench's ``data/`` and DARLING's math files: ``noveltybench/curated.jsonl``, ``math/aime24.jsonl``,
    ...); otherwise ``datasets.load_dataset(hub_id, split=split)`` downloads the hub copy.

    Example:
        >>> docs = load_docs(source="aime25", data_dir="../shared/data")  # doctest: +SKIP
        >>> docs["test"][0]["answer"]  # doctest: +SKIP
        '70'
    """
    import datasets

    if source not in SOURCES:
        raise ValueError(f"source must be one of {sorted(SOURCES)}, got {source!r}")
    spec = SOURCES[source]
    folder = _setting(data_dir, DATA_DIR_ENV, None)
    if folder is not None:
        base = Path(folder).expanduser()
        if not base.is_dir():
            raise ValueError(f"data_dir {str(base)!r} is not a folder (set by metadata data_dir or ${DATA_DIR_ENV})")
        path = base / spec.local_file
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: data_dir must hold {spec.local_file} for task source {source!r}")
        rows, where = _read_jsonl(path), str(path)
    else:
        rows, where = _hub_rows(source, spec), f"{spec.hub_id}[{spec.split}]"
    if not rows:
        raise ValueError(f"{where} holds no documents")
    make = _math_doc if spec.kind == "math" else _noveltybench_doc
    docs = [make(row, i, where) for i, row in enumerate(rows)]
    settings = resolve_settings(
        judge=judge,
        strategy=strategy,
        reward_model=reward_model,
        quality_scale=quality_scale,
        patience=patience,
        judge_options=judge_options,
        short_rule=short_rule,
        device=device,
    )
    if spec.kind == "noveltybench":  # a bad judge or option fails now, not after hours of generation
        _partitioner(settings["dm_partition"]).judge
    for doc in docs:
        doc.update(settings)
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(docs)})


def resolve_settings(
    judge: str | None = None,
    strategy: str | None = None,
    reward_model: str | None = None,
    quality_scale: str | None = None,
    patience: float | str | None = None,
    judge_options: dict[str, Any] | str | None = None,
    short_rule: str | None = None,
    device: str | None = None,
) -> dict[str, Any]:
    """The ``dm_*`` document columns: arguments, else environment variables, else defaults (checked).

    The partition settings go through :meth:`diversity_metrics.PartitionSpec.from_mapping` and are stored
    as its canonical JSON text (``dm_partition``), since a dataset column cannot hold a free-form dict.

    Example:
        >>> json.loads(resolve_settings(judge="rouge1")["dm_partition"])["judge"]
        'unigram'
        >>> json.loads(resolve_settings(judge="unigram", judge_options={"threshold": 0.3})["dm_partition"])["judge_options"]
        {'threshold': 0.3}
    """
    from diversity_metrics.partitioner import PartitionSpec

    spec = PartitionSpec.from_mapping(
        {
            "judge": _setting(judge, JUDGE_ENV, None),
            "judge_options": _setting(judge_options, JUDGE_OPTIONS_ENV, None),
            "strategy": _setting(strategy, STRATEGY_ENV, None),
            "short_rule": _setting(short_rule, SHORT_RULE_ENV, None),
            "device": _setting(device, DEVICE_ENV, None),
        }
    )
    rm = _setting(reward_model, REWARD_MODEL_ENV, "")
    if not isinstance(rm, str):
        raise TypeError(f"reward_model must be a path or hub id string, got {type(rm).__name__}")
    if rm.lower() in ("none", "null", "false"):
        rm = ""
    scale = _setting(quality_scale, QUALITY_SCALE_ENV, "noveltybench")
    if scale not in QUALITY_SCALES:
        raise ValueError(f"quality_scale must be one of {list(QUALITY_SCALES)}, got {scale!r}")
    from diversity_metrics._validation import check_number

    raw_patience = _setting(patience, PATIENCE_ENV, DEFAULT_PATIENCE)
    if isinstance(raw_patience, str):  # from the environment or a command line
        try:
            raw_patience = float(raw_patience)
        except ValueError:
            raise TypeError(f"patience must be a number in (0, 1], got {raw_patience!r}") from None
    p = check_number(raw_patience, "patience", low=0.0, high=1.0, low_open=True)
    return {
        "dm_partition": spec.to_json(),
        "dm_reward_model": rm,
        "dm_quality_scale": scale,
        "dm_patience": p,
    }


# ---------------------------------------------------------------------------------------- filter
def keep_all_samples(resps: Sequence[Sequence[str]], docs: Sequence[dict[str, Any]]) -> list[list[str]]:
    """``custom`` filter: keep every one of the k responses of each document (a list per document)."""
    return [list(r) for r in resps]


def _samples(results: Sequence[Any]) -> list[str]:
    if len(results) != 1 or isinstance(results[0], str):
        raise ValueError(
            "expected results == [[sample_1, ..., sample_k]] (one request whose k samples the keep_all_samples "
            f"filter kept), got {type(results[0]).__name__ if results else 'nothing'}: is the filter_list missing?"
        )
    from diversity_metrics._validation import as_texts

    return as_texts(results[0], "samples")


# ------------------------------------------------------------------------------------ NoveltyBench
@functools.lru_cache(maxsize=4)
def _partitioner(spec_json: str) -> Any:
    from diversity_metrics.partitioner import Partitioner, PartitionSpec

    # one per process and settings; the judge inside loads once
    return Partitioner(PartitionSpec.from_mapping(json.loads(spec_json)))


@functools.lru_cache(maxsize=2)
def _reward_model(path: str) -> Any:
    from diversity_metrics.quality import RewardModelScorer

    return RewardModelScorer(path)


def process_noveltybench(doc: dict[str, Any], results: Sequence[Any]) -> dict[str, float]:
    """distinct_k and (with a reward model) utility_k of one prompt's k generations.

    ``distinct_k = number of classes`` of the documents' :class:`~diversity_metrics.Partitioner`;
    ``utility_k = sum_i p^(i-1) 1[c_i new] u_i / sum_i p^(i-1)`` with ``u_i`` the reward model's quality
    (NoveltyBench 1..10 scale by default). Without a reward model ``utility_k`` is left out of the returned
    dict, so lm-eval does not report it (no NaN, no made-up number).
    """
    from diversity_metrics import distinct_k, utility_k

    generations = _samples(results)
    prompt = doc["prompt"]
    labels = _partitioner(doc["dm_partition"]).partition(generations, prompt=prompt)
    out: dict[str, float] = {"distinct_k": float(distinct_k(labels))}
    if doc.get("dm_reward_model"):
        scorer = _reward_model(doc["dm_reward_model"])
        qualities = scorer.quality(prompt, generations, scale=doc["dm_quality_scale"])
        out["utility_k"] = float(utility_k(labels, qualities, patience=float(doc["dm_patience"])))
    return out


# -------------------------------------------------------------------------------------------- math
# grading and answer grouping live in diversity_metrics.answers (shared with the math judge and the estimators)
from diversity_metrics.answers import grade_samples  # noqa: E402  (re-exported: tasks and tests call it here)


def powers_of_two_up_to(n: int) -> list[int]:
    """``[1, 2, 4, ..., 2^floor(log2 n)]``: the k reported for n samples.

    Example:
        >>> powers_of_two_up_to(20)
        [1, 2, 4, 8, 16]
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    return [2**e for e in range(int(math.log2(n)) + 1)]


def process_math(doc: dict[str, Any], results: Sequence[Any]) -> dict[str, float]:
    """pass@k and maj@k of one problem from its n samples, for every power of two k <= n.

    pass@k = 1 - C(n - c, k) / C(n, k) (Chen et al. 2021) with c the samples math-verify accepts;
    maj@k = expected accuracy of a majority vote over k of the n samples drawn without replacement
    (ties broken uniformly at random, unanswered samples abstain), see
    :func:`diversity_metrics.metrics.estimators.maj_at_k`.
    """
    from diversity_metrics import maj_at_k, pass_at_k

    samples = _samples(results)
    n = len(samples)
    correct, counts, abstain = grade_samples(doc["answer"], samples)
    c = sum(correct)
    out: dict[str, float] = {}
    for k in powers_of_two_up_to(n):
        out[f"pass@{k}"] = float(pass_at_k(n, c, k))
    for k in powers_of_two_up_to(n):
        out[f"maj@{k}"] = float(maj_at_k(counts, 0, k, abstentions=abstain))
    return out
