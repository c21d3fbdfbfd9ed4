"""The partitioning engine: responses -> classes of functionally equivalent responses.

:func:`partition` handles one prompt, :func:`partition_batch` many at once; both are the keyword form of
:class:`diversity_metrics.Partitioner` (the one configured engine every front-end uses) and reuse a cached
judge. The engine

1. de-duplicates each group (identical texts always share a class and are never sent to the judge),
2. runs the chosen strategy (:mod:`diversity_metrics.strategies`) for every group in lock-step: each round
   collects the pairs that all groups need, drops pairs already judged (the same unordered pair of texts
   is scored once per batch, whichever group asks), lets the short-response rule decide short pairs
   (:mod:`diversity_metrics.judges.short_rule`, a judge wrapper), and sends the rest to the judge in
   chunks of ``batch_size`` pairs,
3. for an :class:`~diversity_metrics.judges.base.EmbeddingJudge`, embeds every distinct text of the batch
   once and scores pairs from the cached embeddings,
4. for a :class:`~diversity_metrics.judges.base.SetJudge` (one call per whole group), skips the strategy.

References: NoveltyBench (Zhang et al., 2025, arXiv 2504.05228), DARLING (Li et al., 2025, arXiv 2509.02534).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from diversity_metrics._validation import as_texts
from diversity_metrics.judges.base import EmbeddingJudge, Judge, SetJudge
from diversity_metrics.judges.short_rule import SHORT_RESPONSE_WORDS, ShortRuleJudge, short_rule_decision
from diversity_metrics.strategies import canonical, make_strategy

if TYPE_CHECKING:
    from diversity_metrics.partitioner import Partitioner

__all__ = ["partition", "partition_batch", "short_response_equivalent", "SHORT_RESPONSE_WORDS"]

JudgeLike = str | os.PathLike[str] | Judge | SetJudge | None
_MAX_CACHED_PAIRS = 1 << 20  # judged pairs kept between strategy rounds (about 100 MB)


def short_response_equivalent(a: str, b: str) -> bool | None:
    """NoveltyBench's exact short-response rule (``short_rule="noveltybench"``); ``None`` for long pairs.

    Example:
        >>> short_response_equivalent("Blue", "blue")
        True
        >>> short_response_equivalent("Blue", "Blue.")  # punctuation is part of a word here
        False
    """
    return short_rule_decision(a, b, "noveltybench")


def _check_groups(groups: Any) -> list[list[str]]:
    if isinstance(groups, (str, bytes)):
        raise TypeError("groups must be a sequence of response lists, got a single string")
    try:
        items = list(groups)
    except TypeError:
        raise TypeError(f"groups must be a sequence of response lists, got {type(groups).__name__}") from None
    out = []
    for g, group in enumerate(items):
        texts = as_texts(group, f"groups[{g}]", allow_empty=True)
        if not texts:
            raise ValueError(f"groups[{g}] is empty: a group needs at least one response")
        out.append(texts)
    return out


def _check_prompts(prompts: Any, n_groups: int) -> list[str | None]:
    if prompts is None:
        return [None] * n_groups
    if isinstance(prompts, (str, bytes)):
        raise TypeError("prompts must be a sequence with one prompt (str or None) per group, got a single string")
    items = list(prompts)
    if len(items) != n_groups:
        raise ValueError(f"prompts and groups have mismatched lengths: {len(items)} != {n_groups}")
    for i, p in enumerate(items):
        if p is not None and not isinstance(p, str):
            raise TypeError(f"prompts[{i}] is {type(p).__name__}, expected str or None")
    return items


def _check_scores(scores: Any, n: int, judge: Judge) -> np.ndarray:
    arr = np.asarray(scores, dtype=np.float64)
    if arr.shape != (n,):
        raise ValueError(f"judge {judge!r} returned scores of shape {arr.shape} for {n} pairs")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"judge {judge!r} returned NaN or infinite scores")
    return arr


class _Scorer:
    """Judge calls with a per-batch cache keyed by unordered text-id pair (and prompt if the judge uses it)."""

    def __init__(self, judge: Judge, texts: list[str], batch_size: int, bar: Any) -> None:
        self.rule = judge if isinstance(judge, ShortRuleJudge) else None
        self.judge = judge.inner if isinstance(judge, ShortRuleJudge) else judge
        self.texts = texts
        self.batch_size = batch_size
        self.bar = bar
        self.cache: dict[tuple[str | None, int, int], tuple[float, bool]] = {}
        self.embedding_rows: dict[int, int] = {}
        self.embeddings: list[np.ndarray] = []
        self.n_judged = 0

    def key(self, prompt: str | None, a: int, b: int) -> tuple[str | None, int, int]:
        p = prompt if self.judge.uses_prompt else None
        return (p, a, b) if a < b else (p, b, a)

    def judge_round(self, requests: list[tuple[str | None, int, int]]) -> None:
        """Fill the cache for every (prompt, text_a, text_b) request, first-seen order kept for scoring."""
        todo: dict[tuple[str | None, int, int], tuple[str | None, int, int]] = {}
        for prompt, a, b in requests:
            k = self.key(prompt, a, b)
            if k in self.cache or k in todo:
                continue
            if self.rule is not None:
                rule = self.rule.decide(self.texts[a], self.texts[b])
                if rule is not None:
                    self.cache[k] = (1.0 if rule else 0.0, rule)
                    continue
            todo[k] = (prompt, a, b)
        if not todo:
            return
        self.bar.total = (self.bar.total or 0) + len(todo)
        self.bar.refresh()
        by_prompt: dict[str | None, list[tuple[str | None, int, int]]] = {}
        for k, (prompt, a, b) in todo.items():
            by_prompt.setdefault(k[0], []).append((k, a, b))
        for prompt, items in by_prompt.items():
            for start in range(0, len(items), self.batch_size):
                chunk = items[start : start + self.batch_size]
                scores = self._score([(a, b) for _, a, b in chunk], prompt)
                for (k, _, _), s in zip(chunk, scores):
                    self.cache[k] = (float(s), bool(s > self.judge.threshold))
                self.n_judged += len(chunk)
                self.bar.update(len(chunk))

    def _score(self, id_pairs: list[tuple[int, int]], prompt: str | None) -> np.ndarray:
        judge = self.judge
        if isinstance(judge, EmbeddingJudge):
            self._embed({i for pair in id_pairs for i in pair})
            ia = np.fromiter((self.embedding_rows[a] for a, _ in id_pairs), dtype=np.int64, count=len(id_pairs))
            ib = np.fromiter((self.embedding_rows[b] for _, b in id_pairs), dtype=np.int64, count=len(id_pairs))
            emb = self.embeddings[0] if len(self.embeddings) == 1 else np.concatenate(self.embeddings)
            self.embeddings = [emb]
            extra = {"prompt": prompt} if judge.uses_prompt else {}
            scores = judge.score_embeddings(
                emb[ia], emb[ib], [self.texts[a] for a, _ in id_pairs], [self.texts[b] for _, b in id_pairs], **extra
            )
        else:
            scores = judge.score_pairs([(self.texts[a], self.texts[b]) for a, b in id_pairs], prompt)
        return _check_scores(scores, len(id_pairs), judge)

    def _embed(self, ids: set[int]) -> None:
        missing = sorted(i for i in ids if i not in self.embedding_rows)
        if not missing:
            return
        for start in range(0, len(missing), self.batch_size):
            chunk = missing[start : start + self.batch_size]
            emb = np.asarray(self.judge.embed([self.texts[i] for i in chunk]))  # type: ignore[attr-defined]
            if emb.ndim != 2 or emb.shape[0] != len(chunk):
                raise ValueError(f"judge {self.judge!r} returned embeddings of shape {emb.shape} for {len(chunk)} texts")
            offset = sum(e.shape[0] for e in self.embeddings)
            for r, i in enumerate(chunk):
                self.embedding_rows[i] = offset + r
            self.embeddings.append(emb)


def run_engine(
    groups: Sequence[Sequence[str]],
    prompts: Sequence[str | None] | None,
    partitioner: Partitioner,
    *,
    show_progress: bool = False,
) -> list[list[int]]:
    """Partition ``groups`` with a configured :class:`~diversity_metrics.Partitioner` (the engine proper)."""
    checked = _check_groups(groups)
    prompt_list = _check_prompts(prompts, len(checked))
    if not checked:
        return []
    spec = partitioner.spec

    text_id: dict[str, int] = {}
    uniques: list[list[int]] = []
    inverse: list[list[int]] = []
    for group in checked:
        local: dict[int, int] = {}
        inv = []
        for t in group:
            gid = text_id.setdefault(t, len(text_id))
            inv.append(local.setdefault(gid, len(local)))
        uniques.append(list(local))
        inverse.append(inv)
    texts = list(text_id)

    results: list[list[int] | None] = [None] * len(checked)

    def finish(g: int, local_labels: Sequence[int]) -> None:
        results[g] = canonical([int(local_labels[k]) for k in inverse[g]])

    need_judge = [g for g, u in enumerate(uniques) if len(u) > 1]
    for g, u in enumerate(uniques):
        if len(u) <= 1:
            finish(g, [0] * len(u))
    if not need_judge:
        return [r for r in results if r is not None]
    judge_obj = partitioner.engine_judge()
    if isinstance(judge_obj, SetJudge):
        sub = [[texts[i] for i in uniques[g]] for g in need_judge]
        labels = judge_obj.partition_groups(sub, [prompt_list[g] for g in need_judge])
        if not isinstance(labels, list) or len(labels) != len(sub):
            raise ValueError(f"judge {judge_obj!r} returned {type(labels).__name__} for {len(sub)} groups")
        for g, group_texts, lab in zip(need_judge, sub, labels):
            if len(lab) != len(group_texts) or any(isinstance(x, bool) or int(x) != x or x < 0 for x in lab):
                raise ValueError(f"judge {judge_obj!r} returned labels {lab!r} for a group of {len(group_texts)}")
            finish(g, lab)
        return [r for r in results if r is not None]

    threshold = judge_obj.threshold
    gens: dict[int, Any] = {}
    pending: dict[int, list[tuple[int, int]]] = {}
    for g in need_judge:
        gen = make_strategy(spec.strategy, len(uniques[g]), threshold)
        try:
            pending[g] = next(gen)
            gens[g] = gen
        except StopIteration as stop:
            finish(g, stop.value)

    if pending:
        from tqdm.auto import tqdm

        with tqdm(total=0, unit="pair", desc="partition", disable=not show_progress) as bar:
            scorer = _Scorer(judge_obj, texts, int(spec.batch_size), bar)
            while pending:
                scorer.judge_round(
                    [(prompt_list[g], uniques[g][i], uniques[g][j]) for g, req in pending.items() for i, j in req]
                )
                for g in list(pending):
                    decided = [scorer.cache[scorer.key(prompt_list[g], uniques[g][i], uniques[g][j])] for i, j in pending[g]]
                    scores = np.array([d[0] for d in decided], dtype=np.float64)
                    equivalent = np.array([d[1] for d in decided], dtype=bool)
                    try:
                        pending[g] = gens[g].send((scores, equivalent))
                    except StopIteration as stop:
                        finish(g, stop.value)
                        del pending[g]
                if len(scorer.cache) > _MAX_CACHED_PAIRS:
                    scorer.cache.clear()  # bounded memory: a pair asked again later is judged again
    return [r for r in results if r is not None]


def partition_batch(
    groups: Sequence[Sequence[str]],
    *,
    prompts: Sequence[str | None] | None = None,
    judge: JudgeLike = None,
    judge_options: dict[str, Any] | None = None,
    strategy: str | None = None,
    short_rule: str | bool | None = None,
    device: str | None = None,
    batch_size: int = 1024,
    show_progress: bool = False,
) -> list[list[int]]:
    """Partition many groups of responses (one group per prompt) with shared, batched judge calls.

    Returns, per group, canonical class ids (numbered by first appearance: 0, 1, 2, ...). Identical
    texts share a class without a judge call; a group of one response is ``[0]``; no groups gives ``[]``.
    The keyword form of ``Partitioner(...).partition_batch(groups)``; a judge given by name is built once
    and cached (see :mod:`diversity_metrics.partitioner`).

    Args:
        groups: one list of response strings per prompt (each non-empty).
        prompts: one prompt (or None) per group; passed to judges whose scores depend on it.
        judge: ``None`` (the package default judge), a registry name, a folder, or a judge instance;
            see :func:`diversity_metrics.get_judge`.
        judge_options: options for the judge (checked against its declared options).
        strategy: ``"greedy"`` (NoveltyBench; the default), ``"transitive"`` (DARLING), ``"clique"`` or
            ``"average"``; ``None`` means the default of :class:`~diversity_metrics.PartitionSpec`.
        short_rule: ``"normalized"`` (default), ``"noveltybench"`` or ``"off"``: how pairs of responses with
            <= 5 words each are decided (:mod:`diversity_metrics.judges.short_rule`).
        device: the judge's device, for judges that run a model.
        batch_size: maximum number of pairs per judge call (and texts per embedding call).
        show_progress: show a tqdm progress bar counting judged pairs.

    Example:
        >>> partition_batch([["Paris", "paris", "Rome"], ["yes"]], judge="exact", strategy="transitive")
        [[0, 0, 1], [0]]
        >>> partition_batch([["Paris", "paris", "Rome"]], judge="exact", short_rule="off")
        [[0, 1, 2]]
    """
    from diversity_metrics.partitioner import Partitioner

    partitioner = Partitioner(
        judge=judge, judge_options=judge_options, strategy=strategy, short_rule=short_rule, device=device,
        batch_size=batch_size,
    )
    return partitioner.partition_batch(groups, prompts=prompts, show_progress=show_progress)


def partition(
    responses: Sequence[str],
    *,
    prompt: str | None = None,
    judge: JudgeLike = None,
    judge_options: dict[str, Any] | None = None,
    strategy: str | None = None,
    short_rule: str | bool | None = None,
    device: str | None = None,
) -> list[int]:
    """Partition the responses to one prompt into classes of functionally equivalent responses.

    Returns canonical class ids in first-appearance order; ``distinct = max(ids) + 1``. See
    :func:`partition_batch` for the arguments. A judge named here is built once and reused by later calls
    (:func:`diversity_metrics.partitioner.clear_judge_cache` frees it).

    Example:
        >>> partition(["Blue.", "blue", "A deep red colour"], judge="normalized", short_rule="off")
        [0, 0, 1]
        >>> partition(["Blue.", "blue", "A deep red colour"], judge="exact")  # the short rule merges Blue.
        [0, 0, 1]
        >>> partition(["Blue.", "blue", "A deep red colour"], judge="exact", short_rule="noveltybench")
        [0, 1, 2]
    """
    texts = as_texts(responses, "responses")
    if prompt is not None and not isinstance(prompt, str):
        raise TypeError(f"prompt must be a str or None, got {type(prompt).__name__}")
    return partition_batch(
        [texts], prompts=[prompt], judge=judge, judge_options=judge_options, strategy=strategy,
        short_rule=short_rule, device=device,
    )[0]
