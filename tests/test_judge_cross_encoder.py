"""Cross-encoder and NLI judges on tiny random DeBERTa-v2 models saved locally (no download)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from diversity_metrics import get_judge, partition  # noqa: E402
from diversity_metrics.judges.cross_encoder import CrossEncoderJudge, encode_pair  # noqa: E402
from diversity_metrics.judges.embedding import default_encoder_path  # noqa: E402
from diversity_metrics.judges.nli import NLIJudge  # noqa: E402

LONG_A = " ".join(f"alpha{i}" for i in range(400))
LONG_B = " ".join(f"beta{i}" for i in range(400))


def tiny_deberta(path, *, num_labels=2, type_vocab_size=2, id2label=None):
    from transformers import AutoTokenizer, DebertaV2Config, DebertaV2ForSequenceClassification

    tok = AutoTokenizer.from_pretrained(str(default_encoder_path()))  # offline word-piece tokenizer
    cfg = DebertaV2Config(
        vocab_size=tok.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        type_vocab_size=type_vocab_size,
        relative_attention=True,
        position_buckets=64,
        pos_att_type=["p2c", "c2p"],
        num_labels=num_labels,
        initializer_range=0.1,
        id2label=id2label or {i: f"LABEL_{i}" for i in range(num_labels)},
        label2id={v: k for k, v in (id2label or {i: f"LABEL_{i}" for i in range(num_labels)}).items()},
    )
    torch.manual_seed(0)
    model = DebertaV2ForSequenceClassification(cfg).eval()
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return model, tok


@pytest.fixture(scope="session")
def deberta_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny-deberta")
    tiny_deberta(path)
    return path


@pytest.fixture(scope="session")
def judge(deberta_dir):
    return CrossEncoderJudge(deberta_dir, threshold=0.5, device="cpu", batch_size=3)


def noveltybench_classifier_score(model, tokenizer, s1, s2):
    """NoveltyBench src/partition.py ``classifier_score``, transcribed (one pair, no attention mask)."""
    input_ids = [tokenizer.cls_token_id]
    for s in [s1, s2]:
        input_ids.extend(tokenizer.encode(s, truncation=True, max_length=128, add_special_tokens=False))
        input_ids.append(tokenizer.sep_token_id)
        prompt_len = input_ids.index(tokenizer.sep_token_id) + 1
    token_type_ids = [0] * prompt_len + [1] * (len(input_ids) - prompt_len)
    with torch.inference_mode():
        iids = torch.tensor(input_ids, dtype=torch.int64)
        tids = torch.tensor(token_type_ids, dtype=torch.int64)
        out = model(input_ids=iids.unsqueeze(0), token_type_ids=tids.unsqueeze(0))
    return out["logits"].softmax(-1)[0, 1].item(), input_ids, token_type_ids


def test_pair_encoding_matches_noveltybench(judge):
    tok = judge.tokenizer
    ids, types = encode_pair(tok, "The cat sat.", "A dog ran!")
    a = tok.encode("The cat sat.", add_special_tokens=False)
    b = tok.encode("A dog ran!", add_special_tokens=False)
    assert ids == [tok.cls_token_id, *a, tok.sep_token_id, *b, tok.sep_token_id]
    assert types == [0] * (len(a) + 2) + [1] * (len(b) + 1)
    assert ids[0] == 101 and ids.count(102) == 2  # [CLS] ... [SEP] ... [SEP] in the MiniLM vocabulary


def test_each_side_is_truncated_to_128_tokens(judge):
    tok = judge.tokenizer
    ids, types = encode_pair(tok, LONG_A, LONG_B)
    assert len(ids) == 128 + 128 + 3
    assert types == [0] * 130 + [1] * 129
    assert ids[129] == tok.sep_token_id and ids[-1] == tok.sep_token_id
    assert ids[1:129] == tok.encode(LONG_A, add_special_tokens=False)[:128]
    short_ids, short_types = encode_pair(tok, "short", LONG_B)
    assert len(short_ids) == 1 + len(tok.encode("short", add_special_tokens=False)) + 1 + 128 + 1
    assert sum(short_types) == 129


def test_scores_equal_noveltybench_one_pair_forwards(judge, deberta_dir):
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(deberta_dir).eval()
    tok = judge.tokenizer
    pairs = [
        ("The cat sat on the mat.", "A dog ran in the park."),
        ("short", "a much longer response with many more words in it than the first"),
        (LONG_A, LONG_B),
        ("", "empty first side"),
        ("The cat sat on the mat.", "The cat sat on the mat!"),
    ]
    ours = judge.score_pairs(pairs)  # batch_size 3: padded batches of different widths
    reference = [noveltybench_classifier_score(model, tok, a, b)[0] for a, b in pairs]
    np.testing.assert_allclose(ours, reference, atol=1e-5)
    assert ours.std() > 1e-3  # the random model is not constant: the comparison can fail


def test_token_type_ids_reach_the_model(judge, deberta_dir):
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(deberta_dir).eval()
    ids, types = encode_pair(judge.tokenizer, "The cat sat on the mat.", "A dog ran in the park.")
    with torch.inference_mode():
        no_types = model(input_ids=torch.tensor([ids])).logits.softmax(-1)[0, 1].item()
    ours = judge.score_pairs([("The cat sat on the mat.", "A dog ran in the park.")])[0]
    assert abs(ours - no_types) > 1e-4


def test_default_order_is_noveltybench_and_symmetric_option_averages(deberta_dir, judge):
    a, b = "The cat sat on the mat.", "A dog ran in the park today."
    ab, ba = judge.score_pairs([(a, b), (b, a)])
    assert ab != pytest.approx(ba, abs=1e-6)
    sym = CrossEncoderJudge(deberta_dir, device="cpu", symmetric=True)
    s_ab, s_ba = sym.score_pairs([(a, b), (b, a)])
    assert s_ab == pytest.approx((ab + ba) / 2, abs=1e-6)
    assert s_ab == pytest.approx(s_ba, abs=1e-9)


def test_get_judge_recognises_a_classification_folder(deberta_dir):
    judge = get_judge(deberta_dir, threshold=0.3, device="cpu")
    assert isinstance(judge, CrossEncoderJudge) and judge.threshold == 0.3
    judge2 = get_judge("cross-encoder", model=str(deberta_dir), device="cpu")
    assert isinstance(judge2, CrossEncoderJudge)


def test_engine_with_cross_encoder_uses_threshold(judge):
    texts = [f"response number {k} with a few more words {'x ' * k}" for k in range(5)]
    pairs = [(i, j) for i in range(5) for j in range(i + 1, 5)]
    scores = judge.score_pairs([(texts[i], texts[j]) for i, j in pairs])
    for threshold in np.quantile(scores, [0.2, 0.5, 0.8]):
        judge_t = CrossEncoderJudge.__new__(CrossEncoderJudge)
        judge_t.__dict__.update(judge.__dict__, threshold=float(threshold))
        labels = partition(texts, judge=judge_t, strategy="transitive")
        for (i, j), s in zip(pairs, scores):
            if s > threshold:
                assert labels[i] == labels[j]
        n_edges = int((scores > threshold).sum())
        assert (max(labels) + 1 < 5) == (n_edges > 0)


def test_cross_encoder_bad_options(deberta_dir):
    with pytest.raises(ValueError, match="max_length must be a positive integer"):
        CrossEncoderJudge(deberta_dir, max_length=0, device="cpu")
    with pytest.raises(ValueError, match="positive_class must be in"):
        CrossEncoderJudge(deberta_dir, positive_class=2, device="cpu")
    with pytest.raises(ValueError, match=r"needs option\(s\) \[.model.\]"):
        get_judge("cross-encoder")
    with pytest.raises(TypeError, match=r"pairs\[0\] holds"):
        CrossEncoderJudge(deberta_dir, device="cpu").score_pairs([("a", 1)])  # type: ignore[list-item]
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            CrossEncoderJudge(deberta_dir, device="cuda")


@pytest.fixture(scope="session")
def nli_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny-nli")
    tiny_deberta(path, num_labels=3, id2label={0: "CONTRADICTION", 1: "ENTAILMENT", 2: "NEUTRAL"})
    return path


def test_nli_judge_is_min_of_both_entailment_directions(nli_dir):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    judge = NLIJudge(nli_dir, device="cpu")
    assert judge.entailment_class == 1
    model = AutoModelForSequenceClassification.from_pretrained(nli_dir).eval()
    tok = AutoTokenizer.from_pretrained(nli_dir)
    a, b = "The capital of France is Paris.", "Paris is France's capital city."

    def entail(p, h):
        enc = tok(p, h, return_tensors="pt")
        with torch.inference_mode():
            return model(**enc).logits.softmax(-1)[0, 1].item()

    s_ab, s_ba = judge.score_pairs([(a, b), (b, a)])
    assert s_ab == pytest.approx(min(entail(a, b), entail(b, a)), abs=1e-5)
    assert s_ab == pytest.approx(s_ba, abs=1e-9)
    long_score = judge.score_pairs([(LONG_A, LONG_B)])  # truncated to 512 tokens, no error
    assert long_score.shape == (1,) and 0.0 <= long_score[0] <= 1.0


def test_nli_judge_needs_an_entailment_label(deberta_dir):
    with pytest.raises(ValueError, match="cannot find the entailment class"):
        NLIJudge(deberta_dir, device="cpu")
    assert NLIJudge(deberta_dir, device="cpu", entailment_class=1).entailment_class == 1
    with pytest.raises(ValueError, match=r"needs option\(s\) \[.model.\]"):
        get_judge("nli")


def test_cross_encoder_from_model_objects(deberta_dir, judge):
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(deberta_dir)
    in_memory = CrossEncoderJudge(model, tokenizer=judge.tokenizer, device="cpu")
    pairs = [("The cat sat on the mat.", "A dog ran in the park.")]
    np.testing.assert_allclose(in_memory.score_pairs(pairs), judge.score_pairs(pairs), atol=1e-6)
    with pytest.raises(ValueError, match="tokenizer is required"):
        CrossEncoderJudge(model, device="cpu")
