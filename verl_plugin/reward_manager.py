"""``DarlingRewardManager``: the DARLING reward in verl 0.9.x's reward loop (``reward.reward_manager.name=darling``).

Per trajectory, ``run_single`` decodes the response, computes its quality (verl's ``default_compute_score`` by
``data_source``, a ``custom_reward_function``, the served reward model via the reward router, or a local HF
reward model), then meets the other rollouts of its ``uid`` in the group rendezvous
(:mod:`verl_plugin.rendezvous`), which partitions the group once and answers
``r_i = q_i * max((n - |C(y_i)|) / (n - 1), floor)`` (Li et al. 2025, arXiv 2509.02534).

Load it either way:

* ``reward.reward_manager.name=darling`` (registered through the ``verl.plugins`` entry point on ``import verl``),
* ``reward.reward_manager.source=importlib reward.reward_manager.name=DarlingRewardManager
  reward.reward_manager.module.path=pkg://verl_plugin.reward_manager``.

Example (driven the way verl drives it; see tests/test_verl_reward_manager.py):
    >>> from verl.trainer.ppo.reward import load_reward_manager   # doctest: +SKIP
    >>> manager = load_reward_manager(cfg, tokenizer)              # doctest: +SKIP
    >>> await manager.run_single(data[i : i + 1])                  # doctest: +SKIP
    {'reward_score': 0.857..., 'reward_extra_info': {'darling_quality': 1.0, 'darling_diversity': 0.857..., ...}}
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any

from verl import DataProto
from verl.experimental.reward_loop.reward_manager import register
from verl.experimental.reward_loop.reward_manager.base import RewardManagerBase
from verl.utils.reward_score import default_compute_score

from verl_plugin.core import STATUS, GroupScorer, chat_of, group_prompt
from verl_plugin.options import DarlingOptions
from verl_plugin.quality import router_quality
from verl_plugin.rendezvous import ensure_ready, get_rendezvous, submit

__all__ = ["DarlingRewardManager"]

logger = logging.getLogger("verl_plugin")


@register("darling")
class DarlingRewardManager(RewardManagerBase):
    """verl 0.9.x reward-loop manager computing the DARLING reward through a cross-worker group rendezvous."""

    def __init__(
        self,
        config: Any,
        tokenizer: Any,
        compute_score: Any = None,
        reward_router_address: str | None = None,
        reward_model_tokenizer: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(config, tokenizer, compute_score)
        self.options = DarlingOptions.from_config(config)
        if kwargs:
            self.options = DarlingOptions.from_mapping({**self.options.to_dict(), **kwargs})
        self.compute_score = compute_score or default_compute_score
        self.is_async_reward_score = inspect.iscoroutinefunction(self.compute_score)
        self.reward_router_address = reward_router_address
        self.reward_model_tokenizer = reward_model_tokenizer
        if self.options.quality == "reward_router" and (reward_router_address is None or reward_model_tokenizer is None):
            raise ValueError(
                "reward_kwargs.quality=reward_router needs verl's reward router: set reward.reward_model.enable=True "
                "and reward.reward_model.model_path (verl then passes reward_router_address to the manager)"
            )
        if self.options.quality == "rm_scores":
            raise ValueError("reward_kwargs.quality=rm_scores is for the verl 0.4-0.8 batch manager only")
        if self.options.diversity and self.options.group_size is None:
            raise ValueError("darling: no group size: set actor_rollout_ref.rollout.n or reward.reward_kwargs.group_size")
        self.rm_model_name = _select(config, "reward", "reward_model", "model_path")
        _warn_if_padded(config)
        self._rendezvous: Any = None
        self._rendezvous_ready = False

    @property
    def rendezvous(self) -> Any:
        if self._rendezvous is None:
            self._rendezvous = get_rendezvous(self.options)
        return self._rendezvous

    async def run_single(self, data: DataProto) -> dict:
        if len(data) == 0:
            raise ValueError("run_single got an empty DataProto (expected one trajectory)")
        data = data[-1:]  # multi-sequence outputs: the last sequence carries the reward (as verl's managers)
        item = data[0]
        uid = item.non_tensor_batch.get("uid")
        if self.options.diversity and uid is None:
            raise ValueError("darling needs data.non_tensor_batch['uid'] to group the rollouts of a prompt")
        loop = asyncio.get_running_loop()
        response, decoded_prompt = await loop.run_in_executor(None, self._decode, item)
        chat = chat_of(item.non_tensor_batch.get("raw_prompt"))
        prompt = group_prompt(chat, decoded_prompt)
        failure: Exception | None = None
        try:
            quality, extra = await self._quality(item, response, chat)
        except Exception as exc:  # noqa: BLE001 - re-raised below, after the group is told
            if not self.options.diversity:
                raise
            # submit without a quality so the group closes now (and fails alone) instead of waiting timeout_s
            failure, quality, extra = exc, None, {}
        if not self.options.diversity:
            result = GroupScorer._quality_only(_arr([quality]), STATUS["diversity_off"]).row(0)
        else:
            if not self._rendezvous_ready:
                await ensure_ready(self.rendezvous, self.options)
                self._rendezvous_ready = True
            submitted = submit(
                self.rendezvous,
                uid=str(uid),
                text=response,
                quality=quality,
                expected=self._expected_size(data, item),
                prompt=prompt,
                chat=chat if self.options.quality == "hf" else None,
            )
            if failure is not None:
                try:
                    await submitted
                except Exception:  # noqa: BLE001 - the group's error; this member's own cause comes first
                    pass
                raise failure
            result = await submitted
        result["reward_extra_info"].update(extra)
        return result

    def _decode(self, item: Any) -> tuple[str, str]:
        prompt_ids = item.batch["prompts"]
        response_ids = item.batch["responses"]
        mask = item.batch["attention_mask"]
        n_prompt = prompt_ids.shape[-1]
        valid_prompt = int(mask[:n_prompt].sum())
        valid_response = int(mask[n_prompt:].sum())
        response = self.tokenizer.decode(response_ids[:valid_response], skip_special_tokens=True)
        prompt = self.tokenizer.decode(prompt_ids[n_prompt - valid_prompt :], skip_special_tokens=True)
        return response, prompt

    async def _quality(self, item: Any, response: str, chat: Any) -> tuple[float | None, dict[str, Any]]:
        if self.options.quality == "hf":
            return None, {}  # scored in the rendezvous, where the reward model is loaded once
        if self.options.quality == "reward_router":
            if chat is None:
                raise ValueError("reward_kwargs.quality=reward_router needs data.non_tensor_batch['raw_prompt']")
            score = await router_quality(
                self.reward_router_address, self.rm_model_name, chat, response, self.reward_model_tokenizer
            )
            return score, {}
        nt = item.non_tensor_batch
        kwargs = dict(
            data_source=nt["data_source"],
            solution_str=response,
            ground_truth=(nt.get("reward_model") or {}).get("ground_truth"),
            extra_info=dict(nt.get("extra_info") or {}),
        )
        if self.reward_router_address is not None:
            kwargs.update(reward_router_address=self.reward_router_address,
                          reward_model_tokenizer=self.reward_model_tokenizer)
        if self.is_async_reward_score:
            result = await self.compute_score(**kwargs)
        else:
            result = await asyncio.get_running_loop().run_in_executor(None, lambda: self.compute_score(**kwargs))
        if isinstance(result, dict):
            extra = {k: v for k, v in result.items() if k != "score"}
            return float(result["score"]), extra
        return float(result), {}

    def _expected_size(self, data: DataProto, item: Any) -> int:
        """Training: rollout.n; validation (meta_info validate, or extra_info.split in val_splits): val_kwargs.n."""
        override = item.non_tensor_batch.get("darling_group_size")
        if override is not None:
            return int(override)
        extra_info = item.non_tensor_batch.get("extra_info") or {}
        split = extra_info.get("split") if hasattr(extra_info, "get") else None
        validating = bool(data.meta_info.get("validate", False)) or split in self.options.val_splits
        if validating and self.options.val_group_size is not None:
            return self.options.val_group_size
        return int(self.options.group_size)


def _warn_if_padded(config: Any) -> None:
    """verl's colocated-RM path pads the batch with copies of its first rows to a multiple of num_workers."""
    if not _select(config, "reward", "reward_model", "enable") or _select(config, "reward", "reward_model",
                                                                          "enable_resource_pool"):
        return
    rows = (_select(config, "data", "train_batch_size") or 0) * (_select(config, "actor_rollout_ref", "rollout", "n") or 1)
    workers = _select(config, "reward", "num_workers") or 1
    if rows % workers:
        logger.warning(
            "darling: train_batch_size x rollout.n = %d is not a multiple of reward.num_workers = %d; verl pads the "
            "batch with copies of its first rows, which can take a slot in those groups. Pick num_workers dividing it.",
            rows, workers,
        )


def _arr(values: list[float | None]) -> Any:
    import numpy as np

    if any(v is None for v in values):
        raise ValueError("reward_kwargs.diversity=false needs a per-trajectory quality (not quality=hf)")
    arr = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"darling: non-finite quality {arr.tolist()} (compute_score must return a finite number)")
    return arr


def _select(config: Any, *keys: str) -> Any:
    node = config
    for key in keys:
        if node is None or not hasattr(node, "get"):
            return None
        node = node.get(key)
    return node
