"""Study: why no threshold of the learned judge gives NoveltyBench's 6.58 classes on the human generations.

For ``../shared/data/noveltybench/generations/{humans,gpt-4o}.jsonl`` it walks each stored (official)
partition the way NoveltyBench's representative-greedy pipeline made it and recovers the official decision
for every (response, class representative) comparison. It prints

1. how often NoveltyBench's exact short-response rule (both answers <= 5 words: equivalent iff
   ``2 * |shared lower-cased words| >= max word count``) agrees with the official decisions on short pairs
   (every time on the human file: those partitions were made with the rule; not on the GPT-4o file);
2. for the other comparisons the official partitions merged (at least one answer longer than 5 words),
   the shipped judge's scores and the most confident of them, i.e. what one would have to merge to
   reproduce the official count;
3. each file's mean class count replayed at low thresholds and at the ``noveltybench`` point (0.22), with
   each short rule;
4. (2026-12-07, judge v5.1) the official merge rate of mixed-length comparisons (one answer <= 5 words, the
   other longer) by the shorter answer's length, and the share the shipped judge merges at the ``noveltybench``
   point with and without its ``mixed_length`` threshold (the reason for that threshold).

    python benchmarks/studies/official_short_answers.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "noveltybench" / "generations"


def main() -> None:
    from diversity_metrics.judges.learned import LearnedJudge
    from diversity_metrics.judges.short_rule import mixed_length, short_rule_decision
    from diversity_metrics.training.operating_points import (
        greedy_decisions,
        group_score_matrices,
        memoised,
        replay_partitions,
    )

    judge = memoised(LearnedJudge.load(device="cpu"))
    for system in ("humans", "gpt-4o"):
        rows = [json.loads(x) for x in (DATA / f"{system}.jsonl").read_text().splitlines() if x.strip()]
        groups = [r["generations"] for r in rows]
        agree = total = 0
        merged_long: list[tuple[float, str, str]] = []
        split_long = 0
        mats = group_score_matrices(judge, groups, prompts=[r["prompt"] for r in rows])
        for r, m in zip(rows, mats, strict=True):
            g = r["generations"]
            for i, rep, merged in greedy_decisions(g, r["partition"]):
                rule = short_rule_decision(g[i], g[rep], "noveltybench")
                if rule is None:
                    if merged:
                        merged_long.append((float(m[i, rep]), g[i], g[rep]))
                    else:
                        split_long += 1
                else:
                    total += 1
                    agree += rule == merged
        print(f"{system}: the exact short rule agrees with {agree} of {total} official short-pair decisions")
        scores = np.array([x[0] for x in merged_long])
        print(f"  other comparisons: official merged {len(merged_long)}, split {split_long}; the shipped judge's "
              f"scores of the merged ones: median {np.median(scores):.3f}, 75th percentile "
              f"{np.percentile(scores, 75):.3f}, share <= 0.02: {np.mean(scores <= 0.02):.2f}")
        for s, a, b in sorted(merged_long)[:5]:
            print(f"    official merged, judge {s:.3f}: {a[:50]!r} | {b[:50]!r}")
        for rule in ("noveltybench", "normalized"):
            counts = []
            for t in (0.0, 0.005, 0.02, 0.05, 0.1, 0.22):
                parts = replay_partitions(groups, mats, t, short_rule=rule)
                counts.append(f"{t}: {np.mean([max(p) + 1 for p in parts]):.2f}")
            official = np.mean([max(r["partition"]) + 1 for r in rows])
            print(f"  mean classes (official {official:.2f}), short rule {rule}, by threshold: {', '.join(counts)}")
        point = judge.config["operating_points"]["noveltybench"]
        mixed = [(len(min(g[i], g[rep], key=lambda t: len(t.split())).split()), merged, float(m[i, rep]))
                 for r, m in zip(rows, mats, strict=True) for g in [r["generations"]]
                 for i, rep, merged in greedy_decisions(g, r["partition"]) if g[i] != g[rep] and mixed_length(g[i], g[rep])]
        for lo, hi in ((0, 3), (3, 6)):
            sel = [(mg, sc) for w, mg, sc in mixed if lo <= w < hi]
            if sel:
                print(f"  mixed-length comparisons, shorter answer {lo}-{hi - 1} words: n={len(sel)}, official merged "
                      f"{np.mean([mg for mg, _ in sel]):.2f}, judge > {point['greedy']} {np.mean([sc > point['greedy'] for _, sc in sel]):.2f}, "
                      f"judge > mixed_length {point['mixed_length']} {np.mean([sc > point['mixed_length'] for _, sc in sel]):.2f}")
        for t_m in (None, point["mixed_length"]):
            parts = replay_partitions(groups, mats, point["greedy"], mixed_threshold=t_m)
            print(f"  noveltybench point (greedy {point['greedy']}, mixed_length {t_m}): "
                  f"{np.mean([max(p) + 1 for p in parts]):.2f} classes")
    print("2-core x86_64 CPU, no GPU")


if __name__ == "__main__":
    main()
