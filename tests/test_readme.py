"""The README's Python tour runs and prints what its comments say; its commands are the Makefile's."""

from __future__ import annotations

import re

import numpy as np
import pytest

from .conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def test_python_tour_values():
    block = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    ns: dict = {}
    exec(compile(block, "README.md", "exec"), ns)  # noqa: S102 - our own README
    dm = ns["dm"]
    labels = ns["labels"]
    assert labels == [0, 0, 1, 2, 3]
    assert dm.distinct_k(labels) == 4
    assert dm.utility_k(labels, qualities=[5, 5, 3, 4, 2]) == pytest.approx(2.9115, abs=1e-4)
    np.testing.assert_allclose(dm.darling_reward(labels, qualities=[1, 1, 0, 1, 1]), [0.75, 0.75, 0, 1, 1])
    np.testing.assert_allclose(dm.pass_at_k(num_samples=[8, 16], num_correct=[3, 0], k=4), [0.9286, 0.0], atol=1e-4)
    assert dm.vendi_score(similarity=[[1, .9, 0], [.9, 1, 0], [0, 0, 1]]) == pytest.approx(2.1573, abs=1e-4)
    from diversity_metrics.judges.learned import LearnedJudge

    version = LearnedJudge.version_for({})
    expected = f"dm{dm.__version__}/learned#{version}@human/transitive/short=normalized"
    assert ns["engine"].settings()["metric_version"] == expected
    assert f"'{expected}'" in block  # the README shows the shipped judge's current hash
    assert ns["engine"].partition_batch([["yes", "Yes!"]]) == [[0, 0]]


def test_setup_commands_are_make_targets_and_ci_runs_the_test_one():
    assert "make demo" in README and "make test" in README
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)


def test_demo_table_shows_what_the_shipped_judge_does():
    """The classes the README prints for the demo file are the ones `diversity-metrics score --example` makes."""
    import json

    import diversity_metrics as dm
    from diversity_metrics.io import example_path

    rows = {r["id"]: r for r in map(json.loads, example_path().read_text().splitlines()) if r}
    table = re.findall(r"^\| (ex-\d+) [^|]*\|[^|]*\| `(\[[\d, ]+\])`", README, re.M)
    assert len(table) >= 4
    for rid, shown in table:
        row = rows[rid]
        assert dm.partition(row["generations"], prompt=row["prompt"]) == json.loads(shown), rid
