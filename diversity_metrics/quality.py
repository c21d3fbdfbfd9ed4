"""Quality scores for ``utility_k``: a reward-model scorer and NoveltyBench's 1-10 threshold mapping.

NoveltyBench (Zhang et al. 2025, arXiv 2504.05228; ``src/score.py`` of github.com/novelty-bench/novelty-bench)
scores every generation with the reward model ``Skywork/Skywork-Reward-Gemma-2-27B-v0.2`` (the prompt as the
user turn, the generation as the assistant turn, through the tokenizer's chat template) and maps the raw
reward to an integer 1..10 with nine fixed thresholds. Those thresholds are calibrated for that reward model
only; with another reward model use its raw rewards or calibrate your own thresholds.

Example:
    >>> noveltybench_quality_score(-5.2)
    6
    >>> noveltybench_quality_score([-8.0, 0.0]).tolist()
    [1, 10]
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from diversity_metrics._validation import as_float_array, as_texts

#: The reward model NoveltyBench's official scoring uses.
NOVELTYBENCH_REWARD_MODEL = "Skywork/Skywork-Reward-Gemma-2-27B-v0.2"

#: Raw-reward thresholds of NoveltyBench's score.py: score = bisect_left(thresholds, reward) + 1.
NOVELTYBENCH_REWARD_THRESHOLDS: tuple[float, ...] = (
    -7.71875,
    -6.28125,
    -6.0,
    -5.71875,
    -5.5,
    -5.0,
    -4.375,
    -3.4375,
    -2.046875,
)


def noveltybench_quality_score(raw_reward: float | Sequence[float] | np.ndarray) -> Any:
    """Map raw reward-model scores to NoveltyBench's integer quality scale 1..10.

    Formula: ``score = 1 + #{t in T : t < r}`` with the nine thresholds ``T`` of NoveltyBench
    (``bisect_left(T, r) + 1``; a reward equal to a threshold falls in the lower bin).

    Reference: NoveltyBench, ``src/score.py`` (``reward_thresholds``, ``transform_raw_reward``), calibrated
    for ``Skywork/Skywork-Reward-Gemma-2-27B-v0.2``.

    Args:
        raw_reward: one raw reward (float) or a 1-D sequence of them; NaN or infinity raise ``ValueError``.

    Returns:
        An ``int`` for a scalar input, else an int64 array of the same length.

    Example:
        >>> noveltybench_quality_score(-2.046875), noveltybench_quality_score(-2.0)
        (9, 10)
    """
    if isinstance(raw_reward, bool) or (np.ndim(raw_reward) == 0 and not isinstance(raw_reward, (str, bytes))):
        if isinstance(raw_reward, bool):
            raise TypeError("raw_reward must be a number or a sequence of numbers, got bool")
        try:
            value = float(raw_reward)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise TypeError(f"raw_reward must be a number, got {type(raw_reward).__name__}") from None
        if not np.isfinite(value):
            raise ValueError(f"raw_reward must be finite, got {value!r}")
        return bisect.bisect_left(NOVELTYBENCH_REWARD_THRESHOLDS, value) + 1
    rewards = as_float_array(raw_reward, "raw_reward")
    return np.searchsorted(np.asarray(NOVELTYBENCH_REWARD_THRESHOLDS), rewards, side="left").astype(np.int64) + 1


class RewardModelScorer:
    """Scores (prompt, response) pairs with any Hugging Face sequence-classification reward model.

    The one reward-model scorer of the package: lm-eval's ``utility_k`` and the verl plug-in's ``quality=hf``
    (:class:`verl_plugin.quality.HFRewardModel`) both use it.

    Input: each response is scored as the conversation ``[user: prompt, assistant: response]`` (or, with
    ``chats``, that response's own chat history followed by ``assistant: response``) rendered by the
    tokenizer's chat template (NoveltyBench's protocol; the template's text is the whole input, no special
    tokens added); a tokenizer without a chat template gets the pair ``(prompt, response)`` as a text pair.

    Which logit: the raw reward is ``logits[:, logit_index]``. A reward model has one output label, and
    then ``logit_index`` defaults to 0 (the same as ``logits[:, -1]``). A model with more labels is refused
    unless ``logit_index`` says which one is the reward -- nothing is guessed.

    Device and dtype follow :mod:`diversity_metrics._device`: CUDA when available, and bfloat16 (float16
    where the GPU has no bfloat16) on CUDA, float32 on CPU unless ``dtype`` says otherwise. Decoder reward
    models without a pad token get the EOS token as pad (they find the last real token through it).

    Map the raw reward to NoveltyBench's 1..10 scale with :func:`noveltybench_quality_score`
    (``scale="noveltybench"`` in :meth:`quality`) when the model is the one those thresholds were fitted for.

    Nothing is downloaded unless ``model`` is a hub id that is not cached; a local folder loads offline.
    Weights load through safetensors when the folder has them; ``trust_remote_code`` is off by default.

    Args:
        model: a local folder or a hub id of an ``AutoModelForSequenceClassification`` checkpoint.
        device: ``None``/``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:N"``.
        dtype: ``None``/``"auto"`` (see above), ``"float32"``, ``"float16"`` or ``"bfloat16"``.
        batch_size: responses per forward pass (>= 1).
        max_length: tokens per conversation (longer ones are truncated); default the tokenizer's limit.
        logit_index: which output is the reward; required when the model has more than one label.
        trust_remote_code: passed to ``from_pretrained``.

    Example:
        >>> scorer = RewardModelScorer("Skywork/Skywork-Reward-Gemma-2-27B-v0.2")  # doctest: +SKIP
        >>> scorer.quality("Name a colour.", ["Blue.", "Red."])  # doctest: +SKIP
        array([7, 7])
    """

    def __init__(
        self,
        model: str | os.PathLike[str],
        *,
        device: str | None = None,
        dtype: str | None = None,
        batch_size: int = 8,
        max_length: int | None = None,
        logit_index: int | None = None,
        trust_remote_code: bool = False,
    ) -> None:
        if not isinstance(model, (str, os.PathLike)) or not str(model).strip():
            raise TypeError(f"model must be a non-empty path or hub id string, got {model!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if max_length is not None and (isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 2):
            raise ValueError(f"max_length must be an integer >= 2 or None, got {max_length!r}")
        if logit_index is not None and (isinstance(logit_index, bool) or not isinstance(logit_index, int)):
            raise TypeError(f"logit_index must be an integer or None, got {type(logit_index).__name__}")
        from diversity_metrics._device import resolve_device, resolve_dtype
        from diversity_metrics._extras import require

        transformers = require("transformers", extra="judges", feature="the reward-model scorer")
        path = str(Path(model).expanduser()) if str(model).startswith("~") else str(model)
        looks_local = Path(path).is_absolute() or path.startswith((".", "~")) or isinstance(model, os.PathLike)
        if looks_local and not Path(path).is_dir():
            raise ValueError(f"model path {path!r} is not a folder holding a reward model")
        self.model_name = path
        dev = resolve_device(device)
        torch_dtype = resolve_dtype("auto" if dtype is None else dtype, dev)
        self.device = str(dev)
        self.batch_size = batch_size
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
        self.model = transformers.AutoModelForSequenceClassification.from_pretrained(
            path, dtype=torch_dtype, trust_remote_code=trust_remote_code
        ).to(self.device)
        self.model.eval()
        num_labels = int(getattr(self.model.config, "num_labels", 1))
        if logit_index is None:
            if num_labels != 1:
                raise ValueError(
                    f"reward model {path!r} has {num_labels} output labels; pass logit_index= to say which one "
                    "is the reward (a reward model normally has one)"
                )
            logit_index = 0
        if not -num_labels <= logit_index < num_labels:
            raise ValueError(f"logit_index {logit_index} is out of range for a model with {num_labels} label(s)")
        self.logit_index = logit_index
        if self.tokenizer.pad_token is None:
            # decoder reward models find the last real token through pad_token_id
            self.tokenizer.pad_token = self.tokenizer.eos_token
        if getattr(self.model.config, "pad_token_id", None) is None:
            self.model.config.pad_token_id = self.tokenizer.pad_token_id
        limit = getattr(self.tokenizer, "model_max_length", None)
        if max_length is None and limit is not None and limit < 10**6:
            max_length = int(limit)
        self.max_length = max_length

    def _encode(self, prompt: str, responses: list[str], chats: list[Any] | None) -> Any:
        kwargs: dict[str, Any] = {
            "padding": True,
            "truncation": self.max_length is not None,
            "max_length": self.max_length,
            "return_tensors": "pt",
        }
        if getattr(self.tokenizer, "chat_template", None):
            history = chats or [None] * len(responses)
            convs = [
                [*(chat if chat is not None else [{"role": "user", "content": prompt}]),
                 {"role": "assistant", "content": r}]
                for chat, r in zip(history, responses)
            ]  # fmt: skip
            return self.tokenizer.apply_chat_template(convs, tokenize=True, return_dict=True, **kwargs)
        return self.tokenizer([prompt] * len(responses), responses, **kwargs)

    def score(
        self, prompt: str, responses: Sequence[str], *, chats: Sequence[Sequence[dict[str, str]] | None] | None = None
    ) -> np.ndarray:
        """Raw reward of each response to ``prompt``: ``logits[i, logit_index]`` of the reward model (float64).

        ``chats`` (optional, one per response): the chat messages before the response, used instead of
        ``[user: prompt]`` when the tokenizer has a chat template (verl's ``raw_prompt``).

        Example:
            >>> RewardModelScorer(path).score("Hi", ["Hello!", "Go away."])  # doctest: +SKIP
            array([ 1.25, -3.5 ])
        """
        import torch

        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a str, got {type(prompt).__name__}")
        texts = as_texts(responses, "responses")
        history = None if chats is None else list(chats)
        if history is not None and len(history) != len(texts):
            raise ValueError(f"chats has {len(history)} entries for {len(texts)} responses")
        out: list[np.ndarray] = []
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                part = slice(start, start + self.batch_size)
                batch = self._encode(prompt, texts[part], None if history is None else history[part]).to(self.device)
                logits = self.model(**batch).logits
                out.append(logits[:, self.logit_index].float().cpu().numpy().astype(np.float64))
        return np.concatenate(out)

    def quality(self, prompt: str, responses: Sequence[str], *, scale: str = "noveltybench") -> np.ndarray:
        """Quality of each response for ``utility_k``: NoveltyBench's 1..10 scale or the raw reward.

        ``scale="noveltybench"`` applies :func:`noveltybench_quality_score` to :meth:`score`;
        ``scale="raw"`` returns :meth:`score` unchanged.
        """
        if scale not in ("noveltybench", "raw"):
            raise ValueError(f"scale must be 'noveltybench' or 'raw', got {scale!r}")
        raw = self.score(prompt, responses)
        if scale == "raw":
            return raw
        return np.asarray(noveltybench_quality_score(raw), dtype=np.int64)

    def __repr__(self) -> str:
        return f"RewardModelScorer(model={self.model_name!r}, device={self.device!r})"
