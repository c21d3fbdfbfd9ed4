"""Device and precision choice: the one rule for every model the package loads.

Used by the model judges (learned, embedding, cross-encoder, nli), the reward-model scorer
(:class:`diversity_metrics.quality.RewardModelScorer`) and, through it, the verl plug-in's ``quality=hf``.

* device ``None`` / ``"auto"``: CUDA when available, else CPU; ``"cpu"``, ``"cuda"``, ``"cuda:N"`` as given
  (a CUDA device without CUDA is a ``ValueError``).
* dtype ``"auto"``: bfloat16 on CUDA GPUs that support it, else float16 on CUDA, float32 on CPU.

Example:
    >>> resolve_device("cpu").type
    'cpu'
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_DTYPES = ("auto", "float32", "float16", "bfloat16")


def _torch() -> Any:
    from diversity_metrics._extras import require

    return require("torch", extra="judges", feature="loading a model (judge or reward model)")


def resolve_device(device: str | None) -> Any:
    """``None``/``"auto"`` -> CUDA when available else CPU; ``"cpu"``, ``"cuda"``, ``"cuda:1"`` as given."""
    torch = _torch()

    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not isinstance(device, str):
        raise TypeError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {type(device).__name__}")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was requested but CUDA is not available")
    return dev


def resolve_dtype(dtype: str, device: Any) -> Any:
    """``"auto"`` -> bfloat16 on CUDA GPUs that support it, else float16 on CUDA, float32 on CPU."""
    torch = _torch()

    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be one of {list(_DTYPES)}, got {dtype!r}")
    if dtype == "auto":
        if device.type != "cuda":
            return torch.float32
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return getattr(torch, dtype)


@contextmanager
def quiet_local_loading(location: object) -> Iterator[None]:
    """Hide transformers' per-tensor "Loading weights" bar while a model loads from a LOCAL folder.

    Hub downloads keep their progress bars (``location`` that is not an existing folder is left alone);
    the global progress-bar setting is restored afterwards.
    """
    from transformers.utils import logging as hf_logging

    quiet = Path(str(location)).expanduser().is_dir() and hf_logging.is_progress_bar_enabled()
    if quiet:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if quiet:
            hf_logging.enable_progress_bar()
