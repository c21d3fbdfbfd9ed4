"""``DarlingBatchRewardManager``: the DARLING reward for verl 0.4-0.8 (``__call__(data, return_dict)``).

Those versions hand the reward manager the whole batch, uids included, so no rendezvous is needed: rows are
grouped by ``uid`` and each group (all its rows) is scored by the same :class:`verl_plugin.core.GroupScorer`
the 0.9 reward-loop manager uses. Registered as ``darling`` in ``verl.workers.reward_manager``; options come as
``reward_model.reward_kwargs`` (verl passes them to the constructor as keyword arguments).

Example:
    >>> manager = DarlingBatchRewardManager(tokenizer, num_examine=0, judge="unigram")  # doctest: +SKIP
    >>> out = manager(data, return_dict=True)                                           # doctest: +SKIP
    >>> out["reward_tensor"].sum(-1)  # quality x Norm(Div), on each response's last token  # doctest: +SKIP
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import torch

from verl import DataProto
from verl.utils.reward_score import default_compute_score

from verl_plugin.core import EXTRA_KEYS, Group, GroupScorer, chat_of, group_prompt
from verl_plugin.options import DarlingOptions

__all__ = ["DarlingBatchRewardManager"]

try:  # verl 0.4-0.9 ship the legacy registry
    from verl.workers.reward_manager import register as _register
    from verl.workers.reward_manager.abstract import AbstractRewardManager as _Base
except ImportError:  # pragma: no cover
    _Base = object  # type: ignore[assignment,misc]

    def _register(name: str) -> Any:
        return lambda cls: cls


@_register("darling")
class DarlingBatchRewardManager(_Base):  # type: ignore[misc,valid-type]
    """Whole-batch DARLING reward manager (verl 0.4-0.8 interface)."""

    def __init__(
        self,
        tokenizer: Any,
        num_examine: int = 0,
        compute_score: Any = None,
        reward_fn_key: str = "data_source",
        **reward_kwargs: Any,
    ) -> None:
        self.tokenizer = tokenizer
        self.num_examine = num_examine
        self.compute_score = compute_score or default_compute_score
        self.reward_fn_key = reward_fn_key
        self.options = DarlingOptions.from_mapping(reward_kwargs)
        if self.options.quality == "reward_router":
            raise ValueError("reward_kwargs.quality=reward_router is for the verl 0.9 reward-loop manager only")
        self.scorer = GroupScorer(self.options)

    def __call__(self, data: DataProto, return_dict: bool = False) -> torch.Tensor | dict[str, Any]:
        n_rows = len(data)
        if n_rows == 0:
            raise ValueError("DarlingBatchRewardManager got an empty batch")
        if "uid" not in data.non_tensor_batch:
            raise ValueError("darling needs data.non_tensor_batch['uid'] to group the rollouts of a prompt")
        prompt_len = data.batch["prompts"].shape[-1]
        mask = data.batch["attention_mask"]
        valid_resp = mask[:, prompt_len:].sum(-1)
        valid_prompt = mask[:, :prompt_len].sum(-1)
        rm = data.batch["rm_scores"].sum(-1) if "rm_scores" in data.batch.keys() else None
        if self.options.quality == "rm_scores" and rm is None:
            raise ValueError("reward_kwargs.quality=rm_scores but the batch has no rm_scores (enable the reward model)")
        texts, prompts, chats, quality, extras = [], [], [], [], []
        for i in range(n_rows):
            item = data[i]
            response = self.tokenizer.decode(item.batch["responses"][: int(valid_resp[i])], skip_special_tokens=True)
            decoded = self.tokenizer.decode(item.batch["prompts"][prompt_len - int(valid_prompt[i]) :],
                                            skip_special_tokens=True)
            chat = chat_of(item.non_tensor_batch.get("raw_prompt"))
            texts.append(response)
            prompts.append(group_prompt(chat, decoded))
            chats.append(chat)
            q, extra = self._quality(item, response, rm, i)
            quality.append(q)
            extras.append(extra)
        by_uid: dict[str, list[int]] = defaultdict(list)
        for i, uid in enumerate(data.non_tensor_batch["uid"]):
            by_uid[str(uid)].append(i)
        groups = [Group(uid, prompts[rows[0]], [texts[i] for i in rows], qualities=[quality[i] for i in rows],
                        chats=[chats[i] for i in rows])
                  for uid, rows in by_uid.items()]
        results = self.scorer.score(groups)
        reward_tensor = torch.zeros_like(data.batch["responses"], dtype=torch.float32)
        info: dict[str, list[Any]] = {k: [None] * n_rows for k in EXTRA_KEYS}
        for (uid, rows), result in zip(by_uid.items(), results):
            for j, i in enumerate(rows):
                row = result.row(j)
                reward_tensor[i, int(valid_resp[i]) - 1] = row["reward_score"]
                for k, v in row["reward_extra_info"].items():
                    info[k][i] = v
        for k in extras[0]:
            info[k] = [e.get(k) for e in extras]
        if return_dict:
            return {"reward_tensor": reward_tensor, "reward_extra_info": info}
        return reward_tensor

    def _quality(self, item: Any, response: str, rm: Any, i: int) -> tuple[float | None, dict[str, Any]]:
        if self.options.quality == "rm_scores":
            return float(rm[i]), {}
        if self.options.quality == "hf":
            return None, {}
        nt = item.non_tensor_batch
        result = self.compute_score(
            data_source=nt[self.reward_fn_key],
            solution_str=response,
            ground_truth=(nt.get("reward_model") or {}).get("ground_truth"),
            extra_info=dict(nt.get("extra_info") or {}),
        )
        if isinstance(result, dict):
            return float(result["score"]), {k: v for k, v in result.items() if k != "score"}
        return float(np.asarray(result, dtype=np.float64)), {}
