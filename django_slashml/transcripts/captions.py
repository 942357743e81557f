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

from django_slashml.transcripts.linebreaks import break_costs, greedy_wrap, natural_wrap
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


class _Fill:
    """The greedy line fill of a cue's words, kept up to date as words join it.

    It counts the lines :func:`greedy_wrap` would make, and the characters a cue's sentence rule
    counts, without laying the words out again each time one more is tried.
    """

    def __init__(self, width: int) -> None:
        self.width = width
        self.lines = 0
        self.last = 0  # characters on the last line
        self.chars = 0  # each word and a space after it

    def lines_with(self, text: str) -> int:
        """How many lines the fill would take with ``text`` after its words."""
        if not self.lines:
            return 1
        return self.lines + 1 if self.last + 1 + len(text) > self.width else self.lines

    def add(self, text: str) -> None:
        if self.lines and self.last + 1 + len(text) <= self.width:
            self.last += 1 + len(text)
        else:
            self.lines += 1
            self.last = len(text)
        self.chars += len(text) + 1


class _Grouper:
    """Which words share a cue: today's rules, plus natural cue ends when the limits ask for them.

    A cue's words are consecutive, so a group is kept as a list of indexes with its greedy fill
    beside it; each word is then weighed against the open cue in constant time.
    """

    def __init__(self, words: Iterable[dict[str, Any]], limits: CueLimits) -> None:
        self.limits = limits
        self.texts: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        for word in words:
            # Any whitespace run (a newline, a blank line) becomes one space: a line break inside a
            # word would let it end the cue and forge the next one's number and timings.
            text = " ".join(str(word.get("text", "")).split())
            if text:
                self.texts.append(text)
                self.starts.append(int(word["start"]))
                self.ends.append(int(word["end"]))
        self.costs: list[float] = []  # the cost of a break before each word
        if limits.natural_breaks:  # nothing else weighs them
            self.costs = break_costs(self.texts)

    def _fill(self, indexes: Sequence[int]) -> _Fill:
        fill = _Fill(self.limits.max_line_chars)
        for i in indexes:
            fill.add(self.texts[i])
        return fill

    def fits(self, indexes: Sequence[int]) -> bool:
        if self._fill(indexes).lines > self.limits.max_lines:
            return False
        return self.ends[indexes[-1]] - self.starts[indexes[0]] <= self.limits.max_cue_ms

    def fits_with(self, group: list[int], fill: _Fill, index: int) -> bool:
        """Whether word ``index`` fits in ``group``, whose greedy fill is ``fill``."""
        if fill.lines_with(self.texts[index]) > self.limits.max_lines:
            return False
        return self.ends[index] - self.starts[group[0]] <= self.limits.max_cue_ms

    def closes_before(self, group: list[int], fill: _Fill, index: int) -> bool:
        """Today's rule: whether ``group`` ends before word ``index`` joins it."""
        limits = self.limits
        previous = group[-1]
        paused = self.starts[index] - self.ends[previous] >= limits.pause_ms
        sentence_done = self.texts[previous].endswith(SENTENCE_END) and fill.chars >= limits.min_sentence_cue_chars
        return paused or sentence_done or not self.fits_with(group, fill, index)

    def cut(self, group: list[int], index: int) -> int:
        """Where a full ``group`` ends: the cheapest natural break in its second half, else before ``index``.

        Ties go to the later break, as in the greedy fill, so the candidates are tried from the
        last: an earlier one is laid out only when it is strictly cheaper.
        """
        costs, best = self.costs, len(group)
        best_cost = costs[index]
        for j in range(len(group) - 1, max(1, math.ceil(len(group) / 2)) - 1, -1):
            cost = costs[group[j]]
            if cost < best_cost and self.fits([*group[j:], index]):
                best, best_cost = j, cost
        return best

    def groups(self) -> list[list[int]]:
        groups: list[list[int]] = []
        group: list[int] = []
        fill = self._fill(group)
        for index in range(len(self.texts)):
            if group and self.closes_before(group, fill, index):
                at = len(group)
                if self.limits.natural_breaks and not self.fits_with(group, fill, index):  # full, not a pause
                    at = self.cut(group, index)
                groups.append(group[:at])
                group = group[at:]
                fill = self._fill(group)
            group.append(index)
            fill.add(self.texts[index])
        if group:
            groups.append(group)
        return groups

    def lines(self, group: list[int]) -> tuple[str, ...]:
        texts = [self.texts[i] for i in group]
        if not self.limits.natural_breaks:
            return tuple(greedy_wrap(texts, self.limits.max_line_chars))
        costs = [self.costs[i] for i in group]
        return tuple(natural_wrap(texts, self.limits.max_line_chars, self.limits.max_lines, costs=costs))


def build_cues(words: Iterable[dict[str, Any]], limits: CueLimits = DEFAULT_LIMITS) -> list[Cue]:
    """Group timed words into subtitle cues within ``limits``, timed to be read."""
    grouper = _Grouper(words, limits)
    cues = [Cue(grouper.starts[group[0]], grouper.ends[group[-1]], grouper.lines(group)) for group in grouper.groups()]
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
