"""Front-ends that plug the DARLING reward into training libraries (thin: the maths lives in diversity_metrics).

* :mod:`diversity_metrics.integrations.trl`: a reward function for TRL's ``GRPOTrainer`` (``pip install
  "diversity-metrics[trl]"``). The verl plug-in lives in the top-level ``verl_plugin`` package.

Nothing here is imported by ``import diversity_metrics``; import the submodule you need.
"""

__all__: list[str] = []
