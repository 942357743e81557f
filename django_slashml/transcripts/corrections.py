"""Carry word timings over to a reviewer's corrected transcript.

A reviewer edits plain text; subtitles still need a time for every word. The corrected
words are aligned with the recognised ones (a diff on normalised spellings): unchanged
words keep their timings, a replaced run shares the time of the run it replaces, and an
inserted word sits at the boundary where it was inserted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher
from typing import Any

_NOT_WORD = re.compile(r"[^\w']+")


def _spelling(text: str) -> str:
    return _NOT_WORD.sub("", text.lower())


def _spread(tokens: Sequence[str], start: int, end: int) -> list[dict[str, Any]]:
    """``tokens`` laid evenly over ``start``..``end`` (ms)."""
    span = max(0, end - start)
    count = len(tokens)
    return [
        {
            "text": token,
            "start": start + span * index // count,
            "end": start + span * (index + 1) // count,
            "confidence": None,
        }
        for index, token in enumerate(tokens)
    ]


def align_words(words: Sequence[dict[str, Any]], corrected_text: str) -> list[dict[str, Any]]:
    """The words of ``corrected_text``, each with a start and end taken from ``words``."""
    tokens = corrected_text.split()
    if not words:
        return []
    original = [_spelling(str(word.get("text", ""))) for word in words]
    # difflib's autojunk heuristic keeps the alignment of a long transcript quick.
    matcher = SequenceMatcher(None, original, [_spelling(token) for token in tokens])
    aligned: list[dict[str, Any]] = []
    for tag, o_start, o_end, c_start, c_end in matcher.get_opcodes():
        if tag == "equal":
            for offset in range(o_end - o_start):
                word = words[o_start + offset]
                aligned.append({**word, "text": tokens[c_start + offset]})
        elif tag == "replace":
            start, end = int(words[o_start]["start"]), int(words[o_end - 1]["end"])
            aligned.extend(_spread(tokens[c_start:c_end], start, end))
        elif tag == "insert":
            at = int(words[o_start - 1]["end"]) if o_start else int(words[0]["start"])
            following = int(words[o_start]["start"]) if o_start < len(words) else at
            aligned.extend(_spread(tokens[c_start:c_end], at, max(at, following)))
        # "delete": words the reviewer removed are dropped with their timings.
    return aligned


def reviewed_words(job: Any) -> list[dict[str, Any]]:
    """The job's words as exports should show them: corrected where a reviewer corrected."""
    if job.corrected_text:
        return align_words(job.words or [], job.corrected_text)
    return list(job.words or [])
