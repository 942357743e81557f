"""Each provider's own deterministic mistakes, so a comparison in tests and the demo shows different scores.

Given a rate ``r`` for a provider, word ``i`` of a transcript is changed when a hash of
``(provider, i, word)`` falls below ``r``; which change (a substituted word, a deleted
word, an inserted word after it) is chosen by the same hash. The same audio sent to the
same provider therefore always comes back with the same mistakes, and two providers make
different ones. ``assembly`` makes none by default, so transcripts asserted in tests (the
default provider) stay exact. Set the rates with the fault setting ``mistakes``
(``{"aws": 0.1}``; a provider left out keeps its default; 0 turns it off).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from django_slashml.sandbox.engines.base import Transcript, TranscriptWord

#: Mistakes per word, by provider (docs/sandbox.md). Their ranking is the one a comparison shows.
DEFAULT_MISTAKE_RATES: dict[str, float] = {
    "assembly": 0.0,
    "whisper": 0.04,
    "deepgram": 0.07,
    "rev": 0.1,
    "aws": 0.13,
    "google": 0.16,
}

_CONFUSIONS = ("uh", "there", "and", "than", "of", "in", "a", "the", "to", "it")


def _draw(provider: str, index: int, text: str) -> tuple[float, int]:
    digest = hashlib.blake2b(f"{provider}|{index}|{text}".encode(), digest_size=8).digest()
    value = int.from_bytes(digest, "big")
    return (value >> 11) / float(1 << 53), value & 0x7FF


def with_mistakes(transcript: Transcript, provider: str, rates: Mapping[str, float]) -> Transcript:
    """``transcript`` as ``provider`` would get it wrong at ``rates[provider]`` mistakes per word."""
    rate = rates.get(provider, DEFAULT_MISTAKE_RATES.get(provider, 0.0))
    if rate <= 0 or not transcript.words:
        return transcript
    words: list[TranscriptWord] = []
    for index, word in enumerate(transcript.words):
        chance, pick = _draw(provider, index, word.text)
        if chance >= rate:
            words.append(word)
            continue
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
