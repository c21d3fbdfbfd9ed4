"""Re-choose a learned judge folder's named operating points without refitting its head or adapter.

Loads the judge (default: the shipped ``diversity_metrics/judges/default/``), scores every within-group pair of
NoveltyBench's shared generation files and of the darling probes once, and applies the rules of
``benchmarks/train_default_judge.py`` (the same function, ``choose_operating_points``): ``darling`` under each
strategy from the pooled probes A and B, ``noveltybench`` from the official class counts plus its
``mixed_length`` threshold (and ``darling``'s own, where the folder's point has one). The ``human`` point (a
pair-accuracy threshold from the head's training) is kept. Only ``config.json`` is rewritten (format 5 or the
folder's own, if later); the weights file is left as it is.

    python benchmarks/refit_operating_points.py [--judge DIR] [--dry-run]      # ~3 min on 2 CPU cores
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "noveltybench"
PROBES = tuple(ROOT / "benchmarks" / "data" / f"paraphrase_probe{s}.jsonl" for s in ("", "_b"))
SYSTEMS = ("gpt-4o", "humans")
MIN_RECALL = 0.80


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--judge", type=Path, default=None, help="judge folder (default: the shipped one)")
    parser.add_argument("--dry-run", action="store_true", help="print the points, write nothing")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import torch

    from diversity_metrics.judges.learned import CONFIG_NAME, DEFAULT_JUDGE_DIR, LearnedJudge, validate_config
    from diversity_metrics.strategies import DEFAULT_STRATEGY
    from diversity_metrics.training.operating_points import choose_operating_points, group_score_matrices, memoised

    torch.set_num_threads(args.threads)
    folder = args.judge or DEFAULT_JUDGE_DIR
    t0 = time.perf_counter()
    # an explicit threshold: raw probabilities, no point's mixed-length rescaling (scores do not depend on it)
    judge = memoised(LearnedJudge.load(folder, device="cpu"), threshold=0.5)
    systems = {s: read_jsonl(SHARED / "generations" / f"{s}.jsonl") for s in SYSTEMS}
    probe = [g for path in PROBES for g in read_jsonl(path)]
    probe_groups = [g["paraphrases"] + g["different"] for g in probe]
    scored = {
        s: ([r["generations"] for r in rows], group_score_matrices(judge, [r["generations"] for r in rows],
            prompts=[r.get("prompt") for r in rows]), [r["partition"] for r in rows])
        for s, rows in systems.items()
    }
    probe_mats = group_score_matrices(judge, probe_groups, prompts=[g["prompt"] for g in probe])
    cfg = dict(judge.config)
    points, rules, figures = choose_operating_points(
        scored, probe_groups, probe_mats, cfg["operating_points"]["human"], min_recall=MIN_RECALL,
        probe_names=["benchmarks/data/" + p.name for p in PROBES],
        darling_mixed_length="mixed_length" in cfg["operating_points"]["darling"],
    )
    print(f"{'point':14s} {'strategy':10s} {'threshold':>9s} {'mixed':>7s} {'gpt-4o':>7s} {'humans':>7s} {'recall':>7s} {'sep':>7s}")
    for name, rows in figures.items():
        for st, row in rows.items():
            mixed = f"{row['mixed_length']:7.4f}" if "mixed_length" in row else f"{'-':>7s}"
            print(f"{name:14s} {st:10s} {row['threshold']:9.4f} {mixed} {row['classes_gpt-4o']:7.2f} "
                  f"{row['classes_humans']:7.2f} {row['probe_recall']:7.3f} {row['probe_separation']:7.3f}")
    print(f"rules: {json.dumps(rules, indent=1)}")
    print(f"{time.perf_counter() - t0:.1f} s (2-core x86_64 CPU, no GPU)")
    if args.dry_run:
        return
    cfg["format_version"] = max(int(cfg["format_version"]), 5)
    cfg["operating_points"] = points
    cfg["threshold"] = points[cfg["default_operating_point"]][DEFAULT_STRATEGY]
    cfg["operating_point_rules"] = {**cfg.get("operating_point_rules", {}), **rules}
    cfg["operating_point_figures"] = figures
    validate_config(cfg, f"{folder}/{CONFIG_NAME}")  # before anything is written
    (Path(folder) / CONFIG_NAME).write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    LearnedJudge.load(folder, device="cpu", operating_point="noveltybench")
    print(f"wrote {Path(folder) / CONFIG_NAME}")


if __name__ == "__main__":
    main()
