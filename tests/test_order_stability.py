"""Order stability (``diversity_metrics.stability`` and ``score --order-seeds``) with real judges and data."""

from __future__ import annotations

from pathlib import Path

import pytest

from diversity_metrics.cli import main
from diversity_metrics.io import load_groups
from diversity_metrics.partitioner import Partitioner
from diversity_metrics.stability import order_stability, parse_seeds, shuffle_order

GPT4O = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "noveltybench" / "generations" / "gpt-4o.jsonl"

# a chain for ROUGE-1 at 0.458: A~B (F1 0.5), B~C (0.5), A!~C (0): greedy depends on who comes first
A, B, C = "w1 w2 w3 w4", "w3 w4 w5 w6", "w5 w6 w7 w8"


def test_greedy_chain_distinct_depends_on_the_first_response():
    unigram = Partitioner(judge="unigram", short_rule="off")
    seeds = list(range(12))
    result = order_stability([[A, B, C]], unigram, seeds, ids=["chain"])
    assert result.original == [2]  # A first: B joins A, C is compared with A only
    # B first: everything joins B (1 class); A or C first: 2 classes
    expected = [1 if shuffle_order(3, s, "chain")[0] == 1 else 2 for s in seeds]
    assert result.by_seed == [expected] and 1 in expected and 2 in expected
    assert result.mean_abs_change == pytest.approx(expected.count(1) / len(seeds))
    assert result.share_changed == 1.0 and result.max_abs_change == 1
    assert result.settings["strategy"] == "greedy" and "metric_version" in result.summary()


def test_transitive_is_order_independent_on_real_generations():
    groups = load_groups(GPT4O)[:30]
    result = order_stability([g.generations for g in groups], Partitioner(judge="unigram", strategy="transitive"),
                             "1,2,3", ids=[g.id for g in groups])
    assert result.mean_abs_change == 0.0 and result.share_changed == 0.0 and result.share_partition_changed == 0.0


def test_greedy_on_real_generations_matches_a_hand_computed_shuffle():
    groups = load_groups(GPT4O)[:40]
    texts = [g.generations for g in groups]
    ids = [g.id for g in groups]
    greedy = Partitioner(judge="unigram")
    result = order_stability(texts, greedy, [5], ids=ids)
    # the same figures by hand: shuffle, partition, map back, count classes
    for gi, (g, key) in enumerate(zip(texts, ids)):
        order = shuffle_order(len(g), 5, key)
        labels = greedy.partition([g[i] for i in order])
        assert result.by_seed[gi] == [len(set(labels))]
        assert result.original[gi] == len(set(greedy.partition(g)))
    assert 0 < result.share_changed <= result.share_partition_changed <= 1
    # k counts the first k responses of the ORIGINAL order under every seed
    k3 = order_stability(texts, greedy, [5], ids=ids, k=3)
    assert all(o <= 3 and all(d <= 3 for d in row) for o, row in zip(k3.original, k3.by_seed))


def test_callable_partitioner_and_given_original():
    by_first_word = lambda groups, prompts: [[sorted({t.split()[0] for t in g}).index(t.split()[0]) for t in g]  # noqa: E731
                                             for g in groups]
    groups = [["x a", "y b", "x c"], ["z", "z q"]]
    result = order_stability(groups, by_first_word, [1, 2], original=[[0, 1, 0], [0, 0]])
    assert result.original == [2, 1] and result.by_seed == [[2, 2], [1, 1]] and result.partition_changed == [False, False]
    with pytest.raises(ValueError, match="one label per response"):
        order_stability(groups, by_first_word, [1], original=[[0, 1], [0, 0]])


def test_bad_seeds_are_named():
    with pytest.raises(ValueError, match="comma-separated integers"):
        parse_seeds("1,two")
    with pytest.raises(ValueError, match="distinct"):
        parse_seeds("1,1")
    with pytest.raises(ValueError, match="at least one"):
        parse_seeds(" , ")
    with pytest.raises(TypeError, match="integers"):
        parse_seeds([1.5])  # type: ignore[list-item]


def test_score_order_seeds_prints_the_python_figures(tmp_path, capsys):
    subset = tmp_path / "gpt-4o-30.jsonl"  # the first 30 prompts, to keep the test fast
    subset.write_text("".join(GPT4O.read_text(encoding="utf-8").splitlines(keepends=True)[:30]), encoding="utf-8")
    out = tmp_path / "g.scores.jsonl"
    rc = main(["score", str(subset), "--judge", "unigram", "-o", str(out), "--quiet", "--order-seeds", "1,2"])
    assert rc == 0
    text = capsys.readouterr().out
    groups = load_groups(subset)
    expected = order_stability([g.generations for g in groups], Partitioner(judge="unigram"), [1, 2],
                               ids=[g.id for g in groups])
    assert f"mean |change| of distinct_k:     {expected.mean_abs_change:.3f}" in text
    assert f"prompts whose distinct_k changes: {expected.share_changed:.1%}" in text
    assert "metric version: dm" in text


def test_score_order_seeds_refuses_file_partitions(tmp_path, capsys):
    rc = main(["score", str(GPT4O), "--use-file-partitions", "-o", str(tmp_path / "x.jsonl"), "--quiet",
               "--order-seeds", "1"])
    assert rc == 2 and "--order-seeds" in capsys.readouterr().err
    assert not (tmp_path / "x.jsonl").exists()  # refused before any scoring


def test_order_stability_with_the_llm_set_judge():
    """The llm judge through the same function (fake OpenAI-compatible server, see test_llm_judge.py)."""
    from diversity_metrics.partitioner import clear_judge_cache
    from tests.test_llm_judge import GROUP, FakeLLM

    fake = FakeLLM()
    try:
        clear_judge_cache()
        p = Partitioner(judge="llm", judge_options={"url": fake.url, "model": "m", "concurrency": 2})
        groups = [GROUP, ["Oslo a", "oslo b", "Lima c", "lima d"], ["Kyiv", "Quito"]]
        result = order_stability(groups, p, [1, 2], ids=["a", "b", "c"])
        assert result.original == [3, 2, 2] and result.by_seed == [[3, 3], [2, 2], [2, 2]]
        assert result.share_partition_changed == 0.0 and result.settings["strategy"] == "set"
        assert len(fake.requests) == 9  # every order is a new question: 3 prompts x (original + 2 seeds)
    finally:
        fake.close()
        clear_judge_cache()
