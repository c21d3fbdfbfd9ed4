"""Paraphrase probe: does a judge merge paraphrases and keep different answers apart? (2-core CPU, no GPU)

``benchmarks/data/paraphrase_probe.jsonl`` (written for this project, not third-party data) holds 44 groups
of chat answers to one prompt each -- 26 short (one sentence or a few words) and 18 long (a paragraph):
three paraphrases of one answer (``paraphrases``: same content, different wording) and two answers whose
content differs (``different``), most of which reuse the paraphrases' wording. Each group's five answers are
partitioned with the public ``diversity_metrics.partition`` (default strategy ``greedy`` and default short
rule ``normalized``), and the script prints per judge:

* **recall** = share of the 3 paraphrase pairs per group put in one class (132 pairs), and
* **separation** = share of the 7 pairs involving a different-content answer (each different answer with
  each paraphrase, and the two different answers with each other; 308 pairs) put in different classes,

overall and for the short and the long groups, and, for the learned judge, the best recall at separation
>= 0.90 and the best separation at recall >= 0.80 over the threshold grid, and the ``darling`` rule
cross-fitted over the groups (threshold chosen on half of them, scored on the other half). Judges: the learned judge at each named operating point
(``darling`` = the default, ``human``, ``noveltybench``), ``unigram``, ``embedding``, ``bleu``, ``exact`` and
``normalized``.

    python benchmarks/paraphrase_probe.py [--judges learned,unigram] [--strategy transitive]
    python benchmarks/paraphrase_probe.py --judges learned --strategy clique --learned-threshold 0.13
    python benchmarks/paraphrase_probe.py --judges learned --prompt-form qwen2.5-decoded
    python benchmarks/paraphrase_probe.py --probe benchmarks/data/paraphrase_probe_b.jsonl
    python benchmarks/paraphrase_probe.py --probe benchmarks/data/paraphrase_probe_c.jsonl

``--probe`` reads another file of the same form. ``benchmarks/data/paraphrase_probe_b.jsonl`` (59 groups: 43 short,
16 long; written for this project on 2026-12-05 on prompts disjoint from the first probe's) was v3's
out-of-sample check (since v4 the ``darling`` point is chosen on the two probes pooled).
``benchmarks/data/paraphrase_probe_c.jsonl`` (65 groups: 45 short, 20 long; written for this project on
2026-12-05 by a writer who saw neither the judge nor the adapter's training groups, with strongly reworded
paraphrases, on prompts disjoint from every other file in benchmarks/data) chooses nothing: it checks the
``darling`` point, the adapter and the head on new groups.

The threshold sweep and the cross-fitted rule replay the partitions under ``--strategy`` from one score matrix
per group; ``--learned-threshold T`` adds a row for the learned judge at the explicit threshold ``T`` through the
public ``partition`` (e.g. the sweep's best point under another strategy).

``--prompt-form`` changes what the judges get as the prompt: ``plain`` (the question, as every front-end passes
it), ``none``, or the question inside a chat template decoded with its special tokens skipped (what a trainer's
prompt tokens give back: ``qwen2.5-decoded``, ``llama3-decoded``).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

PROBE = Path(__file__).resolve().parent / "data" / "paraphrase_probe.jsonl"
PROBE_B = PROBE.with_name("paraphrase_probe_b.jsonl")  # out of sample for v3; with PROBE, chooses the darling point since v4
PROBE_C = PROBE.with_name("paraphrase_probe_c.jsonl")  # chooses nothing: out of sample for every choice
JUDGES = ("learned", "unigram", "embedding", "bleu", "exact", "normalized")
PROMPT_FORMS = {
    "plain": lambda q: q,
    "none": lambda q: None,
    "qwen2.5-decoded": lambda q: f"system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.\nuser\n{q}\nassistant\n",
    "llama3-decoded": lambda q: f"system\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nuser\n\n{q}assistant\n\n",
}
LEARNED_POINTS = ("darling", "human", "noveltybench")


def load_probe(path: Path = PROBE) -> list[dict]:
    """The probe groups (``id``, ``kind``, ``prompt``, ``paraphrases`` (3), ``different`` (2))."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def pair_outcomes(labels: list[int]) -> tuple[list[bool], list[bool]]:
    """For one group's labels (3 paraphrases first, then 2 different answers): merged paraphrase pairs and
    separated different-content pairs.

    Example:
        >>> pair_outcomes([0, 0, 1, 2, 2])
        ([True, False, False], [True, True, True, True, True, True, False])
    """
    para = [labels[i] == labels[j] for i in range(3) for j in range(i + 1, 3)]
    diff = [labels[d] != labels[p] for d in (3, 4) for p in range(3)] + [labels[3] != labels[4]]
    return para, diff


def evaluate(
    groups: list[dict], judge: str, judge_options: dict, strategy: str, prompt_form: str = "plain"
) -> dict[str, dict[str, float]]:
    """Recall / separation (overall, short, long) of one judge on the probe, via ``diversity_metrics.partition``."""
    from diversity_metrics import partition

    out: dict[str, dict[str, list[bool]]] = {k: {"recall": [], "separation": []} for k in ("all", "short", "long")}
    for g in groups:
        labels = partition(
            g["paraphrases"] + g["different"], prompt=PROMPT_FORMS[prompt_form](g["prompt"]), judge=judge,
            judge_options=judge_options,
            strategy=strategy,
        )
        para, diff = pair_outcomes(labels)
        for key in ("all", g["kind"]):
            out[key]["recall"] += para
            out[key]["separation"] += diff
    return {k: {m: float(np.mean(v)) for m, v in d.items()} for k, d in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--judges", default=",".join(JUDGES))
    parser.add_argument("--strategy", default="greedy")
    parser.add_argument("--probe", type=Path, default=PROBE,
                        help=f"probe file (default {PROBE.name}; {PROBE_B.name} is the second, {PROBE_C.name} the out-of-sample one)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--prompt-form", choices=sorted(PROMPT_FORMS), default="plain",
                        help="what the judges get as each group's prompt")
    parser.add_argument("--learned-threshold", type=float, action="append", default=[],
                        help="also the learned judge at this explicit threshold (repeatable)")
    args = parser.parse_args()
    if args.learned_threshold and "learned" not in args.judges.split(","):
        parser.error("--learned-threshold needs the learned judge in --judges")
    import torch

    torch.set_num_threads(args.threads)
    groups = load_probe(args.probe)
    n_short = sum(g["kind"] == "short" for g in groups)
    print(
        f"{args.probe.name}: {len(groups)} groups ({n_short} short, {len(groups) - n_short} long): "
        f"{3 * len(groups)} paraphrase pairs, "
        f"{7 * len(groups)} different-content pairs; strategy={args.strategy}, short_rule=normalized, "
        f"prompt form={args.prompt_form}; "
        f"machine: {platform.machine()} CPU, {__import__('os').cpu_count()} cores, no GPU"
    )
    header = f"{'judge':28s} {'recall':>7s} {'separation':>11s} {'short r/s':>11s} {'long r/s':>11s} {'time s':>7s}"
    print(header)
    print("-" * len(header))
    runs: list[tuple[str, str, dict]] = []
    for name in args.judges.split(","):
        if name == "learned":
            from diversity_metrics import Partitioner

            for p in LEARNED_POINTS:  # a named point's threshold depends on the strategy (the engine's judge shows it)
                options = {"device": "cpu", "operating_point": p}
                t = Partitioner(judge="learned", judge_options=options, strategy=args.strategy).judge.threshold
                runs.append((f"learned ({p}, {t:.3g})", "learned", options))
            runs += [(f"learned (threshold {t:g})", "learned", {"device": "cpu", "threshold": t})
                     for t in args.learned_threshold]
        elif name == "embedding":
            runs.append((name, name, {"device": "cpu"}))
        else:
            runs.append((name, name, {}))
    for label, judge, options in runs:
        t0 = time.perf_counter()
        r = evaluate(groups, judge, options, args.strategy, args.prompt_form)
        print(
            f"{label:28s} {r['all']['recall']:7.3f} {r['all']['separation']:11.3f} "
            f"{r['short']['recall']:5.2f}/{r['short']['separation']:4.2f} "
            f"{r['long']['recall']:5.2f}/{r['long']['separation']:4.2f} {time.perf_counter() - t0:7.1f}",
            flush=True,
        )
    if "learned" in args.judges.split(",") and args.prompt_form == "plain":
        cross_fitted_darling(groups, args.strategy)


def cross_fitted_darling(groups: list[dict], strategy: str = "greedy") -> None:
    """The learned judge's threshold sweep under ``strategy``, and how much the in-sample choice of the darling
    point flatters it: choose the threshold (the same rule as benchmarks/train_default_judge.py, replayed
    under ``strategy``) on the odd-numbered groups and score the even ones, and vice versa."""
    from diversity_metrics.judges.learned import LearnedJudge
    from diversity_metrics.training.evaluation import roc_auc
    from diversity_metrics.training.operating_points import group_score_matrices, probe_point

    judge = LearnedJudge.load(device="cpu")
    texts = [g["paraphrases"] + g["different"] for g in groups]
    mats = group_score_matrices(judge, texts, prompts=[g["prompt"] for g in groups])
    scores, labels = [], []
    for g, m in zip(groups, mats, strict=True):  # paraphrases first: a pair of two paraphrases is label 1
        n = len(g["paraphrases"])
        for i, j in zip(*np.triu_indices(len(m), k=1)):
            scores.append(float(m[i, j]))
            labels.append(float(j < n))
    print(f"learned judge (default point's score), pair ROC AUC: {roc_auc(np.asarray(scores), np.asarray(labels)):.3f}")
    grid = np.round(np.arange(0.02, 0.981, 0.01), 2)
    sweep = [(t, *probe_point(texts, mats, grid=[t], strategy=strategy)[1:]) for t in grid]
    best = max((row for row in sweep if row[2] >= 0.90), key=lambda row: (row[1], row[0]), default=None)
    if best is not None:
        print(f"learned judge ({strategy}), best recall with separation >= 0.90: {best[1]:.3f} "
              f"(separation {best[2]:.3f}, threshold {best[0]:.2f})")
    best = max((row for row in sweep if row[1] >= 0.80), key=lambda row: (row[2], row[1], row[0]), default=None)
    if best is not None:
        print(f"learned judge ({strategy}), best separation with recall >= 0.80: {best[2]:.3f} "
              f"(recall {best[1]:.3f}, threshold {best[0]:.2f})")
    for name, fit, test in (("odd -> even", 1, 0), ("even -> odd", 0, 1)):
        f = [i for i in range(len(groups)) if i % 2 == fit]
        e = [i for i in range(len(groups)) if i % 2 == test]
        t, r_fit, s_fit = probe_point(
            [texts[i] for i in f], [mats[i] for i in f], min_recall=0.80, strategy=strategy
        )
        _, r, sep = probe_point([texts[i] for i in e], [mats[i] for i in e], grid=[t], strategy=strategy)
        print(
            f"darling rule ({strategy}) cross-fitted {name}: threshold {t:.2f} "
            f"(fit recall {r_fit:.3f}, separation {s_fit:.3f}) -> held-out groups recall {r:.3f}, separation {sep:.3f}"
        )


if __name__ == "__main__":
    main()
