"""Reading generation files and the resumable writer."""

from __future__ import annotations

import json

import pytest

from diversity_metrics.io import InputFormatError, ResultWriter, example_path, load_groups

from .conftest import NOVELTYBENCH_DIR


def _write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def test_example_file_shape():
    groups = load_groups(example_path())
    assert len(groups) == 12
    assert all(len(g.generations) == 6 for g in groups)
    assert all(g.partition is None and g.qualities is None for g in groups)


def test_noveltybench_file_reads_partitions_and_scores(shared_dir):
    groups = load_groups(NOVELTYBENCH_DIR / "generations" / "humans.jsonl")
    assert len(groups) == 100
    first = groups[0]
    assert first.id == "curated-17"
    assert first.partition == [0, 1, 2, 3, 4, 0, 5, 6]
    assert first.qualities == [1, 1, 2, 1, 1, 0, 1, 1]


def test_flat_layout_groups_by_id_in_order(tmp_path):
    path = _write(tmp_path / "flat.jsonl", [
        {"id": "b", "prompt": "P2", "response": "x", "quality": 1},
        {"id": "a", "prompt": "P1", "response": "y", "quality": 0.5},
        {"id": "b", "prompt": "P2", "response": "z", "quality": 2},
    ])
    groups = load_groups(path)
    assert [g.id for g in groups] == ["b", "a"]
    assert groups[0].generations == ["x", "z"] and groups[0].qualities == [1.0, 2.0]


def test_flat_layout_groups_by_prompt_without_id(tmp_path):
    path = _write(tmp_path / "flat.jsonl", [{"prompt": "P", "response": "x"}, {"prompt": "P", "response": "y"}])
    (group,) = load_groups(path)
    assert group.id == "P" and group.generations == ["x", "y"] and group.qualities is None


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["{not json"], r"flat.jsonl:1: not valid JSON"),
        (["[1, 2]"], "expected a JSON object"),
        ([{"id": "a", "text": "x"}], "needs a list field 'generations'"),
        ([{"id": "a", "generations": ["x", 1]}], r"generations\[1\] is int"),
        ([{"id": "a", "generations": ["x", "y"], "partition": [0]}], "partition and generations have mismatched lengths"),
        ([{"id": "a", "generations": ["x"], "generation_scores": [float("nan")]}], "NaN"),
        ([{"id": "a", "generations": ["x"]}, {"id": "a", "generations": ["y"]}], "duplicate id 'a'"),
        ([{"id": "a", "generations": ["x"]}, {"id": "b", "response": "y"}], "mixes"),
        ([{"response": "y"}], "needs an 'id' or a 'prompt'"),
        ([{"id": "a", "response": "x", "quality": 1}, {"id": "a", "response": "y"}], "some responses but not all"),
        ([], "no records"),
    ],
)
def test_bad_files_name_the_problem(tmp_path, rows, message):
    path = _write(tmp_path / "flat.jsonl", rows)
    with pytest.raises(InputFormatError, match=message):
        load_groups(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="input file not found"):
        load_groups(tmp_path / "nope.jsonl")


def test_writer_resumes_and_drops_a_cut_line(tmp_path):
    out = tmp_path / "out.jsonl"
    with ResultWriter(out) as w:
        w.write({"id": "a", "v": 1})
        w.write({"id": "b", "v": 2})
    with out.open("a") as fh:
        fh.write('{"id": "c", "v"')  # interrupted mid-write
    w = ResultWriter(out)
    assert w.done == {"a", "b"}
    w.write({"id": "c", "v": 3})
    w.close()
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in lines] == ["a", "b", "c"]
    assert ResultWriter(out, resume=False).done == set()
    assert out.read_text() == ""
