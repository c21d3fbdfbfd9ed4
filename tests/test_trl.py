"""DARLING in TRL: real GRPOTrainer steps on CPU with a tiny random causal LM, checked against the direct maths.

Every trainer test builds its own tiny GPT-2 (random weights) and a word-level tokenizer, saves both with
``save_pretrained`` to a temporary folder and trains from there (no hub access). The split-group tests run
the reward on simulated processes (threads with an all-gather) and on two real processes (torch.distributed
gloo on 127.0.0.1, accelerate's ``gather_object``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("trl")

from diversity_metrics import darling_diversity, darling_reward, partition  # noqa: E402
from diversity_metrics.integrations.trl import DarlingReward, completion_text, prompt_key  # noqa: E402

ANSWERS = ["apple", "banana", "cherry", "grape", "lemon", "mango"]
WORDS = ["<pad>", "<eos>", "<unk>", "Name", "a", "fruit", "colour", "city", ":", "red", "blue", *ANSWERS]
PROMPTS = ["Name a fruit :", "Name a colour :", "Name a city :"]
CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['content'] }} {% endfor %}"
)


def _build_tiny_model(folder: Path) -> Path:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    hf_tok = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>")
    hf_tok.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(WORDS), n_positions=32, n_embd=16, n_layer=1, n_head=2,
                        bos_token_id=1, eos_token_id=1, pad_token_id=0)
    GPT2LMHeadModel(config).save_pretrained(folder)
    hf_tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build_tiny_model(tmp_path_factory.mktemp("tiny_lm"))


def fruit_quality(completions, **kwargs):
    """1.0 for a fruit, 0.25 for anything else (so quality varies within a group)."""
    return [1.0 if completion_text(c).strip() in ANSWERS else 0.25 for c in completions]


def _train(model_dir: Path, out_dir: Path, reward_funcs, prompts, *, num_generations=4, batch=12, steps=2, **extra):
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    args = GRPOConfig(
        output_dir=str(out_dir), per_device_train_batch_size=batch, num_generations=num_generations,
        max_completion_length=2, max_steps=steps, report_to=[], use_cpu=True, logging_steps=1,
        save_strategy="no", seed=0, scale_rewards="none", temperature=1.0, **extra,
    )
    trainer = GRPOTrainer(
        model=str(model_dir), reward_funcs=reward_funcs, args=args,
        train_dataset=Dataset.from_dict({"prompt": prompts}),
        processing_class=AutoTokenizer.from_pretrained(model_dir),
    )
    trainer.train()
    return trainer


class Recorder:
    """Wraps a reward function and keeps what TRL passed in and what came back."""

    def __init__(self, reward):
        self.reward = reward
        self.__name__ = reward.__name__
        self.calls: list[tuple[list, list, list]] = []

    def __call__(self, prompts, completions, **kwargs):
        out = self.reward(prompts=prompts, completions=completions, **kwargs)
        self.calls.append((list(prompts), list(completions), list(out)))
        return out


def _direct(texts, quality, *, judge="exact", strategy="transitive", **kw):
    labels = partition(texts, judge=judge, strategy=strategy)
    return darling_reward(labels, quality, **kw), labels


def test_trl_grpo_trainer_rewards_equal_direct_darling(tiny_model, tmp_path):
    reward = Recorder(DarlingReward(fruit_quality, judge="exact"))
    trainer = _train(tiny_model, tmp_path, [reward], PROMPTS * 4)
    assert len(reward.calls) == 2  # one generation batch per step
    logged = [h for h in trainer.state.log_history if "darling/distinct_k" in h]
    assert len(logged) == 2
    for (prompts, completions, out), log in zip(reward.calls, logged):
        assert len(completions) == 12
        classes = []
        for start in range(0, 12, 4):
            group = slice(start, start + 4)
            assert len(set(prompts[group])) == 1  # TRL's RepeatSampler: 4 consecutive copies of a prompt
            texts = completions[group]
            quality = fruit_quality(texts)
            expected, labels = _direct(texts, quality)
            np.testing.assert_allclose(out[group], expected, rtol=0, atol=1e-12)
            classes.append(len(set(labels)))
        # what TRL logged: its reward mean, and our distinct_k metric
        assert log["rewards/darling/mean"] == pytest.approx(np.mean(out), abs=1e-6)
        assert log["darling/distinct_k"] == pytest.approx(np.mean(classes))
        assert log["darling/quality/fruit_quality"] == pytest.approx(np.mean(fruit_quality(completions)))
    # the rewards TRL used (kept for its completions table: the last generation batch) are exactly ours (float32)
    np.testing.assert_allclose(list(trainer._logs["rewards"]["darling"]), reward.calls[-1][2], atol=1e-6)
    # the samples must hold at least one duplicate, or the test would not exercise Norm(Div) < 1
    assert any(len(set(c[s:s + 4])) < 4 for _, c, _ in reward.calls for s in range(0, 12, 4))


def test_trl_grpo_conversational_prompts_and_unigram_judge(tiny_model, tmp_path):
    chats = [[{"role": "user", "content": p}] for p in PROMPTS[:2]]
    reward = Recorder(DarlingReward([fruit_quality], judge="unigram", name="div"))
    trainer = _train(tiny_model, tmp_path, [reward], chats * 4, num_generations=4, batch=8)
    assert len(reward.calls) == 2
    for prompts, completions, out in reward.calls:
        assert isinstance(completions[0], list) and completions[0][0]["role"] == "assistant"
        for start in range(0, 8, 4):
            texts = [c[0]["content"] for c in completions[start:start + 4]]
            expected, _ = _direct(texts, fruit_quality(texts), judge="unigram")
            np.testing.assert_allclose(out[start:start + 4], expected, atol=1e-12)
    assert "div/distinct_k" in trainer.state.log_history[0]
    assert "rewards/div/mean" in trainer.state.log_history[0]


class ThreadCollective:
    """Simulated processes: threads that meet at a barrier and all-gather lists in rank order."""

    def __init__(self, rank: int, world: "World"):
        self.rank, self.world_size, self._world = rank, world.size, world

    def gather(self, items):
        return self._world.gather(self.rank, items)


class World:
    def __init__(self, size: int):
        self.size = size
        self.slots: list = [None] * size
        self.barrier = threading.Barrier(size, timeout=30)

    def gather(self, rank, items):
        self.slots[rank] = list(items)
        self.barrier.wait()
        out = [x for slot in self.slots for x in slot]
        self.barrier.wait()
        return out


def _run_split(prompts, completions, world_size, make_reward):
    """Call one reward per simulated process on its slice; returns per-rank outputs, metrics and errors."""
    world = World(world_size)
    per = len(completions) // world_size
    outs: list = [None] * world_size
    metrics: list[dict] = [{} for _ in range(world_size)]
    errors: list = [None] * world_size

    def work(rank):
        reward = make_reward(ThreadCollective(rank, world))
        sl = slice(rank * per, (rank + 1) * per)
        try:
            outs[rank] = reward(prompts=prompts[sl], completions=completions[sl],
                                log_metric=lambda k, v, r=rank: metrics[r].__setitem__(k, v))
        except Exception as exc:  # noqa: BLE001 - recorded for the assertions
            errors[rank] = exc

    threads = [threading.Thread(target=work, args=(r,)) for r in range(world_size)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a simulated process hung"
    return outs, metrics, errors


SPLIT_PROMPTS = ["p0"] * 4 + ["p1"] * 4 + ["p0"] * 4  # the same prompt twice: two groups, told apart by position
SPLIT_TEXTS = ["apple", "apple", "pear", "fig",
               "red", "red", "red", "blue",  # p1 at positions 4..7: split across processes for world sizes 2, 4, 6
               "kiwi", "kiwi", "kiwi", "kiwi"]


@pytest.mark.parametrize("world_size", [2, 3, 4, 6])
def test_trl_split_group_gets_same_rewards_as_unsplit(world_size):
    def make(collective):
        return DarlingReward(fruit_quality, judge="exact", num_generations=4, collective=collective)

    unsplit_metrics: dict = {}
    unsplit = make(None)(prompts=SPLIT_PROMPTS, completions=SPLIT_TEXTS,
                         log_metric=lambda k, v: unsplit_metrics.__setitem__(k, v))
    outs, metrics, errors = _run_split(SPLIT_PROMPTS, SPLIT_TEXTS, world_size, make)
    assert errors == [None] * world_size
    assert [r for out in outs for r in out] == unsplit
    assert all(m == unsplit_metrics for m in metrics)  # every process logs the global value
    # and the unsplit rewards are the direct per-group computation
    expected = np.concatenate([_direct(SPLIT_TEXTS[s:s + 4], fruit_quality(SPLIT_TEXTS[s:s + 4]))[0]
                               for s in (0, 4, 8)])
    np.testing.assert_allclose(unsplit, expected, atol=1e-12)
    assert unsplit_metrics["darling/distinct_k"] == pytest.approx((3 + 2 + 1) / 3)


def test_trl_failure_on_one_process_raises_everywhere_without_hanging():
    def make(collective):
        def quality(completions, **kwargs):
            if collective.rank == 1:
                raise RuntimeError("reward model offline")
            return [1.0] * len(completions)

        return DarlingReward(quality, judge="exact", num_generations=4, collective=collective)

    _, _, errors = _run_split(SPLIT_PROMPTS, SPLIT_TEXTS, 2, make)
    assert isinstance(errors[1], RuntimeError) and "reward model offline" in str(errors[1])
    assert isinstance(errors[0], RuntimeError) and "process 1 failed" in str(errors[0])


def test_trl_bad_grouping_is_a_clear_error():
    reward = DarlingReward(fruit_quality, judge="exact", num_generations=2)
    with pytest.raises(ValueError, match=r"completions 2\.\.3 .* 2 different prompts"):
        reward(prompts=["a", "a", "a", "b"], completions=["x"] * 4)
    with pytest.raises(ValueError, match="not a multiple of num_generations=2"):
        reward(prompts=["a", "a", "a"], completions=["x"] * 3)
    # split across processes, the check runs on the gathered batch: rank 0 has [a, a, b], rank 1 [a, b, b]
    outs, _, errors = _run_split(["a", "a", "b", "a", "b", "b"], ["x"] * 6, 2,
                                 lambda c: DarlingReward(None, judge="exact", num_generations=2, collective=c))
    assert all(isinstance(e, ValueError) and "different prompts" in str(e) for e in errors)
    with pytest.raises(ValueError, match="needs num_generations outside"):
        DarlingReward(fruit_quality, judge="exact")(prompts=["a"], completions=["x"])


def test_trl_num_generations_must_match_the_trainer(tiny_model, tmp_path):
    with pytest.raises(ValueError, match=r"num_generations=3\) but the trainer generates num_generations=4"):
        _train(tiny_model, tmp_path, [DarlingReward(fruit_quality, judge="exact", num_generations=3)],
               PROMPTS[:2] * 2, batch=8, steps=1)


@pytest.mark.parametrize(
    "options",
    [
        {"floor": 0.0},
        {"floor": 0.3, "singleton": 0.5},
        {"fusion": "additive", "additive_weight": 0.5},
        {"negative_quality": "shift"},
        {"correct_only": True},
    ],
)
def test_trl_reward_options_match_darling_reward(options):
    texts = ["a", "a", "b", "c", "c", "c"]
    quality = [1.0, -0.5, 1.0, 0.0, 2.0, 1.0] if options.get("negative_quality") else [1.0, 0.0, 1.0, 0.0, 1.0, 1.0]
    reward = DarlingReward(lambda completions, **k: quality, judge="exact", num_generations=6, **options)
    got = reward(prompts=["p"] * 6, completions=texts)
    kw = {k: v for k, v in options.items() if k != "correct_only"}
    if options.get("correct_only"):
        mask = np.asarray(quality) > 0
        labels = partition([t for t, m in zip(texts, mask) if m], judge="exact", strategy="transitive")
        full = list(range(10, 16))
        for j, lab in zip(np.flatnonzero(mask), labels):
            full[j] = lab
        expected = darling_reward(full, quality, mask=mask, **kw)
        assert got == pytest.approx([1.0, 0.0, 1.0, 0.0, 2 / 3, 2 / 3])  # by hand: correct {a, b, c, c}, n = 4
    else:
        expected, _ = _direct(texts, quality, **kw)
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_trl_diversity_off_singleton_none_quality_and_weights():
    texts = ["a", "a", "b", "b"]
    off = DarlingReward(lambda completions, **k: [0.5, 1.0, 1.0, 0.0], judge="exact", num_generations=4,
                        diversity=False)
    assert off(prompts=["p"] * 4, completions=texts) == [0.5, 1.0, 1.0, 0.0]
    one = DarlingReward(None, judge="exact", num_generations=1, singleton=0.7)
    assert one(prompts=["p", "q"], completions=["a", "a"]) == [0.7, 0.7]
    # two quality functions, weighted; a None from both leaves the completion out of its group
    q1 = lambda completions, **k: [1.0, None, 1.0, None]  # noqa: E731
    q2 = lambda completions, **k: [0.5, 1.0, None, None]  # noqa: E731
    both = DarlingReward([q1, q2], quality_weights=[1.0, 2.0], judge="exact", num_generations=4)
    got = both(prompts=["p"] * 4, completions=["a", "b", "a", "c"])
    # scored: positions 0, 1, 2 with qualities 2.0, 2.0, 1.0; texts a, b, a -> Norm(Div) 0.5, 1, 0.5
    assert got[:3] == pytest.approx([1.0, 2.0, 0.5])
    assert got[3] is None
    np.testing.assert_allclose(darling_diversity([0, 1, 0]), [0.5, 1.0, 0.5])


def test_trl_bad_options_and_quality_outputs_fail_clearly():
    with pytest.raises(ValueError, match="strategy"):
        DarlingReward(None, judge="exact", strategy="transitiv")
    with pytest.raises(ValueError, match="has no option 'thresold'"):
        DarlingReward(None, judge="unigram", judge_options={"thresold": 0.3})
    with pytest.raises(ValueError, match="floor"):
        DarlingReward(None, judge="exact", floor=1.5)
    with pytest.raises(ValueError, match="fusion"):
        DarlingReward(None, judge="exact", fusion="sum")
    with pytest.raises(TypeError, match="is a string"):
        DarlingReward("my-reward-model", judge="exact")
    with pytest.raises(ValueError, match="2 entries for 1 quality"):
        DarlingReward(fruit_quality, quality_weights=[1, 2], judge="exact")
    args = dict(prompts=["p", "p"], completions=["a", "b"])
    for bad, err, msg in [
        ([1.0], ValueError, "returned 1 values for 2"),
        (["1.0", 1.0], TypeError, "returned str at position 0"),
        ([float("nan"), 1.0], ValueError, "return None for 'no reward'"),
    ]:
        with pytest.raises(err, match=msg):
            DarlingReward(lambda completions, b=bad, **k: b, judge="exact", num_generations=2)(**args)


def test_trl_prompt_keys_and_completion_texts():
    assert completion_text("x") == "x"
    assert completion_text([{"role": "assistant", "content": [{"type": "text", "text": "hi"}]}]) == "hi"
    assert completion_text([{"role": "tool", "content": "t"}, {"role": "assistant", "content": "a"}]) == "a"
    with pytest.raises(TypeError, match="list of messages"):
        completion_text(3)
    chat = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    assert prompt_key(chat) == prompt_key([dict(reversed(list(m.items()))) for m in chat])  # key order irrelevant
    assert prompt_key(chat) != prompt_key(chat[1:])


def test_trl_learned_default_judge_matches_partitioner():
    from diversity_metrics.partitioner import Partitioner

    texts = ["The capital of France is Paris.", "Paris is France's capital city.",
             "Bananas are rich in potassium.", "I would recommend reading a book about history."]
    reward = DarlingReward(None, num_generations=4)  # the shipped learned judge, transitive strategy
    assert reward.settings()["partition"]["strategy"] == "transitive"
    labels = Partitioner(strategy="transitive").partition(texts)
    np.testing.assert_allclose(reward(prompts=["q"] * 4, completions=texts), darling_diversity(labels))


WORKER = textwrap.dedent(
    """
    import json, os, sys
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer
    from diversity_metrics.integrations.trl import DarlingReward

    model_dir, out_file = sys.argv[1], sys.argv[2]
    answers = {answers!r}
    def quality(completions, **kwargs):
        return [1.0 if c.strip() in answers else 0.25 for c in completions]
    inner = DarlingReward(quality, judge="exact")
    calls = []
    def darling(prompts, completions, **kwargs):
        out = inner(prompts=prompts, completions=completions, **kwargs)
        calls.append([prompts, completions, out])
        return out
    args = GRPOConfig(output_dir=os.path.dirname(out_file), per_device_train_batch_size=3, num_generations=2,
                      max_completion_length=2, max_steps=1, report_to=[], use_cpu=True, logging_steps=1,
                      save_strategy="no", seed=0)
    trainer = GRPOTrainer(model=model_dir, reward_funcs=[darling], args=args,
                          train_dataset=Dataset.from_dict({{"prompt": {prompts!r}}}),
                          processing_class=AutoTokenizer.from_pretrained(model_dir))
    trainer.train()
    rank = trainer.accelerator.process_index
    with open(out_file + f".{{rank}}", "w") as f:
        json.dump({{"world": trainer.accelerator.num_processes, "calls": calls,
                   "log": [h for h in trainer.state.log_history if "darling/distinct_k" in h]}}, f)
    # without this, gloo's worker threads can outlive the interpreter and abort the process at exit
    # ("terminate called without an active exception"; PyTorch's docs: call it once per trainer process)
    trainer.accelerator.end_training()
    """
)


def test_trl_two_real_processes_split_a_group(tiny_model, tmp_path):
    """torchrun, 2 CPU processes (gloo): per_device_train_batch_size=3, num_generations=2, so the second prompt's
    two completions sit on different processes (TRL's own figure); rewards must equal the unsplit computation."""
    script = tmp_path / "worker.py"
    script.write_text(WORKER.format(answers=ANSWERS, prompts=PROMPTS * 2))
    out = tmp_path / "out.json"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1",
           "TOKENIZERS_PARALLELISM": "false"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(script), str(tiny_model), str(out)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-4000:]
    ranks = [json.loads(Path(f"{out}.{r}").read_text()) for r in (0, 1)]
    assert [r["world"] for r in ranks] == [2, 2]
    (p0, c0, o0), (p1, c1, o1) = ranks[0]["calls"][0], ranks[1]["calls"][0]
    prompts, texts, got = p0 + p1, c0 + c1, o0 + o1
    assert len(prompts) == 6 and p0[2] == p1[0]  # the group at global positions 2, 3 is split
    quality = [1.0 if t.strip() in ANSWERS else 0.25 for t in texts]
    expected = np.concatenate([_direct(texts[s:s + 2], quality[s:s + 2])[0] for s in (0, 2, 4)])
    np.testing.assert_allclose(got, expected, atol=1e-12)
    classes = [len(set(_direct(texts[s:s + 2], quality[s:s + 2])[1])) for s in (0, 2, 4)]
    for r in ranks:
        assert r["log"][0]["darling/distinct_k"] == pytest.approx(np.mean(classes))


def test_trl_evaluation_uses_num_generations_eval(tiny_model, tmp_path):
    """In evaluation TRL generates num_generations_eval completions per prompt; the reward groups by that."""
    from datasets import Dataset

    reward = Recorder(DarlingReward(fruit_quality, judge="exact"))
    trainer = _train(tiny_model, tmp_path, [reward], PROMPTS[:2] * 2, batch=8, steps=1, num_generations_eval=2,
                     per_device_eval_batch_size=4)
    n_train = len(reward.calls)
    metrics = trainer.evaluate(Dataset.from_dict({"prompt": PROMPTS[:2]}))
    prompts, completions, out = reward.calls[n_train]
    assert len(completions) == 4 and prompts[0] == prompts[1] and prompts[2] == prompts[3]
    expected = np.concatenate([_direct(completions[s:s + 2], fruit_quality(completions[s:s + 2]))[0] for s in (0, 2)])
    np.testing.assert_allclose(out, expected, atol=1e-12)
    assert "eval_darling/distinct_k" in metrics


def test_trl_docs_example_options_are_real(tmp_path, monkeypatch):
    """docs/trl.md's example, minus loading the reward model and training: its DarlingReward and GRPOConfig
    arguments must be accepted by the real classes (a renamed option breaks this test, not a user's run)."""
    import re

    from .conftest import REPO_ROOT

    text = (REPO_ROOT / "docs" / "trl.md").read_text(encoding="utf-8")
    block = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    kept = [line for line in block.splitlines()
            if not line.startswith(("rm = RewardModelScorer", "trainer = GRPOTrainer", "trainer.train()"))]
    assert len(kept) == len(block.splitlines()) - 3
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    source = "\n".join(kept).replace("GRPOConfig(", "GRPOConfig(use_cpu=True, ", 1)  # no GPU here (bf16 default)
    exec(compile(source, "docs/trl.md", "exec"), ns)  # noqa: S102 - our own docs
    reward, args = ns["reward"], ns["args"]
    assert reward.settings()["reward"]["negative_quality"] == "shift"
    assert reward.settings()["partition"]["strategy"] == "transitive"
    assert (args.num_generations, args.scale_rewards, args.beta) == (8, "none", 0.001)
    assert len(ns["dataset"]) == 3 and ns["dataset"][0]["prompt"][0]["role"] == "user"
