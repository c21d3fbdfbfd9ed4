"""Study (2026-12-07): does a judge merge a one-word answer with a longer answer that says something else?

The narrow-gate short head (docs/model-card.md, "Narrow-gate short head") scored such pairs high: in this project's
paraphrase groups a one-word answer and its full-sentence form are paraphrases, while the different answers are
written at the paraphrases' length, so a head fitted on them can learn "length mismatch = same answer". This prints
the score of each pair below (all of them different answers) for the shipped judge and each ``--judge`` folder, with
the folder's default-point thresholds; every score should be far below them. (When the point has a ``mixed_length``
threshold, printed too, ``score_pairs`` rescales these pairs' scores so that the thresholds above still decide them.) The training groups written against this
failure (``benchmarks/data/paraphrase_train_mixed*.jsonl``) are kept away from these pairs (tests/test_probe_data.py).

    python benchmarks/studies/mixed_length_pairs.py [--judge DIR ...]     # ~20 s a judge on 2 CPU cores
"""

from __future__ import annotations

import argparse

AFFECT = 'Is it "affect" or "effect" in "the weather will ___ our picnic"?'
PAIRS = [  # (prompt, shorter answer, longer answer with other content)
    (AFFECT, "Affect.", "It depends on the rest of the sentence."),
    (AFFECT, "Affect.", "Either one works; they mean the same thing."),
    (AFFECT, "Affect.", "Effect, since it's about the result."),
    ("What's your favourite colour?", "Blue.", "My favourite colour is green."),
    ("What is the capital of France?", "Paris.", "It is Berlin, the capital of Germany."),
    ("Is a tomato a fruit?", "Yes.", "No, botanically it is a vegetable."),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--judge", nargs="*", default=[], help="judge folders to compare with the shipped one")
    args = parser.parse_args()

    from diversity_metrics.judges.learned import LearnedJudge

    for path in [None, *args.judge]:
        judge = LearnedJudge.load(path, device="cpu") if path else LearnedJudge.load(device="cpu")
        points: dict[str, float | None] = {s: judge.for_strategy(s).threshold for s in ("greedy", "transitive")}
        points["mixed_length"] = judge.mixed_length_threshold
        scores = [float(judge.score_pairs([(a, b)], prompt=p)[0]) for p, a, b in PAIRS]
        print(f"{path or 'shipped'}: default point {judge.operating_point} {points}")
        for (_, a, b), s in zip(PAIRS, scores, strict=True):
            print(f"  {s:6.3f}  {a!r} / {b!r}")


if __name__ == "__main__":
    main()
