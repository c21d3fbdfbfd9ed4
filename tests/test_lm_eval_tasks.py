"""The lm-eval tasks, run by the real lm-eval 0.4.13 with a scripted model (no generation, no network)."""

from __future__ import annotations

import collections
import itertools
import json
import math
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("lm_eval")

import lm_eval  # noqa: E402
from lm_eval.api.model import LM  # noqa: E402
from lm_eval.tasks import TaskManager  # noqa: E402
from lm_eval.tasks._index import TaskIndex  # noqa: E402

from diversity_metrics.lm_eval_tasks import lm_eval_command, tasks_path  # noqa: E402
from diversity_metrics.lm_eval_tasks import utils as task_utils  # noqa: E402

from .test_lm_eval_quality import save_constant_reward_model  # noqa: E402

MATH_TASKS = {"aime24": 30, "aime25": 30, "amc23": 40, "hmmt_feb25": 30, "brumo25": 30}
NB_TASKS = {"curated": 100, "wildchat": 1000}
ALL_TASKS = (
    [f"{s}_passk{v}" for s in MATH_TASKS for v in ("", "_n64", "_n128")]
    + [f"noveltybench_{s}{v}" for s in NB_TASKS for v in ("", "_k5", "_k20")]
)


class ScriptedLM(LM):
    """Returns, for each prompt, its scripted outputs in order (the i-th repeat gets the i-th output)."""

    def __init__(self, outputs: dict[str, list[str]]) -> None:
        super().__init__()
        self.outputs = outputs
        self.calls: collections.Counter[str] = collections.Counter()
        self.gen_kwargs: list[dict[str, Any]] = []

    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        out = []
        for req in requests:
            context, kwargs = req.args
            self.gen_kwargs.append(kwargs)
            out.append(self.outputs[context][self.calls[context]])
            self.calls[context] += 1
        return out

    def loglikelihood(self, requests: list[Any], disable_tqdm: bool = False) -> list[Any]:
        raise NotImplementedError

    def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list[Any]:
        raise NotImplementedError


@pytest.fixture(autouse=True)
def _local_data(shared_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(task_utils.DATA_DIR_ENV, str(shared_dir / "data"))
    for env in (task_utils.JUDGE_ENV, task_utils.STRATEGY_ENV, task_utils.REWARD_MODEL_ENV,
                task_utils.QUALITY_SCALE_ENV, task_utils.PATIENCE_ENV):  # fmt: skip
        monkeypatch.delenv(env, raising=False)


def _manager(**metadata: Any) -> TaskManager:
    # only this package's folder: indexing lm-eval's ~10k built-in YAML files costs seconds per manager
    return TaskManager(include_path=str(tasks_path()), include_defaults=False, metadata=metadata or None)


def _run(tm: TaskManager, lm: ScriptedLM, tasks: list[str], **kwargs: Any) -> dict[str, Any]:
    return lm_eval.simple_evaluate(model=lm, tasks=tasks, task_manager=tm, log_samples=True, **kwargs)


def _prompt_math(question: str) -> str:
    return f"{question}\nPlease reason step by step, and put your final answer within \\boxed{{}}."


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


# ------------------------------------------------------------------------------------- discovery


def test_every_task_is_indexed() -> None:
    tm = _manager()
    missing = [t for t in ALL_TASKS + ["noveltybench"] if t not in tm.all_tasks]
    assert not missing, f"lm-eval skipped these YAML files (parse error?): {missing}"
    builtin = TaskIndex.build([Path(lm_eval.tasks.__file__).parent])  # lm-eval's own tasks
    assert not set(builtin) & set(tm.all_tasks), "a task, group or tag name shadows a built-in lm-eval task"
    assert set(tm.all_tags) >= {"diversity_math", "diversity_math_n64", "diversity_math_n128", "noveltybench_k10"}


def test_every_task_loads_local_data_with_consistent_config() -> None:
    from lm_eval.tasks import get_task_dict

    tm = _manager()
    tasks = get_task_dict(ALL_TASKS, tm)
    for name, task in tasks.items():
        cfg = task.config
        docs = list(task.test_docs())
        repeats = cfg.repeats
        assert cfg.generation_kwargs["do_sample"] is True, name
        assert "seed" not in cfg.generation_kwargs, name
        assert [f["name"] for f in cfg.filter_list] == ["all_samples"], name
        metrics = [m["metric"] for m in cfg.metric_list]
        if name.startswith("noveltybench"):
            assert len(docs) == NB_TASKS[name.split("_")[1]]
            assert repeats == {"": 10, "k5": 5, "k20": 20}[name.split("_")[2] if name.count("_") == 2 else ""]
            assert cfg.generation_kwargs["temperature"] == 1.0
            assert metrics == ["distinct_k", "utility_k"]
            assert set(docs[0]) >= {"id", "prompt", "dm_partition"}
            assert json.loads(docs[0]["dm_partition"])["strategy"] == "greedy"
        else:
            source = name.split("_passk")[0]
            assert len(docs) == MATH_TASKS[source], name
            assert repeats == {"": 16, "_n64": 64, "_n128": 128}[name.split("_passk")[1]], name
            ks = task_utils.powers_of_two_up_to(repeats)
            assert metrics == [f"pass@{k}" for k in ks] + [f"maj@{k}" for k in ks], name
            assert all(d["answer"] and d["question"] for d in docs)
            assert "\\boxed{}" in task.doc_to_text(docs[0])


def test_local_math_answers_are_text(shared_dir: Path) -> None:
    docs = task_utils.load_docs(source="amc23", data_dir=str(shared_dir / "data"))["test"]
    assert docs[0]["answer"] == "27"  # stored as the float 27.0
    assert docs[0]["question"].startswith("Cities $A$ and $B$")
    aime24 = task_utils.load_docs(source="aime24", data_dir=str(shared_dir / "data"))["test"]
    assert aime24[0]["answer"] == "204" and aime24[0]["id"] == "60"


def test_default_source_is_the_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    # No network here: capture the hub request instead of downloading it.
    import datasets

    monkeypatch.delenv(task_utils.DATA_DIR_ENV)
    calls = []

    def fake_load_dataset(path: str, split: str) -> list[dict[str, Any]]:
        calls.append((path, split))
        return [{"problem_idx": 1, "problem": "What is $1+1$?", "answer": 2}]

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    docs = task_utils.load_docs(source="hmmt_feb25")["test"]
    assert calls == [("MathArena/hmmt_feb_2025", "train")]
    assert docs[0]["question"] == "What is $1+1$?" and docs[0]["answer"] == "2" and docs[0]["id"] == "1"
    expected = {
        "noveltybench_curated": ("yimingzhang/novelty-bench", "curated"),
        "noveltybench_wildchat": ("yimingzhang/novelty-bench", "wildchat"),
        "aime24": ("HuggingFaceH4/aime_2024", "train"),
        "aime25": ("math-ai/aime25", "test"),
        "amc23": ("math-ai/amc23", "test"),
        "brumo25": ("MathArena/brumo_2025", "train"),
    }
    for source, (hub, split) in expected.items():
        assert (task_utils.SOURCES[source].hub_id, task_utils.SOURCES[source].split) == (hub, split)


# ------------------------------------------------------------------------------- math: exact values

# labels: C = correct, H = the wrong answer 1/2 (two spellings), S = the wrong answer 7 (or 72), None = no answer
DOC0 = (["\\boxed{70}"] * 6 + ["\\boxed{71}"] * 5 + ["So the answer is \\boxed{72}."] * 3 + ["I give up."] * 2)
LAB0 = ["C"] * 6 + ["H"] * 5 + ["S"] * 3 + [None] * 2
DOC1 = (["\\boxed{588}", "\\boxed{588.0}"] * 2 + ["\\boxed{\\frac{1}{2}}"] * 5 + ["\\boxed{0.5}"] + ["\\boxed{7}"] * 6)
LAB1 = ["C"] * 4 + ["H"] * 6 + ["S"] * 6


def brute_force_maj(labels: list[str | None], k: int) -> float:
    """maj@k by enumerating every k-subset; ties split the credit equally, no votes earn 0."""
    total = 0.0
    subsets = list(itertools.combinations(labels, k))
    for subset in subsets:
        votes = collections.Counter(x for x in subset if x is not None)
        if not votes:
            continue
        top = max(votes.values())
        winners = [a for a, v in votes.items() if v == top]
        if "C" in winners:
            total += 1.0 / len(winners)
    return total / len(subsets)


def pass_formula(n: int, c: int, k: int) -> float:
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def test_math_task_exact_pass_and_maj(shared_dir: Path) -> None:
    rows = _rows(shared_dir / "data/math/aime25.jsonl")[:2]
    assert [r["answer"] for r in rows] == ["70", "588"]
    lm = ScriptedLM({_prompt_math(rows[0]["question"]): DOC0, _prompt_math(rows[1]["question"]): DOC1})
    res = _run(_manager(), lm, ["aime25_passk"], limit=2)
    assert sum(lm.calls.values()) == 32  # 16 samples for each of the 2 problems
    assert all(kw["do_sample"] is True and kw["until"] == [] for kw in lm.gen_kwargs)
    samples = res["samples"]["aime25_passk"]
    assert [len(s["filtered_resps"][0]) for s in samples] == [16, 16]
    out = res["results"]["aime25_passk"]
    for k in (1, 2, 4, 8, 16):
        per_doc_pass = [pass_formula(16, 6, k), pass_formula(16, 4, k)]
        assert [s[f"pass@{k}"] for s in samples] == pytest.approx(per_doc_pass, abs=1e-12)
        assert out[f"pass@{k},all_samples"] == pytest.approx(sum(per_doc_pass) / 2, abs=1e-12)
        per_doc_maj = [brute_force_maj(LAB0, k), brute_force_maj(LAB1, k)]
        assert [s[f"maj@{k}"] for s in samples] == pytest.approx(per_doc_maj, abs=1e-9)
        assert out[f"maj@{k},all_samples"] == pytest.approx(sum(per_doc_maj) / 2, abs=1e-9)
    # anchors that need no formula: one voter, and all 16 voting
    assert samples[0]["maj@1"] == pytest.approx(6 / 16) and samples[0]["maj@16"] == 1.0
    assert samples[1]["maj@16"] == 0.0 and samples[1]["pass@16"] == 1.0  # 1/2 and 7 (6 votes each) beat 588 (4)


def test_grade_samples_groups_equivalent_answers() -> None:
    correct, counts, abstain = task_utils.grade_samples("588", DOC1)
    assert correct == [x == "C" for x in LAB1]
    assert counts == [4, 6, 6] and abstain == 0
    correct, counts, abstain = task_utils.grade_samples("\\frac{1}{2}", ["\\boxed{0.5}", "\\boxed{1/2}", "none", "\\boxed{3}"])
    assert correct == [True, True, False, False] and counts == [2, 1] and abstain == 1


# ------------------------------------------------------------------------------ NoveltyBench: exact

A = "Once upon a time a girl and her dog walked to the sea."
B = "The dog found a shiny key buried deep in the garden soil."
C = "A storm rolled in and the girl sheltered the dog under her coat."
D = "They won first prize together at the village agility show."
NB0 = [A, A, B, A, C, B, A, A, D, A]  # classes 0 0 1 0 2 1 0 0 3 0 -> 4 distinct, new at positions 0, 2, 4, 8
NB1 = [B] * 10


def _nb_lm(shared_dir: Path) -> tuple[ScriptedLM, list[str]]:
    prompts = [r["prompt"] for r in _rows(shared_dir / "data/noveltybench/curated.jsonl")[:2]]
    return ScriptedLM({prompts[0]: NB0, prompts[1]: NB1}), prompts


def test_noveltybench_exact_distinct_without_reward_model(shared_dir: Path) -> None:
    lm, _ = _nb_lm(shared_dir)
    res = _run(_manager(judge="exact"), lm, ["noveltybench_curated"], limit=2)
    assert sum(lm.calls.values()) == 20
    assert all(kw["do_sample"] is True and kw["temperature"] == 1.0 for kw in lm.gen_kwargs)
    samples = res["samples"]["noveltybench_curated"]
    assert [len(s["filtered_resps"][0]) for s in samples] == [10, 10]
    assert [s["distinct_k"] for s in samples] == [4.0, 1.0]
    out = res["results"]["noveltybench_curated"]
    assert out["distinct_k,all_samples"] == 2.5
    assert not any(key.startswith("utility_k") for key in out)  # no reward model: not reported, no NaN
    assert all("utility_k" not in s for s in samples)


def test_noveltybench_group_weights_both_subsets(shared_dir: Path) -> None:
    curated = _rows(shared_dir / "data/noveltybench/curated.jsonl")[0]["prompt"]
    wildchat = _rows(shared_dir / "data/noveltybench/wildchat-1k.jsonl")[0]["prompt"]
    lm = ScriptedLM({curated: NB0, wildchat: NB1})
    res = _run(_manager(judge="exact"), lm, ["noveltybench"], limit=1)
    assert res["results"]["noveltybench_curated"]["distinct_k,all_samples"] == 4.0
    assert res["results"]["noveltybench_wildchat"]["distinct_k,all_samples"] == 1.0
    assert res["results"]["noveltybench"]["distinct_k,all_samples"] == 2.5
    assert "utility_k,all_samples" not in res["results"]["noveltybench"]


def test_noveltybench_exact_utility_with_reward_model(shared_dir: Path, tmp_path: Path) -> None:
    rm = save_constant_reward_model(tmp_path / "rm", -5.2)  # NoveltyBench scale: -5.5 < r <= -5.0 -> 6
    lm, _ = _nb_lm(shared_dir)
    res = _run(_manager(judge="exact", reward_model=str(rm)), lm, ["noveltybench_curated"], limit=2)
    weights = [0.8**i for i in range(10)]
    u0 = 6 * (weights[0] + weights[2] + weights[4] + weights[8]) / sum(weights)
    u1 = 6 * weights[0] / sum(weights)
    samples = res["samples"]["noveltybench_curated"]
    assert [s["utility_k"] for s in samples] == pytest.approx([u0, u1], abs=1e-12)
    assert res["results"]["noveltybench_curated"]["utility_k,all_samples"] == pytest.approx((u0 + u1) / 2, abs=1e-12)


def test_noveltybench_settings_from_environment(shared_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rm = save_constant_reward_model(tmp_path / "rm", 1.5)
    monkeypatch.setenv(task_utils.JUDGE_ENV, "exact")
    monkeypatch.setenv(task_utils.REWARD_MODEL_ENV, str(rm))
    monkeypatch.setenv(task_utils.QUALITY_SCALE_ENV, "raw")
    monkeypatch.setenv(task_utils.PATIENCE_ENV, "0.5")
    lm, _ = _nb_lm(shared_dir)
    res = _run(_manager(), lm, ["noveltybench_curated"], limit=1)
    weights = [0.5**i for i in range(10)]
    want = 1.5 * (weights[0] + weights[2] + weights[4] + weights[8]) / sum(weights)
    sample = res["samples"]["noveltybench_curated"][0]
    assert json.loads(sample["doc"]["dm_partition"])["judge"] == "exact" and sample["distinct_k"] == 4.0
    assert sample["utility_k"] == pytest.approx(want, rel=1e-6)


def test_metadata_beats_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(task_utils.JUDGE_ENV, "unigram")
    judge_of = lambda settings: json.loads(settings["dm_partition"])["judge"]  # noqa: E731
    assert judge_of(task_utils.resolve_settings()) == "unigram"
    assert judge_of(task_utils.resolve_settings(judge="exact")) == "exact"
    assert task_utils.resolve_settings(reward_model="none")["dm_reward_model"] == ""
    monkeypatch.delenv(task_utils.JUDGE_ENV)
    monkeypatch.setenv(task_utils.SHORT_RULE_ENV, "noveltybench")
    assert task_utils.resolve_settings() == {
        "dm_partition": json.dumps({"batch_size": 1024, "device": None, "judge": "learned", "judge_options": {},
                                    "short_rule": "noveltybench", "strategy": "greedy"}, sort_keys=True),
        "dm_reward_model": "", "dm_quality_scale": "noveltybench", "dm_patience": 0.8,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("settings", "match"),
    [({"judge": "no-such-judge"}, "unknown judge 'no-such-judge'"),
     ({"judge": "unigram", "judge_options": {"thresold": 0.3}}, "judge 'unigram' has no option 'thresold'")],
)  # fmt: skip
def test_noveltybench_judge_errors_come_before_generation(shared_dir: Path, settings: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        task_utils.load_docs(source="noveltybench_curated", data_dir=str(shared_dir / "data"), **settings)
    lm, _ = _nb_lm(shared_dir)
    with pytest.raises(ValueError, match=match):
        _run(_manager(data_dir=str(shared_dir / "data"), **settings), lm, ["noveltybench_curated"], limit=1)
    assert sum(lm.calls.values()) == 0  # nothing was generated


def test_judge_options_reach_the_judge_in_a_real_lm_eval_run(shared_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """unigram at threshold 0 merges any two stories sharing a word (NB0 -> 1 class); at 0.999 only repeats."""
    counts = {}
    for threshold in (0.0, 0.999):
        lm, _ = _nb_lm(shared_dir)
        res = _run(_manager(judge="unigram", judge_options={"threshold": threshold}), lm, ["noveltybench_curated"], limit=2)
        samples = res["samples"]["noveltybench_curated"]
        assert all(json.loads(s["doc"]["dm_partition"])["judge_options"] == {"threshold": threshold} for s in samples)
        counts[threshold] = [s["distinct_k"] for s in samples]
    assert counts == {0.0: [1.0, 1.0], 0.999: [4.0, 1.0]}
    # the environment variable, as JSON text; metadata wins over it
    monkeypatch.setenv(task_utils.JUDGE_OPTIONS_ENV, '{"threshold": 0.25}')
    options_of = lambda settings: json.loads(settings["dm_partition"])["judge_options"]  # noqa: E731
    assert options_of(task_utils.resolve_settings(judge="unigram")) == {"threshold": 0.25}
    assert json.loads(task_utils.resolve_settings(judge_options={"device": "cpu"})["dm_partition"])["device"] == "cpu"


# --------------------------------------------- NoveltyBench: GPT-4o generations == the engine / the CLI


def _gpt4o_run(shared_dir: Path, judge: str, n_prompts: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows = _rows(shared_dir / "data/noveltybench/generations/gpt-4o.jsonl")[:n_prompts]
    curated = [r["id"] for r in _rows(shared_dir / "data/noveltybench/curated.jsonl")]
    indices = sorted(curated.index(r["id"]) for r in rows)
    lm = ScriptedLM({r["prompt"]: r["generations"] for r in rows})
    res = _run(_manager(judge=judge), lm, ["noveltybench_curated"], samples={"noveltybench_curated": indices})
    return rows, res["samples"]["noveltybench_curated"]


def test_gpt4o_replay_matches_cli_score(shared_dir: Path, tmp_path: Path) -> None:
    from diversity_metrics.cli import main

    rows, samples = _gpt4o_run(shared_dir, "unigram", 100)
    assert len(samples) == 100 and all(len(s["filtered_resps"][0]) == 10 for s in samples)
    lm_eval_counts = {s["doc"]["id"]: int(s["distinct_k"]) for s in samples}

    out = tmp_path / "scores.jsonl"
    gen_file = shared_dir / "data/noveltybench/generations/gpt-4o.jsonl"
    assert main(["score", str(gen_file), "--judge", "unigram", "--strategy", "greedy", "-o", str(out), "--quiet"]) == 0
    cli_counts = {r["id"]: int(r["distinct_k"]) for r in _rows(out)}
    assert lm_eval_counts == cli_counts
    # the replay is not trivial: the unigram judge finds several classes on many prompts
    assert len(set(cli_counts.values())) >= 3


def test_gpt4o_replay_default_judge_matches_partition(shared_dir: Path) -> None:
    import warnings

    from diversity_metrics import distinct_k, partition

    rows, samples = _gpt4o_run(shared_dir, "default", 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # while no learned judge is shipped the engine warns and falls back
        want = {r["id"]: distinct_k(partition(r["generations"], prompt=r["prompt"])) for r in rows}
    assert {s["doc"]["id"]: int(s["distinct_k"]) for s in samples} == want


# -------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [({"source": "gsm8k"}, ValueError, "source must be one of"),
     ({"source": "aime24", "data_dir": "/nonexistent/dir"}, ValueError, "is not a folder"),
     ({"source": "aime24", "judge": 3}, TypeError, "judge must be"),
     ({"source": "aime24", "strategy": "random"}, ValueError, "strategy must be one of"),
     ({"source": "aime24", "quality_scale": "stars"}, ValueError, "quality_scale must be one of"),
     ({"source": "aime24", "patience": 1.5}, ValueError, "patience must be"),
     ({"source": "aime24", "patience": "slow"}, TypeError, "patience must be"),
     ({"source": "aime24", "judge_options": "threshold=0.3"}, ValueError, "judge_options must be a JSON object"),
     ({"source": "aime24", "judge_options": [0.3]}, TypeError, "judge_options must be a mapping"),
     ({"source": "aime24", "judge_options": {"a b": 1}}, ValueError, "keys must be option names"),
     ({"source": "aime24", "judge_options": {"x": object()}}, TypeError, "must hold JSON values")],
)  # fmt: skip
def test_load_docs_bad_input(kwargs: dict[str, Any], exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        task_utils.load_docs(**kwargs)


def test_load_docs_missing_file_and_fields(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="math/aime24.jsonl"):
        task_utils.load_docs(source="aime24", data_dir=str(tmp_path))
    (tmp_path / "math").mkdir()
    (tmp_path / "math/aime24.jsonl").write_text('{"id": 1, "answer": "3"}\n')
    with pytest.raises(ValueError, match="no 'question' or 'problem'"):
        task_utils.load_docs(source="aime24", data_dir=str(tmp_path))
    (tmp_path / "math/aime24.jsonl").write_text('{"id": 1, "question": "1+2?"}\n')
    with pytest.raises(ValueError, match="no 'answer'"):
        task_utils.load_docs(source="aime24", data_dir=str(tmp_path))
    (tmp_path / "math/aime24.jsonl").write_text("{not json\n")
    with pytest.raises(ValueError, match="not valid JSON"):
        task_utils.load_docs(source="aime24", data_dir=str(tmp_path))
    (tmp_path / "math/aime24.jsonl").write_text("\n")
    with pytest.raises(ValueError, match="holds no documents"):
        task_utils.load_docs(source="aime24", data_dir=str(tmp_path))
    (tmp_path / "noveltybench").mkdir()
    (tmp_path / "noveltybench/curated.jsonl").write_text('{"id": "x", "prompt": ""}\n')
    with pytest.raises(ValueError, match="no 'prompt'"):
        task_utils.load_docs(source="noveltybench_curated", data_dir=str(tmp_path))


def test_process_results_without_the_filter() -> None:
    doc = {"answer": "3", "prompt": "p", **task_utils.resolve_settings(judge="exact")}
    with pytest.raises(ValueError, match="filter_list missing"):
        task_utils.process_math(doc, ["\\boxed{3}"])  # take_first would hand over one string
    with pytest.raises(ValueError, match="filter_list missing"):
        task_utils.process_noveltybench(doc, [])
    with pytest.raises(TypeError, match=r"samples\[1\] is int, expected str"):
        task_utils.process_math(doc, [["\\boxed{3}", 3]])
    with pytest.raises(ValueError, match="samples is empty"):
        task_utils.process_math(doc, [[]])
    with pytest.raises(ValueError, match="cannot parse the reference answer"):
        task_utils.process_math({"answer": "\\\\"}, [["\\boxed{3}"]])
    assert task_utils.process_math(doc, [["\\boxed{3}", "\\boxed{4}", "\\boxed{3}"]]) == pytest.approx(
        {"pass@1": 2 / 3, "pass@2": 1.0, "maj@1": 2 / 3, "maj@2": 2 / 3}
    )


def test_powers_of_two_bad_input() -> None:
    assert task_utils.powers_of_two_up_to(1) == [1]
    assert task_utils.powers_of_two_up_to(128)[-1] == 128
    for bad in (0, -4, 2.0, True):
        with pytest.raises(ValueError, match="n must be a positive integer"):
            task_utils.powers_of_two_up_to(bad)  # type: ignore[arg-type]


def test_lm_eval_command_bad_input() -> None:
    cmd = lm_eval_command(["--tasks", "aime24_passk"])
    # lm_eval's own command line, through the runner that only orders the results table numerically
    assert cmd[1:3] == ["-m", "diversity_metrics.lm_eval_tasks.run"] and cmd[-2:] == ["--include_path", str(tasks_path())]
    with pytest.raises(TypeError, match="args must be a list"):
        lm_eval_command("--tasks aime24_passk")  # type: ignore[arg-type]


def test_one_answer_rule_for_the_math_judge_the_tasks_and_the_estimators() -> None:
    """grade_samples' groups of wrong answers == the math judge's greedy partition == group_answers."""
    import numpy as np

    from diversity_metrics import maj_at_k, partition
    from diversity_metrics.answers import group_answers, parse_answer, same_answer
    from diversity_metrics.metrics.estimators import maj_at_k_from_answers

    samples = ["\\boxed{0.5}", "\\boxed{3}", "so $x = 6/2$", "\\boxed{1/2}", "no idea", "\\boxed{7}", "\\boxed{3.0}"]
    correct, counts, abstain = task_utils.grade_samples("\\frac{1}{2}", samples)
    assert correct == [True, False, False, True, False, False, False] and abstain == 1
    assert counts == [2, 3, 1]  # 3 = {3, 6/2, 3.0}; 7 alone
    wrong = [s for s, ok in zip(samples, correct) if not ok and parse_answer(s) is not None]
    labels = partition(wrong, judge="math", strategy="greedy", short_rule="off")
    assert sorted(np.bincount(labels).tolist(), reverse=True) == sorted(counts[1:], reverse=True)
    parsed = [parse_answer(s) for s in samples]
    _, all_counts, all_abstain = group_answers(parsed, same_answer)
    assert sorted(all_counts) == sorted(counts) and all_abstain == abstain
    # the same grouping through the estimators, with the math rule as `equal`
    got = maj_at_k_from_answers([parsed], [parse_answer("$\\frac{1}{2}$")], k=7, equal=same_answer)
    assert got.tolist() == [float(maj_at_k(counts, 0, 7, abstentions=abstain))]


def test_group_answers_key_shortcut_changes_nothing() -> None:
    from diversity_metrics.answers import group_answers

    answers = ["4", "4.0", None, "5", "4", "5.00", None, "6"]
    same = lambda a, b: float(a) == float(b)  # noqa: E731
    assert group_answers(answers, same) == group_answers(answers, same, key=str) == (["4", "5", "6"], [3, 2, 1], 2)
