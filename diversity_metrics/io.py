"""Reading generation files and writing per-prompt results incrementally (resumable).

Two input layouts are accepted, one JSON object a line:

* NoveltyBench style -- one prompt a line::

    {"id": "p1", "prompt": "...", "generations": ["...", "..."],
     "partition": [0, 1, 0], "generation_scores": [3, 1, 0]}      # partition / scores optional

* flat -- one response a line, grouped by ``id`` (or by ``prompt`` when there is no id), in order of first
  appearance::

    {"id": "p1", "prompt": "...", "response": "...", "quality": 0.7}   # quality optional
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diversity_metrics._validation import as_float_array, as_partition, as_texts, check_same_length

GENERATION_KEYS = ("generations", "responses")
RESPONSE_KEYS = ("response", "generation", "output")
QUALITY_KEYS = ("generation_scores", "qualities", "scores")
FLAT_QUALITY_KEYS = ("quality", "score", "generation_score")


class InputFormatError(ValueError):
    """An input file that cannot be read as generations; the message names the file and line."""


@dataclass
class Group:
    """The generations for one prompt, with an optional stored partition and per-generation quality.

    The one group record of the package: score files (:func:`load_groups`) and the trainer integrations
    (verl's rendezvous collects a uid's rollouts into one) use it. ``qualities`` entries may be ``None``
    while a quality is still to be computed; ``chats`` holds each generation's conversation when known.
    """

    id: str
    prompt: str | None
    generations: list[str]
    partition: list[int] | None = None
    qualities: list[float | None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    chats: list[Any] = field(default_factory=list)


def read_jsonl(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for each non-blank line; malformed lines raise InputFormatError.

    Malformed means: not UTF-8, not JSON, nested too deeply for the parser, holding a lone surrogate
    (``"\\ud800"``, which no UTF-8 output can hold), or not a JSON object. The message names ``file:line``.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"input file not found: {p}")
    with p.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputFormatError(
                    f"{p}:{lineno}: not valid UTF-8 (byte {raw[exc.start]:#04x} at column {exc.start + 1})"
                ) from None
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputFormatError(f"{p}:{lineno}: not valid JSON ({exc.msg})") from None
            except RecursionError:
                raise InputFormatError(f"{p}:{lineno}: JSON nested too deeply to read") from None
            if not isinstance(obj, dict):
                raise InputFormatError(f"{p}:{lineno}: expected a JSON object, got {type(obj).__name__}")
            try:
                json.dumps(obj, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:
                raise InputFormatError(
                    f"{p}:{lineno}: holds a lone surrogate escape (e.g. \\ud800): not valid Unicode text"
                ) from None
            except RecursionError:
                raise InputFormatError(f"{p}:{lineno}: JSON nested too deeply to read") from None
            yield lineno, obj


def _first_key(obj: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    return next((k for k in keys if k in obj), None)


def load_groups(path: str | os.PathLike[str]) -> list[Group]:
    """Read a NoveltyBench-style or flat JSONL file into one :class:`Group` per prompt.

    Example:
        >>> groups = load_groups(example_path())
        >>> len(groups), len(groups[0].generations)
        (12, 6)
    """
    groups: dict[str, Group] = {}
    flat_quality: dict[str, list[float | None]] = {}
    first_line: dict[str, int] = {}
    layout: str | None = None
    for lineno, obj in read_jsonl(path):
        where = f"{path}:{lineno}"
        gen_key = _first_key(obj, GENERATION_KEYS)
        resp_key = _first_key(obj, RESPONSE_KEYS)
        this_layout = "grouped" if gen_key else "flat" if resp_key else None
        if this_layout is None:
            raise InputFormatError(
                f"{where}: needs a list field {GENERATION_KEYS[0]!r} (one prompt a line) "
                f"or a text field {RESPONSE_KEYS[0]!r} (one response a line)"
            )
        if layout is not None and this_layout != layout:
            raise InputFormatError(f"{where}: mixes one-prompt-a-line and one-response-a-line records")
        layout = this_layout
        prompt = obj.get("prompt")
        if prompt is not None and not isinstance(prompt, str):
            raise InputFormatError(f"{where}: 'prompt' must be a string")
        if layout == "grouped":
            gid = str(obj.get("id", f"line-{lineno}"))
            if gid in groups:
                raise InputFormatError(f"{where}: duplicate id {gid!r}")
            try:
                gens = as_texts(obj[gen_key], gen_key)
                partition = obj.get("partition")
                if partition is not None:
                    partition = as_partition(partition).tolist()
                    check_same_length(partition, gens, "partition", gen_key)
                qkey = _first_key(obj, QUALITY_KEYS)
                qualities = None
                if qkey is not None:
                    qualities = as_float_array(obj[qkey], qkey).tolist()
                    check_same_length(qualities, gens, qkey, gen_key)
            except (TypeError, ValueError) as exc:
                raise InputFormatError(f"{where}: {exc}") from None
            groups[gid] = Group(gid, prompt, gens, partition, qualities)
        else:
            text = obj[resp_key]
            if not isinstance(text, str):
                raise InputFormatError(f"{where}: {resp_key!r} must be a string, got {type(text).__name__}")
            gid = str(obj["id"]) if "id" in obj else prompt
            if gid is None:
                raise InputFormatError(f"{where}: a one-response-a-line record needs an 'id' or a 'prompt' to group by")
            if gid in groups and groups[gid].prompt != prompt:
                raise InputFormatError(
                    f"{where}: id {gid!r} has prompt {prompt!r} here but {groups[gid].prompt!r} at line "
                    f"{first_line[gid]}: one id must keep one prompt"
                )
            first_line.setdefault(gid, lineno)
            group = groups.setdefault(gid, Group(gid, prompt, []))
            group.generations.append(text)
            qkey = _first_key(obj, FLAT_QUALITY_KEYS)
            flat_quality.setdefault(gid, []).append(None if qkey is None else obj[qkey])
    for gid, values in flat_quality.items():
        if all(v is None for v in values):
            continue
        if any(v is None for v in values):
            raise InputFormatError(f"{path}: group {gid!r} gives a quality for some responses but not all")
        try:
            groups[gid].qualities = as_float_array(values, f"quality of group {gid!r}").tolist()
        except (TypeError, ValueError) as exc:
            raise InputFormatError(f"{path}: {exc}") from None
    if not groups:
        raise InputFormatError(f"{path}: no records")
    return list(groups.values())


class ResultWriter:
    """Append one JSON line per finished prompt, flushed to disk at once, so an interrupted run loses nothing.

    With ``resume=True`` the ids already in ``path`` are skipped (see :attr:`done`); a partial last line left by
    a crash is dropped. With ``resume=False`` the file is started afresh.

    The output is locked (``fcntl.flock`` on the file itself, where the platform has it) for as long as the
    writer is open: a second run writing the same output fails at once instead of interleaving lines.
    ``path`` must be a regular file or not exist (a folder or a device such as ``/dev/full`` is refused).
    """

    def __init__(self, path: str | os.PathLike[str], *, resume: bool = True) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_file():
            kind = "a folder" if self.path.is_dir() else "not a regular file"
            raise ValueError(f"output {self.path} is {kind}; give a file name for the results")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.records: dict[str, dict[str, Any]] = {}
        self._fh = self.path.open("a+", encoding="utf-8")
        try:
            self._lock()
            if resume:
                self._load_existing()
            else:
                self._fh.truncate(0)
        except BaseException:
            self._fh.close()
            raise

    def _lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory lock
            return
        try:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(
                f"another run is writing {self.path} (it holds the file's lock); wait for it to finish or choose "
                "another --output"
            ) from None

    def _load_existing(self) -> None:
        self._fh.seek(0)
        raw = self._fh.read()
        lines = raw.split("\n")
        complete, tail = lines[:-1], lines[-1]
        good: list[str] = []
        for lineno, line in enumerate(complete + ([tail] if tail.strip() else []), start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                break  # a line cut short by an interruption: recompute from here
            except RecursionError:
                raise ValueError(f"{self.path}:{lineno}: is not a results file (JSON nested too deeply)") from None
            if not isinstance(rec, dict) or "id" not in rec:
                raise ValueError(
                    f"{self.path}:{lineno}: is not a result record (no 'id'); this file is not a results file of "
                    "`diversity-metrics score`: pass --no-resume to overwrite it, or choose another --output"
                )
            self.records[str(rec["id"])] = rec
            good.append(line)
        self._fh.seek(0)
        self._fh.truncate(0)
        self._fh.write("".join(line + "\n" for line in good))
        self._fh.flush()

    @property
    def done(self) -> set[str]:
        """Ids of the prompts already written."""
        return set(self.records)

    def write(self, record: dict[str, Any]) -> None:
        """Write one record (must have an ``id``) and flush it to disk."""
        self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self.records[str(record["id"])] = record

    def close(self) -> None:
        self._fh.close()  # releases the lock

    def __enter__(self) -> ResultWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def example_path() -> Path:
    """Path of the example file shipped with the package (12 prompts, 6 responses each)."""
    return Path(__file__).resolve().parent / "examples" / "example.jsonl"
