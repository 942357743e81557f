"""What redaction and spelling cost per transcript: the cleaning of a 20,000-word call, every kind on.

``python -m benchmarks.redaction [--words N] [--repeat R]``: the median and worst of R runs,
in milliseconds, of cleaning the text and the words together (what a completion pays), on a
transcript of call-centre speech with a card, an email, a phone number and an IBAN every
few hundred words, numbers said as words, and a spelling table of 100 entries.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from typing import Any

from django_slashml.privacy import detectors, spelling
from django_slashml.privacy.rules import Rules
from django_slashml.privacy.transcript import clean

FILLER = [
    "okay",
    "so",
    "I",
    "am",
    "calling",
    "about",
    "my",
    "account",
    "because",
    "the",
    "last",
    "payment",
    "did",
    "not",
    "go",
    "through",
    "and",
    "I",
    "would",
    "like",
    "to",
    "know",
    "what",
    "happened",
    "with",
    "it",
    "one",
    "more",
    "time",
    "please",
    "thank",
    "you",
    "very",
    "much",
]
SECRETS = [
    "my card is four one one one 1111 1111 1111",
    "email me at ann.lee@example.com",
    "call me on 555-867-5309",
    "the iban is GB82 WEST 1234 5698 7654 32",
    "I use slash ml and kay eights",
]


def transcript(size: int, seed: int = 7) -> tuple[str, list[dict[str, Any]]]:
    chooser = random.Random(seed)
    tokens: list[str] = []
    while len(tokens) < size:
        tokens += chooser.sample(FILLER, 12)
        if chooser.random() < 0.08:
            tokens += chooser.choice(SECRETS).split()
    tokens = tokens[:size]
    words = [{"text": t, "start": i * 300, "end": i * 300 + 250, "confidence": 0.9} for i, t in enumerate(tokens)]
    return " ".join(tokens), words


def rules() -> Rules:
    entries = [{"from": [f"term number {n}", f"term {n}"], "to": f"Term{n}"} for n in range(98)]
    entries += [{"from": ["slash ml"], "to": "SlashML"}, {"from": ["kay eights"], "to": "k8s"}]
    return Rules(
        spelling=spelling.table(spelling.parse(entries, where="benchmark")),
        kinds=frozenset(detectors.BUILT_IN),
    )


def run(words: int = 20_000, repeat: int = 20) -> dict[str, float]:
    text, timed = transcript(words)
    found = rules()
    took = []
    for _ in range(repeat):
        started = time.perf_counter()
        done = clean(text, timed, found)
        took.append((time.perf_counter() - started) * 1000)
    return {
        "words": words,
        "spans": len(done.spans),
        "median_ms": round(statistics.median(took), 1),
        "max_ms": round(max(took), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=20)
    options = parser.parse_args()
    print(run(options.words, options.repeat))


if __name__ == "__main__":
    main()
