"""Timed words grouped into caption cues within :class:`CueLimits`, then timed to be read.

Grouping: a new cue at a pause, after a sentence that fills enough of one, or when the next
word would not fit (lines or duration). With ``natural_breaks`` a full cue ends at the best
natural point of its second half rather than just before the word that did not fit, and its
lines are broken at natural points (:mod:`.linebreaks`).

Timing (only for presets with reading-speed, minimum-duration or gap rules): a cue too fast to
read, or too short, stays up longer when the gap before the next cue leaves room, always
keeping the minimum gap; what cannot be fixed is reported by :mod:`.audit`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django_slashml.transcripts.linebreaks import break_cost, greedy_wrap, natural_wrap, sentence_starts
from django_slashml.transcripts.presets import DEFAULT_LIMITS, CueLimits

SENTENCE_END = (".", "?", "!", "…")


@dataclass(frozen=True)
class Cue:
    start: int  # ms
    end: int  # ms
    lines: tuple[str, ...]

    @property
    def chars(self) -> int:
        """Characters a reader reads: spaces and punctuation count, line breaks do not."""
        return sum(len(line) for line in self.lines)

    @property
    def words(self) -> int:
        return sum(len(line.split()) for line in self.lines)


def _clean(words: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    cleaned = []
    for word in words:
        # Any whitespace run (a newline, a blank line) becomes one space: a line break inside a
        # word would let it end the cue and forge the next one's number and timings.
        text = " ".join(str(word.get("text", "")).split())
        if text:
            cleaned.append({**word, "text": text})
    return cleaned


class _Grouper:
    """Which words share a cue: today's rules, plus natural cue ends when the limits ask for them."""

    def __init__(self, words: list[dict[str, Any]], limits: CueLimits) -> None:
        self.words = words
        self.limits = limits
        self.texts = [str(word["text"]) for word in words]
        self.opens = sentence_starts(self.texts)

    def fits(self, indexes: Sequence[int]) -> bool:
        limits = self.limits
        if len(greedy_wrap([self.texts[i] for i in indexes], limits.max_line_chars)) > limits.max_lines:
            return False
        return int(self.words[indexes[-1]]["end"]) - int(self.words[indexes[0]]["start"]) <= limits.max_cue_ms

    def closes_before(self, group: list[int], index: int) -> bool:
        """Today's rule: whether ``group`` ends before word ``index`` joins it."""
        limits, words = self.limits, self.words
        previous = words[group[-1]]
        paused = int(words[index]["start"]) - int(previous["end"]) >= limits.pause_ms
        chars = sum(len(self.texts[i]) + 1 for i in group)
        sentence_done = str(previous["text"]).endswith(SENTENCE_END) and chars >= limits.min_sentence_cue_chars
        return paused or sentence_done or not self.fits([*group, index])

    def cut(self, group: list[int], index: int) -> int:
        """Where a full ``group`` ends: the cheapest natural break in its second half, else before ``index``."""
        candidates = range(max(1, math.ceil(len(group) / 2)), len(group) + 1)
        best, best_cost = len(group), math.inf
        for j in candidates:
            after = self.texts[group[j]] if j < len(group) else self.texts[index]
            cost = break_cost(self.texts[group[j - 1]], after, self.opens[group[j - 1]])
            if j < len(group) and not self.fits([*group[j:], index]):
                continue
            if cost <= best_cost:  # ties go to the later break, as in the greedy fill
                best, best_cost = j, cost
        return best

    def groups(self) -> list[list[int]]:
        groups: list[list[int]] = []
        group: list[int] = []
        for index in range(len(self.words)):
            if group and self.closes_before(group, index):
                at = len(group)
                if self.limits.natural_breaks and not self.fits([*group, index]):  # full, not a pause
                    at = self.cut(group, index)
                groups.append(group[:at])
                group = group[at:]
            group.append(index)
        if group:
            groups.append(group)
        return groups

    def lines(self, group: list[int]) -> tuple[str, ...]:
        texts = [self.texts[i] for i in group]
        if not self.limits.natural_breaks:
            return tuple(greedy_wrap(texts, self.limits.max_line_chars))
        opens = [self.opens[i] for i in group]
        return tuple(natural_wrap(texts, self.limits.max_line_chars, self.limits.max_lines, opens))


def build_cues(words: Iterable[dict[str, Any]], limits: CueLimits = DEFAULT_LIMITS) -> list[Cue]:
    """Group timed words into subtitle cues within ``limits``, timed to be read."""
    grouper = _Grouper(_clean(words), limits)
    cues = [
        Cue(int(grouper.words[group[0]]["start"]), int(grouper.words[group[-1]]["end"]), grouper.lines(group))
        for group in grouper.groups()
    ]
    return retime(cues, limits) if limits.retimes else cues


def retime(cues: Sequence[Cue], limits: CueLimits) -> list[Cue]:
    """Cues moved only forward in time, never overlapping, ``min_gap_ms`` apart, and up long enough to read.

    A cue that needs more time takes it from the gap after it, up to ``max_cue_ms``; a cue
    that runs into the next one's gap ends earlier; a cue starting within the gap after the
    previous one (its words overlapped) starts later.
    """
    gap = limits.min_gap_ms
    timed: list[Cue] = []
    for index, cue in enumerate(cues):
        start = cue.start if not timed else max(cue.start, timed[-1].end + gap)
        end = max(cue.end, start + 1)
        wanted = min(start + limits.reading_ms(cue.chars, cue.words), start + limits.max_cue_ms)
        end = max(end, wanted)
        if index + 1 < len(cues):
            end = min(end, max(cues[index + 1].start - gap, start + 1))
        timed.append(Cue(start, end, cue.lines))
    return timed


def cues_for(
    words: Sequence[dict[str, Any]], text: str, duration: float | None, limits: CueLimits = DEFAULT_LIMITS
) -> list[Cue]:
    """Cues from word timings, or without them one cue holding ``text`` over the whole audio."""
    if words:
        return build_cues(words, limits)
    if text.strip():
        end = int((duration or 0) * 1000) or 1000
        return [Cue(0, end, tuple(greedy_wrap(text.split(), limits.max_line_chars)))]
    return []
