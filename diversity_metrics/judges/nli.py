"""NLI judge: bidirectional entailment, as in semantic entropy (Kuhn et al., 2023, arXiv 2302.09664).

``score(a, b) = min(P(entailment | premise a, hypothesis b), P(entailment | premise b, hypothesis a))``;
equivalent iff ``score > threshold`` (0.5 by default: both directions are more likely entailed than
not). Symmetric by construction. Works with any Hugging Face NLI model whose ``config.id2label`` names
an "entailment" class (e.g. microsoft/deberta-large-mnli, cross-encoder/nli-deberta-v3-base), or pass
``entailment_class``. Pairs use the tokenizer's standard pair encoding truncated to ``max_length``
tokens in total (longest side first): over-long texts are compared on their beginnings.
With ``include_prompt=True`` each text is prefixed with the prompt (semantic entropy's
"question + answer" form) and scores depend on the prompt.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from diversity_metrics.judges.base import PATH_KIND, THRESHOLD_OPTION, DEVICE_OPTION, DTYPE_OPTION, JudgeOption, batch_size_option, Judge, Pair
from diversity_metrics.judges.cross_encoder import _Classifier, _fspath, _name
from diversity_metrics.judges.lexical import _as_pairs

__all__ = ["NLIJudge"]


class NLIJudge(Judge):
    """Bidirectional-entailment judge over any NLI sequence-classification model.

    Example:
        >>> judge = NLIJudge("microsoft/deberta-large-mnli")                        # doctest: +SKIP
        >>> judge.equivalent([("The capital is Paris.", "Paris is the capital.")])  # doctest: +SKIP
        array([ True])
    """

    OPTIONS = (
        JudgeOption("model", PATH_KIND, help="local folder or hub name of an NLI sequence-classification model"),
        JudgeOption("tokenizer", PATH_KIND, None, "tokenizer folder or hub name (default: the model's)"),
        THRESHOLD_OPTION,
        JudgeOption("entailment_class", int, None, "logit index of 'entailment' (default: from the config)"),
        JudgeOption("max_length", int, 512, "tokens per pair"),
        JudgeOption("include_prompt", bool, False, "prepend the prompt to both sides"),
        batch_size_option(32),
        DEVICE_OPTION,
        DTYPE_OPTION,
    )

    name = "nli"

    def __init__(
        self,
        model: str | os.PathLike[str],
        *,
        tokenizer: str | os.PathLike[str] | None = None,
        threshold: float = 0.5,
        entailment_class: int | None = None,
        max_length: int = 512,
        include_prompt: bool = False,
        batch_size: int = 32,
        device: str | None = "auto",
        dtype: str = "auto",
    ) -> None:
        super().__init__(threshold)
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 8:
            raise ValueError(f"max_length must be an integer >= 8, got {max_length!r}")
        self.model_name = _name(model)
        self.clf = _Classifier(_fspath(model), _fspath(tokenizer), device, dtype, batch_size)
        id2label = {int(k): str(v).lower() for k, v in (self.clf.model.config.id2label or {}).items()}
        if entailment_class is None:
            found = [k for k, v in id2label.items() if "entail" in v and "not" not in v and "non" not in v]
            if len(found) != 1:
                raise ValueError(
                    f"cannot find the entailment class of {self.model_name!r} in id2label={id2label}; "
                    "pass entailment_class=<index>"
                )
            entailment_class = found[0]
        n_labels = int(self.clf.model.config.num_labels)
        if not 0 <= entailment_class < n_labels:
            raise ValueError(f"entailment_class must be in [0, {n_labels}), got {entailment_class!r}")
        self.entailment_class = int(entailment_class)
        self.max_length = max_length
        self.include_prompt = bool(include_prompt)
        self.uses_prompt = self.include_prompt

    def _encode(self, premises: list[str], hypotheses: list[str]) -> list[tuple[list[int], list[int]]]:
        enc = self.clf.tokenizer(
            premises, hypotheses, truncation="longest_first", max_length=self.max_length, verbose=False
        )
        types = enc.get("token_type_ids") or [[0] * len(ids) for ids in enc["input_ids"]]
        return [(list(ids), list(tt)) for ids, tt in zip(enc["input_ids"], types)]

    def score_pairs(self, pairs: Sequence[Pair], prompt: str | None = None) -> np.ndarray:
        pairs = _as_pairs(pairs)
        if not pairs:
            return np.zeros(0, dtype=np.float64)
        prefix = f"{prompt} " if self.include_prompt and prompt else ""
        a = [prefix + x for x, _ in pairs]
        b = [prefix + y for _, y in pairs]
        probs = self.clf.probs(self._encode(a + b, b + a))[:, self.entailment_class]
        return np.minimum(probs[: len(pairs)], probs[len(pairs) :])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model_name!r}, threshold={self.threshold!r})"
