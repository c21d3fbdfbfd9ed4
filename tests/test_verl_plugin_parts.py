"""verl plug-in without Ray: options and their errors, the documented config, the in-process rendezvous with
the default judge, the verl 0.4-0.8 batch manager, the local HF reward model."""

from __future__ import annotations

import asyncio
import re
import shlex
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("verl")

import diversity_metrics as dm  # noqa: E402
from tests.test_verl_helpers import CORPUS, build_tokenizer, make_batch, verl_config  # noqa: E402
from verl_plugin.options import DarlingOptions  # noqa: E402
from verl_plugin.rendezvous import GroupRendezvous  # noqa: E402

DOCS = Path(__file__).resolve().parents[1] / "docs" / "verl.md"


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    from verl.utils import hf_tokenizer

    return hf_tokenizer(build_tokenizer(tmp_path_factory.mktemp("tok")), trust_remote_code=False)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"flor": 0.1}, ValueError, "unknown reward_kwargs"),
        ({"floor": 1.5}, ValueError, "reward_kwargs.floor must be"),
        ({"fusion": "sum"}, ValueError, "fusion must be one of"),
        ({"negative_quality": "clip"}, ValueError, "negative_quality must be one of"),
        ({"quality": "hf"}, ValueError, "quality_model_path"),
        ({"timeout_s": 0}, ValueError, "timeout_s must be > 0"),
        ({"timeout_s": "long"}, TypeError, "timeout_s must be a finite number"),
        ({"group_size": 0}, ValueError, "group_size must be a positive integer"),
        ({"diversity": "yes"}, TypeError, "diversity must be true or false"),
        ({"on_timeout": "ignore"}, ValueError, "on_timeout must be one of"),
        ({"val_splits": "test"}, TypeError, "val_splits must be a list"),
        ({"judge_options": "threshold=0.3"}, ValueError, "reward_kwargs.judge_options must be a JSON object"),
        ({"judge_options": ["threshold"]}, TypeError, "reward_kwargs.judge_options must be a mapping"),
        ({"strategy": "transitve"}, ValueError, "reward_kwargs.strategy must be one of"),
        ({"judge": "unigrm"}, ValueError, "reward_kwargs.judge: unknown judge 'unigrm'"),
        ({"judge": "unigram", "judge_options": {"thresold": 0.1}}, ValueError, "judge 'unigram' has no option 'thresold'"),
        ({"short_rule": "yes"}, ValueError, "reward_kwargs.short_rule must be one of"),
        ({"device": "gpu"}, ValueError, "reward_kwargs.device must be"),
        ({"judge_options": {"a b": 1}}, ValueError, "reward_kwargs.judge_options keys must be option names"),
    ],
)
def test_bad_options(kwargs, error, match):
    with pytest.raises(error, match=match):
        DarlingOptions.from_mapping(kwargs)


def test_manager_rejects_impossible_setups(tokenizer, tmp_path):
    from verl.trainer.ppo.reward import load_reward_manager

    base = [f"actor_rollout_ref.model.path={tmp_path}", "reward.reward_manager.name=darling"]
    with pytest.raises(ValueError, match="needs verl's reward router"):
        load_reward_manager(verl_config(base + ["+reward.reward_kwargs.quality=reward_router"]), tokenizer)
    with pytest.raises(ValueError, match="batch manager only"):
        load_reward_manager(verl_config(base + ["+reward.reward_kwargs.quality=rm_scores"]), tokenizer)


def _doc_commands() -> dict[str, list[str]]:
    """Override lines of each ```bash block in docs/verl.md that runs verl.trainer.main_ppo, by setting."""
    text = DOCS.read_text()
    out = {}
    for title, block in re.findall(r"<!-- setting: (\w+) -->\s*```bash\n(.*?)```", text, flags=re.S):
        tokens = shlex.split(block.replace("\\\n", " "), comments=True)
        start = tokens.index("verl.trainer.main_ppo") + 1
        out[title] = [t for t in tokens[start:] if "=" in t]
    return out


def _substitute(line: str, values: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: values[m.group(1)], line)


@pytest.mark.parametrize("setting", ["chat", "math"])
def test_documented_config_loads_in_verl(setting, tmp_path):
    """The docs' command lines compose with verl's ppo_trainer config and give DARLING's settings."""
    from verl.trainer.ppo.reward import resolve_reward_manager_cls

    from verl_plugin.reward_manager import DarlingRewardManager

    commands = _doc_commands()
    assert set(commands) == {"chat", "math"}
    values = {"MODEL": str(tmp_path), "RM": str(tmp_path), "DATA": str(tmp_path), "HOME": str(tmp_path)}
    cfg = verl_config([_substitute(line, values) for line in commands[setting]])
    assert resolve_reward_manager_cls(cfg) is DarlingRewardManager
    opts = DarlingOptions.from_config(cfg)
    assert (opts.strategy, opts.floor, opts.fusion, opts.group_size) == ("transitive", 0.1, "multiplicative", 8)
    assert cfg.algorithm.adv_estimator == "grpo" and cfg.algorithm.norm_adv_by_std_in_grpo is False
    assert cfg.actor_rollout_ref.actor.loss_agg_mode == "token-mean"
    assert cfg.actor_rollout_ref.actor.optim.lr == pytest.approx(1e-6)
    if setting == "math":
        assert opts.correct_only is True and cfg.data.train_batch_size == 256
        assert cfg.actor_rollout_ref.actor.use_kl_loss is False
    else:
        assert opts.quality == "reward_router" and cfg.reward.reward_model.enable is True
        assert cfg.data.train_batch_size == 64 and cfg.actor_rollout_ref.actor.kl_loss_coef == pytest.approx(0.001)
        assert cfg.actor_rollout_ref.actor.kl_loss_type == "low_var_kl"


@pytest.mark.slow
def test_local_rendezvous_with_default_judge():
    """Without Ray the rendezvous runs in-process; default (shipped) judge, transitive strategy."""
    groups = [CORPUS[:3], CORPUS[3:6] + [CORPUS[4]]]
    quality = [[1.0, 1.0, 0.0], [0.5, 2.0, -1.0, 2.0]]
    rz = GroupRendezvous({"group_size": 4})

    async def run():
        calls = [rz.submit(uid=f"g{g}", text=t, quality=q, expected=len(texts))
                 for g, texts in enumerate(groups) for t, q in zip(texts, quality[g])]
        return await asyncio.gather(*calls)

    got = [r["reward_score"] for r in asyncio.run(run())]
    want = np.concatenate([dm.darling_reward(dm.partition(t, strategy="transitive"), q) for t, q in zip(groups, quality)])
    np.testing.assert_allclose(got, want)
    assert got[4] == got[6]  # identical texts: same class, same reward
    assert rz.pending() == {} and rz.get_stats()["groups"] == 2


def test_batch_manager_verl_04_08_interface(tokenizer):
    from verl.utils.reward_score import default_compute_score
    from verl.workers.reward_manager import get_reward_manager_cls

    from verl_plugin.batch_manager import DarlingBatchRewardManager

    assert get_reward_manager_cls("darling") is DarlingBatchRewardManager
    groups = [("What is 40 + 2?", CORPUS[:3] + [CORPUS[0]]), ("Poem?", ["#### 42", "#### 42"])]
    data = make_batch(tokenizer, groups)
    manager = DarlingBatchRewardManager(tokenizer, 0, None, judge="unigram", correct_only=False)
    out = manager(data, return_dict=True)
    rewards = out["reward_tensor"].sum(-1).numpy()
    want = []
    for _, texts in groups:
        q = [float(default_compute_score("openai/gsm8k", t, "42")) for t in texts]
        want.extend(dm.darling_reward(dm.partition(texts, judge="unigram", strategy="transitive"), q))
    np.testing.assert_allclose(rewards, want)
    assert out["reward_extra_info"]["darling_group_size"] == [4, 4, 4, 4, 2, 2]
    assert manager(data).shape == data.batch["responses"].shape
    data.non_tensor_batch.pop("uid")
    with pytest.raises(ValueError, match="uid"):
        manager(data)


def test_batch_manager_judges_under_the_user_message(tokenizer):
    """verl 0.4-0.8 interface: with raw_prompt the learned judge reads the last user message, not the template."""
    import torch

    from tests.test_verl_reliability import ASKED, BY_TEMPLATE, BY_USER, TIPS, TEMPLATED
    from verl_plugin.batch_manager import DarlingBatchRewardManager

    manager = DarlingBatchRewardManager(tokenizer, judge="learned", quality="rm_scores")
    for raw, want in (([{"role": "system", "content": "Be brief."}, {"role": "user", "content": ASKED}], BY_USER),
                      (None, BY_TEMPLATE)):
        data = make_batch(tokenizer, [(TEMPLATED, TIPS)], raw_prompts=None if raw is None else [raw])
        data.batch["rm_scores"] = torch.ones_like(data.batch["responses"], dtype=torch.float32)[:, :1]
        out = manager(data, return_dict=True)
        assert out["reward_extra_info"]["darling_class"] == want


def test_batch_manager_rm_scores_quality(tokenizer):
    import torch

    from verl_plugin.batch_manager import DarlingBatchRewardManager

    data = make_batch(tokenizer, [("Poem?", CORPUS[3:6])])
    manager = DarlingBatchRewardManager(tokenizer, judge="unigram", quality="rm_scores")
    with pytest.raises(ValueError, match="no rm_scores"):
        manager(data)
    rm = torch.zeros_like(data.batch["responses"], dtype=torch.float32)
    rm[:, 0] = torch.tensor([-1.0, 2.0, 0.5])
    data.batch["rm_scores"] = rm
    got = manager(data).sum(-1).numpy()
    np.testing.assert_allclose(got, dm.darling_reward(dm.partition(CORPUS[3:6], judge="unigram",
                                                                                       strategy="transitive"), [-1.0, 2.0, 0.5]))


def tiny_reward_model(folder):
    """A 1-layer BERT sequence classifier (1 output) saved as safetensors in ``folder``; returns the model."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + sorted({w.lower() for t in CORPUS for w in t.split()})
    (folder / "vocab.txt").write_text("\n".join(vocab))
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt")).save_pretrained(folder)
    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1,
                                                     num_attention_heads=2, intermediate_size=32, num_labels=1))
    model.save_pretrained(folder)
    return model.eval()


@pytest.mark.slow
def test_batch_manager_hf_quality(tokenizer, tmp_path):
    """verl 0.4-0.8 interface with quality=hf: each group's rollouts are scored by the local reward model, from
    the prompt text when the batch has no raw_prompt (the groups used to reach it with no chats at all)."""
    import torch
    from transformers import BertTokenizerFast

    from verl_plugin.batch_manager import DarlingBatchRewardManager

    model = tiny_reward_model(tmp_path)
    texts = CORPUS[3:6]
    manager = DarlingBatchRewardManager(tokenizer, judge="unigram", quality="hf", quality_model_path=str(tmp_path),
                                        device="cpu", negative_quality="shift")
    out = manager(make_batch(tokenizer, [("Poem?", texts)]), return_dict=True)
    tok = BertTokenizerFast.from_pretrained(tmp_path)
    with torch.no_grad():
        q = model(**tok(["Poem?"] * 3, texts, padding=True, return_tensors="pt")).logits[:, -1].numpy()
    np.testing.assert_allclose(out["reward_extra_info"]["darling_quality"], q, rtol=1e-5)
    want = dm.darling_reward(dm.partition(texts, judge="unigram", strategy="transitive"), q.astype(float),
                             negative_quality="shift")
    np.testing.assert_allclose(out["reward_tensor"].sum(-1).numpy(), want, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_local_hf_reward_model_quality(tmp_path):
    """quality=hf: a local sequence-classification model scores quality inside the rendezvous."""
    import torch
    from transformers import BertTokenizerFast

    model = tiny_reward_model(tmp_path)
    rz = GroupRendezvous({"group_size": 3, "judge": "unigram", "quality": "hf", "quality_model_path": str(tmp_path),
                          "device": "cpu", "negative_quality": "shift"})
    texts = CORPUS[3:6]

    async def run():
        return await asyncio.gather(*[rz.submit(uid="u", text=t, quality=None, expected=3, prompt="Poem?")
                                      for t in texts])

    got = asyncio.run(run())
    tok = BertTokenizerFast.from_pretrained(tmp_path)
    with torch.no_grad():
        q = model(**tok(["Poem?"] * 3, texts, padding=True, return_tensors="pt")).logits[:, -1].numpy()
    np.testing.assert_allclose([r["reward_extra_info"]["darling_quality"] for r in got], q, rtol=1e-5)
    want = dm.darling_reward(dm.partition(texts, judge="unigram", strategy="transitive"), q.astype(float),
                             negative_quality="shift")
    np.testing.assert_allclose([r["reward_score"] for r in got], want, rtol=1e-5, atol=1e-6)
