"""Quality sources that are not a plain ``compute_score`` function.

* :func:`router_quality` -- the reward model verl serves behind its reward router (vLLM ``/classify``), with
  the same request verl's own ``RewardLoopWorker.compute_score_disrm`` sends.
* :class:`HFRewardModel` -- a local Hugging Face sequence-classification reward model (loaded once, inside the
  rendezvous actor, next to the judge).
* :func:`compute_score` -- a placeholder ``custom_reward_function``: verl calls a reward manager at all when a
  reward model is enabled only if ``reward.custom_reward_function.path`` is set; point it here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

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


class HFRewardModel:
    """A local ``AutoModelForSequenceClassification`` reward model; score = last logit of each input.

    Input: the chat (``raw_prompt``) plus the response through the tokenizer's chat template when it has one,
    else the pair ``(prompt, response)``.
    """

    def __init__(self, path: str, *, device: str | None = None, max_length: int = 2048, batch_size: int = 16) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.torch = torch
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModelForSequenceClassification.from_pretrained(path).to(self.device).eval()
        self.max_length = max_length
        self.batch_size = batch_size

    def score(self, prompt: str | None, responses: Sequence[str], chats: Sequence[Any] | None = None) -> np.ndarray:
        chats = list(chats or [None] * len(responses))
        out = []
        for start in range(0, len(responses), self.batch_size):
            texts = responses[start : start + self.batch_size]
            cs = chats[start : start + self.batch_size]
            if getattr(self.tokenizer, "chat_template", None) and all(c is not None for c in cs):
                inputs = [build_rm_prompt(c, t, self.tokenizer) for c, t in zip(cs, texts)]
                enc = self.tokenizer(inputs, truncation=True, max_length=self.max_length, padding=True,
                                     return_tensors="pt")
            else:
                enc = self.tokenizer([prompt or ""] * len(texts), list(texts), truncation=True,
                                     max_length=self.max_length, padding=True, return_tensors="pt")
            with self.torch.no_grad():
                logits = self.model(**enc.to(self.device)).logits
            out.append(logits[:, -1].float().cpu().numpy())
        return np.concatenate(out).astype(np.float64)
