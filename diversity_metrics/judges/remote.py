"""Remote judge: a pair classifier served by vLLM (``vllm serve MODEL --task classify``).

DARLING serves its partition classifier this way. Each pair becomes one text, as in DARLING's reward
code::

    "[CLS] <words of a> [SEP] <words of b> [SEP]"

(words = whitespace split, optionally cut to ``max_words`` per side; the special-token strings are
configurable), and texts are POSTed to ``{url}/classify`` as ``{"model": ..., "input": [text, ...]}``.
The score is ``data[i]["probs"][positive_class]`` (DARLING: the last class). Several requests run
concurrently (``max_workers``), each with ``batch_size`` texts.

Bounds: ``timeout`` is a TOTAL deadline per request (connect, send, headers and body together; a server
that drips bytes is cut off when it passes), and a reply larger than ``max_response_bytes`` is refused.

Failures: connection errors, timeouts and HTTP 5xx/429 are retried ``retries`` times with exponential
backoff (``backoff * 2**attempt`` seconds); then ``ConnectionError`` names the URL and the last error.
Other HTTP errors raise ``RuntimeError`` with the status and the start of the body at once. A reply that
is not what vLLM sends raises ``ValueError`` naming the URL and the problem: not a JSON object, ``data``
not a list of objects, an ``index`` that is not an integer in ``[0, n)`` or appears twice, a missing
``probs[positive_class]``, a probability outside ``[0, 1]``, the wrong number of results, or too many
bytes. Uses only the standard library (``http.client``; proxies from the environment are not used).
"""

from __future__ import annotations

import http.client
import json
import math
import socket
import threading
import time
import urllib.parse
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from diversity_metrics.judges.base import THRESHOLD_OPTION, JudgeOption, batch_size_option, Judge, Pair
from diversity_metrics.judges.lexical import _as_pairs

__all__ = ["RemoteJudge", "format_remote_pair"]


def format_remote_pair(
    a: str, b: str, *, cls_token: str = "[CLS]", sep_token: str = "[SEP]", max_words: int | None = None
) -> str:
    """DARLING's text form of a pair: ``"[CLS] a [SEP] b [SEP]"`` with whitespace-normalised sides.

    Example:
        >>> format_remote_pair("a  b", "c", max_words=1)
        '[CLS] a [SEP] c [SEP]'
    """
    wa, wb = a.split(), b.split()
    if max_words is not None:
        wa, wb = wa[:max_words], wb[:max_words]
    return f"{cls_token} {' '.join(wa)} {sep_token} {' '.join(wb)} {sep_token}"


class RemoteJudge(Judge):
    """Score pairs with a vLLM ``/classify`` server.

    Example:
        >>> judge = RemoteJudge("http://localhost:8000", model="similarity", threshold=0.5)  # doctest: +SKIP
        >>> judge.score_pairs([("a long answer ...", "another answer ...")])                 # doctest: +SKIP
    """

    OPTIONS = (
        JudgeOption("url", str, help="base URL of the server, e.g. http://127.0.0.1:8000", affects_result=False),
        JudgeOption("model", str, None, "model name sent with each request"),
        THRESHOLD_OPTION,
        JudgeOption("timeout", float, 30.0, "total deadline per request in seconds (connect + reply)", affects_result=False),
        JudgeOption("retries", int, 3, "attempts per request", affects_result=False),
        JudgeOption("backoff", float, 0.5, "first retry delay in seconds (doubles)", affects_result=False),
        batch_size_option(32),
        JudgeOption("max_workers", int, 8, "concurrent requests", affects_result=False),
        JudgeOption("positive_class", int, -1, "index of 'equivalent' in each probability list"),
        JudgeOption("cls_token", str, "[CLS]", "classifier token of the served model"),
        JudgeOption("sep_token", str, "[SEP]", "separator token of the served model"),
        JudgeOption("max_words", int, None, "truncate each side to this many words"),
        JudgeOption("endpoint", str, "/classify", "path of the classify endpoint", affects_result=False),
        JudgeOption("max_response_bytes", int, 16 * 2**20, "largest reply accepted, in bytes"),
    )

    name = "remote"

    def __init__(
        self,
        url: str,
        *,
        model: str | None = None,
        threshold: float = 0.5,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
        batch_size: int = 32,
        max_workers: int = 8,
        positive_class: int = -1,
        cls_token: str = "[CLS]",
        sep_token: str = "[SEP]",
        max_words: int | None = None,
        endpoint: str = "/classify",
        max_response_bytes: int = 16 * 2**20,
    ) -> None:
        super().__init__(threshold)
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https://, got {url!r}")
        if not timeout > 0:
            raise ValueError(f"timeout must be positive seconds, got {timeout!r}")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 1:
            raise ValueError(f"retries must be an integer >= 1 (number of attempts), got {retries!r}")
        if backoff < 0:
            raise ValueError(f"backoff must be >= 0 seconds, got {backoff!r}")
        if batch_size < 1 or max_workers < 1:
            raise ValueError(f"batch_size and max_workers must be >= 1, got {batch_size!r} and {max_workers!r}")
        if max_words is not None and max_words < 1:
            raise ValueError(f"max_words must be None or >= 1, got {max_words!r}")
        if isinstance(max_response_bytes, bool) or not isinstance(max_response_bytes, int) or max_response_bytes < 1:
            raise ValueError(f"max_response_bytes must be a positive integer, got {max_response_bytes!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not math.isfinite(timeout):
            raise ValueError(f"timeout must be positive seconds, got {timeout!r}")
        self.url = url.rstrip("/") + "/" + endpoint.lstrip("/")
        self.model = model
        self.timeout = float(timeout)
        self.retries = retries
        self.backoff = float(backoff)
        self.batch_size = int(batch_size)
        self.max_workers = int(max_workers)
        self.positive_class = int(positive_class)
        self.cls_token, self.sep_token, self.max_words = cls_token, sep_token, max_words
        self.max_response_bytes = int(max_response_bytes)
        parts = urllib.parse.urlsplit(self.url)
        if not parts.hostname:
            raise ValueError(f"url has no host name: {url!r}")
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    def _post(self, texts: list[str]) -> list[float]:
        payload: dict[str, Any] = {"input": texts}
        if self.model is not None:
            payload["model"] = self.model
        body = json.dumps(payload).encode()
        last: Exception | None = None
        for attempt in range(self.retries):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                status, reply = self._request(body)
            except (TimeoutError, ConnectionError, OSError, http.client.HTTPException) as exc:
                last = exc
                continue
            if status >= 500 or status == 429:
                last = RuntimeError(f"HTTP {status}: {reply[:200].decode(errors='replace')}")
                continue
            if not 200 <= status < 300:
                detail = reply[:300].decode(errors="replace")
                raise RuntimeError(f"remote judge {self.url} answered HTTP {status}: {detail}")
            return self._parse(reply, len(texts))
        raise ConnectionError(
            f"remote judge could not reach {self.url} after {self.retries} attempt(s) "
            f"(timeout {self.timeout:g}s): {last}"
        )

    def _request(self, body: bytes) -> tuple[int, bytes]:
        """One POST under a total deadline of ``timeout`` seconds; returns (status, body)."""
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        conn = cls(self._host, self._port, timeout=self.timeout)
        expired = threading.Event()
        sockets: list[socket.socket] = []

        def abort() -> None:  # the deadline: cut the connection whatever it is doing
            expired.set()
            for sock in sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        timer = threading.Timer(self.timeout, abort)
        timer.daemon = True
        timer.start()
        try:
            conn.connect()
            if conn.sock is not None:  # the response keeps using it after conn drops its reference
                sockets.append(conn.sock)
            if expired.is_set():
                abort()
            conn.request("POST", self._path, body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            chunks: list[bytes] = []
            size = 0
            while True:
                chunk = response.read1(65536)
                if not chunk:
                    break
                size += len(chunk)
                if size > self.max_response_bytes:
                    raise ValueError(
                        f"remote judge {self.url} sent a reply larger than max_response_bytes="
                        f"{self.max_response_bytes} bytes"
                    )
                chunks.append(chunk)
            if expired.is_set():
                raise TimeoutError(f"no complete reply within the total deadline of {self.timeout:g}s")
            return response.status, b"".join(chunks)
        except (OSError, http.client.HTTPException) as exc:
            if expired.is_set():
                raise TimeoutError(f"no complete reply within the total deadline of {self.timeout:g}s") from None
            raise exc
        finally:
            timer.cancel()
            conn.close()

    def _parse(self, reply: bytes, n: int) -> list[float]:
        def bad(problem: str) -> ValueError:
            return ValueError(f"remote judge {self.url} sent a bad reply: {problem}; reply starts {reply[:200]!r}")

        try:
            obj = json.loads(reply)
        except (ValueError, UnicodeDecodeError) as exc:
            raise bad(f"not JSON ({exc})") from None
        if not isinstance(obj, dict) or "data" not in obj:
            raise bad("expected a JSON object with a 'data' list")
        data = obj["data"]
        if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
            raise bad(f"'data' must be a list of objects, got {type(data).__name__}")
        if len(data) != n:
            raise ValueError(f"remote judge {self.url} returned {len(data)} results for {n} inputs")
        with_index = ["index" in row for row in data]
        if any(with_index):
            if not all(with_index):
                raise bad("some results carry an 'index' and some do not")
            indices = [row["index"] for row in data]
            for v in indices:
                if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < n:
                    raise bad(f"'index' must be an integer in [0, {n}), got {v!r}")
            if len(set(indices)) != n:
                dupes = sorted({v for v in indices if indices.count(v) > 1})
                raise bad(f"duplicate 'index' values {dupes}")
            data = [row for _, row in sorted(zip(indices, data), key=lambda pair: pair[0])]
        scores = []
        for i, row in enumerate(data):
            probs = row.get("probs")
            try:
                p = probs[self.positive_class]  # type: ignore[index]
            except (TypeError, IndexError, KeyError):
                raise bad(f"result {i} has no probs[{self.positive_class}]") from None
            if isinstance(p, bool) or not isinstance(p, (int, float)) or not math.isfinite(p) or not 0.0 <= p <= 1.0:
                raise bad(f"result {i}: probs[{self.positive_class}] = {p!r} is not a probability in [0, 1]")
            scores.append(float(p))
        return scores

    def score_pairs(self, pairs: Sequence[Pair], prompt: str | None = None) -> np.ndarray:
        pairs = _as_pairs(pairs)
        texts = [
            format_remote_pair(a, b, cls_token=self.cls_token, sep_token=self.sep_token, max_words=self.max_words)
            for a, b in pairs
        ]
        if not texts:
            return np.zeros(0, dtype=np.float64)
        chunks = [texts[i : i + self.batch_size] for i in range(0, len(texts), self.batch_size)]
        if len(chunks) == 1:
            results = [self._post(chunks[0])]
        else:
            with ThreadPoolExecutor(max_workers=min(self.max_workers, len(chunks))) as pool:
                results = list(pool.map(self._post, chunks))
        return np.asarray([s for chunk in results for s in chunk], dtype=np.float64)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.url!r}, threshold={self.threshold!r})"
