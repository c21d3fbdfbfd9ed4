"""Semantic diversity metrics and the DARLING diversity reward for language-model outputs.

Everything public is importable from the top level; submodules load lazily so that
``import diversity_metrics`` stays cheap (no torch until a model-based judge is used).

>>> import diversity_metrics as dm
>>> dm.distinct_k([0, 1, 0, 2])
3
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

# public name -> submodule that defines it
_EXPORTS: dict[str, str] = {
    # sampling estimators
    "pass_at_k": "diversity_metrics.metrics.estimators",
    "maj_at_k": "diversity_metrics.metrics.estimators",
    "maj_at_k_from_answers": "diversity_metrics.metrics.estimators",
    "pass_at_k_from_answers": "diversity_metrics.metrics.estimators",
    "bootstrap_ci": "diversity_metrics.metrics.estimators",
    # partition-based metrics
    "canonical_labels": "diversity_metrics.metrics.partition_metrics",
    "distinct_k": "diversity_metrics.metrics.partition_metrics",
    "utility_k": "diversity_metrics.metrics.partition_metrics",
    "semantic_entropy": "diversity_metrics.metrics.partition_metrics",
    # quality scoring for utility_k
    "noveltybench_quality_score": "diversity_metrics.quality",
    "RewardModelScorer": "diversity_metrics.quality",
    # DARLING reward
    "darling_diversity": "diversity_metrics.metrics.darling",
    "darling_reward": "diversity_metrics.metrics.darling",
    # reference-free set diversity
    "distinct_n": "diversity_metrics.metrics.lexical",
    "self_bleu": "diversity_metrics.metrics.lexical",
    "ngram_uniqueness": "diversity_metrics.metrics.lexical",
    "compression_ratio": "diversity_metrics.metrics.lexical",
    "mean_pairwise_cosine_distance": "diversity_metrics.metrics.embedding",
    "vendi_score": "diversity_metrics.metrics.embedding",
    # partitioning engine
    "partition": "diversity_metrics.partitioning",
    "partition_batch": "diversity_metrics.partitioning",
    "Partitioner": "diversity_metrics.partitioner",
    "PartitionSpec": "diversity_metrics.partitioner",
    "clear_judge_cache": "diversity_metrics.partitioner",
    "get_judge": "diversity_metrics.judges",
    "list_judges": "diversity_metrics.judges",
    "describe_judges": "diversity_metrics.judges",
    "Judge": "diversity_metrics.judges.base",
    "SetJudge": "diversity_metrics.judges.base",
    # group rewards for trainers
    "RewardSpec": "diversity_metrics.reward",
    "group_rewards": "diversity_metrics.reward",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'diversity_metrics' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from diversity_metrics.judges import describe_judges, get_judge, list_judges
    from diversity_metrics.judges.base import Judge, SetJudge
    from diversity_metrics.metrics.darling import darling_diversity, darling_reward
    from diversity_metrics.metrics.embedding import mean_pairwise_cosine_distance, vendi_score
    from diversity_metrics.metrics.estimators import (
        bootstrap_ci,
        maj_at_k,
        maj_at_k_from_answers,
        pass_at_k,
        pass_at_k_from_answers,
    )
    from diversity_metrics.metrics.lexical import compression_ratio, distinct_n, ngram_uniqueness, self_bleu
    from diversity_metrics.metrics.partition_metrics import (
        canonical_labels,
        distinct_k,
        semantic_entropy,
        utility_k,
    )
    from diversity_metrics.partitioner import PartitionSpec, Partitioner, clear_judge_cache
    from diversity_metrics.partitioning import partition, partition_batch
    from diversity_metrics.quality import RewardModelScorer, noveltybench_quality_score
    from diversity_metrics.reward import RewardSpec, group_rewards
