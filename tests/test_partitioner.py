"""The one partition engine: PartitionSpec / Partitioner built from every front-end's config form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import diversity_metrics as dm
from diversity_metrics.partitioner import PartitionSpec, Partitioner, clear_judge_cache

SETTINGS = {"judge": "unigram", "judge_options": {"threshold": 0.3}, "strategy": "transitive", "short_rule": "noveltybench"}


def _groups(shared_dir: Path, n: int = 12) -> tuple[list[str], list[list[str]]]:
    rows = [json.loads(line) for line in (shared_dir / "data/noveltybench/generations/gpt-4o.jsonl").open()][:n]
    return [r["prompt"] for r in rows], [r["generations"] for r in rows]


def test_every_front_end_builds_the_same_partition(shared_dir: Path, tmp_path: Path) -> None:
    from diversity_metrics.cli import main
    from diversity_metrics.lm_eval_tasks import utils as lm_utils
    from verl_plugin.options import DarlingOptions

    prompts, groups = _groups(shared_dir)
    python = Partitioner(**SETTINGS).partition_batch(groups, prompts=prompts)
    # lm-eval: metadata -> the dm_partition column -> the task's cached Partitioner
    doc_settings = lm_utils.resolve_settings(**SETTINGS)
    lm_eval = [lm_utils._partitioner(doc_settings["dm_partition"]).partition(g, prompt=p) for p, g in zip(prompts, groups)]
    # verl: reward_kwargs -> DarlingOptions -> PartitionSpec
    verl_spec = DarlingOptions.from_mapping(SETTINGS).partition_spec()
    verl = Partitioner(verl_spec).partition_batch(groups, prompts=prompts)
    # CLI flags
    src = tmp_path / "gen.jsonl"
    src.write_text("".join(json.dumps({"id": str(i), "prompt": p, "generations": g}) + "\n"
                           for i, (p, g) in enumerate(zip(prompts, groups))))
    out = tmp_path / "out.jsonl"
    assert main(["score", str(src), "-o", str(out), "--quiet", "--judge", "unigram", "--judge-option", "threshold=0.3",
                 "--strategy", "transitive", "--short-rule", "noveltybench"]) == 0
    cli = [json.loads(line)["partition"] for line in out.open()]
    assert python == lm_eval == verl == cli
    assert verl_spec == PartitionSpec(**SETTINGS) == PartitionSpec.from_mapping(json.loads(doc_settings["dm_partition"]))
    # and the settings differ from the defaults, so the check is not vacuous
    assert python != Partitioner(judge="unigram").partition_batch(groups, prompts=prompts)


@pytest.mark.parametrize(
    ("settings", "exc", "match"),
    [
        ({"judge": "unigrm"}, ValueError, "unknown judge 'unigrm'"),
        ({"judge": "unigram", "judge_options": {"thresold": 0.3}}, ValueError, "has no option 'thresold'; it takes: threshold"),
        ({"judge": "unigram", "judge_options": {"threshold": "high"}}, TypeError, "option 'threshold' must be float"),
        ({"strategy": "greedyy"}, ValueError, "strategy must be one of"),
        ({"short_rule": "on"}, ValueError, "short_rule must be one of"),
        ({"device": "gpu0"}, ValueError, "device must be"),
        ({"device": 0}, TypeError, "device must be"),
        ({"batch_size": 0}, ValueError, "batch_size must be >= 1"),
        ({"batch_size": "8"}, TypeError, "batch_size must be an integer"),
        ({"judge": "embedding", "device": "cpu", "judge_options": {"device": "cuda"}}, ValueError, "disagree"),
        ({"judge": "learned", "judge_options": {"operating_point": "loose"}}, ValueError, "operating_point"),
        ({"judge_options": {"threshold": float("nan")}}, TypeError, "JSON values"),
        ({"strategies": "greedy"}, ValueError, r"unknown partition setting\(s\) \['strategies'\]"),
    ],
)
def test_spec_is_validated_in_full_when_built(settings, exc, match) -> None:
    with pytest.raises(exc, match=match):
        PartitionSpec.from_mapping(settings)


def test_spec_round_trips_and_names_canonical_settings() -> None:
    spec = PartitionSpec.from_mapping({"judge": "ROUGE1", "judge_options": '{"threshold": 0.5}', "device": "cpu"})
    assert spec.judge == "unigram" and spec.judge_options == {"threshold": 0.5}
    assert spec.device is None  # a model-free judge takes no device
    assert PartitionSpec.from_mapping(json.loads(spec.to_json())) == spec
    assert PartitionSpec.from_mapping({"judge": "default"}).judge == "learned"
    s = Partitioner(judge="exact", strategy="clique").settings()
    assert s["metric_version"] == f"dm{dm.__version__}/exact/clique/short=normalized"


def test_model_judges_take_the_device_setting_once() -> None:
    spec = PartitionSpec(judge="embedding", judge_options={"device": "cpu"})
    assert spec.device == "cpu" and "device" not in spec.judge_options
    assert "device" not in Partitioner(spec).settings()["judge_options"]  # never blocks a resume elsewhere


def test_partition_reuses_a_cached_judge() -> None:
    clear_judge_cache()
    texts = ["The capital of France is Paris, a city on the Seine.", "Paris is France's capital city, on the Seine.",
             "Rome is the capital of Italy."]
    first = dm.partition(texts)
    judge = Partitioner().judge
    assert Partitioner().judge is judge  # the same object: built once
    again = dm.partition(texts)
    assert first == again
    clear_judge_cache()
    assert Partitioner().judge is not judge


def test_set_judges_skip_the_strategy() -> None:
    class FirstLetter(dm.SetJudge):
        name = "first-letter"

        def partition_groups(self, groups, prompts):
            return [[ord(t[0]) for t in g] for g in groups]

    p = Partitioner(judge=FirstLetter())
    assert p.partition_batch([["apple", "avocado", "banana"], ["x"]]) == [[0, 0, 1], [0]]
    assert p.settings()["strategy"] == "set" and p.settings()["short_rule"] == "off"

    class Broken(FirstLetter):
        def partition_groups(self, groups, prompts):
            return [[0] for _ in groups]

    with pytest.raises(ValueError, match="returned labels"):
        Partitioner(judge=Broken()).partition(["a", "b"])
