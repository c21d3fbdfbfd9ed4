"""LoRA adapters for the learned judge's encoder: checked when the judge loads, merged into the weights once.

A judge folder may carry a LoRA adapter (Hu et al., 2021, "LoRA: Low-Rank Adaptation of Large Language
Models") for its sentence encoder: for each adapted linear layer with weight ``W`` (``out x in``) two
arrays ``A`` (``rank x in``) and ``B`` (``out x rank``), stored in the judge's ``model.safetensors`` under
``adapter.<module>.lora_A`` / ``adapter.<module>.lora_B`` and declared in ``config.json`` as
``"adapter": {"method": "lora", "rank": r, "alpha": a}``. When the encoder loads, every such layer becomes

    W <- W + (alpha / rank) * B @ A

so the adapted encoder costs exactly one forward pass per response, like the frozen one. The adapter lives
in the same weights file as the head, so the judge's content hash (``judge_version`` in every result's
settings) covers it.

Example:
    >>> import numpy as np
    >>> arrays = {"enc.lora_A": np.ones((1, 2), np.float32), "enc.lora_B": np.ones((3, 1), np.float32)}
    >>> check_adapter(arrays, {"method": "lora", "rank": 1, "alpha": 2})
    2.0
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["ADAPTER_PREFIX", "adapter_digest", "check_adapter", "check_adapter_spec", "merge_lora"]

#: key prefix of the adapter's arrays inside a judge's ``model.safetensors``
ADAPTER_PREFIX = "adapter."
ADAPTER_METHODS = ("lora",)


def check_adapter_spec(spec: Any, where: str = "judge config") -> float:
    """Validate a config's ``adapter`` object; return the LoRA scale ``alpha / rank``."""
    if not isinstance(spec, dict):
        raise TypeError(f"{where}: adapter must be an object with method, rank and alpha, got {type(spec).__name__}")
    if spec.get("method") not in ADAPTER_METHODS:
        raise ValueError(f"{where}: adapter method must be one of {list(ADAPTER_METHODS)}, got {spec.get('method')!r}")
    rank, alpha = spec.get("rank"), spec.get("alpha")
    if not (isinstance(rank, int) and not isinstance(rank, bool) and 1 <= rank <= 1024):
        raise ValueError(f"{where}: adapter rank must be an integer in [1, 1024], got {rank!r}")
    if not (isinstance(alpha, (int, float)) and not isinstance(alpha, bool) and np.isfinite(alpha) and alpha > 0):
        raise ValueError(f"{where}: adapter alpha must be a positive finite number, got {alpha!r}")
    return float(alpha) / rank


def check_adapter(arrays: Mapping[str, np.ndarray], spec: Any, where: str = "judge weights") -> float:
    """Check adapter arrays (keys ``<module>.lora_A`` / ``<module>.lora_B``, no prefix) against ``spec``.

    Every module needs both arrays, ``A`` of shape ``(rank, in)`` and ``B`` of shape ``(out, rank)``, all
    finite. Returns the scale ``alpha / rank``. Shapes against the encoder are checked by :func:`merge_lora`.
    """
    scale = check_adapter_spec(spec)
    if not arrays:
        raise ValueError(f"{where}: the config declares an adapter but there are no '{ADAPTER_PREFIX}*' arrays")
    modules = {k.rsplit(".", 1)[0] for k in arrays}
    for module in sorted(modules):
        a, b = arrays.get(f"{module}.lora_A"), arrays.get(f"{module}.lora_B")
        if a is None or b is None:
            raise ValueError(f"{where}: adapter module {module!r} needs both lora_A and lora_B")
        if a.ndim != 2 or b.ndim != 2 or a.shape[0] != spec["rank"] or b.shape[1] != spec["rank"]:
            raise ValueError(
                f"{where}: adapter module {module!r} has lora_A {a.shape} and lora_B {b.shape}; "
                f"expected (rank, in) and (out, rank) with rank {spec['rank']}"
            )
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
            raise ValueError(f"{where}: adapter module {module!r} holds non-finite values")
    stray = [k for k in arrays if not k.endswith((".lora_A", ".lora_B"))]
    if stray:
        raise ValueError(f"{where}: unexpected adapter arrays {stray[:3]} (expected <module>.lora_A / .lora_B)")
    return scale


def adapter_digest(arrays: Mapping[str, np.ndarray]) -> str:
    """16 hex digits identifying the adapter's arrays (names, shapes and values), for embedding caches."""
    digest = hashlib.sha256()
    for key in sorted(arrays):
        value = np.ascontiguousarray(arrays[key], dtype=np.float32)
        digest.update(f"{key}{value.shape}".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()[:16]


def merge_lora(model: Any, arrays: Mapping[str, np.ndarray], scale: float) -> int:
    """Add the low-rank updates to ``model``'s linear weights in place; return the number of layers changed.

    ``model`` is a torch module whose ``named_parameters()`` include ``<module>.weight`` for every adapted
    module; a missing module or a shape that does not fit is a ValueError naming it (the adapter was
    trained for another encoder).
    """
    import torch

    params = dict(model.named_parameters())
    modules = sorted({k.rsplit(".", 1)[0] for k in arrays})
    with torch.no_grad():
        for module in modules:
            weight = params.get(f"{module}.weight")
            a, b = arrays[f"{module}.lora_A"], arrays[f"{module}.lora_B"]
            if weight is None:
                raise ValueError(f"the encoder has no layer {module!r} that the judge's adapter adapts (another encoder?)")
            if tuple(weight.shape) != (b.shape[0], a.shape[1]):
                raise ValueError(
                    f"the judge's adapter for {module!r} gives a {b.shape[0]}x{a.shape[1]} update but the encoder's "
                    f"weight is {tuple(weight.shape)} (another encoder?)"
                )
            delta = torch.from_numpy(np.asarray(b, np.float32)) @ torch.from_numpy(np.asarray(a, np.float32))
            weight.add_(delta.to(weight.dtype) * scale)
    return len(modules)
