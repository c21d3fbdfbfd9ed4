"""Kept so ``from diversity_metrics.judges._device import resolve_device`` keeps working; the home is
:mod:`diversity_metrics._device`."""

from diversity_metrics._device import quiet_local_loading, resolve_device, resolve_dtype

__all__ = ["resolve_device", "resolve_dtype", "quiet_local_loading"]
