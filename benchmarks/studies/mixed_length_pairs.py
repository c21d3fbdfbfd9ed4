"""Study (2026-12-07): does a judge merge a one-word answer with a longer answer that says something else?

The narrow-gate short head (docs/model-card.md, "Narrow-gate short head") scored such pairs high: in this project's
paraphrase groups a one-word answer and its full-sentence form are paraphrases, while the different answers are
written at the paraphrases' length, so a head fitted on them can learn "length mismatch = same answer". This prints
the score of each pair of ``benchmarks/data/mixed_length_pairs.jsonl`` (six held-out pairs, all of them different
answers; the tests read the same file) for the shipped judge and each ``--judge`` folder, with the folder's
default-point thresholds; every score should be below them (v6 merges one, "Affect." / "Effect, since it's about the
result."). When the point has a ``mixed_length`` threshold, printed too, ``score_pairs`` rescales these pairs' scores
so that the thresholds above still decide them. The training groups written against this failure
(``benchmarks/data/paraphrase_train_mixed*.jsonl``) are kept away from these pairs (tests/test_probe_data.py).

    python benchmarks/studies/mixed_length_pairs.py [--judge DIR ...]     # ~20 s a judge on 2 CPU cores
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

PAIRS_FILE = Path(__file__).resolve().parents[1] / "data" / "mixed_length_pairs.jsonl"  # {prompt, short, long}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--judge", nargs="*", default=[], help="judge folders to compare with the shipped one")
    args = parser.parse_args()

    from diversity_metrics.judges.learned import LearnedJudge

    pairs = [(r["prompt"], r["short"], r["long"]) for r in map(json.loads, PAIRS_FILE.read_text().splitlines())]

    for path in [None, *args.judge]:
        judge = LearnedJudge.load(path, device="cpu") if path else LearnedJudge.load(device="cpu")
        points: dict[str, float | None] = {s: judge.for_strategy(s).threshold for s in ("greedy", "transitive")}
        points["mixed_length"] = judge.mixed_length_threshold
        scores = [float(judge.score_pairs([(a, b)], prompt=p)[0]) for p, a, b in pairs]
        print(f"{path or 'shipped'}: default point {judge.operating_point} {points}")
        for (_, a, b), s in zip(pairs, scores, strict=True):
            print(f"  {s:6.3f}  {a!r} / {b!r}")


if __name__ == "__main__":
    main()
