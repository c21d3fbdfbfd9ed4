"""Agreement of our judges with NoveltyBench's official partitions, and judge threshold calibration.

Partitions ../shared/data/noveltybench/generations/{gpt-4o,humans}.jsonl with every judge that runs
offline and prints, against the partitions stored by NoveltyBench's official pipeline (DeBERTa-v3-large
classifier, threshold 0.102, representative-greedy, short-response rule):

* mean adjusted Rand index over prompts (sklearn ``adjusted_rand_score``),
* Spearman correlation of per-prompt class counts (scipy ``spearmanr``),
* each system's mean class count (official first).

``--calibrate`` also scores NoveltyBench's 1,000 human-labelled pairs with the ``bleu`` and ``embedding``
judges (and ``unigram`` for reference; not the learned judge, which was trained on these pairs) and prints ROC AUC, the accuracy-optimal threshold
and its accuracy: the source of ``BLEU_THRESHOLD`` and ``EMBEDDING_THRESHOLD``. Pairs decided by the
short-response rule are left out of the calibration (the rule decides them in use).

Usage:
    python benchmarks/partition_agreement.py                 # all offline judges, greedy
    python benchmarks/partition_agreement.py --strategy transitive --judges unigram,embedding
    python benchmarks/partition_agreement.py --calibrate
    python benchmarks/partition_agreement.py --judges learned --option learned.threshold=0.2
    python benchmarks/partition_agreement.py --judges learned@darling,learned@noveltybench --short-rule noveltybench

``learned@POINT`` is the shipped learned judge at a named operating point (darling = the default, human,
noveltybench); the points share one embedding per response.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "noveltybench"
DEFAULT_JUDGES = (
    "exact", "normalized", "unigram", "bleu", "embedding", "learned@darling", "learned@human", "learned@noveltybench"
)
_MEMO: dict[str, object] = {}  # the loaded learned judge and its embedding rows, shared by its operating points


def load(system: str) -> list[dict]:
    path = DATA / "generations" / f"{system}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def parse_options(items: list[str]) -> dict[str, dict[str, object]]:
    """``["learned.threshold=0.2", ...]`` -> ``{"learned": {"threshold": 0.2}}`` (values parsed as JSON if possible)."""
    out: dict[str, dict[str, object]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        judge, dot, option = key.partition(".")
        if not (sep and dot and judge and option):
            raise SystemExit(f"--option must look like JUDGE.OPTION=VALUE, got {item!r}")
        try:
            parsed: object = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        out.setdefault(judge, {})[option] = parsed
    return out


def make_learned(point: str):
    """The shipped learned judge at a named operating point (``learned@human``); all points share one encoder
    and one embedding per text (the pair scores do not depend on the threshold)."""
    from diversity_metrics.judges.learned import LearnedJudge
    from diversity_metrics.training.operating_points import memoised

    if "base" not in _MEMO:
        _MEMO["base"] = LearnedJudge.load(device="cpu")
    base = _MEMO["base"]
    return memoised(base, _MEMO.setdefault("rows", {}), point=point)


def make_judge(name: str, extra: dict[str, object] | None = None):
    from diversity_metrics import get_judge

    if name.startswith("learned@"):
        return make_learned(name.partition("@")[2])

    options = {"device": "cpu"} if name in ("embedding", "learned") else {}
    options.update(extra or {})
    try:
        return get_judge(name, **options)
    except ValueError as exc:  # e.g. the learned judge is not installed yet
        print(f"  (skipping {name}: {exc})")
        return None


def agreement(args: argparse.Namespace) -> None:
    from scipy.stats import spearmanr
    from sklearn.metrics import adjusted_rand_score

    from diversity_metrics import partition_batch
    from diversity_metrics.judges.base import Judge

    judges = {}
    for name in args.judges.split(","):
        judge = make_judge(name, args.judge_options.get(name))
        if judge is not None:
            judges[name] = judge
    print(f"strategy={args.strategy} short_rule={args.short_rule} machine: {args.machine}")
    for name, judge in judges.items():
        shown = judge.for_strategy(args.strategy) if isinstance(judge, Judge) else judge  # the engine's threshold
        print(f"  {name}: {shown!r}")
    header = f"{'system':8s} {'judge':12s} {'mean ARI':>9s} {'Spearman':>9s} {'classes':>8s} {'official':>9s} {'time s':>7s}"
    print(header)
    print("-" * len(header))
    for system in ("gpt-4o", "humans"):
        rows = load(system)[: args.limit]
        official = [r["partition"] for r in rows]
        official_counts = np.array([max(p) + 1 for p in official])
        groups = [r["generations"] for r in rows]
        prompts = [r["prompt"] for r in rows]
        for name, judge in judges.items():
            t0 = time.perf_counter()
            ours = partition_batch(
                groups, prompts=prompts, judge=judge, strategy=args.strategy, short_rule=args.short_rule
            )
            elapsed = time.perf_counter() - t0
            ari = np.mean([adjusted_rand_score(o, p) for o, p in zip(official, ours)])
            counts = np.array([max(p) + 1 for p in ours])
            rho = spearmanr(official_counts, counts).statistic if counts.std() > 0 else float("nan")
            print(
                f"{system:8s} {name:12s} {ari:9.3f} {rho:9.3f} {counts.mean():8.2f} {official_counts.mean():9.2f} "
                f"{elapsed:7.1f}"
            )


def calibrate(args: argparse.Namespace) -> None:
    from sklearn.metrics import roc_auc_score

    from diversity_metrics.partitioning import short_response_equivalent

    rows = [json.loads(x) for x in (DATA / "equivalence_pairs_train.jsonl").read_text().splitlines() if x.strip()]
    rows = [r for r in rows if short_response_equivalent(r["generation_0"], r["generation_1"]) is None]
    pairs = [(r["generation_0"], r["generation_1"]) for r in rows]
    labels = np.array([int(r["similar"]) for r in rows])
    print(f"calibration on {len(pairs)} NoveltyBench human pairs ({labels.mean():.3f} similar), machine: {args.machine}")
    print(f"{'judge':12s} {'ROC AUC':>8s} {'best thr':>9s} {'acc@best':>9s} {'default thr':>12s} {'acc@default':>12s}")
    for name in args.calibrate_judges.split(","):
        judge = make_judge(name)
        if judge is None:
            continue
        scores = np.asarray(judge.score_pairs(pairs), dtype=np.float64)
        auc = roc_auc_score(labels, scores)
        values = np.unique(scores)
        candidates = np.concatenate([[values[0] - 1e-9], (values[:-1] + values[1:]) / 2, [values[-1]]])
        accs = np.array([np.mean((scores > t) == labels) for t in candidates])
        best = candidates[int(np.argmax(accs))]
        acc_default = np.mean((scores > judge.threshold) == labels)
        print(f"{name:12s} {auc:8.3f} {best:9.3f} {accs.max():9.3f} {judge.threshold:12.3f} {acc_default:12.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--judges", default=",".join(DEFAULT_JUDGES))
    parser.add_argument("--strategy", default="greedy")
    parser.add_argument("--short-rule", default="normalized", choices=("normalized", "noveltybench", "off"))
    parser.add_argument("--limit", type=int, default=None, help="first N prompts of each system")
    parser.add_argument("--calibrate", action="store_true", help="also calibrate thresholds on the human pairs")
    parser.add_argument(
        "--calibrate-judges", default="unigram,bleu,embedding", help="(the learned judge was trained on these pairs)"
    )
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="JUDGE.OPTION=VALUE",
        help="judge option for the agreement run, e.g. learned.threshold=0.2 (repeatable)",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: shared machine)")
    parser.add_argument("--machine", default=f"{platform.machine()} CPU, {__import__('os').cpu_count()} cores")
    args = parser.parse_args()
    args.judge_options = parse_options(args.option)
    import torch

    torch.set_num_threads(args.threads)
    agreement(args)
    if args.calibrate:
        calibrate(args)


if __name__ == "__main__":
    main()
