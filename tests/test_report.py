"""``diversity-metrics report``: real score runs (the shipped example, NoveltyBench's GPT-4o and human
generations with their official partitions) rendered to HTML + PNG, checked file by file."""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from diversity_metrics.cli import main

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "noveltybench" / "generations"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Score runs made by the CLI, as a user would make them."""
    d = tmp_path_factory.mktemp("runs")
    assert main(["score", "--example", "--judge", "unigram", "-o", str(d / "example.scores.jsonl"), "--quiet"]) == 0
    for name in ("gpt-4o", "humans"):
        assert main(["score", str(SHARED / f"{name}.jsonl"), "--use-file-partitions",
                     "-o", str(d / f"{name}.scores.jsonl"), "--quiet"]) == 0
    return d


def read_png(path: Path) -> np.ndarray:
    import matplotlib.image

    return matplotlib.image.imread(path)


def check_page(out: Path, expected_plots: set[str]) -> str:
    page = (out / "index.html").read_text(encoding="utf-8")
    referenced = set(re.findall(r'<img src="(report_\w+\.png)"', page))
    assert referenced == {f"report_{p}.png" for p in expected_plots}
    for name in referenced:
        img = read_png(out / name)
        height, width = img.shape[:2]
        assert width > 300 and height > 300, (name, img.shape)
        assert img[..., :3].std() > 0.05  # not a blank canvas
    assert "http://" not in page and "https://" not in page and "<script" not in page  # works offline
    return page


def test_gpt4o_against_humans(runs, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["report", str(runs / "gpt-4o.scores.jsonl"), str(runs / "humans.scores.jsonl"), "-o", str(out)]) == 0
    assert "report written to" in capsys.readouterr().out
    page = check_page(out, {"means", "class_counts", "class_sizes", "patience"})
    assert "not shown: the records carry no per-generation" not in page  # score stores qualities
    assert "not shown: no run carries pass@k" in page
    summary = json.loads((out / "summary.json").read_text())
    by = {r["system"]: r for r in summary["runs"]}
    # the official partitions: GPT-4o 2.89 classes a prompt (reference-numbers.md), humans 6.58
    assert by["gpt-4o"]["metrics"]["distinct_k"]["mean"] == pytest.approx(2.89)
    assert by["humans"]["metrics"]["distinct_k"]["mean"] == pytest.approx(6.58)
    lo, hi = by["gpt-4o"]["metrics"]["distinct_k"]["ci_low"], by["gpt-4o"]["metrics"]["distinct_k"]["ci_high"]
    assert lo < 2.89 < hi and hi < by["humans"]["metrics"]["distinct_k"]["ci_low"]
    assert by["gpt-4o"]["metric_version"] == "file partitions" and not summary["mixed_metric_versions"]
    assert "<td>gpt-4o</td><td>100</td><td>2.890 <small>" in page


def test_example_run_and_mixed_metric_versions_are_flagged(runs, tmp_path):
    from diversity_metrics.report import write_report

    out = tmp_path / "mixed"
    write_report([runs / "example.scores.jsonl", runs / "gpt-4o.scores.jsonl"], out, labels=["example", "gpt"])
    page = check_page(out, {"means", "class_counts", "class_sizes", "patience"})
    version = json.loads((runs / "example.scores.jsonl").read_text().splitlines()[0])["settings"]["metric_version"]
    assert "unigram" in version and version in page and "file partitions" in page
    assert "not comparable" in page and "⚠" in page
    with pytest.raises(ValueError, match="different metric versions"):
        write_report([runs / "example.scores.jsonl", runs / "gpt-4o.scores.jsonl"], tmp_path / "strict", strict=True)


def test_a_run_mixing_metric_versions_is_refused(runs, tmp_path):
    from diversity_metrics.report import load_runs

    lines = (runs / "example.scores.jsonl").read_text().splitlines() + \
        (runs / "gpt-4o.scores.jsonl").read_text().splitlines()[:3]
    mixed = tmp_path / "mixed.scores.jsonl"
    mixed.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match="mixes records of 2 metric versions"):
        load_runs([mixed])


def test_patience_curve_from_stored_qualities(runs, tmp_path):
    """Records that carry qualities get utility against patience; at p = 0.8 it is the stored utility_k."""
    from diversity_metrics.report import PATIENCES, _patience_curves, load_runs, write_report

    official = {json.loads(line)["id"]: json.loads(line) for line in (SHARED / "gpt-4o.jsonl").read_text().splitlines()}
    records = [json.loads(line) for line in (runs / "gpt-4o.scores.jsonl").read_text().splitlines()]
    with_q = tmp_path / "gpt-4o-q.scores.jsonl"
    with_q.write_text("".join(json.dumps({**r, "qualities": official[r["id"]]["generation_scores"]}) + "\n"
                              for r in records))
    (curve,) = _patience_curves(load_runs([with_q])).values()
    stored = np.mean([r["utility_k"] for r in records])
    assert curve[PATIENCES.index(0.8)][0] == pytest.approx(stored)
    # p = 0 is the quality of the first response alone; utility falls as later repeats weigh more
    assert curve[0][0] == pytest.approx(np.mean([official[r["id"]]["generation_scores"][0] for r in records]))
    assert curve[-1][0] < curve[0][0]
    out = tmp_path / "report"
    write_report([with_q, runs / "humans.scores.jsonl"], out)
    check_page(out, {"means", "class_counts", "class_sizes", "patience"})


def test_pass_and_maj_curves_from_math_outputs(tmp_path):
    from diversity_metrics.report import write_report

    samples = tmp_path / "samples_aime.jsonl"  # lm-eval samples: one doc a line with per-doc metrics
    rows = [{"doc_id": i, "pass@1": p1, "pass@2": p2, "pass@4": p4, "maj@1": p1, "maj@4": m4}
            for i, (p1, p2, p4, m4) in enumerate([(0.25, 0.5, 1.0, 0.0), (0.0, 0.0, 0.0, 0.0), (1.0, 1.0, 1.0, 1.0)])]
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    results = tmp_path / "results_model_b.json"  # lm-eval aggregated results, one system per task
    results.write_text(json.dumps({"results": {"dm_aime24": {"alias": "x", "pass@1,none": 0.3, "pass@1_stderr,none": 0.1,
                                                            "pass@4,none": 0.6, "maj@4,none": 0.4},
                                               "dm_amc23": {"pass@1,none": 0.5, "pass@4,none": 0.8}}}))
    out = tmp_path / "report"
    write_report([samples, results], out)
    page = check_page(out, {"passk"})
    summary = {r["system"]: r["metrics"] for r in json.loads((out / "summary.json").read_text())["runs"]}
    assert set(summary) == {"samples_aime", "results_model_b/dm_aime24", "results_model_b/dm_amc23"}
    assert summary["samples_aime"]["pass@4"]["mean"] == pytest.approx(2 / 3)
    assert summary["samples_aime"]["pass@2"]["mean"] == pytest.approx(0.5)
    assert summary["results_model_b/dm_aime24"]["maj@4"]["mean"] == pytest.approx(0.4)
    assert "pass@1_stderr" not in json.dumps(summary)
    assert "not shown: no run holds partitions" in page


def test_bad_inputs_are_named(tmp_path):
    from diversity_metrics.report import load_runs

    with pytest.raises(FileNotFoundError, match="run file not found"):
        load_runs([tmp_path / "nope.jsonl"])
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "text": "no partition"}\n')
    with pytest.raises(ValueError, match="neither 'partition'"):
        load_runs([bad])
    bad.write_text("{not json\n")
    with pytest.raises(ValueError, match="bad.jsonl:1: not valid JSON"):
        load_runs([bad])
    with pytest.raises(ValueError, match="2 labels for 1 run"):
        load_runs([bad], labels=["a", "b"])


def test_without_matplotlib_the_import_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    monkeypatch.delitem(sys.modules, "diversity_metrics.report", raising=False)
    with pytest.raises(ImportError, match=r"diversity-metrics\[report\]"):
        importlib.import_module("diversity_metrics.report")
