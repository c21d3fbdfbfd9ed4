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

    Each response is scored as the conversation ``[user: prompt, assistant: response]`` rendered by the
    tokenizer's chat template (NoveltyBench's protocol); a tokenizer without a chat template gets the pair
    ``(prompt, response)`` as a text pair. The raw reward is ``logits[:, 0]`` (reward models have one label).
    Map it to NoveltyBench's 1..10 scale with :func:`noveltybench_quality_score` (``scale="noveltybench"``
    in :meth:`quality`) when the model is the one those thresholds were fitted for.

    Nothing is downloaded unless ``model`` is a hub id that is not cached; a local folder loads offline.
    Weights load through safetensors when the folder has them; ``trust_remote_code`` is off by default.

    Args:
        model: a local folder or a hub id of an ``AutoModelForSequenceClassification`` checkpoint.
        device: torch device string; default ``"cuda"`` when available else ``"cpu"``.
        dtype: torch dtype name (``"bfloat16"``, ``"float32"``, ...) or ``"auto"``; default float32 on CPU,
            bfloat16 on GPU.
        batch_size: responses per forward pass (>= 1).
        max_length: tokens per conversation (longer ones are truncated); default the tokenizer's limit.
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
        trust_remote_code: bool = False,
    ) -> None:
        if not isinstance(model, (str, os.PathLike)) or not str(model).strip():
            raise TypeError(f"model must be a non-empty path or hub id string, got {model!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if max_length is not None and (isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 2):
            raise ValueError(f"max_length must be an integer >= 2 or None, got {max_length!r}")
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        path = str(Path(model).expanduser()) if str(model).startswith("~") else str(model)
        looks_local = Path(path).is_absolute() or path.startswith((".", "~")) or isinstance(model, os.PathLike)
        if looks_local and not Path(path).is_dir():
            raise ValueError(f"model path {path!r} is not a folder holding a reward model")
        self.model_name = path
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if dtype is None:
            torch_dtype: Any = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        elif dtype == "auto":
            torch_dtype = "auto"
        else:
            torch_dtype = getattr(torch, dtype, None)
            if not isinstance(torch_dtype, torch.dtype):
                raise ValueError(f"dtype must be a torch dtype name such as 'bfloat16' or 'auto', got {dtype!r}")
        self.batch_size = batch_size
        self.tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
        self.model = AutoModelForSequenceClassification.from_pretrained(
            path, dtype=torch_dtype, trust_remote_code=trust_remote_code
        ).to(self.device)
        self.model.eval()
        if self.tokenizer.pad_token is None:
            # decoder reward models find the last real token through pad_token_id
            self.tokenizer.pad_token = self.tokenizer.eos_token
        if getattr(self.model.config, "pad_token_id", None) is None:
            self.model.config.pad_token_id = self.tokenizer.pad_token_id
        limit = getattr(self.tokenizer, "model_max_length", None)
        if max_length is None and limit is not None and limit < 10**6:
            max_length = int(limit)
        self.max_length = max_length

    def _encode(self, prompt: str, responses: list[str]) -> Any:
        kwargs: dict[str, Any] = {
            "padding": True,
            "truncation": self.max_length is not None,
            "max_length": self.max_length,
            "return_tensors": "pt",
        }
        if getattr(self.tokenizer, "chat_template", None):
            convs = [[{"role": "user", "content": prompt}, {"role": "assistant", "content": r}] for r in responses]
            return self.tokenizer.apply_chat_template(convs, tokenize=True, return_dict=True, **kwargs)
        return self.tokenizer([prompt] * len(responses), responses, **kwargs)

    def score(self, prompt: str, responses: Sequence[str]) -> np.ndarray:
        """Raw reward of each response to ``prompt``: ``logits[i, 0]`` of the reward model (float64 array).

        Example:
            >>> RewardModelScorer(path).score("Hi", ["Hello!", "Go away."])  # doctest: +SKIP
            array([ 1.25, -3.5 ])
        """
        import torch

        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a str, got {type(prompt).__name__}")
        texts = as_texts(responses, "responses")
        out: list[np.ndarray] = []
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                batch = self._encode(prompt, texts[start : start + self.batch_size]).to(self.device)
                logits = self.model(**batch).logits
                out.append(logits[:, 0].float().cpu().numpy().astype(np.float64))
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
