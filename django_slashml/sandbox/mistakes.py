"""Each provider's own deterministic mistakes, so a comparison in tests and the demo shows different scores.

Given a rate ``r`` for a provider, ``ceil(r * n)`` of a transcript's ``n`` words are
changed: the first ones in the order of a hash of ``(i, word)``, an order all providers
share, so a provider with a higher rate errs wherever one with a lower rate does, and more
(the ranking by WER holds even on an 18-word recording). Which change (a substituted word,
a deleted word, an inserted word after it) and which word is drawn from a hash of
``(provider, i, word)``, so two providers err differently. The same audio sent to the same
provider always comes back with the same mistakes. ``assembly`` makes none by default, so
transcripts asserted in tests (the default provider) stay exact. Set the rates with the
fault setting ``mistakes`` (``{"aws": 0.1}``; a provider left out keeps its default; 0
turns it off).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping

from django_slashml.sandbox.engines.base import Transcript, TranscriptWord

#: Mistakes per word, by provider (docs/sandbox.md). Their ranking is the one a comparison shows.
DEFAULT_MISTAKE_RATES: dict[str, float] = {
    "assembly": 0.0,
    "whisper": 0.05,
    "deepgram": 0.1,
    "rev": 0.15,
    "aws": 0.2,
    "google": 0.25,
}

_CONFUSIONS = ("uh", "there", "and", "than", "of", "in", "a", "the", "to", "it")


def _hash(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")


def with_mistakes(transcript: Transcript, provider: str, rates: Mapping[str, float]) -> Transcript:
    """``transcript`` as ``provider`` would get it wrong at ``rates[provider]`` mistakes per word."""
    rate = rates.get(provider, DEFAULT_MISTAKE_RATES.get(provider, 0.0))
    original = transcript.words
    if rate <= 0 or not original:
        return transcript
    order = sorted(range(len(original)), key=lambda i: _hash(f"{i}|{original[i].text}"))
    wrong = set(order[: math.ceil(rate * len(original))])
    words: list[TranscriptWord] = []
    for index, word in enumerate(original):
        if index not in wrong:
            words.append(word)
            continue
        pick = _hash(f"{provider}|{index}|{word.text}")
        kind = pick % 3
        confusion = _CONFUSIONS[(pick // 3) % len(_CONFUSIONS)]
        if kind == 0:  # substitution
            if confusion == word.text.lower():
                confusion = "uh"
            words.append(TranscriptWord(confusion, word.start, word.end, min(word.confidence, 0.55)))
        elif kind == 1:  # insertion after the word
            words.append(word)
            words.append(TranscriptWord(confusion, word.end, word.end, 0.4))
        # kind == 2: deletion
    return Transcript(duration=transcript.duration, words=words)
