"""Quality sources that are not a plain ``compute_score`` function.

* :func:`router_quality` -- the reward model verl serves behind its reward router (vLLM ``/classify``), with
  the same request verl's own ``RewardLoopWorker.compute_score_disrm`` sends.
* :class:`HFRewardModel` -- a local Hugging Face sequence-classification reward model scored by the package's
  one scorer, :class:`diversity_metrics.quality.RewardModelScorer` (loaded once, inside the rendezvous actor,
  next to the judge).
* :func:`compute_score` -- a placeholder ``custom_reward_function``: verl calls a reward manager at all when a
  reward model is enabled only if ``reward.custom_reward_function.path`` is set; point it here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from diversity_metrics.quality import RewardModelScorer

__all__ = ["router_quality", "HFRewardModel", "compute_score", "build_rm_prompt"]


def compute_score(**kwargs: Any) -> float:
    """Never called with ``reward_kwargs.quality`` = ``reward_router`` or ``hf``; raises if it is."""
    raise RuntimeError(
        "verl_plugin.quality.compute_score is a placeholder that only switches verl to the reward manager; "
        "set +reward.reward_kwargs.quality=reward_router (or hf) so the darling manager scores quality itself"
    )


def build_rm_prompt(chat: Sequence[dict[str, str]], response: str, rm_tokenizer: Any) -> str:
    """The reward model's input text: chat + assistant response through the RM's chat template (as verl)."""
    messages = list(chat) + [{"role": "assistant", "content": response}]
    text = rm_tokenizer.apply_chat_template(messages, add_generation_prompt=False, tokenize=False)
    bos = getattr(rm_tokenizer, "bos_token", None)
    if bos and text.startswith(bos):
        text = text[len(bos):]
    return text


async def router_quality(
    address: str, model: str, chat: Sequence[dict[str, str]], response: str, rm_tokenizer: Any, *, retries: int = 8
) -> float:
    """POST ``{model, input, use_activation: False}`` to ``http://<address>/classify``; return ``probs[-1]``."""
    import asyncio

    import aiohttp

    payload = {"model": model, "input": build_rm_prompt(chat, response, rm_tokenizer), "use_activation": False}
    last: Exception | None = None
    for attempt in range(retries):
        try:
            async with aiohttp.ClientSession() as session:
                async with session.post(f"http://{address}/classify", json=payload) as resp:
                    resp.raise_for_status()
                    out = await resp.json()
            return float(out["data"][-1]["probs"][-1])
        except aiohttp.ClientResponseError as exc:
            if 400 <= exc.status < 500:
                raise
            last = exc
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            last = exc
        await asyncio.sleep(min(2**attempt, 30))
    raise RuntimeError(f"darling: reward router {address} failed {retries} times: {last}") from last


class HFRewardModel(RewardModelScorer):
    """``quality=hf``: :class:`diversity_metrics.quality.RewardModelScorer` (the package's one reward-model
    scorer) with verl's inputs, loaded once inside the rendezvous actor next to the judge.

    Input: each rollout's chat (``raw_prompt``) plus its response through the tokenizer's chat template when
    it has one, else the text pair ``(prompt, response)``. Score: the model's single output logit (a model
    with more than one label is refused: see ``RewardModelScorer``'s ``logit_index``). Device and dtype:
    ``reward_kwargs.device`` through :mod:`diversity_metrics._device`.
    """

    def __init__(self, path: str, *, device: str | None = None, max_length: int = 2048, batch_size: int = 16) -> None:
        super().__init__(path, device=device, max_length=max_length, batch_size=batch_size)

    def score(  # type: ignore[override]
        self, prompt: str | None, responses: Sequence[str], chats: Sequence[Any] | None = None
    ) -> np.ndarray:
        """Raw reward of each rollout; ``chats[i]`` (or ``None``) is rollout i's chat before its response."""
        history = list(chats) if chats is not None else None
        if history is not None and any(c is None for c in history):
            history = None  # verl gives all rollouts of a group a chat or none: mixed -> prompt text for all
        return super().score(prompt or "", list(responses), chats=history)
