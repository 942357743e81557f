"""Property-based: over random word streams, cues keep their limits, move forward and never overlap.

Random words with random durations and gaps, punctuation, capitalised names, function words and
words longer than any line, under every preset and random limits. Bounded (200 examples, no
deadline) so it stays a few seconds long.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from django_slashml.transcripts.audit import audit_cues
from django_slashml.transcripts.captions import build_cues
from django_slashml.transcripts.linebreaks import (
    FORBIDDEN,
    break_cost,
    greedy_wrap,
    natural_wrap,
    sentence_starts,
)
from django_slashml.transcripts.presets import PRESETS, CueLimits

from .extras import require, require_for_module

require_for_module("hypothesis")
hypothesis = require("hypothesis")
st = hypothesis.strategies
given, settings = hypothesis.given, hypothesis.settings

FUNCTION_WORDS = ["the", "a", "an", "my", "and", "but", "because", "to", "of", "with", "I", "Mr."]
NAMES = ["Mary", "Ann", "Evans", "New", "York", "BBC", "O'Neill"]

plain = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12)
long_word = st.text(alphabet="xyz-", min_size=30, max_size=90)
token = st.tuples(
    st.one_of(plain, plain, plain, st.sampled_from(FUNCTION_WORDS), st.sampled_from(NAMES), long_word),
    st.sampled_from(["", "", "", ",", ".", "?", "!", ";", ":"]),
)


@st.composite
def word_streams(draw: Any, overlaps: bool) -> list[dict[str, Any]]:
    tokens = draw(st.lists(token, max_size=80))
    words, start, end = [], 0, 0
    for text, mark in tokens:
        gap = draw(st.sampled_from([0, 10, 40, 90, 300, 800, 2500]))
        if overlaps and draw(st.booleans()):
            gap = -draw(st.integers(0, 400))  # a recogniser's overlap
        start = max(start, end + gap)
        end = start + draw(st.integers(0, 2500))
        words.append({"text": text + mark, "start": start, "end": end})
    return words


@st.composite
def random_limits(draw: Any) -> CueLimits:
    maximum = draw(st.integers(500, 10_000))
    return CueLimits(
        preset="random",
        max_line_chars=draw(st.integers(10, 60)),
        max_lines=draw(st.integers(1, 4)),
        max_cue_ms=maximum,
        max_cps=draw(st.one_of(st.none(), st.integers(5, 30))),
        min_word_ms=draw(st.one_of(st.none(), st.integers(100, 500))),
        min_cue_ms=draw(st.one_of(st.none(), st.integers(1, maximum))),
        min_gap_ms=draw(st.sampled_from([0, 0, 40, 84, 200])),
        natural_breaks=draw(st.booleans()),
    )


limits_strategy = st.one_of(st.sampled_from(list(PRESETS.values())), random_limits())


def check(words: list[dict[str, Any]], limits: CueLimits) -> None:
    cues = build_cues(words, limits)
    texts = [" ".join(w["text"].split()) for w in words]
    assert [word for cue in cues for line in cue.lines for word in line.split()] == texts, "no word lost or moved"
    by_first_word = {}
    position = 0
    for cue in cues:
        by_first_word[id(cue)] = words[position : position + cue.words]
        position += cue.words
    for index, cue in enumerate(cues):
        own = by_first_word[id(cue)]
        assert len(cue.lines) <= limits.max_lines
        for line in cue.lines:
            assert len(line) <= limits.max_line_chars or " " not in line, "only one word alone is wider"
        if cue.end - cue.start > limits.max_cue_ms:
            assert len(own) == 1 and own[0]["end"] - own[0]["start"] > limits.max_cue_ms, (
                "only one word alone is longer"
            )
        assert cue.start <= cue.end and (cue.start < cue.end or not limits.retimes)
        if index:
            previous = cues[index - 1]
            assert cue.start >= previous.start, "timings only move forward"
            assert cue.start - previous.end >= limits.min_gap_ms, "no overlap, and the minimum gap kept"
    problems = audit_cues(cues, limits)
    for problem in problems:
        cue = cues[problem.cue - 1]
        if problem.kind in ("too_fast", "too_short"):  # stretched as far as the next cue and the maximum allow
            following = cues[problem.cue] if problem.cue < len(cues) else None
            room_used = following is not None and following.start - cue.end <= limits.min_gap_ms
            assert room_used or cue.end - cue.start >= limits.max_cue_ms, problem
        assert problem.kind not in ("too_many_lines", "gap_too_small"), problem


@settings(max_examples=200, deadline=None)
@given(words=word_streams(overlaps=False), limits=limits_strategy)
def test_cues_keep_their_limits_move_forward_and_never_overlap(words: list[dict[str, Any]], limits: CueLimits) -> None:
    check(words, limits)


@settings(max_examples=100, deadline=None)
@given(words=word_streams(overlaps=True), limits=limits_strategy.filter(lambda limits: limits.retimes))
def test_retimed_cues_never_overlap_even_when_the_words_do(words: list[dict[str, Any]], limits: CueLimits) -> None:
    check(words, limits)


@pytest.mark.parametrize("preset", ["netflix", "bbc"])
def test_a_wide_word_is_the_only_excuse(preset: str) -> None:
    limits = replace(PRESETS[preset], max_line_chars=10)
    check([{"text": "incomprehensibilities", "start": 0, "end": 800}, {"text": "ok", "start": 900, "end": 950}], limits)


def forbidden_breaks(lines: list[str]) -> int:
    """How many line breaks split a determiner from its word or a name (with the sentence context)."""
    words = " ".join(lines).split()
    opens = sentence_starts(words)
    count, at = 0, 0
    for line in lines[:-1]:
        at += len(line.split())
        count += break_cost(words[at - 1], words[at], opens[at - 1]) == FORBIDDEN
    return count


@settings(max_examples=200, deadline=None)
@given(tokens=st.lists(token, min_size=1, max_size=30), width=st.integers(10, 60), max_lines=st.integers(1, 4))
def test_natural_lines_are_never_worse_than_the_greedy_fill(
    tokens: list[tuple[str, str]], width: int, max_lines: int
) -> None:
    words = [text + mark for text, mark in tokens]
    greedy, natural = greedy_wrap(words, width), natural_wrap(words, width, max_lines)
    assert " ".join(natural).split() == words
    assert len(natural) == len(greedy), "as many lines as the greedy fill"
    assert all(len(line) <= width or " " not in line for line in natural)
    assert forbidden_breaks(natural) <= forbidden_breaks(greedy), "no article or name split that greedy avoided"
