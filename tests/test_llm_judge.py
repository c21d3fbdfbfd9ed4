"""The ``llm`` set judge against a fake OpenAI-compatible chat-completions server on 127.0.0.1.

A hosted LLM cannot run here, so the server is a fake: it reads the numbered responses out of the
request exactly as a real model would see them and groups them by their first word (a rule the tests
know), or misbehaves on purpose (malformed JSON, missing / duplicated / out-of-range ids, HTTP 429 and
5xx, slow replies, rejecting ``response_format``). Everything on our side is the real code path.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from diversity_metrics.judges.llm import (
    INSTRUCTION_VERSION,
    LLMAnswerError,
    LLMSetJudge,
    parse_groups,
    shuffled_order,
)

SECRET = "sk-test-SECRET-4242"
KEY_ENV = "DM_TEST_LLM_KEY"
RESPONSE = re.compile(r'<response number="(\d+)">\n(.*?)\n</response>', re.DOTALL)


def first_word_groups(user: str) -> list[list[int]]:
    """The fake model's answer: responses sharing their first (lower-cased) word, punctuation dropped, form a group."""
    groups: dict[str, list[int]] = {}
    for number, text in RESPONSE.findall(user):
        groups.setdefault(re.match(r"\w+", text).group().lower(), []).append(int(number))
    return list(groups.values())


class FakeLLM:
    """Scripted chat-completions server: ``script`` holds one behaviour per request, then "ok"."""

    def __init__(self) -> None:
        self.script: list[Any] = []
        self.requests: list[dict[str, Any]] = []
        self.rejects_schema = False
        self.inflight = 0
        self.max_inflight = 0
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with fake.lock:
                    fake.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    behaviour = fake.script.pop(0) if fake.script else "ok"
                    fake.inflight += 1
                    fake.max_inflight = max(fake.max_inflight, fake.inflight)
                try:
                    fake.respond(self, behaviour, body)
                finally:
                    with fake.lock:
                        fake.inflight -= 1

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def respond(self, handler: BaseHTTPRequestHandler, behaviour: Any, body: dict[str, Any]) -> None:
        if self.rejects_schema and "response_format" in body:
            return self.send(handler, 400, {"error": {"message": "response_format json_schema is not supported"}})
        if isinstance(behaviour, tuple) and behaviour[0] == "status":
            _, code, headers = behaviour
            return self.send(handler, code, {"error": {"message": f"fake status {code}"}}, headers)
        if behaviour == "echo_key":
            return self.send(handler, 401, {"error": {"message": f"bad key {handler.headers.get('Authorization')}"}})
        if isinstance(behaviour, tuple) and behaviour[0] == "slow":
            time.sleep(behaviour[1])
            behaviour = "ok"
        user = body["messages"][-1]["content"]
        n = len(RESPONSE.findall(user))
        groups = first_word_groups(user)
        if behaviour == "ok":
            content = json.dumps({"groups": groups})
        elif behaviour == "fenced":
            content = "```json\n" + json.dumps({"groups": groups}) + "\n```"
        elif behaviour == "malformed":
            content = '{"groups": [[1, 2], [3'
        elif behaviour == "missing":
            content = json.dumps({"groups": [[i for i in g if i != n] for g in groups if g != [n]]})
        elif behaviour == "duplicate":
            content = json.dumps({"groups": groups + [[1]]})
        elif behaviour == "out_of_range":
            content = json.dumps({"groups": groups + [[n + 1]]})
        else:  # pragma: no cover - a typo in a test
            raise AssertionError(behaviour)
        reply = {"id": "x", "object": "chat.completion", "model": body["model"],
                 "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]}
        self.send(handler, 200, reply)

    @staticmethod
    def send(handler: BaseHTTPRequestHandler, code: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(obj).encode()
        try:
            handler.send_response(code)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                handler.send_header(k, v)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            pass

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake():
    server = FakeLLM()
    yield server
    server.close()


# three classes by first word; identical texts on purpose ("Paris is big." twice)
GROUP = ["Paris is big.", "Rome is old.", "paris, the capital", "Berlin!", "Rome again", "Paris is big."]
EXPECTED = [0, 1, 0, 2, 1, 0]


def make(fake: FakeLLM, **options: Any) -> LLMSetJudge:
    options = {"backoff": 0.01, "timeout": 5.0, "deadline": 20.0, **options}
    return LLMSetJudge(url=fake.url, model="fake-model", api_key_env=KEY_ENV, **options)


def test_correct_answer_is_mapped_back_through_the_shuffle(fake):
    judge = make(fake, seed=3)
    assert judge.partition_groups([GROUP], ["Name a city"]) == [EXPECTED]
    (req,) = fake.requests
    assert req["path"] == "/v1/chat/completions"
    body = req["body"]
    assert body["model"] == "fake-model" and body["temperature"] == 0.0 and body["seed"] == 3
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    items = fmt["json_schema"]["schema"]["properties"]["groups"]["items"]["items"]
    assert (items["minimum"], items["maximum"]) == (1, 5)  # 5 distinct texts are shown, the duplicate once
    assert INSTRUCTION_VERSION and "functionally equivalent" in body["messages"][0]["content"]
    shown = [t for _, t in RESPONSE.findall(body["messages"][1]["content"])]
    distinct = list(dict.fromkeys(GROUP))
    order = shuffled_order("Name a city", len(distinct), 3)
    assert shown == [distinct[i] for i in order] and order != sorted(order)  # really shuffled, then mapped back


def test_other_seeds_and_no_shuffle_give_the_same_partition(fake):
    for seed in (None, 0, 1, 2):
        assert make(fake, seed=seed).partition_groups([GROUP], ["p"]) == [EXPECTED]
    plain = [t for _, t in RESPONSE.findall(fake.requests[0]["body"]["messages"][1]["content"])]
    assert plain == list(dict.fromkeys(GROUP))  # seed=None: the given order


def test_identical_texts_need_no_call(fake):
    judge = make(fake)
    assert judge.partition_groups([["same", "same"], ["one"]], ["p", None]) == [[0, 0], [0]]
    assert fake.requests == [] and judge.calls == 0


def test_fenced_json_is_accepted(fake):
    fake.script = ["fenced"]
    assert make(fake).partition_groups([GROUP], ["p"]) == [EXPECTED]


@pytest.mark.parametrize(
    "bad, message",
    [("malformed", "not JSON"), ("missing", "in no group"), ("duplicate", "listed more than once"),
     ("out_of_range", "out of range 1..5")],
)
def test_invalid_answer_is_retried_then_a_clear_error(fake, bad, message, caplog):
    fake.script = [bad]
    judge = make(fake)
    with caplog.at_level(logging.WARNING, logger="diversity_metrics.judges.llm"):
        assert judge.partition_groups([GROUP], ["p"]) == [EXPECTED]
    assert judge.calls == 2 and message in caplog.text
    fake.script = [bad] * 3
    judge = make(fake, answer_retries=3)
    with pytest.raises(LLMAnswerError, match=message) as info:
        judge.partition_groups([GROUP], ["Name a city"])
    assert isinstance(info.value, ValueError) and "'Name a city'" in str(info.value) and "3 attempt" in str(info.value)
    assert judge.calls == 3


def test_429_and_5xx_are_retried_honouring_retry_after(fake):
    fake.script = [("status", 429, {"Retry-After": "0.4"}), ("status", 502, {}), ("status", 503, {})]
    judge = make(fake, retries=4, backoff=0.01)
    t0 = time.monotonic()
    assert judge.partition_groups([GROUP], ["p"]) == [EXPECTED]
    assert judge.calls == 4
    assert time.monotonic() - t0 >= 0.4  # the Retry-After wait, not the 0.01 s backoff


def test_persistent_5xx_raises_connection_error_naming_the_url(fake):
    fake.script = [("status", 500, {})] * 5
    judge = make(fake, retries=3)
    with pytest.raises(ConnectionError, match=r"after 3 attempt\(s\)") as info:
        judge.partition_groups([GROUP], ["p"])
    assert fake.url in str(info.value) and "HTTP 500" in str(info.value) and judge.calls == 3


def test_retry_after_beyond_the_deadline_fails_at_once(fake):
    fake.script = [("status", 429, {"Retry-After": "30"})]
    judge = make(fake, deadline=2.0)
    t0 = time.monotonic()
    with pytest.raises(TimeoutError, match="deadline of 2s"):
        judge.partition_groups([GROUP], ["p"])
    assert time.monotonic() - t0 < 1.5 and judge.calls == 1


def test_slow_replies_beyond_the_deadline_raise_timeout_error(fake):
    fake.script = [("slow", 3.0)] * 3
    judge = make(fake, timeout=0.4, deadline=1.0, retries=5)
    t0 = time.monotonic()
    with pytest.raises(TimeoutError, match="deadline of 1s"):
        judge.partition_groups([GROUP], ["p"])
    assert time.monotonic() - t0 < 2.5


def test_other_http_errors_fail_at_once(fake):
    fake.script = [("status", 404, {})]
    judge = make(fake)
    with pytest.raises(RuntimeError, match="HTTP 404"):
        judge.partition_groups([GROUP], ["p"])
    assert judge.calls == 1


def test_structured_output_rejection_falls_back_to_plain_json(fake, caplog):
    fake.rejects_schema = True
    judge = make(fake, concurrency=1)
    with caplog.at_level(logging.WARNING, logger="diversity_metrics.judges.llm"):
        assert judge.partition_groups([GROUP, GROUP[:3]], ["p", "q"]) == [EXPECTED, EXPECTED[:3]]
    bodies = [r["body"] for r in fake.requests]
    assert "response_format" in bodies[0] and all("response_format" not in b for b in bodies[1:])
    assert len(bodies) == 3  # the fallback is remembered: the second prompt goes straight to plain JSON
    assert "Answer with one JSON object" in bodies[1]["messages"][0]["content"]
    assert "plain JSON" in caplog.text
    strict = make(fake, structured_output="json_schema")
    with pytest.raises(RuntimeError, match="rejected the json_schema"):
        strict.partition_groups([GROUP], ["p"])


def test_api_key_is_sent_but_never_shown(fake, monkeypatch, caplog):
    monkeypatch.setenv(KEY_ENV, SECRET)
    fake.script = [("status", 500, {}), "echo_key"]
    judge = make(fake)
    with caplog.at_level(logging.DEBUG, logger="diversity_metrics.judges.llm"):
        with pytest.raises(RuntimeError, match="HTTP 401") as info:
            judge.partition_groups([GROUP], ["p"])
    assert fake.requests[0]["headers"]["Authorization"] == f"Bearer {SECRET}"
    assert SECRET not in str(info.value) and "***" in str(info.value)
    assert SECRET not in caplog.text and "HTTP 500" in caplog.text
    assert SECRET not in repr(judge) and SECRET not in json.dumps(vars(judge), default=str)
    monkeypatch.delenv(KEY_ENV)
    make(fake).partition_groups([GROUP], ["p"])
    assert "Authorization" not in fake.requests[-1]["headers"]  # no key set: no header (a local server)


def test_cache_hit_on_a_second_run(fake, tmp_path):
    groups, prompts = [GROUP, GROUP[:4], ["x y", "x z", "w"]], ["p", "q", "r"]
    first = make(fake, cache_dir=str(tmp_path))
    out = first.partition_groups(groups, prompts)
    assert out == [EXPECTED, EXPECTED[:4], [0, 0, 1]] and first.calls == 3
    again = make(fake, cache_dir=str(tmp_path))
    assert again.partition_groups(groups, prompts) == out
    assert again.calls == 0 and again.cache_hits == 3 and len(fake.requests) == 3
    other_seed = make(fake, cache_dir=str(tmp_path), seed=7)
    other_seed.partition_groups(groups[:1], prompts[:1])
    assert other_seed.calls == 1  # the seed is part of the key


def test_a_corrupted_cache_entry_is_recomputed(fake, tmp_path):
    make(fake, cache_dir=str(tmp_path)).partition_groups([GROUP], ["p"])
    (entry,) = list(tmp_path.glob("*/*.json"))
    for junk in ("{cut short", json.dumps({"labels": [0, 1]}), json.dumps({"labels": [0, -1, 0, 1, 2]})):
        entry.write_text(junk)  # an interrupted write, a wrong length, a negative label
        judge = make(fake, cache_dir=str(tmp_path))
        assert judge.partition_groups([GROUP], ["p"]) == [EXPECTED] and judge.calls == 1 and judge.cache_hits == 0
    assert json.loads(entry.read_text())["labels"] == [0, 1, 0, 2, 1]  # rewritten whole


def test_prompts_are_judged_concurrently(fake):
    fake.script = [("slow", 0.3)] * 6
    judge = make(fake, concurrency=3)
    groups = [[f"a{i} one", f"b{i} two"] for i in range(6)]
    assert judge.partition_groups(groups, [f"p{i}" for i in range(6)]) == [[0, 1]] * 6
    assert fake.max_inflight >= 2


def test_parse_groups_rejects_non_integer_ids():
    with pytest.raises(ValueError, match="integer"):
        parse_groups('{"groups": [[1, "2"]]}', 2)
    with pytest.raises(ValueError, match="integer"):
        parse_groups('{"groups": [[1, true]]}', 2)
    with pytest.raises(ValueError, match="no 'groups'"):
        parse_groups("[[1, 2]]", 2)


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="http"):
        LLMSetJudge(url="localhost:8000", model="m")
    with pytest.raises(TypeError, match="'timeout' must be float"):
        LLMSetJudge(url="http://127.0.0.1:1", model="m", timeout="slow")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="structured_output"):
        LLMSetJudge(url="http://127.0.0.1:1", model="m", structured_output="yes")
    with pytest.raises(ValueError, match="api_key_env"):
        LLMSetJudge(url="http://127.0.0.1:1", model="m", api_key_env="sk-123-not-a-name")


# ------------------------------------------------------------------ through the engine and the CLI
def test_through_partition_and_the_partitioner(fake, monkeypatch):
    import diversity_metrics as dm
    from diversity_metrics.partitioner import Partitioner, clear_judge_cache

    monkeypatch.setenv(KEY_ENV, SECRET)
    options = {"url": fake.url, "model": "fake-model", "api_key_env": KEY_ENV, "backoff": 0.01}
    clear_judge_cache()
    assert dm.partition(GROUP, prompt="Name a city", judge="llm", judge_options=options) == EXPECTED
    assert dm.partition(["same", "same"], judge="llm", judge_options=options) == [0, 0]  # no call
    assert len(fake.requests) == 1
    p = Partitioner(judge="llm", judge_options=options, strategy="transitive")
    assert p.partition_batch([GROUP, ["Oslo a", "oslo b", "Lima"]], prompts=["p", "q"]) == [EXPECTED, [0, 0, 1]]
    settings = p.settings()
    assert settings["strategy"] == "set" and settings["short_rule"] == "off"  # a set judge replaces both
    assert "llm" in settings["metric_version"] and SECRET not in json.dumps(settings)
    fake.script = ["duplicate"] * 3
    with pytest.raises(LLMAnswerError, match="listed more than once"):
        dm.partition(GROUP, prompt="again", judge="llm", judge_options=options)
    clear_judge_cache()


def test_get_judge_needs_url_and_model():
    from diversity_metrics.judges import get_judge

    with pytest.raises(ValueError, match="url"):
        get_judge("llm", model="m")
    with pytest.raises(TypeError, match="'concurrency' must be int"):
        get_judge("llm", url="http://127.0.0.1:1", model="m", concurrency=2.5)
    assert isinstance(get_judge("llm", url="http://127.0.0.1:1", model="m"), LLMSetJudge)


def write_generations(path, groups):
    path.write_text("".join(json.dumps({"id": f"p{i}", "prompt": f"prompt {i}", "generations": g}) + "\n"
                            for i, g in enumerate(groups)))


def test_score_cli_with_the_llm_judge_resumes_from_the_cache(fake, tmp_path, capsys):
    from diversity_metrics.cli import main
    from diversity_metrics.partitioner import clear_judge_cache

    groups = [GROUP, ["Oslo a", "oslo b", "Lima"], ["x", "x"]]
    src = tmp_path / "gen.jsonl"
    write_generations(src, groups)
    cache = tmp_path / "llm-cache"
    args = ["score", str(src), "--judge", "llm", "--judge-option", f"url={fake.url}", "--judge-option", "model=fake-model",
            "--judge-option", f"cache_dir={cache}", "--judge-option", "backoff=0.01", "--quiet"]
    clear_judge_cache()
    assert main([*args, "-o", str(tmp_path / "a.jsonl")]) == 0
    out = capsys.readouterr().out
    assert "judge: llm" in out and "strategy: set" in out
    records = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert [r["partition"] for r in records] == [EXPECTED, [0, 0, 1], [0, 0]]
    assert [r["distinct_k"] for r in records] == [3, 2, 1]
    assert len(fake.requests) == 2  # the identical pair needs no call
    clear_judge_cache()  # a new process: a new judge, the same disk cache
    assert main([*args, "-o", str(tmp_path / "b.jsonl"), "--no-resume"]) == 0
    assert len(fake.requests) == 2  # every answer came from the cache
    again = [json.loads(line)["partition"] for line in (tmp_path / "b.jsonl").read_text().splitlines()]
    assert again == [r["partition"] for r in records]
    clear_judge_cache()


def test_score_cli_reports_an_invalid_answer(fake, tmp_path, capsys):
    from diversity_metrics.cli import main
    from diversity_metrics.partitioner import clear_judge_cache

    src = tmp_path / "gen.jsonl"
    write_generations(src, [GROUP])
    fake.script = ["missing"] * 3
    clear_judge_cache()
    rc = main(["score", str(src), "--judge", "llm", "--judge-option", f"url={fake.url}", "--judge-option", "model=m",
               "--judge-option", "answer_retries=3", "-o", str(tmp_path / "o.jsonl"), "--quiet"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "no valid partition" in err and "in no group" in err and "'prompt 0'" in err
    assert (tmp_path / "o.jsonl").read_text() == ""  # nothing partial was written
    clear_judge_cache()


def test_retry_after_accepts_seconds_and_http_dates():
    import email.message
    import email.utils
    import urllib.error

    from diversity_metrics.judges.llm import _retry_after

    def err(value):
        headers = email.message.Message()
        if value is not None:
            headers["Retry-After"] = value
        return urllib.error.HTTPError("http://x", 429, "busy", headers, None)

    assert _retry_after(err("2.5")) == 2.5 and _retry_after(err(None)) is None and _retry_after(err("soon")) is None
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < _retry_after(err(later)) <= 30


def test_transport_faults_through_partition(fake):
    import diversity_metrics as dm
    from diversity_metrics.partitioner import clear_judge_cache

    base = {"url": fake.url, "model": "fake-model", "backoff": 0.01}
    clear_judge_cache()
    fake.script = [("status", 429, {"Retry-After": "0.1"}), ("status", 503, {})]
    assert dm.partition(GROUP, prompt="p", judge="llm", judge_options=base) == EXPECTED
    assert len(fake.requests) == 3
    fake.script = [("slow", 3.0)] * 4
    with pytest.raises(TimeoutError, match="deadline of 1s"):
        dm.partition(GROUP, prompt="q", judge="llm", judge_options={**base, "timeout": 0.3, "deadline": 1.0})
    fake.script = [("status", 500, {})] * 2
    with pytest.raises(ConnectionError, match=r"after 2 attempt\(s\)"):
        dm.partition(GROUP, prompt="r", judge="llm", judge_options={**base, "retries": 2})
    clear_judge_cache()


def test_score_cli_retries_a_5xx(fake, tmp_path):
    from diversity_metrics.cli import main
    from diversity_metrics.partitioner import clear_judge_cache

    src = tmp_path / "gen.jsonl"
    write_generations(src, [GROUP])
    fake.script = [("status", 500, {}), ("status", 429, {})]
    clear_judge_cache()
    assert main(["score", str(src), "--judge", "llm", "--judge-option", f"url={fake.url}", "--judge-option", "model=m",
                 "--judge-option", "backoff=0.01", "-o", str(tmp_path / "o.jsonl"), "--quiet"]) == 0
    assert json.loads((tmp_path / "o.jsonl").read_text())["partition"] == EXPECTED and len(fake.requests) == 3
    clear_judge_cache()


@pytest.mark.parametrize("fault, retries, message",
                         [(("status", 503, {}), 2, "after 2 attempt(s)"), (("slow", 3.0), 6, "deadline of 1s")])
def test_score_cli_names_an_unreachable_or_slow_server(fake, tmp_path, capsys, fault, retries, message):
    from diversity_metrics.cli import main
    from diversity_metrics.partitioner import clear_judge_cache

    src = tmp_path / "gen.jsonl"
    write_generations(src, [GROUP])
    fake.script = [fault] * 6
    clear_judge_cache()
    rc = main(["score", str(src), "--judge", "llm", "--judge-option", f"url={fake.url}", "--judge-option", "model=m",
               "--judge-option", f"retries={retries}", "--judge-option", "backoff=0.01", "--judge-option", "timeout=0.3",
               "--judge-option", "deadline=1", "-o", str(tmp_path / "o.jsonl"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and fake.url in err and "Traceback" not in err
    clear_judge_cache()
