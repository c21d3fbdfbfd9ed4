"""Labelled equivalence pairs in NoveltyBench's format: reading, checking, hashing and grouped splits.

One JSON object per line with ``generation_0``, ``generation_1`` (strings) and ``similar`` (0/1 or
bool, 1 = functionally equivalent); ``prompt`` is optional and is used only to group splits so that no
prompt lands on both sides of a split.

Example:
    >>> pairs = load_pairs("equivalence_pairs_train.jsonl")       # doctest: +SKIP
    >>> pairs.labels.mean()                                       # doctest: +SKIP
    0.327
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from diversity_metrics.io import read_jsonl

__all__ = ["PairData", "file_sha256", "grouped_folds", "grouped_split", "load_pairs"]

REQUIRED_FIELDS = ("generation_0", "generation_1", "similar")


@dataclass(frozen=True)
class PairData:
    """Row-aligned pair texts, 0/1 labels, group keys (the prompt, or the row index without one) and prompts."""

    texts_a: list[str]
    texts_b: list[str]
    labels: np.ndarray
    groups: list[str]
    prompts: list[str | None] | None = None

    def prompt_list(self) -> list[str | None]:
        """One prompt (or None) per row."""
        return list(self.prompts) if self.prompts is not None else [None] * len(self.texts_a)

    def __len__(self) -> int:
        return len(self.texts_a)

    def subset(self, idx: np.ndarray) -> PairData:
        idx = np.asarray(idx, dtype=np.int64)
        return PairData(
            [self.texts_a[i] for i in idx],
            [self.texts_b[i] for i in idx],
            self.labels[idx],
            [self.groups[i] for i in idx],
            None if self.prompts is None else [self.prompts[i] for i in idx],
        )


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes (stored in a trained judge's config as ``training_data_sha256``)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _label(value: object, line: int) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)) and value in (0, 1):
        return int(value)
    raise ValueError(f"pairs_path line {line}: field 'similar' must be 0, 1, true or false, got {value!r}")


def load_pairs(path: str | os.PathLike[str]) -> PairData:
    """Read and check a JSONL file of labelled pairs; raise ValueError naming the line and the problem."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"pairs_path {os.fspath(path)!r} is not a file")
    texts_a: list[str] = []
    texts_b: list[str] = []
    labels: list[int] = []
    groups: list[str] = []
    prompts: list[str | None] = []
    for line_no, row in read_jsonl(p):
        missing = [k for k in REQUIRED_FIELDS if k not in row]
        if missing:
            raise ValueError(f"pairs_path line {line_no}: missing field(s) {missing}; need {list(REQUIRED_FIELDS)}")
        for key in ("generation_0", "generation_1"):
            if not isinstance(row[key], str):
                raise ValueError(f"pairs_path line {line_no}: field {key!r} must be a string")
        texts_a.append(row["generation_0"])
        texts_b.append(row["generation_1"])
        labels.append(_label(row["similar"], line_no))
        prompt = row.get("prompt")
        groups.append(prompt if isinstance(prompt, str) else f"#row{len(groups)}")
        prompts.append(prompt if isinstance(prompt, str) else None)
    if not labels:
        raise ValueError(f"pairs_path {os.fspath(path)!r} holds no pairs")
    y = np.asarray(labels, dtype=np.int64)
    if y.min() == y.max():
        raise ValueError(
            f"pairs_path {os.fspath(path)!r}: all {len(y)} labels are {int(y[0])}; training needs both "
            "equivalent (1) and different (0) pairs"
        )
    return PairData(texts_a, texts_b, y, groups, prompts)


def _group_ids(groups: list[str]) -> np.ndarray:
    index: dict[str, int] = {}
    return np.array([index.setdefault(g, len(index)) for g in groups], dtype=np.int64)


def grouped_split(groups: list[str], fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split row indices into (rest, held) with about ``fraction`` of the groups held out (seeded).

    Whole groups move together, so no prompt appears on both sides.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction!r}")
    gid = _group_ids(groups)
    n_groups = int(gid.max()) + 1
    order = np.random.default_rng(seed).permutation(n_groups)
    n_held = max(1, round(fraction * n_groups))
    if n_held >= n_groups:
        raise ValueError(f"cannot hold out {fraction!r} of only {n_groups} prompt group(s)")
    held_groups = np.zeros(n_groups, dtype=bool)
    held_groups[order[:n_held]] = True
    held = held_groups[gid]
    return np.flatnonzero(~held), np.flatnonzero(held)


def grouped_folds(groups: list[str], labels: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """Fold id per row (0..n_folds-1), whole groups per fold, label-stratified (sklearn StratifiedGroupKFold)."""
    from sklearn.model_selection import StratifiedGroupKFold

    fold = np.empty(len(groups), dtype=np.int64)
    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    for k, (_, test) in enumerate(splitter.split(np.zeros(len(groups)), labels, _group_ids(groups))):
        fold[test] = k
    return fold


def load_group_pairs(paths: Sequence[str | os.PathLike[str]], per_file: int, seed: int) -> PairData:
    """Pairs from paraphrase-group files (``prompt``, ``paraphrases``, ``different``; benchmarks/data/*.jsonl).

    From each file in turn, ``per_file`` groups drawn with one ``numpy.random.default_rng(seed)`` (shuffle, then
    the first ``per_file``); each group gives its paraphrase / paraphrase pairs labelled 1 and its paraphrase /
    different-answer pairs labelled 0. The group key of every pair is ``"<file stem>#<row>"``.

    Example:
        >>> load_group_pairs(["benchmarks/data/paraphrase_train.jsonl"], 2, 0).labels.tolist()  # doctest: +SKIP
        [1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    """
    if not (isinstance(per_file, int) and not isinstance(per_file, bool) and per_file >= 1):
        raise ValueError(f"per_file must be an integer >= 1, got {per_file!r}")
    rng = np.random.default_rng(seed)
    texts_a: list[str] = []
    texts_b: list[str] = []
    labels: list[int] = []
    groups: list[str] = []
    prompts: list[str | None] = []
    for path in paths:
        p = Path(path)
        if not p.is_file():
            raise ValueError(f"paraphrase group file {os.fspath(path)!r} is not a file")
        rows = []
        for line_no, row in read_jsonl(p):
            para, diff, prompt = row.get("paraphrases"), row.get("different"), row.get("prompt")
            ok = all(isinstance(v, list) and v and all(isinstance(t, str) for t in v) for v in (para, diff))
            if not ok or len(para) < 2 or not isinstance(prompt, str):
                raise ValueError(
                    f"{p.name} line {line_no}: a group needs a string 'prompt', >= 2 'paraphrases' and >= 1 "
                    "'different' answers (lists of strings)"
                )
            rows.append((line_no, row))
        rng.shuffle(rows)
        for line_no, row in rows[:per_file]:
            para, diff = row["paraphrases"], row["different"]
            pairs = [(a, b, 1) for i, a in enumerate(para) for b in para[i + 1 :]]
            pairs += [(a, b, 0) for a in para for b in diff]
            for a, b, label in pairs:
                texts_a.append(a)
                texts_b.append(b)
                labels.append(label)
                groups.append(f"{p.stem}#{line_no}")
                prompts.append(row["prompt"])
    if not labels:
        raise ValueError("no paraphrase groups given")
    return PairData(texts_a, texts_b, np.asarray(labels, dtype=np.int64), groups, prompts)
