"""Partition cost of one DARLING RL step: embedding judge vs a DeBERTa-v3-large-sized cross-encoder.

One step = 256 prompts x 8 responses = 2,048 responses; the transitive strategy (DARLING's reward)
judges all 28 pairs of each group = 7,168 pairs. Responses are synthetic (150-300 random words drawn
from the MiniLM vocabulary, seeded), so every response is longer than 128 tokens, as in chat RL.

Systems, all in the same run on the same machine:

* ``embedding``: the package's MiniLM-L6 bi-encoder judge through ``partition_batch`` (each response
  embedded once, 256 word pieces).
* ``learned``: the shipped default judge (the same MiniLM over 128-token chunks, up to 8 a response, plus a
  logistic head over pair features), through ``partition_batch``.
* ``cross-encoder 1/fwd``: DeBERTa-v3-large dimensions (24 layers, 1024 wide, 16 heads, 128k vocab),
  RANDOM weights (speed does not depend on weights; nothing is downloaded), NoveltyBench pair encoding
  (128 tokens a side = 259 tokens a pair), one pair per forward as NoveltyBench's code does.
* ``cross-encoder batched``: the same model, ``--ce-batch`` pairs per forward (padded batch).

On a CPU the cross-encoder runs well under one pair per second, so by default only a SAMPLE of pairs
is timed and the step time is EXTRAPOLATED linearly (the output says so); ``--embed-prompts`` likewise
times the embedding judge on a sample of prompts unless it is 256. ``--quick`` shrinks every sample.

Usage:
    python benchmarks/partition_speed.py            # ~2-4 min on 2 CPU cores
    python benchmarks/partition_speed.py --quick
    python benchmarks/partition_speed.py --embed-prompts 256 --ce-pairs 32 --device cuda   # on a GPU
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

PROMPTS, RESPONSES = 256, 8
PAIRS_PER_GROUP = RESPONSES * (RESPONSES - 1) // 2
STEP_PAIRS = PROMPTS * PAIRS_PER_GROUP
STEP_RESPONSES = PROMPTS * RESPONSES


def synthetic_groups(n_prompts: int, seed: int = 0) -> list[list[str]]:
    from diversity_metrics.judges.embedding import default_encoder_path

    vocab = [w for w in (default_encoder_path() / "vocab.txt").read_text().split() if w.isalpha() and len(w) > 2]
    rng = np.random.default_rng(seed)
    return [
        [" ".join(rng.choice(vocab, size=int(rng.integers(150, 301)))) for _ in range(RESPONSES)]
        for _ in range(n_prompts)
    ]


def deberta_large_random(device: str, dtype: str):
    import torch
    from transformers import DebertaV2Config, DebertaV2ForSequenceClassification

    cfg = DebertaV2Config(
        vocab_size=128100,
        hidden_size=1024,
        num_hidden_layers=24,
        num_attention_heads=16,
        intermediate_size=4096,
        max_position_embeddings=512,
        relative_attention=True,
        position_buckets=256,
        norm_rel_ebd="layer_norm",
        share_att_key=True,
        pos_att_type=["p2c", "c2p"],
        max_relative_positions=-1,
        position_biased_input=False,
        type_vocab_size=0,
        layer_norm_eps=1e-7,
        num_labels=2,
    )
    torch.manual_seed(0)
    model = DebertaV2ForSequenceClassification(cfg)
    n_params = sum(p.numel() for p in model.parameters())
    return model, n_params


def time_judge(name: str, groups: list[list[str]], device: str) -> tuple[float, int]:
    from diversity_metrics import get_judge, partition_batch

    judge = get_judge(name, device=device)
    partition_batch([groups[0][:2]], judge=judge, strategy="transitive", short_rule="off")  # warm-up
    t0 = time.perf_counter()
    partition_batch(groups, judge=judge, strategy="transitive", short_rule="off")
    return time.perf_counter() - t0, sum(len(g) for g in groups)


def time_cross_encoder(groups: list[list[str]], device: str, dtype: str, n_single: int, n_batched: int, batch: int):
    from diversity_metrics.judges.cross_encoder import CrossEncoderJudge
    from diversity_metrics.judges.embedding import default_encoder_path
    from transformers import AutoTokenizer

    model, n_params = deberta_large_random(device, dtype)
    tokenizer = AutoTokenizer.from_pretrained(str(default_encoder_path()))  # token ids < 30522 < 128100
    pairs = [(g[i], g[j]) for g in groups for i in range(RESPONSES) for j in range(i + 1, RESPONSES)]
    results = {}
    for label, per_forward, n_pairs in (("1/fwd", 1, n_single), ("batched", batch, n_batched)):
        judge = CrossEncoderJudge(model, tokenizer=tokenizer, device=device, dtype=dtype, batch_size=per_forward)
        judge.score_pairs(pairs[:per_forward])  # warm-up
        sample = pairs[:n_pairs]
        t0 = time.perf_counter()
        judge.score_pairs(sample)
        results[label] = (time.perf_counter() - t0, len(sample))
    pair_tokens = len(judge.encode(pairs[:1])[0][0])
    return results, n_params, pair_tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small samples (about a minute on 2 cores)")
    parser.add_argument("--embed-prompts", type=int, default=32, help="prompts timed for the embedding judge")
    parser.add_argument("--ce-single", type=int, default=4, help="pairs timed one per forward")
    parser.add_argument("--ce-pairs", type=int, default=16, help="pairs timed in batches")
    parser.add_argument("--ce-batch", type=int, default=16, help="pairs per batched forward")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto", help="auto = bf16/fp16 on CUDA, fp32 on CPU")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.quick:
        args.embed_prompts, args.ce_single, args.ce_pairs, args.ce_batch = 8, 2, 8, 8
    import torch

    torch.set_num_threads(args.threads)
    device = "cuda" if args.device == "auto" and torch.cuda.is_available() else ("cpu" if args.device == "auto" else args.device)
    machine = (
        torch.cuda.get_device_name(0) if device.startswith("cuda") else f"{platform.machine()} CPU, {os.cpu_count()} cores"
    )
    print(f"DARLING RL step: {PROMPTS} prompts x {RESPONSES} responses = {STEP_RESPONSES} responses, "
          f"{STEP_PAIRS} pairs (transitive)")
    print(f"machine: {machine}; device={device}; torch threads={args.threads}; dtype={args.dtype}")
    groups = synthetic_groups(max(args.embed_prompts, 4))

    bi_encoders = {}
    for name in ("embedding", "learned"):
        seconds, n_responses = time_judge(name, groups[: args.embed_prompts], device)
        bi_encoders[name] = (seconds, n_responses, STEP_RESPONSES * seconds / n_responses)
    ce, n_params, pair_tokens = time_cross_encoder(
        groups[:4], device, args.dtype, args.ce_single, args.ce_pairs, args.ce_batch
    )
    print(f"cross-encoder: {n_params / 1e6:.0f}M parameters (random weights), {pair_tokens} tokens per pair")
    print()
    print(f"{'system':30s} {'timed':>14s} {'responses/s':>12s} {'pairs/s':>9s} {'step wall s':>12s}  note")
    labels = {"embedding": "embedding (MiniLM-L6)", "learned": "learned (default judge)"}
    for name, (seconds, n_responses, step) in bi_encoders.items():
        note = "measured" if args.embed_prompts >= PROMPTS else f"extrapolated from {n_responses} responses"
        print(f"{labels[name]:30s} {seconds:12.2f} s {n_responses / seconds:12.1f} {'':>9s} {step:12.2f}  {note}")
    step_times = {}
    for label, (seconds, n) in ce.items():
        pair_rate = n / seconds
        step = STEP_PAIRS / pair_rate
        step_times[label] = step
        name = f"cross-encoder {label}" + (f" (batch {args.ce_batch})" if label == "batched" else "")
        print(
            f"{name:30s} {seconds:12.2f} s {STEP_RESPONSES / step:12.2f} {pair_rate:9.2f} {step:12.1f}  "
            f"extrapolated from {n} pairs"
        )
    print()
    for name, (_, _, step) in bi_encoders.items():
        print(f"time ratio, batched cross-encoder / {name}: {step_times['batched'] / step:.0f}x (target >= 100x)")
        print(f"time ratio, one-pair cross-encoder / {name}: {step_times['1/fwd'] / step:.0f}x")


if __name__ == "__main__":
    main()
