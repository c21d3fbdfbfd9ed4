"""`diversity-metrics score` never reports another file's numbers, never corrupts its output, and turns user errors into
one `error:` line with exit status 2 (docs/reliability.md)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from diversity_metrics.cli import main
from diversity_metrics.io import ResultWriter
from diversity_metrics.judges.lexical import UnigramJudge
from diversity_metrics.scoring import score_file


def _write(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _read(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _gen(texts_per_id):
    return [{"id": i, "prompt": f"prompt {i}", "generations": g} for i, g in texts_per_id.items()]


A = {"p1": ["same answer here"] * 4, "p2": ["one"] * 4}
B = {"p1": ["alpha beta gamma delta", "epsilon zeta eta theta", "iota kappa lambda mu", "nu xi omicron pi"],
     "p2": ["red", "green", "blue", "cyan"]}


def _one_error_line(capsys, needle):
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("diversity-metrics score: error:"), err
    assert "Traceback" not in err and needle in lines[0], err


def test_two_inputs_with_the_same_ids_from_one_folder_never_share_results(tmp_path, monkeypatch, capsys):
    """a/gen.jsonl then b/gen.jsonl (same ids, other texts): b's distinct_k is b's own (4.0), never a's (1.0)."""
    monkeypatch.chdir(tmp_path)
    a, b = _write(tmp_path / "a" / "gen.jsonl", _gen(A)), _write(tmp_path / "b" / "gen.jsonl", _gen(B))
    assert main(["score", str(a), "--judge", "exact", "--quiet", "--summary-json", "sa.json"]) == 0
    assert main(["score", str(b), "--judge", "exact", "--quiet", "--summary-json", "sb.json"]) == 0
    mean = lambda f: next(r["mean"] for r in json.loads((tmp_path / f).read_text()) if r["metric"] == "distinct_k")  # noqa: E731
    assert (mean("sa.json"), mean("sb.json")) == (1.0, 4.0)
    outputs = sorted(p.name for p in tmp_path.glob("*.scores.jsonl"))
    assert len(outputs) == 2, outputs  # default names differ by input
    # another judge on the same input: a third file, not a resume conflict
    assert main(["score", str(a), "--judge", "unigram", "--quiet"]) == 0
    assert len(list(tmp_path.glob("*.scores.jsonl"))) == 3
    # one explicit output for both inputs: the second run is refused, the first file's results stay
    out = tmp_path / "shared.jsonl"
    assert main(["score", str(a), "--judge", "exact", "-o", str(out), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["score", str(b), "--judge", "exact", "-o", str(out), "--quiet"]) == 2
    _one_error_line(capsys, "holds results of another input file")
    assert [r["distinct_k"] for r in _read(out)] == [1, 1]


def test_resume_refuses_an_input_whose_generations_changed(tmp_path, capsys):
    src, out = _write(tmp_path / "gen.jsonl", _gen(A)), tmp_path / "out.jsonl"
    assert main(["score", str(src), "--judge", "exact", "-o", str(out), "--quiet"]) == 0
    _write(src, _gen(B))  # the same file, edited
    capsys.readouterr()
    assert main(["score", str(src), "--judge", "exact", "-o", str(out), "--quiet"]) == 2
    _one_error_line(capsys, "computed from other generations")
    _write(src, _gen({"p1": A["p1"]}))  # a prompt removed
    assert main(["score", str(src), "--judge", "exact", "-o", str(out), "--quiet"]) == 2
    _one_error_line(capsys, "id 'p2', which this input does not have")
    assert main(["score", str(src), "--judge", "exact", "-o", str(out), "--quiet", "--no-resume"]) == 0


def test_output_equal_to_the_input_is_refused(tmp_path, capsys):
    src = _write(tmp_path / "gen.jsonl", _gen(A))
    before = src.read_text()
    assert main(["score", str(src), "--judge", "exact", "-o", str(src), "--quiet"]) == 2
    _one_error_line(capsys, "is the input file")
    assert src.read_text() == before


def test_a_second_run_on_the_same_output_is_refused_while_the_first_writes(tmp_path, capsys):
    src, out = _write(tmp_path / "gen.jsonl", _gen(B)), tmp_path / "out.jsonl"
    with ResultWriter(out):  # another run holds the output
        assert main(["score", str(src), "--judge", "exact", "-o", str(out), "--quiet"]) == 2
    _one_error_line(capsys, "another run is writing")
    assert main(["score", str(src), "--judge", "exact", "-o", str(out), "--quiet"]) == 0


def test_two_concurrent_processes_never_interleave_or_duplicate_lines(tmp_path):
    rows = {f"p{i}": [f"answer {i} {j} " + "word " * j for j in range(6)] for i in range(40)}
    src, out = _write(tmp_path / "gen.jsonl", _gen(rows)), tmp_path / "out.jsonl"
    cmd = [sys.executable, "-m", "diversity_metrics.cli", "score", str(src), "--judge", "unigram", "-o", str(out),
           "--quiet"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    assert sorted(rc for rc, _ in results) in ([0, 0], [0, 2]), results
    for rc, err in results:
        if rc == 2:
            assert "another run is writing" in err
    ids = [r["id"] for r in _read(out)]
    assert sorted(ids) == sorted(rows) and len(ids) == len(set(ids))


@pytest.mark.parametrize(
    ("flags", "needle"),
    [
        (["--k", "0"], "k must be a positive integer"),
        (["--k", "-3"], "k must be a positive integer"),
        (["--patience", "nan"], "patience must be a finite number in [0, 1]"),
        (["--patience", "inf"], "patience must be a finite number in [0, 1]"),
    ],
)
def test_bad_k_and_patience_are_refused(tmp_path, capsys, flags, needle):
    src = _write(tmp_path / "gen.jsonl", _gen(A))
    assert main(["score", str(src), "--judge", "exact", "-o", str(tmp_path / "o.jsonl"), "--quiet", *flags]) == 2
    _one_error_line(capsys, needle)


def test_flat_id_with_two_prompts_names_the_lines(tmp_path, capsys):
    src = _write(tmp_path / "flat.jsonl", [{"id": "x", "prompt": "P", "response": "a"},
                                          {"id": "y", "prompt": "Q", "response": "b"},
                                          {"id": "x", "prompt": "R", "response": "c"}])
    assert main(["score", str(src), "--judge", "exact", "-o", str(tmp_path / "o.jsonl"), "--quiet"]) == 2
    _one_error_line(capsys, "flat.jsonl:3: id 'x' has prompt 'R' here but 'P' at line 1")


def test_results_reach_the_file_as_prompts_finish(tmp_path):
    """The judge notes how many results are on disk when it first sees each prompt's texts: the first prompt is
    on disk before the judge sees the second (before: a 64-prompt chunk, nothing on disk until all were judged)."""
    rows = {f"q{i}": [f"prompt {i} answer {j}" for j in range(3)] for i in range(8)}
    src, out = _write(tmp_path / "gen.jsonl", _gen(rows)), tmp_path / "out.jsonl"
    first_seen: dict[str, int] = {}

    class CountingJudge(UnigramJudge):
        def score_pairs(self, pairs, prompt=None):
            on_disk = len(out.read_text().splitlines()) if out.exists() else 0
            for a, _ in pairs:
                first_seen.setdefault(a.split()[1], on_disk)
            return super().score_pairs(pairs, prompt)

    records = score_file(src, out, judge=CountingJudge(), short_rule="off", show_progress=False)
    assert len(records) == 8 and first_seen["0"] == 0
    assert first_seen["1"] >= 1  # the first prompt's result was on disk before the judge saw the second
    assert all(first_seen[str(i)] >= 1 for i in range(1, 8))


def _user_error(tmp_path, capsys, argv, needle):
    assert main(["score", *argv, "--quiet"]) == 2
    _one_error_line(capsys, needle)


def test_user_errors_are_one_line_and_exit_2(tmp_path, capsys):
    src = _write(tmp_path / "gen.jsonl", _gen({"p": [f"a long enough answer number {i} here" for i in range(3)]}))
    # unreachable remote judge (nothing listens on port 9)
    _user_error(tmp_path, capsys, [str(src), "--judge", "remote", "--judge-option", "url=http://127.0.0.1:9",
                                   "--judge-option", "retries=1", "-o", str(tmp_path / "r.jsonl")],
                "remote judge could not reach http://127.0.0.1:9/classify")
    # output is a folder / a device / unwritable
    (tmp_path / "folder").mkdir()
    _user_error(tmp_path, capsys, [str(src), "--judge", "exact", "-o", str(tmp_path / "folder")], "is a folder")
    _user_error(tmp_path, capsys, [str(src), "--judge", "exact", "-o", "/dev/full"], "is not a regular file")
    locked = tmp_path / "ro"
    locked.mkdir(mode=0o500)
    if not __import__("os").access(locked, __import__("os").W_OK):  # root can write anywhere
        _user_error(tmp_path, capsys, [str(src), "--judge", "exact", "-o", str(locked / "o.jsonl")], "Permission denied")
    # an output file that is not a results file (a record without 'id')
    other = _write(tmp_path / "notes.jsonl", [{"note": "hello"}])
    _user_error(tmp_path, capsys, [str(src), "--judge", "exact", "-o", str(other)], "notes.jsonl:1: is not a result record")


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b'{"id": "a", "generations": ["x"]}\n' + b"[" * 100_000 + b"\n", "bad.jsonl:2: JSON nested too deeply"),
        (b'{"id": "a", "generations": ["x"]}\n{"id": "b", "generations": ["\xff"]}\n', "bad.jsonl:2: not valid UTF-8"),
        (b'{"id": "a", "generations": ["\\ud800 lone"]}\n', "bad.jsonl:1: holds a lone surrogate"),
        (b'{"prompt": null, "response": "x"}\n', "bad.jsonl:1: a one-response-a-line record needs an 'id' or a 'prompt'"),
    ],
)
def test_malformed_input_names_file_and_line(tmp_path, capsys, raw, needle):
    src = tmp_path / "bad.jsonl"
    src.write_bytes(raw)
    _user_error(tmp_path, capsys, [str(src), "--judge", "exact", "-o", str(tmp_path / "o.jsonl")], needle)


def test_a_failing_judge_and_a_missing_extra_are_one_line_too(tmp_path, capsys, monkeypatch):
    from tests.reliability_helpers import JudgeServer

    src = _write(tmp_path / "gen.jsonl", _gen({"p": [f"Poison answer number {i} is long enough" for i in range(3)]}))
    with JudgeServer(poison="Poison") as server:  # answers HTTP 400
        _user_error(tmp_path, capsys, [str(src), "--judge", "remote", "--judge-option", f"url={server.url}",
                                       "-o", str(tmp_path / "r.jsonl")], "answered HTTP 400")
    monkeypatch.setitem(sys.modules, "sacrebleu", None)  # the optional extra 'lexical' not installed
    monkeypatch.setitem(sys.modules, "sacrebleu.metrics", None)
    _user_error(tmp_path, capsys, [str(src), "--judge", "exact", "-o", str(tmp_path / "x.jsonl")],
                "pip install 'diversity-metrics[lexical]'")


def test_resume_refuses_results_made_with_other_learned_judge_weights(tmp_path, capsys):
    """A judge folder retrained in place (same path, other weights) must not resume its old results."""
    import shutil

    from diversity_metrics.judges.learned import DEFAULT_JUDGE_DIR

    folder = tmp_path / "judge"
    shutil.copytree(DEFAULT_JUDGE_DIR, folder)
    src, out = _write(tmp_path / "gen.jsonl", _gen(B)), tmp_path / "out.jsonl"
    argv = ["score", str(src), "--judge", str(folder), "-o", str(out), "--quiet"]
    assert main(argv) == 0
    first = _read(out)
    assert "#" in first[0]["settings"]["metric_version"]  # the weights' hash is part of the version
    assert main(argv) == 0  # same weights: resumes, nothing recomputed
    assert _read(out) == first
    config = json.loads((folder / "config.json").read_text())
    config["operating_points"]["darling"] = 0.9  # the folder changed under the same path
    (folder / "config.json").write_text(json.dumps(config))
    capsys.readouterr()
    assert main(argv) == 2
    _one_error_line(capsys, "holds results made with other settings")
    assert main([*argv, "--no-resume"]) == 0
    assert _read(out)[0]["settings"]["metric_version"] != first[0]["settings"]["metric_version"]
