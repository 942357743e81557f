"""Which cues still break their limits after grouping and timing, and why.

The cue builder keeps every cue within its line and duration limits unless one word alone
forces it past them, and stretches cues into the gaps to be readable; what it could not fix
(speech too fast for the gaps it left, a word wider than a line) is listed here for a person
to fix, in the admin viewer and from the REST API.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from django.utils.translation import gettext

from django_slashml.transcripts.captions import Cue, cues_for
from django_slashml.transcripts.corrections import reviewed_words
from django_slashml.transcripts.presets import CueLimits

#: Problem kinds, in the order they are listed for a cue.
KINDS = ("too_fast", "too_short", "too_long", "too_many_lines", "line_too_long", "gap_too_small")


@dataclass(frozen=True)
class Problem:
    cue: int  # 1-based, as numbered in the SRT file
    start: int  # ms
    end: int  # ms
    kind: str  # one of KINDS
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _seconds(ms: int) -> str:
    return gettext("%(seconds).2f s") % {"seconds": ms / 1000}


def _cue_problems(cue: Cue, limits: CueLimits) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    duration = cue.end - cue.start
    if limits.max_cps and cue.chars * 1000 > limits.max_cps * duration:
        rate = math.inf if duration <= 0 else cue.chars * 1000 / duration
        found.append(
            (
                "too_fast",
                gettext("%(rate).1f characters a second; at most %(limit)s") % {"rate": rate, "limit": limits.max_cps},
            )
        )
    elif limits.min_word_ms and duration < cue.words * limits.min_word_ms:
        found.append(
            (
                "too_fast",
                gettext("%(words)s words in %(duration)s; at least %(limit)s a word")
                % {"words": cue.words, "duration": _seconds(duration), "limit": _seconds(limits.min_word_ms)},
            )
        )
    if limits.min_cue_ms and duration < limits.min_cue_ms:
        found.append(
            (
                "too_short",
                gettext("%(duration)s on screen; at least %(limit)s")
                % {"duration": _seconds(duration), "limit": _seconds(limits.min_cue_ms)},
            )
        )
    if duration > limits.max_cue_ms:
        found.append(
            (
                "too_long",
                gettext("%(duration)s on screen; at most %(limit)s")
                % {"duration": _seconds(duration), "limit": _seconds(limits.max_cue_ms)},
            )
        )
    if len(cue.lines) > limits.max_lines:
        found.append(
            (
                "too_many_lines",
                gettext("%(lines)s lines; at most %(limit)s") % {"lines": len(cue.lines), "limit": limits.max_lines},
            )
        )
    widest = max((len(line) for line in cue.lines), default=0)
    if widest > limits.max_line_chars:
        found.append(
            (
                "line_too_long",
                gettext("a line of %(width)s characters; at most %(limit)s")
                % {"width": widest, "limit": limits.max_line_chars},
            )
        )
    return found


def audit_cues(cues: Sequence[Cue], limits: CueLimits) -> list[Problem]:
    """Every limit each cue breaks, cue by cue."""
    problems: list[Problem] = []
    for index, cue in enumerate(cues):
        found = _cue_problems(cue, limits)
        if index + 1 < len(cues):
            gap = cues[index + 1].start - cue.end
            if gap < 0:
                found.append(
                    ("gap_too_small", gettext("overlaps the next cue by %(overlap)s") % {"overlap": _seconds(-gap)})
                )
            elif gap < limits.min_gap_ms:
                found.append(
                    (
                        "gap_too_small",
                        gettext("%(gap)s ms before the next cue; at least %(limit)s ms")
                        % {"gap": gap, "limit": limits.min_gap_ms},
                    )
                )
        problems.extend(Problem(index + 1, cue.start, cue.end, kind, detail) for kind, detail in found)
    return problems


def audit_job(job: Any, limits: CueLimits, *, version: str = "reviewed") -> dict[str, Any]:
    """The caption check of a job's transcript as exported with ``limits``: JSON-ready."""
    original = version == "original"
    words = (job.words or []) if original else reviewed_words(job)
    text = job.text if original else job.transcript_text
    cues = cues_for(words, text or "", job.audio_duration, limits)
    return {
        "preset": limits.preset,
        "version": version,
        "limits": {
            "max_line_chars": limits.max_line_chars,
            "max_lines": limits.max_lines,
            "max_cps": limits.max_cps,
            "min_word_ms": limits.min_word_ms,
            "min_duration_ms": limits.min_cue_ms,
            "max_duration_ms": limits.max_cue_ms,
            "min_gap_ms": limits.min_gap_ms,
        },
        "cues": len(cues),
        "problems": [problem.as_dict() for problem in audit_cues(cues, limits)],
    }
