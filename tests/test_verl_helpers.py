"""Shared builders for the verl plug-in tests: a local byte-level tokenizer, DataProto batches, verl configs."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

CORPUS = [
    "Add forty and two to get the answer. #### 42",
    "Twenty one doubled is forty two, so #### 42",
    "I guess the answer is #### 41",
    "Write a short poem about the sea and the moon.",
    "The moon pulls the tide; silver waves fold on the sand.",
    "Blue water sings under a pale lantern in the sky.",
]


def build_tokenizer(folder: Path) -> str:
    """Train a tiny byte-level BPE (exact decode round trip) and save it as an HF tokenizer folder."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<pad>", "<eos>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(CORPUS * 3, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>")
    fast.save_pretrained(str(folder))
    return str(folder)


def make_batch(tokenizer, groups, *, data_source="openai/gsm8k", ground_truth="42", extra_info=None, uids=None,
               raw_prompts=None):
    """DataProto of len(groups) prompts x their responses: left-padded prompts, right-padded responses;
    ``raw_prompts`` (one chat a group) fills ``non_tensor_batch["raw_prompt"]`` as verl's return_raw_chat does."""
    import torch
    from verl import DataProto

    rows = [(p, r, g) for g, (p, responses) in enumerate(groups) for r in responses]
    p_ids = [tokenizer.encode(p, add_special_tokens=False) for p, _, _ in rows]
    r_ids = [tokenizer.encode(r, add_special_tokens=False) + [tokenizer.eos_token_id] for _, r, _ in rows]
    P, R = max(map(len, p_ids)) + 1, max(map(len, r_ids)) + 2
    pad = tokenizer.pad_token_id
    prompts = torch.full((len(rows), P), pad, dtype=torch.long)
    responses = torch.full((len(rows), R), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), P + R), dtype=torch.long)
    for i, (p, r) in enumerate(zip(p_ids, r_ids)):
        prompts[i, P - len(p):] = torch.tensor(p)
        responses[i, : len(r)] = torch.tensor(r)
        mask[i, P - len(p): P + len(r)] = 1
    uid_list = uids or [f"uid-{g}" for _, _, g in rows]
    non_tensors = {
        "uid": np.array(uid_list, dtype=object),
        "data_source": np.array([data_source] * len(rows), dtype=object),
        "reward_model": np.array([{"ground_truth": ground_truth}] * len(rows), dtype=object),
        "extra_info": np.array([dict(extra_info or {}) for _ in rows], dtype=object),
    }
    if raw_prompts is not None:
        chats = np.empty(len(rows), dtype=object)
        for i, (_, _, g) in enumerate(rows):
            chats[i] = list(raw_prompts[g])
        non_tensors["raw_prompt"] = chats
    return DataProto.from_dict(
        tensors={"prompts": prompts, "responses": responses, "attention_mask": mask,
                 "input_ids": torch.cat([prompts, responses], 1)},
        non_tensors=non_tensors,
    )


def verl_config(overrides: list[str]):
    """verl's own ppo_trainer config composed by Hydra with ``overrides`` (as main_ppo gets it)."""
    import verl
    from hydra import compose, initialize_config_dir

    config_dir = os.path.join(os.path.dirname(verl.__file__), "trainer", "config")
    with initialize_config_dir(config_dir=config_dir, version_base=None):
        return compose("ppo_trainer", overrides=overrides)


# module-scoped fixtures shared by the verl test modules (import them by name; each module gets its own instances)
@pytest.fixture(scope="module")
def ray_session():
    """One local Ray session (4 CPUs) for the importing test module."""
    import ray

    ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def tok_dir(tmp_path_factory):
    return build_tokenizer(tmp_path_factory.mktemp("tok"))


@pytest.fixture(scope="module")
def tokenizer(tok_dir):
    from verl.utils import hf_tokenizer

    return hf_tokenizer(tok_dir, trust_remote_code=False)


def test_tokenizer_round_trip(tmp_path):
    """The batches decode to exactly the texts they were built from (the reward tests rely on it)."""
    from verl.utils import hf_tokenizer

    tok = hf_tokenizer(build_tokenizer(tmp_path), trust_remote_code=False)
    data = make_batch(tok, [("What is 40 + 2?", CORPUS[:3])])
    n_prompt = data.batch["prompts"].shape[1]
    for i, text in enumerate(CORPUS[:3]):
        valid = int(data.batch["attention_mask"][i, n_prompt:].sum())
        assert tok.decode(data.batch["responses"][i, :valid], skip_special_tokens=True) == text
