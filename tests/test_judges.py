"""Judges: lexical values, registry and folder detection, embedding (offline MiniLM), math, remote."""

from __future__ import annotations

import json
import socket
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diversity_metrics import get_judge, list_judges, partition
from diversity_metrics.judges import _DEFAULT_DIR, _default_available
from diversity_metrics.judges.base import Judge
from diversity_metrics.judges.lexical import (
    BleuJudge,
    ExactJudge,
    NormalizedJudge,
    UnigramJudge,
    normalize_text,
    rouge1_f1,
    rouge1_tokens,
)


# ---------------------------------------------------------------- lexical
def test_exact_and_normalized():
    assert ExactJudge().score_pairs([("a b", "a b"), ("a b", "a  b")]).tolist() == [1.0, 0.0]
    assert normalize_text("  Ｈｅｌｌｏ,\tWORLD!! ") == "hello world"  # NFKC full-width, case, punctuation
    judge = NormalizedJudge()
    assert judge.equivalent([("Hello, World!", "hello world"), ("hello world", "hello there")]).tolist() == [True, False]


def test_unigram_values_and_strict_threshold():
    assert rouge1_tokens("It's 5 O'Clock — café!") == ["it", "s", "5", "o", "clock", "caf"]
    # |A| = 3, |B| = 3, overlap 2: P = R = F1 = 2/3
    assert rouge1_f1("the cat sat", "the cat ran") == pytest.approx(2 / 3)
    # multiset overlap: A = {the:2, cat:1}, B = {the:1, cat:1}: overlap 2, P = 1, R = 2/3, F1 = 0.8
    assert rouge1_f1("the the cat", "the cat") == pytest.approx(0.8)
    assert rouge1_f1("", "") == 0.0
    assert rouge1_f1("日本語", "日本語") == 0.0  # no [a-z0-9] tokens, as in rouge_score
    judge = UnigramJudge()
    assert judge.threshold == 0.458
    # F1 exactly at the threshold is NOT equivalent (NoveltyBench: fmeasure > 0.458)
    edge = UnigramJudge(threshold=0.8)
    assert edge.equivalent([("the the cat", "the cat")]).tolist() == [False]


@settings(max_examples=80, deadline=None)
@given(
    a=st.text(alphabet=st.sampled_from(list("ab cD,.'1é")), max_size=30),
    b=st.text(alphabet=st.sampled_from(list("ab cD,.'1é")), max_size=30),
)
def test_unigram_equals_rouge_score(a, b):
    rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer")
    expected = rouge_scorer.RougeScorer(["rouge1"]).score(a, b)["rouge1"].fmeasure
    assert rouge1_f1(a, b) == pytest.approx(expected, abs=1e-12)
    assert rouge1_f1(a, b) == pytest.approx(rouge1_f1(b, a), abs=1e-12)


def test_bleu_is_noveltybench_formula():
    from sacrebleu import corpus_bleu

    a, b = "the quick brown fox jumps over the lazy dog", "the quick brown fox leaps over a lazy dog"
    expected = (corpus_bleu([a], [[b]]).score + corpus_bleu([b], [[a]]).score) / 200
    score = BleuJudge().score_pairs([(a, b), (b, a), (a, a)])
    assert score[0] == pytest.approx(expected) and score[1] == pytest.approx(expected)
    assert score[2] == pytest.approx(1.0)
    assert 0.0 < expected < 1.0


@pytest.mark.parametrize("judge", [ExactJudge(), NormalizedJudge(), UnigramJudge(), BleuJudge()])
def test_lexical_judges_reject_bad_pairs(judge):
    with pytest.raises(TypeError, match="pairs must be a sequence"):
        judge.score_pairs("ab")
    with pytest.raises(TypeError, match=r"pairs\[0\] must be a \(text_a, text_b\) pair"):
        judge.score_pairs([("a",)])
    with pytest.raises(TypeError, match=r"pairs\[1\] holds str and NoneType"):
        judge.score_pairs([("a", "b"), ("a", None)])
    assert judge.score_pairs([]).shape == (0,)


def test_judge_threshold_must_be_finite():
    with pytest.raises(ValueError, match="threshold must be a finite number"):
        ExactJudge(threshold=float("nan"))


@pytest.mark.parametrize("bad", ["0.5", None, True, [0.5]])
def test_judge_threshold_must_be_a_number(bad):
    with pytest.raises(TypeError, match="threshold must be a number"):
        ExactJudge(threshold=bad)


def test_get_judge_names_an_option_the_judge_does_not_take():
    with pytest.raises(ValueError, match=r"judge 'unigram' has no option 'thresold'"):
        get_judge("unigram", thresold=0.3)
    with pytest.raises(ValueError, match=r"judge 'exact' has no option 'model'"):
        get_judge("exact", model="x")
    assert get_judge("unigram", threshold=np.float32(0.25)).threshold == pytest.approx(0.25)


# ---------------------------------------------------------------- registry
def test_list_judges_names():
    assert list_judges() == sorted(
        ["learned", "exact", "normalized", "unigram", "bleu", "embedding", "cross-encoder", "noveltybench", "nli",
         "math", "remote", "llm"]
    )


def test_describe_judges_shows_the_default_aliases_and_a_line_each():
    from diversity_metrics import describe_judges

    rows = {r["name"]: r for r in describe_judges()}
    assert [n for n, r in rows.items() if r["default"]] == ["learned"]
    assert "default" in rows["learned"]["aliases"] and "rouge1" in rows["unigram"]["aliases"]
    assert all(r["summary"] for r in rows.values())


def test_declared_options_are_checked_before_building():
    from diversity_metrics.judges import judge_options_for

    assert {"model", "threshold", "device", "dtype", "batch_size"} <= set(judge_options_for("embedding"))
    with pytest.raises(TypeError, match=r"judge 'unigram' option 'threshold' must be float, got str '0.3'"):
        get_judge("unigram", threshold="0.3")
    with pytest.raises(TypeError, match=r"judge 'embedding' option 'batch_size' must be int, got float 2.5"):
        get_judge("embedding", batch_size=2.5)
    with pytest.raises(ValueError, match=r"judge 'unigram' has no option 'device'; it takes: threshold"):
        get_judge("unigram", device="cpu")


def test_get_judge_by_name_alias_instance_and_options():
    assert isinstance(get_judge("rouge1"), UnigramJudge)
    assert isinstance(get_judge("NORMALISED"), NormalizedJudge)
    assert get_judge("unigram", threshold=0.3).threshold == 0.3
    judge = ExactJudge()
    assert get_judge(judge) is judge
    with pytest.raises(ValueError, match="cannot be applied to an existing judge instance"):
        get_judge(judge, threshold=0.1)


def test_unknown_judge_lists_known_names():
    with pytest.raises(ValueError, match=r"unknown judge 'bertscore': expected one of \['bleu', 'cross-encoder'"):
        get_judge("bertscore")
    with pytest.raises(TypeError, match="judge must be None, a registry name"):
        get_judge(42)  # type: ignore[arg-type]


def test_folder_that_is_not_a_judge(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["BertModel"]}))
    with pytest.raises(ValueError, match="is not a judge: expected a learned-judge folder"):
        get_judge(tmp_path)


def test_default_judge_is_learned():
    from diversity_metrics.judges.learned import LearnedJudge

    assert _default_available()
    assert isinstance(get_judge(None), LearnedJudge)
    assert isinstance(get_judge("default"), LearnedJudge)


# ---------------------------------------------------------------- embedding (offline MiniLM)
@pytest.fixture(scope="session")
def minilm():
    pytest.importorskip("sentence_transformers")
    return get_judge("embedding", device="cpu")


def test_embedding_judge_scores_paraphrases_above_unrelated(minilm):
    s = minilm.score_pairs(
        [
            ("The cat sat on the mat in the sun.", "A cat was sitting on the mat in the sunshine."),
            ("The cat sat on the mat in the sun.", "Quarterly revenue grew by four percent."),
            ("identical text here", "identical text here"),
        ]
    )
    assert s[0] > 0.8 > 0.3 > s[1]
    assert s[2] == pytest.approx(1.0, abs=1e-5)
    assert np.all((0.0 <= s) & (s <= 1.0))


def test_embedding_judge_is_symmetric_and_truncates_long_texts(minilm):
    base = "The history of the Roman empire spans many centuries. " * 30  # > 256 word pieces
    a, b = base + "tail one " * 500, base + "completely different tail " * 500
    s_ab, s_ba = minilm.score_pairs([(a, b), (b, a)])
    assert s_ab == pytest.approx(s_ba, abs=1e-6)
    assert s_ab == pytest.approx(1.0, abs=1e-4)  # only the first 256 word pieces are read
    assert minilm.embed([]).shape == (0, 384)
    assert minilm.embed(["", "x"]).shape == (2, 384)


def test_embedding_partition_end_to_end(minilm):
    texts = [
        "Paris is the capital and largest city of France, on the Seine.",
        "The capital of France is Paris, a city on the river Seine.",
        "Photosynthesis converts light energy into chemical energy in plants.",
    ]
    assert partition(texts, judge=minilm, strategy="transitive") == [0, 0, 1]


def test_get_judge_recognises_sentence_transformers_and_learned_folders():
    from diversity_metrics.judges import resolve_judge_name
    from diversity_metrics.judges.embedding import default_encoder_path

    assert resolve_judge_name(default_encoder_path()) == ("embedding", {"model": str(default_encoder_path())})
    assert resolve_judge_name(_DEFAULT_DIR) == ("learned", {"path": str(_DEFAULT_DIR)})
    assert resolve_judge_name("DEFAULT") == ("learned", {})


def test_embedding_bad_options():
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        get_judge("embedding", batch_size=0)
    with pytest.raises(ValueError, match="option 'dtype' must be one of"):
        get_judge("embedding", dtype="int8", device="cpu")


# ---------------------------------------------------------------- math
def test_math_judge_compares_final_answers():
    judge = get_judge("math")
    s = judge.score_pairs(
        [
            ("So the answer is $\\boxed{\\frac{1}{2}}$.", "The result is 0.5"),
            ("The answer is $\\boxed{2}$", "The answer is $\\boxed{3}$"),
            ("I don't know", "no idea"),
            ("$x = 4$", "$4$"),
        ]
    )
    assert s.tolist() == [1.0, 0.0, 0.0, 1.0]
    labels = partition(
        ["First, 3+4 = 7, so $\\boxed{7}$ is the total here", "Adding gives $\\boxed{7}$ for the final count",
         "Multiplying gives $\\boxed{12}$ for the final count"],
        judge=judge,
        strategy="transitive",
    )
    assert labels == [0, 0, 1]


def test_math_judge_runs_outside_the_main_thread():
    out = {}
    thread = threading.Thread(target=lambda: out.update(s=get_judge("math").score_pairs([("$\\boxed{5}$", "5")])))
    thread.start()
    thread.join()
    assert out["s"].tolist() == [1.0]


# ---------------------------------------------------------------- remote (local HTTP server)
class _Handler(BaseHTTPRequestHandler):
    requests: list = []
    delay = 0.0
    status = 200

    def do_POST(self):  # noqa: N802
        status, delay = type(self).status, type(self).delay  # read before sleeping: tests change them
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append((self.path, body))
        time.sleep(delay)
        try:
            self._reply(status, body)
        except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
            pass

    def _reply(self, status, body):
        if status == 299:  # a reply without probabilities
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"data": [{"index": 0, "label": "x"}]}')
            return
        if status != 200:
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"model not found")
            return
        data = []
        for i, text in enumerate(body["input"]):
            # P(similar) = fraction of words of side a present in side b
            a, b = text.split(" [SEP] ")[:2]
            wa, wb = a.removeprefix("[CLS] ").split(), b.split()
            p = len(set(wa) & set(wb)) / max(len(set(wa)), 1)
            data.append({"index": i, "label": "x", "probs": [1 - p, p], "num_classes": 2})
        reply = json.dumps({"object": "list", "data": data[::-1]}).encode()  # out of order on purpose
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


@pytest.fixture()
def server():
    _Handler.requests = []
    _Handler.delay = 0.0
    _Handler.status = 200
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_remote_judge_posts_darling_pair_texts(server):
    judge = get_judge("remote", url=server, model="similarity_gpu_0", batch_size=2)
    pairs = [("a b c d", "a b x y"), ("p  q", "p q"), ("m n", "z"), ("one", "one")]
    scores = judge.score_pairs(pairs)
    assert scores.tolist() == [0.5, 1.0, 0.0, 1.0]
    paths = {path for path, _ in _Handler.requests}
    assert paths == {"/classify"}
    inputs = sorted(t for _, body in _Handler.requests for t in body["input"])
    assert "[CLS] p q [SEP] p q [SEP]" in inputs
    assert all(body["model"] == "similarity_gpu_0" and len(body["input"]) <= 2 for _, body in _Handler.requests)


def test_remote_judge_in_the_engine(server):
    judge = get_judge("remote", url=server, threshold=0.6)
    texts = ["w1 w2 w3 w4 w5 w6", "w1 w2 w3 w4 w5 w6 w7", "v1 v2 v3 v4 v5 v6"]
    assert partition(texts, judge=judge) == [0, 0, 1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_remote_judge_unreachable_server_names_the_url():
    url = f"http://127.0.0.1:{free_port()}"
    judge = get_judge("remote", url=url, retries=2, backoff=0.01, timeout=2)
    with pytest.raises(ConnectionError, match=rf"could not reach {url}/classify after 2 attempt"):
        judge.score_pairs([("a", "b")])


def test_remote_judge_timeout_is_retried_then_reported(server):
    _Handler.delay = 0.5
    judge = get_judge("remote", url=server, retries=2, backoff=0.0, timeout=0.1)
    with pytest.raises(ConnectionError, match="timeout 0.1s"):
        judge.score_pairs([("a", "b")])
    assert len(_Handler.requests) == 2


def test_remote_judge_http_error_is_not_retried(server):
    _Handler.status = 404
    judge = get_judge("remote", url=server, retries=3, backoff=0.0)
    with pytest.raises(RuntimeError, match="answered HTTP 404: model not found"):
        judge.score_pairs([("a", "b")])
    assert len(_Handler.requests) == 1


def test_remote_judge_malformed_reply_names_the_url(server):
    _Handler.status = 299
    judge = get_judge("remote", url=server)
    with pytest.raises(ValueError, match=rf"remote judge {server}/classify sent a bad reply: result 0 has no probs\[-1\]"):
        judge.score_pairs([("a", "b")])


def test_remote_judge_bad_options():
    with pytest.raises(ValueError, match=r"judge 'remote' needs option\(s\) \['url'\]"):
        get_judge("remote")
    with pytest.raises(ValueError, match="url must start with http"):
        get_judge("remote", url="localhost:8000")
    with pytest.raises(ValueError, match="retries must be an integer >= 1"):
        get_judge("remote", url="http://x", retries=0)
    with pytest.raises(ValueError, match="timeout must be positive"):
        get_judge("remote", url="http://x", timeout=0)


def test_base_judge_equivalent_uses_strict_threshold():
    class Half(Judge):
        def score_pairs(self, pairs, prompt=None):
            return np.full(len(pairs), 0.5)

    assert Half(0.5).equivalent([("a", "b")]).tolist() == [False]
    assert Half(0.49).equivalent([("a", "b")]).tolist() == [True]


def test_no_warning_for_explicit_judges():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        partition(["a b c d e f", "a b c d e g"], judge="unigram")


def test_device_and_precision_choice(monkeypatch):
    torch = pytest.importorskip("torch")
    from diversity_metrics.judges._device import resolve_device, resolve_dtype

    assert resolve_dtype("auto", torch.device("cpu")) == torch.float32
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert resolve_dtype("auto", torch.device("cuda")) == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert resolve_dtype("auto", torch.device("cuda")) == torch.float16
    assert resolve_dtype("float16", torch.device("cpu")) == torch.float16
    assert resolve_device("cpu").type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto").type == "cpu"
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda")
    with pytest.raises(TypeError, match="device must be"):
        resolve_device(3)  # type: ignore[arg-type]
