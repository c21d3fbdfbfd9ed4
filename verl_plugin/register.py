"""Entry point of the ``verl.plugins`` group: registers ``darling`` in every verl registry this verl has.

``import verl`` loads it (``VERL_USE_EXTERNAL_PLUGINS=auto``), in the driver and in every Ray worker, so
``reward.reward_manager.name=darling`` resolves everywhere. Older verl without entry points:
``VERL_USE_EXTERNAL_MODULES=verl_plugin.register``.
"""

from __future__ import annotations

import logging

logger = logging.getLogger("verl_plugin")

try:  # verl >= 0.9: the reward loop
    from verl_plugin import reward_manager as _reward_manager  # noqa: F401
except ImportError as exc:  # pragma: no cover - verl < 0.9
    logger.debug("darling: reward-loop manager not registered: %s", exc)
try:  # verl 0.4-0.8 batch interface (the legacy registry still exists in 0.9)
    from verl_plugin import batch_manager as _batch_manager  # noqa: F401
except ImportError as exc:  # pragma: no cover
    logger.debug("darling: batch manager not registered: %s", exc)
