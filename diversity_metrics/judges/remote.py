"""Remote judge: a pair classifier served by vLLM (``vllm serve MODEL --task classify``).

DARLING serves its partition classifier this way. Each pair becomes one text, as in DARLING's reward
code::

    "[CLS] <words of a> [SEP] <words of b> [SEP]"

(words = whitespace split, optionally cut to ``max_words`` per side; the special-token strings are
configurable), and texts are POSTed to ``{url}/classify`` as ``{"model": ..., "input": [text, ...]}``.
The score is ``data[i]["probs"][positive_class]`` (DARLING: the last class). Several requests run
concurrently (``max_workers``), each with ``batch_size`` texts.

Failures: connection errors, timeouts and HTTP 5xx/429 are retried ``retries`` times with exponential
backoff (``backoff * 2**attempt`` seconds); then ``ConnectionError`` names the URL and the last error.
Other HTTP errors raise ``RuntimeError`` with the status and the start of the body at once; a reply
without the expected probabilities raises ``ValueError`` naming the URL. Uses only the standard library.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from diversity_metrics.judges.base import Judge, Pair
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
        self.url = url.rstrip("/") + "/" + endpoint.lstrip("/")
        self.model = model
        self.timeout = float(timeout)
        self.retries = retries
        self.backoff = float(backoff)
        self.batch_size = int(batch_size)
        self.max_workers = int(max_workers)
        self.positive_class = int(positive_class)
        self.cls_token, self.sep_token, self.max_words = cls_token, sep_token, max_words

    def _post(self, texts: list[str]) -> list[float]:
        payload: dict[str, Any] = {"input": texts}
        if self.model is not None:
            payload["model"] = self.model
        body = json.dumps(payload).encode()
        last: Exception | None = None
        for attempt in range(self.retries):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            request = urllib.request.Request(
                self.url, data=body, headers={"Content-Type": "application/json"}, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    reply = response.read()
                break
            except urllib.error.HTTPError as exc:
                if exc.code >= 500 or exc.code == 429:
                    last = exc
                    continue
                detail = exc.read(300).decode(errors="replace")
                raise RuntimeError(f"remote judge {self.url} answered HTTP {exc.code}: {detail}") from None
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
                last = exc
        else:
            raise ConnectionError(
                f"remote judge could not reach {self.url} after {self.retries} attempt(s) "
                f"(timeout {self.timeout:g}s): {last}"
            )
        return self._parse(reply, len(texts))

    def _parse(self, reply: bytes, n: int) -> list[float]:
        try:
            data = json.loads(reply)["data"]
            rows = sorted(data, key=lambda d: d.get("index", 0))
            scores = [float(row["probs"][self.positive_class]) for row in rows]
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise ValueError(
                f"remote judge {self.url} sent a reply without data[i].probs[{self.positive_class}]: "
                f"{exc!r}; reply starts {reply[:200]!r}"
            ) from None
        if len(scores) != n:
            raise ValueError(f"remote judge {self.url} returned {len(scores)} results for {n} inputs")
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
