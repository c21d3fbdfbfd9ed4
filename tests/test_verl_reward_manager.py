"""The darling reward manager inside real verl 0.9.1 on CPU with local Ray (one Ray session for the module).

Every expected reward is recomputed directly with diversity_metrics on the same decoded texts:
``darling_reward(partition(texts, strategy="transitive"), quality)``.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("verl")

import diversity_metrics as dm  # noqa: E402
from tests.test_verl_helpers import make_batch, ray_session, tok_dir, tokenizer, verl_config  # noqa: E402,F401

pytestmark = pytest.mark.slow

MATH = [
    ("What is 40 + 2?", ["Add forty and two to get the answer. #### 42", "Add forty and two to get the answer. #### 42",
                         "Twenty one doubled is forty two, so #### 42", "I guess the answer is #### 41"]),
    ("Compute 6 * 7.", ["Six sevens: forty two #### 42", "I guess the answer is #### 41",
                        "I guess the answer is #### 42", "Add forty and two to get the answer. #### 42"]),
    ("Give 84 / 2.", ["Half of 84 is #### 42", "Half of 84 is #### 42", "Half of 84 is #### 42",
                      "Half of 84 is #### 42"]),
]
CUSTOM_FN = '''
def compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    return {"score": len(solution_str.split()) / 10.0 - 0.8, "words": len(solution_str.split())}
'''


def base_overrides(tok_dir, *extra):
    return [f"actor_rollout_ref.model.path={tok_dir}", "actor_rollout_ref.rollout.n=4", "reward.num_workers=2",
            "reward.reward_manager.name=darling", "+reward.reward_kwargs.judge=unigram", *extra]


def decoded(tokenizer, data):
    n_prompt = data.batch["prompts"].shape[1]
    out = []
    for i in range(len(data)):
        valid = int(data.batch["attention_mask"][i, n_prompt:].sum())
        out.append(tokenizer.decode(data.batch["responses"][i, :valid], skip_special_tokens=True))
    return out


def expected_rewards(data, texts, quality, **kw):
    uids = list(data.non_tensor_batch["uid"])
    out = np.zeros(len(texts))
    for uid in dict.fromkeys(uids):
        rows = [i for i, u in enumerate(uids) if u == uid]
        group = [texts[i] for i in rows]
        q = np.asarray([quality[i] for i in rows])
        mask = q > 0 if kw.get("correct_only") else None
        if kw.get("correct_only"):
            labels = list(range(len(rows)))
            keep = [j for j in range(len(rows)) if q[j] > 0]
            if len(keep) > 1:
                for j, lab in zip(keep, dm.partition([group[j] for j in keep], judge="unigram", strategy="transitive")):
                    labels[j] = len(rows) + lab
        else:
            labels = dm.partition(group, judge="unigram", strategy="transitive")
        out[rows] = dm.darling_reward(labels, q, mask=mask, negative_quality=kw.get("negative_quality", "keep"))
    return out


def drive(manager, data):
    async def run():
        return await asyncio.gather(*[manager.run_single(data[i : i + 1]) for i in range(len(data))])

    return manager.loop.run_until_complete(run())


def test_reward_loop_manager_math_two_workers(ray_session, tok_dir, tokenizer):
    """verl's own RewardLoopManager (2 RewardLoopWorker actors) + default_compute_score (gsm8k) + rendezvous."""
    from verl.experimental.reward_loop import RewardLoopManager
    from verl.utils.reward_score import default_compute_score

    cfg = verl_config(base_overrides(tok_dir, "+reward.reward_kwargs.actor_name=math_test"))
    data = make_batch(tokenizer, MATH)
    manager = RewardLoopManager(cfg)
    try:
        out = manager.compute_rm_score(data)
    finally:
        for worker in manager.reward_loop_workers:
            ray.kill(worker)
    rewards = out.batch["rm_scores"].sum(-1).numpy()
    texts = decoded(tokenizer, data)
    quality = [float(default_compute_score("openai/gsm8k", t, "42")) for t in texts]
    assert quality.count(0.0) == 2 and quality.count(1.0) == 10
    want = expected_rewards(data, texts, quality)
    np.testing.assert_allclose(rewards, want, rtol=0, atol=1e-6)
    assert len(set(np.round(want, 6))) >= 3  # diversity really changes the reward
    info = out.non_tensor_batch
    np.testing.assert_allclose(info["darling_quality"].astype(float), quality)
    assert set(info["darling_group_size"].tolist()) == {4}
    assert set(info["darling_status"].tolist()) == {0}
    # third group: four identical answers -> one class -> floor 0.1
    np.testing.assert_allclose(rewards[8:], 0.1)


@ray.remote
class ManagerActor:
    """A reward worker of our own: holds a manager built by verl's load_reward_manager."""

    def __init__(self, cfg, tok_dir):
        import verl  # noqa: F401  (loads the verl.plugins entry point -> registers darling)
        from verl.trainer.ppo.reward import load_reward_manager
        from verl.utils import hf_tokenizer

        self.manager = load_reward_manager(cfg, hf_tokenizer(tok_dir, trust_remote_code=False))

    async def score(self, data):
        return await self.manager.run_single(data)


def test_custom_function_from_two_actors_importlib(ray_session, tok_dir, tokenizer, tmp_path):
    """custom_reward_function + negative_quality=shift, source=importlib, run_single from two actors at once."""
    fn = tmp_path / "my_reward.py"
    fn.write_text(CUSTOM_FN)
    cfg = verl_config(base_overrides(
        tok_dir, f"reward.custom_reward_function.path={fn}", "reward.reward_manager.source=importlib",
        "reward.reward_manager.name=DarlingRewardManager",
        "reward.reward_manager.module.path=pkg://verl_plugin.reward_manager",
        "+reward.reward_kwargs.negative_quality=shift",
    ))
    actors = [ManagerActor.remote(cfg, tok_dir) for _ in range(2)]
    data = make_batch(tokenizer, MATH[:2], data_source="chat")
    order = np.random.default_rng(0).permutation(len(data))
    refs = {int(i): actors[k % 2].score.remote(data[int(i) : int(i) + 1]) for k, i in enumerate(order)}
    results = [ray.get(refs[i]) for i in range(len(data))]
    for a in actors:
        ray.kill(a)
    texts = decoded(tokenizer, data)
    quality = [len(t.split()) / 10.0 - 0.8 for t in texts]
    assert min(quality) < 0
    want = expected_rewards(data, texts, quality, negative_quality="shift")
    np.testing.assert_allclose([r["reward_score"] for r in results], want, atol=1e-9)
    np.testing.assert_allclose([r["reward_extra_info"]["darling_quality"] for r in results], quality)
    assert [r["reward_extra_info"]["words"] for r in results] == [len(t.split()) for t in texts]


def make_manager(tok_dir, tokenizer, *extra):
    from verl.trainer.ppo.reward import load_reward_manager

    return load_reward_manager(verl_config(base_overrides(tok_dir, *extra)), tokenizer)


def test_correct_only_math_variant(ray_session, tok_dir, tokenizer):
    m = make_manager(tok_dir, tokenizer, "+reward.reward_kwargs.correct_only=true",
                     "+reward.reward_kwargs.actor_name=correct_only")
    data = make_batch(tokenizer, MATH[:2])
    got = [r["reward_score"] for r in drive(m, data)]
    texts = decoded(tokenizer, data)
    quality = [1.0 if t.endswith("42") else 0.0 for t in texts]
    np.testing.assert_allclose(got, expected_rewards(data, texts, quality, correct_only=True), atol=1e-9)


def test_timeout_partial_and_error(ray_session, tok_dir, tokenizer):
    data = make_batch(tokenizer, MATH[:1], uids=["t0"] * 4)
    m = make_manager(tok_dir, tokenizer, "+reward.reward_kwargs.timeout_s=1.0", "+reward.reward_kwargs.actor_name=to")
    half = data[:2]
    got = drive(m, half)
    texts = decoded(tokenizer, half)
    want = dm.darling_reward(dm.partition(texts, judge="unigram", strategy="transitive"), [1.0, 1.0])
    np.testing.assert_allclose([r["reward_score"] for r in got], want)
    assert [r["reward_extra_info"]["darling_status"] for r in got] == [1, 1]
    assert [r["reward_extra_info"]["darling_group_size"] for r in got] == [2, 2]

    m_err = make_manager(tok_dir, tokenizer, "+reward.reward_kwargs.timeout_s=1.0",
                         "+reward.reward_kwargs.on_timeout=error", "+reward.reward_kwargs.actor_name=to_err")
    with pytest.raises(TimeoutError, match="got 1 of 4 rollouts"):
        drive(m_err, data[:1])


def test_duplicates_late_rollouts_validation_and_singletons(ray_session, tok_dir, tokenizer):
    m = make_manager(tok_dir, tokenizer, "+reward.reward_kwargs.actor_name=dups")
    data = make_batch(tokenizer, MATH[:1])
    first = drive(m, data)
    # a padded copy of row 2 arriving after its group closed gets row 2's result
    again = drive(m, data[2:3])[0]
    assert again == first[2]
    # an extra rollout (not a copy) is scored against the closed group of 4 as a fifth member
    extra = make_batch(tokenizer, [("What is 40 + 2?", ["Blue water sings under a pale lantern #### 42"])])
    late = drive(m, extra)[0]
    texts = decoded(tokenizer, data) + decoded(tokenizer, extra)
    want = dm.darling_reward(dm.partition(texts, judge="unigram", strategy="transitive"), [1, 1, 1, 0, 1])
    assert late["reward_score"] == pytest.approx(want[-1])
    assert late["reward_extra_info"]["darling_status"] == 3
    # validation (extra_info.split=test) closes at val_kwargs.n = 1: a group of one gets quality x singleton
    val = make_batch(tokenizer, MATH[:1], extra_info={"split": "test"},
                     uids=["v0", "v1", "v2", "v3"])
    res = drive(m, val)
    assert [r["reward_score"] for r in res] == [1.0, 1.0, 1.0, 0.0]
    assert {r["reward_extra_info"]["darling_group_size"] for r in res} == {1}
    # meta_info validate=True means validation too
    val2 = make_batch(tokenizer, MATH[:1], uids=["w0", "w1", "w2", "w3"])
    val2.meta_info["validate"] = True
    assert [r["reward_score"] for r in drive(m, val2)] == [1.0, 1.0, 1.0, 0.0]


def test_diversity_off_is_quality(ray_session, tok_dir, tokenizer):
    m = make_manager(tok_dir, tokenizer, "+reward.reward_kwargs.diversity=false")
    res = drive(m, make_batch(tokenizer, MATH[:1]))
    assert [r["reward_score"] for r in res] == [1.0, 1.0, 1.0, 0.0]
    assert {r["reward_extra_info"]["darling_status"] for r in res} == {4}


# judge failures (runtime: quality_only, per group; configuration: at build) are in tests/test_verl_reliability.py


def test_missing_uid_is_an_error(ray_session, tok_dir, tokenizer):
    m = make_manager(tok_dir, tokenizer)
    data = make_batch(tokenizer, MATH[:1])
    data.non_tensor_batch.pop("uid")
    with pytest.raises(ValueError, match="uid"):
        drive(m, data[:1])


def test_one_rendezvous_actor_per_job_and_options(ray_session, tok_dir, tokenizer):
    """All managers with the same options share one named actor (the judge is loaded once)."""
    from verl_plugin.rendezvous import get_rendezvous

    a = make_manager(tok_dir, tokenizer, "+reward.reward_kwargs.actor_name=shared")
    b = make_manager(tok_dir, tokenizer, "+reward.reward_kwargs.actor_name=shared")
    assert a.rendezvous._actor_id == b.rendezvous._actor_id
    assert get_rendezvous(a.options)._actor_id == a.rendezvous._actor_id
    assert ray.get(a.rendezvous.ping.remote()) is True
