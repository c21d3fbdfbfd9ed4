"""The six held-out mixed-length pairs of different answers (a one-word answer and a longer one that says something
else), shared by the tests that check the shipped judge keeps them apart and that no training group comes near them.
benchmarks/studies/mixed_length_pairs.py holds its own copy (a study does not import the tests)."""

AFFECT = 'Is it "affect" or "effect" in "the weather will ___ our picnic"?'
MIXED_LENGTH_PAIRS = [  # (prompt, shorter answer, longer answer with other content)
    (AFFECT, "Affect.", "It depends on the rest of the sentence."),
    (AFFECT, "Affect.", "Either one works; they mean the same thing."),
    (AFFECT, "Affect.", "Effect, since it's about the result."),
    ("What's your favourite colour?", "Blue.", "My favourite colour is green."),
    ("What is the capital of France?", "Paris.", "It is Berlin, the capital of Germany."),
    ("Is a tomato a fruit?", "Yes.", "No, botanically it is a vegetable."),
]
