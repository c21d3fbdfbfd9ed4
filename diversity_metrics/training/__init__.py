"""Training learned equivalence judges (``train-judge``): :func:`train_judge` and :func:`register_cli`.

Imports are lazy so that building the CLI parser does not import torch or scikit-learn.
"""

from __future__ import annotations

from typing import Any

__all__ = ["load_pairs", "register_cli", "train_judge"]


def __getattr__(name: str) -> Any:
    if name == "train_judge":
        from diversity_metrics.training.train import train_judge

        return train_judge
    if name == "register_cli":
        from diversity_metrics.training.cli import register_cli

        return register_cli
    if name == "load_pairs":
        from diversity_metrics.training.data import load_pairs

        return load_pairs
    raise AttributeError(f"module 'diversity_metrics.training' has no attribute {name!r}")
