"""Toy demonstration: does the DARLING reward keep a GRPO policy from collapsing onto a few answers?

A tiny GPT-2 (2 layers, width 64, untied embeddings, no dropout; random init, word-level vocabulary, CPU) is first
taught by supervised fine-tuning (150 AdamW steps of 64 examples) an open-ended
task with many equally good answers: "Name a fruit :" / "Name an animal :" / "Name a colour :" -> one of 16 words
of that category. The SFT data mixes in wrong-category words, so the start policy is only partly correct and RL
has something to learn. From the same SFT checkpoint, TRL's GRPOTrainer then trains twice with the same seed
and settings:

* quality only: ``DarlingReward(quality, diversity=False)`` (reward = quality, the GRPO baseline),
* DARLING: ``DarlingReward(quality, judge="exact")`` (quality x Norm(Div), transitive partition; on one-word
  answers the exact judge with the default "normalized" short rule means "same word").

quality = 1 if the completion is exactly one word of the prompt's category, else 0. Every ``--eval-every`` steps
the policy samples ``--eval-samples`` completions per prompt at temperature 1 (a fixed sampling seed) and the
script prints, and finally plots, the mean quality and the number of distinct correct answers per prompt.

It is a toy (a bandit over one token, in effect): it shows the mechanism, not what happens to a real model.

    nice -n 5 .venv/bin/python benchmarks/trl_collapse_demo.py             # 3-9 min on a 2-core CPU (load-dependent)
    nice -n 5 .venv/bin/python benchmarks/trl_collapse_demo.py --steps 100  # a quick look

GRPO settings (both runs): 8 generations per prompt, the 3 prompts per step, completions of at most 2 tokens,
AdamW lr 1e-3 (constant), no KL (beta=0), scale_rewards="none" (DARLING's advantage R - group mean),
temperature 1, TRL's default loss ("dapo"), 500 steps; seed 0 for SFT, GRPO and evaluation sampling.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

CATEGORIES = {
    "fruit": ["apple", "banana", "cherry", "grape", "lemon", "mango", "pear", "plum",
              "peach", "kiwi", "lime", "melon", "fig", "date", "guava", "papaya"],
    "animal": ["cat", "dog", "horse", "cow", "sheep", "goat", "lion", "tiger",
               "bear", "wolf", "fox", "deer", "mouse", "rabbit", "zebra", "camel"],
    "colour": ["red", "blue", "green", "yellow", "purple", "orange", "pink", "brown",
               "black", "white", "grey", "violet", "indigo", "teal", "navy", "gold"],
}
PROMPTS = {"fruit": "Name a fruit :", "animal": "Name an animal :", "colour": "Name a colour :"}
SPECIAL = ["<pad>", "<eos>", "<unk>"]


def vocabulary() -> list[str]:
    words = list(SPECIAL)
    for prompt in PROMPTS.values():
        words += [w for w in prompt.split() if w not in words]
    for answers in CATEGORIES.values():
        words += answers
    return words


def quality_of(prompt: str, completion: str) -> float:
    category = next(c for c, p in PROMPTS.items() if p == prompt)
    return 1.0 if completion.strip() in CATEGORIES[category] else 0.0


def quality(prompts, completions, **kwargs):
    """The TRL quality function: 1 for one word of the asked category, else 0."""
    return [quality_of(p, c) for p, c in zip(prompts, completions)]


def build_tokenizer(folder: Path):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = vocabulary()
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>")
    hf.save_pretrained(folder)
    return hf


def supervised_start(folder: Path, args: argparse.Namespace) -> None:
    """Random-init tiny GPT-2, then SFT on prompt -> answer <eos> (answers correct with prob --sft-correct)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    tok = build_tokenizer(folder)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    config = GPT2Config(vocab_size=len(tok), n_positions=16, n_embd=64, n_layer=2, n_head=4,
                        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, tie_word_embeddings=False,
                        bos_token_id=tok.eos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    model = GPT2LMHeadModel(config)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    cats = list(CATEGORIES)
    for step in range(args.sft_steps):
        ids, labels = [], []
        for _ in range(64):
            cat = rng.choice(cats)
            if rng.random() < args.sft_correct:
                answer = rng.choice(CATEGORIES[cat])
            else:
                answer = rng.choice([w for c in cats if c != cat for w in CATEGORIES[c]])
            p = tok(PROMPTS[cat], add_special_tokens=False)["input_ids"]
            a = tok(answer, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
            ids.append(p + a)
            labels.append([-100] * len(p) + a)
        width = max(map(len, ids))
        x = torch.tensor([s + [tok.pad_token_id] * (width - len(s)) for s in ids])
        y = torch.tensor([s + [-100] * (width - len(s)) for s in labels])
        loss = model(input_ids=x, attention_mask=(x != tok.pad_token_id).long(), labels=y).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.save_pretrained(folder)
    print(f"SFT: {args.sft_steps} steps, final loss {loss.item():.3f}", flush=True)


def evaluate(model, tok, n_samples: int, seed: int) -> dict[str, float]:
    """Sample n completions per prompt (fixed seed, RNG state restored); quality and distinct correct answers."""
    import torch

    was_training = model.training
    model.eval()
    per_prompt = []
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        for cat, prompt in PROMPTS.items():
            enc = tok([prompt] * n_samples, return_tensors="pt", add_special_tokens=False)
            out = model.generate(**enc, do_sample=True, temperature=1.0, top_k=0, top_p=1.0, max_new_tokens=2,
                                 pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
            texts = tok.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
            q = [quality_of(prompt, t) for t in texts]
            correct = {t.strip() for t, v in zip(texts, q) if v > 0}
            per_prompt.append((sum(q) / len(q), len(correct)))
    if was_training:
        model.train()
    return {
        "quality": sum(p[0] for p in per_prompt) / len(per_prompt),
        "distinct": sum(p[1] for p in per_prompt) / len(per_prompt),
    }


def run_grpo(label: str, start: Path, out_dir: Path, reward, args: argparse.Namespace) -> list[dict[str, float]]:
    from datasets import Dataset
    from transformers import AutoTokenizer, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    tok = AutoTokenizer.from_pretrained(start)
    history: list[dict[str, float]] = []

    class Eval(TrainerCallback):
        def _record(self, step, model):
            row = {"step": step, **evaluate(model, tok, args.eval_samples, args.seed + 1)}
            history.append(row)
            print(f"[{label:>12}] step {step:4d}  quality {row['quality']:.3f}  distinct correct answers/prompt "
                  f"{row['distinct']:5.2f}  ({time.perf_counter() - t0:6.1f}s)", flush=True)

        def on_train_begin(self, a, state, control, model=None, **kw):
            self._record(0, model)

        def on_step_end(self, a, state, control, model=None, **kw):
            if state.global_step % args.eval_every == 0:
                self._record(state.global_step, model)

    config = GRPOConfig(
        output_dir=str(out_dir), per_device_train_batch_size=len(PROMPTS) * args.num_generations,
        num_generations=args.num_generations, max_completion_length=2, max_steps=args.steps,
        learning_rate=args.lr, lr_scheduler_type="constant", beta=0.0, scale_rewards="none", temperature=1.0, top_k=0, top_p=1.0,
        seed=args.seed, report_to=[], use_cpu=True, logging_steps=10_000, save_strategy="no",
        disable_tqdm=True,
    )
    prompts = list(PROMPTS.values()) * max(1, args.steps)
    trainer = GRPOTrainer(model=str(start), reward_funcs=[reward], args=config,
                          train_dataset=Dataset.from_dict({"prompt": prompts}), processing_class=tok,
                          callbacks=[Eval()])
    t0 = time.perf_counter()
    trainer.train()
    return history


def plot(runs: dict[str, list[dict[str, float]]], path: Path, args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    styles = {"quality only": dict(color="tab:red"), "DARLING": dict(color="tab:blue")}
    for label, hist in runs.items():
        steps = [h["step"] for h in hist]
        axes[0].plot(steps, [h["quality"] for h in hist], label=label, **styles[label])
        axes[1].plot(steps, [h["distinct"] for h in hist], label=label, **styles[label])
    axes[0].set(xlabel="GRPO step", ylabel="mean quality", ylim=(0, 1.05),
                title=f"quality in {args.eval_samples} samples (1 = right category)")
    n_answers = len(next(iter(CATEGORIES.values())))
    axes[1].axhline(n_answers, color="grey", lw=0.8, ls=":")
    axes[1].set(xlabel="GRPO step", ylabel="distinct correct answers / prompt", ylim=(0, n_answers + 1),
                title=f"diversity in {args.eval_samples} samples ({n_answers} correct answers exist)")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"Toy: tiny GPT-2, GRPO from one SFT start (seed {args.seed}, {args.num_generations} "
                 f"generations, lr {args.lr:g}, judge 'exact')", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=500, help="GRPO steps per run")
    ap.add_argument("--num-generations", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--sft-steps", type=int, default=150)
    ap.add_argument("--sft-correct", type=float, default=0.5, help="share of SFT answers from the right category")
    ap.add_argument("--eval-every", type=int, default=20)
    ap.add_argument("--eval-samples", type=int, default=64)
    ap.add_argument("--png", type=Path, default=Path(__file__).resolve().parents[1] / "docs/img/trl_collapse.png")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from diversity_metrics.integrations.trl import DarlingReward

    t_start = time.perf_counter()
    print(f"settings: {json.dumps(vars(args), default=str)}", flush=True)
    with tempfile.TemporaryDirectory(prefix="trl_collapse_") as tmp:
        start = Path(tmp) / "sft"
        start.mkdir()
        supervised_start(start, args)
        rewards = {
            "quality only": DarlingReward(quality, diversity=False, judge="exact", name="quality_only"),
            "DARLING": DarlingReward(quality, judge="exact", name="darling"),
        }
        runs = {label: run_grpo(label, start, Path(tmp) / label.replace(" ", "_"), reward, args)
                for label, reward in rewards.items()}
    print("\nfinal (step {}):".format(args.steps))
    for label, hist in runs.items():
        first, last = hist[0], hist[-1]
        print(f"  {label:>12}: quality {first['quality']:.3f} -> {last['quality']:.3f}   distinct correct "
              f"answers/prompt {first['distinct']:.2f} -> {last['distinct']:.2f}")
    plot(runs, args.png, args)
    print(f"wall time {time.perf_counter() - t_start:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
