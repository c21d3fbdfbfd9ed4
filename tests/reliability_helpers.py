"""A tiny vLLM-``/classify``-like judge server on 127.0.0.1 for the fault-injection tests.

It scores each ``"[CLS] a [SEP] b [SEP]"`` text by the Jaccard overlap of the two sides' lower-cased word sets
(a real, deterministic judge), and can inject faults: a delay before answering, HTTP 400 for requests that hold a
poison word, a reply dripped one byte at a time, or any reply of the test's choosing.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def jaccard_probability(text: str) -> float:
    body = text.removeprefix("[CLS] ").removesuffix(" [SEP]")
    a, _, b = body.partition(" [SEP] ")
    wa, wb = set(a.lower().split()), set(b.lower().split())
    if not wa and not wb:
        return 1.0
    return len(wa & wb) / len(wa | wb)


def classify_reply(texts: list[str]) -> bytes:
    rows = [{"index": i, "probs": [1.0 - p, p]} for i, p in enumerate(map(jaccard_probability, texts))]
    return json.dumps({"data": rows}).encode()


class JudgeServer:
    """``with JudgeServer(delay=2.0) as server: RemoteJudge(server.url)``; ``server.requests`` counts POSTs."""

    def __init__(
        self,
        *,
        delay: float = 0.0,
        poison: str | None = None,
        reply: Callable[[list[str]], bytes] | None = None,
        drip_interval: float | None = None,
    ) -> None:
        self.delay, self.poison, self.reply, self.drip_interval = delay, poison, reply, drip_interval
        self.requests = 0
        self.times: list[float] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                outer.requests += 1
                outer.times.append(time.monotonic())
                texts = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["input"]
                if outer.poison is not None and any(outer.poison in t for t in texts):
                    self._send(400, b'{"error": "poisoned input"}')
                    return
                time.sleep(outer.delay)
                body = outer.reply(texts) if outer.reply is not None else classify_reply(texts)
                self._send(200, body)

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if outer.drip_interval is None:
                    self.wfile.write(body)
                    return
                try:
                    for i in range(len(body)):
                        self.wfile.write(body[i : i + 1])
                        self.wfile.flush()
                        time.sleep(outer.drip_interval)
                except OSError:  # the client hung up (its deadline)
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> JudgeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
