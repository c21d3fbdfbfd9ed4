"""verl plug-in for the DARLING reward (thin: the maths lives in :mod:`diversity_metrics`).

* :mod:`verl_plugin.reward_manager` -- ``DarlingRewardManager`` for verl 0.9.x's reward loop (``@register("darling")``).
* :mod:`verl_plugin.batch_manager` -- ``DarlingBatchRewardManager`` for verl 0.4-0.8 (whole batch with uids).
* :mod:`verl_plugin.rendezvous` -- the cross-worker group rendezvous (named async Ray actor or in-process).
* :mod:`verl_plugin.core` -- the group scoring both managers share; :mod:`verl_plugin.options` -- its options.

Importing this package does not import verl; ``verl_plugin.register`` (the ``verl.plugins`` entry point) does.
"""

__all__: list[str] = []
