"""Wall time the DARLING diversity reward adds to one verl step of 256 prompts x 8 rollouts.

Drives verl 0.9.1's reward-manager interface exactly as a RewardLoopWorker does (``run_single`` once per
trajectory, all 2,048 concurrently) twice: with ``diversity=false`` (quality only: decode + compute_score) and
with the DARLING reward (rendezvous + one partition per group). The difference is what DARLING adds.
Responses: real generations from NoveltyBench (GPT-4o and human, ../shared/data), 8 per prompt.

Run: python benchmarks/verl_reward_latency.py [--judge NAME] [--prompts 256] [--rollouts 8] [--ray]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REFERENCE = {  # ../shared/notes/reference-numbers.md, one step of 256 x 8 on one NVIDIA H100, bf16
    "DeBERTa-v3-large, one pair per forward (NoveltyBench protocol)": 305.0,
    "DeBERTa-v3-large, 256 pairs per batch": 9.0,
    "ModernBERT-base cross-encoder (DARLING chat classifier class), batched": 6.5,
    "MiniLM-L6 bi-encoder": 0.05,
}


def load_groups(n_prompts: int, n_rollouts: int) -> list[tuple[str, list[str]]]:
    rows = []
    for name in ("gpt-4o", "humans"):
        with open(SHARED / "data" / "noveltybench" / "generations" / f"{name}.jsonl") as f:
            rows += [json.loads(line) for line in f]
    groups = []
    for offset in itertools.count():
        for r in rows:
            gens = r["generations"][offset : offset + n_rollouts]
            if len(gens) == n_rollouts:
                groups.append((r["prompt"], gens))
            if len(groups) == n_prompts:
                return groups
        if offset > 10:
            raise SystemExit("not enough generations for the requested size")
    return groups


def build_tokenizer(texts: list[str], folder: str):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=4000, special_tokens=["<pad>", "<eos>"],
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>").save_pretrained(folder)
    return PreTrainedTokenizerFast.from_pretrained(folder)


def make_batch(tokenizer, groups):
    import numpy as np
    import torch
    from verl import DataProto

    rows = [(p, r, g) for g, (p, rs) in enumerate(groups) for r in rs]
    p_ids = [tokenizer.encode(p)[-256:] for p, _, _ in rows]
    r_ids = [tokenizer.encode(r)[:1024] for _, r, _ in rows]
    P, R = max(map(len, p_ids)), max(map(len, r_ids))
    prompts = torch.zeros((len(rows), P), dtype=torch.long)
    responses = torch.zeros((len(rows), R), dtype=torch.long)
    mask = torch.zeros((len(rows), P + R), dtype=torch.long)
    for i, (p, r) in enumerate(zip(p_ids, r_ids)):
        prompts[i, P - len(p):] = torch.tensor(p)
        responses[i, : len(r)] = torch.tensor(r)
        mask[i, P - len(p): P + len(r)] = 1
    return DataProto.from_dict(
        tensors={"prompts": prompts, "responses": responses, "attention_mask": mask},
        non_tensors={"uid": np.array([f"u{g}" for _, _, g in rows], dtype=object),
                     "data_source": np.array(["chat"] * len(rows), dtype=object),
                     "reward_model": np.array([{"ground_truth": None}] * len(rows), dtype=object)},
    )


def quality(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    return min(len(solution_str) / 1000.0, 1.0)


def timed_step(tokenizer, data, reward_kwargs: dict, n: int) -> tuple[float, str]:
    from omegaconf import OmegaConf

    from verl_plugin.reward_manager import DarlingRewardManager

    cfg = OmegaConf.create({"reward": {"reward_kwargs": reward_kwargs},
                            "actor_rollout_ref": {"rollout": {"n": n, "val_kwargs": {"n": 1}}}})
    manager = DarlingRewardManager(cfg, tokenizer, quality)

    async def step():
        return await asyncio.gather(*[manager.run_single(data[i : i + 1]) for i in range(len(data))])

    judge = "-"
    if reward_kwargs.get("diversity", True) and reward_kwargs.get("rendezvous") == "local":
        judge = repr(manager.rendezvous.scorer.judge)  # loaded once per job, outside the timed step
    start = time.perf_counter()
    results = manager.loop.run_until_complete(step())
    elapsed = time.perf_counter() - start
    assert len(results) == len(data)
    return elapsed, judge


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--judge", default=None, help="judge name (default: the package's default judge)")
    ap.add_argument("--prompts", type=int, default=256)
    ap.add_argument("--rollouts", type=int, default=8)
    ap.add_argument("--ray", action="store_true", help="use the named Ray rendezvous actor (local Ray)")
    args = ap.parse_args()
    if args.ray:
        import ray

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    groups = load_groups(args.prompts, args.rollouts)
    with tempfile.TemporaryDirectory() as folder:
        tokenizer = build_tokenizer([t for p, rs in groups for t in [p, *rs]], folder)
        data = make_batch(tokenizer, groups)
    base, _ = timed_step(tokenizer, data, {"diversity": False}, args.rollouts)
    kwargs = {"judge": args.judge, "rendezvous": "ray" if args.ray else "local"}
    darling, judge = timed_step(tokenizer, data, kwargs, args.rollouts)
    import torch

    device = "GPU " + torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU ({torch.get_num_threads()} threads)"
    n = len(data)
    pairs = args.prompts * args.rollouts * (args.rollouts - 1) // 2
    print(f"verl reward step: {args.prompts} prompts x {args.rollouts} rollouts = {n} responses, "
          f"{pairs} pairs (transitive), judge={args.judge or 'default'}, rendezvous={kwargs['rendezvous']}, {device}")
    print(f"  judge used: {judge}")
    print(f"  quality only (diversity=false): {base:8.2f} s")
    print(f"  DARLING reward:                 {darling:8.2f} s")
    print(f"  added by the diversity reward:  {darling - base:8.2f} s")
    print("Official protocol / alternatives, same step, one H100 (reference-numbers.md):")
    for name, seconds in REFERENCE.items():
        print(f"  {name}: {seconds:g} s")


if __name__ == "__main__":
    main()
