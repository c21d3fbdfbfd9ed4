"""LLM set judge: one chat-completions call per prompt sees all k responses and returns the groups.

NoveltyBench's metric version 1.1 (Zhang et al., 2025, arXiv 2504.05228; ``JUDGE_SYSTEM`` and
``partition_llm`` in ``src/partition.py`` of github.com/novelty-bench/novelty-bench) replaced the pairwise
classifier by a single structured-output LLM call per prompt. This judge does the same against any
OpenAI-compatible ``/v1/chat/completions`` endpoint (vLLM, SGLang, a hosted API). The instruction text is
our own (:data:`INSTRUCTION`, versioned by :data:`INSTRUCTION_VERSION`), built on NoveltyBench's definition
of functional equivalence: two responses are equivalent iff a user who has read one would gain
essentially nothing from reading the other.

One call per prompt:

1. identical texts are merged (they share a class by definition); a group with one distinct text needs
   no call;
2. the distinct responses are shown in a seeded shuffled order (``random.Random(f"{seed}\\x00{prompt}")``,
   ``seed=None`` keeps the given order) and numbered 1..n;
3. the answer must be ``{"groups": [[ids], ...]}``; it is requested with
   ``response_format = {"type": "json_schema", ...}`` (structured output) and, when the server rejects
   that with HTTP 400, with plain JSON instructions instead (remembered for the judge's lifetime);
4. the answer is validated: every id 1..n exactly once, no unknown id, integers only. A malformed answer
   (not JSON, missing, duplicated or out-of-range ids) is asked for again, ``answer_retries`` times in
   all, then :class:`LLMAnswerError` (a ``ValueError``) names the prompt and the last problem; a partial
   partition is never returned;
5. the labels are mapped back to the original order.

Transport: connection errors, timeouts and HTTP 429/5xx are retried ``retries`` times in all with
exponential backoff (``backoff * 2**attempt`` seconds), honouring a ``Retry-After`` header; one prompt's
work (every attempt and wait) must finish within ``deadline`` seconds, else ``TimeoutError``. Transport
failures beyond ``retries`` raise ``ConnectionError`` naming the URL; other HTTP errors (401, 404, ...)
raise ``RuntimeError`` with the status at once. ``concurrency`` prompts are judged at once (a thread
pool). With ``cache_dir`` every finished partition is stored on disk under a key of (instruction
version, model, seed, prompt, distinct responses), so a resumed run does not pay twice.

The API key is read from the environment variable named by ``api_key_env`` (default
``OPENAI_API_KEY``) at each request and sent as ``Authorization: Bearer``; it is never stored on the
judge, logged, shown in ``repr`` or errors, nor part of the settings (the server's error text is shown
with the key masked). No key set -> no header (a local vLLM/SGLang server).

Example:
    >>> from diversity_metrics.judges import get_judge
    >>> judge = get_judge("llm", url="http://127.0.0.1:8000", model="Qwen/Qwen3-8B")  # doctest: +SKIP
    >>> judge.partition_groups([["Paris.", "It is Paris", "Rome"]], ["Capital of France?"])  # doctest: +SKIP
    [[0, 0, 1]]
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import os
import random
import re
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

from diversity_metrics.judges.base import PATH_KIND, JudgeOption, SetJudge

__all__ = [
    "LLMSetJudge",
    "LLMJudge",
    "LLMAnswerError",
    "INSTRUCTION",
    "INSTRUCTION_VERSION",
    "answer_schema",
    "build_messages",
    "parse_groups",
    "shuffled_order",
]

log = logging.getLogger(__name__)

INSTRUCTION_VERSION = "dm-llm-partition-1"

INSTRUCTION = """\
You will see one prompt and several numbered responses that a language model gave to it. \
Sort the responses into groups of functionally equivalent responses.

Two responses are functionally equivalent when a user who has already read one of them would gain \
essentially nothing from reading the other: they give the same central answer, choice, recommendation, \
story, argument or idea, and differ only in wording, tone, formatting, length, ordering or minor details. \
They are different when their central content differs, even if they share a structure or a style. \
Two lists are different only when most of their items differ.

Put every response in exactly one group. A response that is equivalent to no other response forms a \
group of its own. Use the response numbers exactly as shown and list each number once.\
"""

_PLAIN_JSON_SUFFIX = (
    "\n\nAnswer with one JSON object and nothing else, of the form "
    '{{"groups": [[1, 3], [2], ...]}}, where the groups together hold every number from 1 to {n} exactly once.'
)


class LLMAnswerError(ValueError):
    """The LLM never gave a valid partition (after ``answer_retries`` attempts); names the prompt and the problem."""


def shuffled_order(prompt: str | None, n: int, seed: int | None) -> list[int]:
    """The order responses are shown in: ``order[j]`` is the original index shown as number ``j + 1``.

    Example:
        >>> shuffled_order("p", 4, None)
        [0, 1, 2, 3]
        >>> sorted(shuffled_order("p", 4, 0))
        [0, 1, 2, 3]
    """
    order = list(range(n))
    if seed is not None:
        random.Random(f"{seed}\x00{prompt or ''}").shuffle(order)
    return order


def answer_schema(n: int) -> dict[str, Any]:
    """The JSON schema of the answer for ``n`` responses: ``{"groups": [[int 1..n, ...], ...]}``."""
    return {
        "type": "object",
        "properties": {
            "groups": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"type": "integer", "minimum": 1, "maximum": n},
                },
            }
        },
        "required": ["groups"],
        "additionalProperties": False,
    }


def build_messages(prompt: str | None, shown: Sequence[str], *, structured: bool = True) -> list[dict[str, str]]:
    """The chat messages for one prompt: the fixed instruction, then the prompt and numbered responses.

    Example:
        >>> msgs = build_messages("Name a colour", ["Red", "Blue"])
        >>> [m["role"] for m in msgs]
        ['system', 'user']
        >>> '<response number="2">' in msgs[1]["content"]
        True
    """
    parts = [f"<prompt>\n{prompt if prompt is not None else '(not given)'}\n</prompt>"]
    for j, text in enumerate(shown, start=1):
        parts.append(f'<response number="{j}">\n{text}\n</response>')
    user = "\n\n".join(parts)
    user += f"\n\nThere are {len(shown)} responses, numbered 1 to {len(shown)}."
    system = INSTRUCTION if structured else INSTRUCTION + _PLAIN_JSON_SUFFIX.format(n=len(shown))
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def parse_groups(content: Any, n: int) -> list[int]:
    """Validate an answer and return one group index per shown number (``labels[j]`` for number ``j + 1``).

    Raises ``ValueError`` saying what is wrong: not JSON, no ``groups`` list, a non-integer id, an id
    outside 1..n, an id listed twice, or ids in no group.

    Example:
        >>> parse_groups('{"groups": [[1, 3], [2]]}', 3)
        [0, 1, 0]
        >>> parse_groups('{"groups": [[1, 3]]}', 3)
        Traceback (most recent call last):
        ...
        ValueError: responses [2] are in no group
    """
    if isinstance(content, str):
        text = content.strip()
        fenced = _FENCE.match(text)
        if fenced:
            text = fenced.group(1)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"the answer is not JSON ({exc.msg}); it starts {content[:80]!r}") from None
    else:
        data = content
    if not isinstance(data, dict) or not isinstance(data.get("groups"), list):
        raise ValueError(f"the answer has no 'groups' list: {str(data)[:80]!r}")
    labels: list[int | None] = [None] * n
    for g, members in enumerate(data["groups"]):
        if not isinstance(members, list):
            raise ValueError(f"groups[{g}] is {type(members).__name__}, expected a list of response numbers")
        for m in members:
            if isinstance(m, bool) or not isinstance(m, int):
                raise ValueError(f"groups[{g}] holds {m!r}, expected integer response numbers")
            if not 1 <= m <= n:
                raise ValueError(f"response number {m} is out of range 1..{n}")
            if labels[m - 1] is not None:
                raise ValueError(f"response {m} is listed more than once")
            labels[m - 1] = g
    missing = [j + 1 for j, lab in enumerate(labels) if lab is None]
    if missing:
        raise ValueError(f"responses {missing} are in no group")
    return [int(lab) for lab in labels]  # type: ignore[arg-type]


def _endpoint(url: str) -> str:
    base = url.rstrip("/")
    if base.endswith("/chat/completions"):
        return base
    if base.endswith("/v1"):
        return base + "/chat/completions"
    return base + "/v1/chat/completions"


def _retry_after(exc: urllib.error.HTTPError) -> float | None:
    value = exc.headers.get("Retry-After") if exc.headers is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class _SchemaRejected(Exception):
    """HTTP 400 to a request that carried ``response_format``: retry in plain JSON mode."""


class LLMSetJudge(SetJudge):
    """Partition each group with one call to an OpenAI-compatible chat-completions server.

    See the module docstring for the protocol, retries and cache. ``get_judge("llm", url=..., model=...)``
    builds one; the engine (:func:`diversity_metrics.partition`, ``score --judge llm``) calls
    :meth:`partition_groups` instead of a pairwise strategy.

    Example:
        >>> judge = LLMSetJudge(url="http://127.0.0.1:8000", model="m", seed=1)
        >>> judge
        LLMSetJudge(url='http://127.0.0.1:8000/v1/chat/completions', model='m', seed=1)
    """

    name = "llm"
    uses_prompt = True
    instruction_version: ClassVar[str] = INSTRUCTION_VERSION
    VERSION: ClassVar[str | None] = INSTRUCTION_VERSION  # part of the metric version
    # transport options (url, key, timeouts, retries, concurrency, cache) cannot change a partition:
    # affects_result=False keeps them out of the stored settings and the metric version
    OPTIONS: ClassVar[tuple[JudgeOption, ...]] = (
        JudgeOption("url", str, help="server base URL (http://host:port[/v1]) or the full /chat/completions URL",
                    affects_result=False),
        JudgeOption("model", str, help="model name the server serves (the request's 'model')"),
        JudgeOption("api_key_env", str, "OPENAI_API_KEY", "name of the environment variable holding the API key",
                    affects_result=False),
        JudgeOption("seed", int, 0, "seed of the order responses are shown in (null: the given order)", nullable=True),
        JudgeOption("temperature", float, 0.0, "sampling temperature of the judge model"),
        JudgeOption("max_tokens", int, None, "answer token limit sent to the server (null: server default)"),
        JudgeOption("structured_output", str, "auto", "auto: json_schema, plain JSON if the server rejects it",
                    choices=("auto", "json_schema", "off")),
        JudgeOption("timeout", float, 120.0, "seconds one HTTP request may take", affects_result=False),
        JudgeOption("retries", int, 4, "attempts per request for connection errors, timeouts, HTTP 429/5xx",
                    affects_result=False),
        JudgeOption("backoff", float, 1.0, "first retry wait in seconds (doubles each retry; Retry-After wins)",
                    affects_result=False),
        JudgeOption("deadline", float, 600.0, "seconds one prompt's partition may take, all retries included",
                    affects_result=False),
        JudgeOption("answer_retries", int, 3, "attempts per prompt when the answer is not a valid partition",
                    affects_result=False),
        JudgeOption("concurrency", int, 8, "prompts judged at once", affects_result=False),
        JudgeOption("cache_dir", PATH_KIND, None, "folder of the on-disk answer cache (null: no cache)",
                    affects_result=False),
    )

    def __init__(
        self,
        url: str,
        model: str,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        seed: int | None = 0,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        structured_output: str = "auto",
        timeout: float = 120.0,
        retries: int = 4,
        backoff: float = 1.0,
        deadline: float = 600.0,
        answer_retries: int = 3,
        concurrency: int = 8,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        for opt in self.OPTIONS:
            value = locals()[opt.name]
            opt.check(value, self.name)
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"judge 'llm' url must start with http:// or https://, got {url!r}")
        if not model:
            raise ValueError("judge 'llm' needs a non-empty model=")
        if not api_key_env.isidentifier():
            raise ValueError(f"judge 'llm' api_key_env must be an environment variable name, got {api_key_env!r}")
        for label, value in (("timeout", timeout), ("deadline", deadline)):
            if not value > 0:
                raise ValueError(f"judge 'llm' {label} must be positive seconds, got {value!r}")
        if backoff < 0:
            raise ValueError(f"judge 'llm' backoff must be >= 0 seconds, got {backoff!r}")
        for label, value in (("retries", retries), ("answer_retries", answer_retries), ("concurrency", concurrency)):
            if value < 1:
                raise ValueError(f"judge 'llm' {label} must be >= 1, got {value!r}")
        if max_tokens is not None and max_tokens < 1:
            raise ValueError(f"judge 'llm' max_tokens must be null or >= 1, got {max_tokens!r}")
        self.url = _endpoint(url)
        self.model = model
        self.api_key_env = api_key_env
        self.seed = None if seed is None else int(seed)
        self.temperature = float(temperature)
        self.max_tokens = max_tokens
        self.structured_output = structured_output
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.deadline = float(deadline)
        self.answer_retries = int(answer_retries)
        self.concurrency = int(concurrency)
        self.cache_dir = None if cache_dir is None else Path(cache_dir).expanduser()
        self._structured = structured_output != "off"
        self._lock = threading.Lock()
        self.calls = 0  # chat-completions requests sent (all attempts), for tests and cost accounting
        self.cache_hits = 0

    # ------------------------------------------------------------------ public protocol
    def partition_groups(self, groups: Sequence[Sequence[str]], prompts: Sequence[str | None]) -> list[list[int]]:
        """One list of class ids per group (canonical: numbered by first appearance)."""
        groups = [list(g) for g in groups]
        prompts = list(prompts)
        if len(prompts) != len(groups):
            raise ValueError(f"prompts and groups have mismatched lengths: {len(prompts)} != {len(groups)}")
        for g, group in enumerate(groups):
            if not group:
                raise ValueError(f"groups[{g}] is empty: a group needs at least one response")
            for i, t in enumerate(group):
                if not isinstance(t, str):
                    raise TypeError(f"groups[{g}][{i}] is {type(t).__name__}, expected str")
        if len(groups) <= 1 or self.concurrency == 1:
            return [self._partition_one(g, p) for g, p in zip(groups, prompts)]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(groups))) as pool:
            futures = [pool.submit(self._partition_one, g, p) for g, p in zip(groups, prompts)]
            try:
                return [f.result() for f in futures]
            except BaseException:
                for f in futures:  # prompts not started yet are dropped; finished ones are in the cache
                    f.cancel()
                raise

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.url!r}, model={self.model!r}, seed={self.seed!r})"

    # ------------------------------------------------------------------ one group
    def _partition_one(self, group: list[str], prompt: str | None) -> list[int]:
        distinct = list(dict.fromkeys(group))
        if len(distinct) == 1:
            return [0] * len(group)
        key = self._cache_key(prompt, distinct)
        labels = self._cache_get(key, len(distinct))
        if labels is None:
            labels = self._ask(prompt, distinct)
            self._cache_put(key, labels)
        else:
            with self._lock:
                self.cache_hits += 1
        index = {t: i for i, t in enumerate(distinct)}
        seen: dict[int, int] = {}
        return [seen.setdefault(labels[index[t]], len(seen)) for t in group]

    def _ask(self, prompt: str | None, distinct: list[str]) -> list[int]:
        n = len(distinct)
        order = shuffled_order(prompt, n, self.seed)
        shown = [distinct[i] for i in order]
        start = time.monotonic()
        problem = ""
        for attempt in range(1, self.answer_retries + 1):
            content = self._complete(prompt, shown, start)
            try:
                by_number = parse_groups(content, n)
            except ValueError as exc:
                problem = str(exc)
                log.warning("llm judge %s: invalid answer (attempt %d/%d): %s", self.model, attempt,
                            self.answer_retries, problem)
                continue
            labels = [0] * n
            for j, g in enumerate(by_number):
                labels[order[j]] = g
            return labels
        raise LLMAnswerError(
            f"llm judge {self.model!r} at {self.url} gave no valid partition of {n} responses for prompt "
            f"{(prompt or '')[:80]!r} in {self.answer_retries} attempt(s); last problem: {problem}"
        )

    def _complete(self, prompt: str | None, shown: list[str], start: float) -> Any:
        """The answer content of one chat completion (str, or a parsed object), with the schema fallback."""
        while True:
            structured = self._structured
            payload: dict[str, Any] = {
                "model": self.model,
                "messages": build_messages(prompt, shown, structured=structured),
                "temperature": self.temperature,
            }
            if self.seed is not None:
                payload["seed"] = self.seed
            if self.max_tokens is not None:
                payload["max_tokens"] = self.max_tokens
            if structured:
                payload["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": "partition", "strict": True, "schema": answer_schema(len(shown))},
                }
            try:
                reply = self._post(payload, start, structured)
            except _SchemaRejected as exc:
                if self.structured_output == "json_schema":
                    raise RuntimeError(
                        f"llm judge {self.url} rejected the json_schema response_format (HTTP 400: {exc}); "
                        "use structured_output=auto to fall back to plain JSON"
                    ) from None
                log.warning("llm judge %s rejected json_schema structured output (%s); using plain JSON", self.url, exc)
                with self._lock:
                    self._structured = False
                continue
            return self._content(reply)

    def _content(self, reply: bytes) -> Any:
        try:
            data = json.loads(reply)
            message = data["choices"][0]["message"]
        except (ValueError, KeyError, IndexError, TypeError):
            return f"<not a chat completion: {reply[:80]!r}>"
        if isinstance(message, dict) and message.get("parsed") is not None:
            return message["parsed"]
        content = message.get("content") if isinstance(message, dict) else None
        if content is None:
            refusal = message.get("refusal") if isinstance(message, dict) else None
            return f"<no content{': refusal ' + repr(refusal) if refusal else ''}>"
        return content

    # ------------------------------------------------------------------ transport
    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _mask(self, text: str) -> str:
        key = os.environ.get(self.api_key_env)
        return text.replace(key, "***") if key else text

    def _post(self, payload: dict[str, Any], start: float, structured: bool) -> bytes:
        body = json.dumps(payload).encode()
        last = ""
        for attempt in range(1, self.retries + 1):
            remaining = self.deadline - (time.monotonic() - start)
            if remaining <= 0:
                break
            request = urllib.request.Request(self.url, data=body, headers=self._headers(), method="POST")
            with self._lock:
                self.calls += 1
            wait = self.backoff * 2 ** (attempt - 1)
            try:
                with urllib.request.urlopen(request, timeout=min(self.timeout, remaining)) as response:
                    return response.read()
            except urllib.error.HTTPError as exc:
                detail = self._mask(exc.read(300).decode(errors="replace"))
                if exc.code == 429 or exc.code >= 500:
                    last = f"HTTP {exc.code}: {detail}"
                    after = _retry_after(exc)
                    if after is not None:
                        wait = after
                elif exc.code == 400 and structured and self.structured_output != "off":
                    raise _SchemaRejected(detail) from None
                else:
                    raise RuntimeError(f"llm judge {self.url} answered HTTP {exc.code}: {detail}") from None
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
                last = self._mask(f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}")
            if attempt == self.retries:
                break
            remaining = self.deadline - (time.monotonic() - start)
            if wait >= remaining:
                raise TimeoutError(
                    f"llm judge {self.url}: the next retry (in {wait:g}s) would pass the deadline of "
                    f"{self.deadline:g}s for one prompt; last error: {last}"
                )
            log.warning("llm judge %s: %s; retry %d/%d in %.2gs", self.url, last, attempt + 1, self.retries, wait)
            time.sleep(wait)
        elapsed = time.monotonic() - start
        if elapsed >= self.deadline:
            raise TimeoutError(
                f"llm judge {self.url}: no answer within the deadline of {self.deadline:g}s for one prompt "
                f"(timeout {self.timeout:g}s a request); last error: {last or 'none'}"
            )
        raise ConnectionError(
            f"llm judge could not get an answer from {self.url} after {self.retries} attempt(s) "
            f"(timeout {self.timeout:g}s): {last}"
        )

    # ------------------------------------------------------------------ cache
    def _cache_key(self, prompt: str | None, distinct: list[str]) -> str:
        payload = {
            "instruction": self.instruction_version,
            "model": self.model,
            "seed": self.seed,
            "temperature": self.temperature,
            "prompt": prompt,
            "responses": distinct,
        }
        return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()).hexdigest()

    def _cache_path(self, key: str) -> Path:
        assert self.cache_dir is not None
        return self.cache_dir / key[:2] / f"{key}.json"

    def _cache_get(self, key: str, n: int) -> list[int] | None:
        if self.cache_dir is None:
            return None
        path = self._cache_path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            labels = data["labels"]
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing or unreadable entries are recomputed
        if (
            not isinstance(labels, list)
            or len(labels) != n
            or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in labels)
        ):
            return None
        return labels

    def _cache_put(self, key: str, labels: list[int]) -> None:
        if self.cache_dir is None:
            return
        path = self._cache_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {"labels": labels, "instruction": self.instruction_version, "model": self.model, "seed": self.seed}
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(record, fh)
        os.replace(tmp, path)


LLMJudge = LLMSetJudge
