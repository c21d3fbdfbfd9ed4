"""`diversity-metrics judges`: the default, aliases, the extra each judge needs and one line each."""

from __future__ import annotations

import pytest

from diversity_metrics.cli import main
from diversity_metrics.judges import DEFAULT_JUDGE, describe_judges, get_judge


def test_judges_command_lists_default_aliases_and_summaries(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["judges"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["judge", "aliases", "extra", "summary"]
    rows = {line.split()[0]: line for line in lines[1:] if line and not line.startswith("A judge")}
    assert set(rows) == {r["name"] for r in describe_judges()}
    default = [name for name, line in rows.items() if "(default)" in line]
    assert default == [DEFAULT_JUDGE] == ["learned"]
    assert "rouge1" in rows["unigram"] and "ROUGE-1 F1 > 0.458" in rows["unigram"]
    assert "[judges]" in rows["embedding"] and rows["exact"].split()[1:3] == ["-", "-"]
    for name, line in rows.items():  # every alias shown is accepted by get_judge as that judge
        for r in describe_judges():
            if r["name"] == name:
                assert all(a in line for a in r["aliases"]) and r["summary"] in line
    assert type(get_judge("rouge1")) is type(get_judge("unigram"))
