"""Caption presets, the parameters that choose them, natural line breaks, timing and the audit."""

from __future__ import annotations

import html
import io
from typing import Any

import pytest

from django_slashml.exceptions import InvalidCaptionParameterError
from django_slashml.transcripts.audit import audit_cues
from django_slashml.transcripts.captions import Cue, build_cues, retime
from django_slashml.transcripts.exports import to_srt, to_vtt
from django_slashml.transcripts.linebreaks import FORBIDDEN, break_cost, greedy_wrap, natural_wrap
from django_slashml.transcripts.presets import PRESETS, CueLimits, caption_limits

from .extras import require

SPEECH = (
    "Hello there. This is a subtitle test with enough words to wrap across two lines. Yesterday Mary Ann "
    "Evans went to the market in New York with her brother, and they bought a lot of the freshest apples "
    "that the old man had. Then they walked home slowly, talking about the weather and the news."
)


def timed(text: str, step: int = 300, length: int = 250) -> list[dict[str, Any]]:
    return [{"text": w, "start": i * step, "end": i * step + length} for i, w in enumerate(text.split())]


# -- presets and parameters --------------------------------------------------------------------


def test_the_presets_hold_the_documented_values() -> None:
    netflix, bbc, default = PRESETS["netflix"], PRESETS["bbc"], PRESETS["default"]
    assert (netflix.max_line_chars, netflix.max_lines, netflix.max_cps) == (42, 2, 17)
    assert (netflix.min_cue_ms, netflix.max_cue_ms, netflix.min_gap_ms) == (834, 7000, 84)  # 20 and 2 frames at 24 fps
    assert (bbc.max_line_chars, bbc.max_lines, bbc.min_word_ms, bbc.min_gap_ms) == (37, 2, 300, 80)
    assert default == CueLimits() and not default.retimes and not default.natural_breaks


def test_explicit_parameters_override_the_preset() -> None:
    limits = caption_limits({"preset": "netflix", "max_line_chars": "32", "max_cps": "20", "version": "original"})
    assert (limits.preset, limits.max_line_chars, limits.max_cps, limits.max_lines) == ("netflix", 32, 20, 2)
    assert caption_limits({}) == PRESETS["default"]
    assert caption_limits({"preset": "", "max_lines": " "}) == PRESETS["default"], "blank form fields are not given"


@pytest.mark.parametrize(
    ("params", "parameter", "says"),
    [
        ({"preset": "itv"}, "preset", "use one of: default, netflix, bbc"),
        ({"max_line_chars": "abc"}, "max_line_chars", "not a whole number; use a whole number from 10 to 200"),
        ({"max_line_chars": "4.5"}, "max_line_chars", "not a whole number"),
        ({"max_line_chars": "0"}, "max_line_chars", "out of range; use a whole number from 10 to 200"),
        ({"max_line_chars": "201"}, "max_line_chars", "out of range"),
        ({"max_lines": "-1"}, "max_lines", "from 1 to 10"),
        ({"max_cps": "1e3"}, "max_cps", "not a whole number"),
        ({"min_duration_ms": "0"}, "min_duration_ms", "from 1 to 60000"),
        ({"max_duration_ms": "99999999999999"}, "max_duration_ms", "not a whole number"),
        ({"min_duration_ms": "5000", "max_duration_ms": "2000"}, "min_duration_ms", "above max_duration_ms (2000)"),
        ({"preset": "netflix", "max_duration_ms": "500"}, "max_duration_ms", "below min_duration_ms (834, from preset"),
        ({"preset": "netflix", "min_duration_ms": "8000"}, "min_duration_ms", "(7000, from preset 'netflix')"),
        ({"min_gap_ms": "-5"}, "min_gap_ms", "from 0 to 10000"),
    ],
)
def test_a_bad_parameter_is_named_with_what_is_allowed(params: dict[str, str], parameter: str, says: str) -> None:
    with pytest.raises(InvalidCaptionParameterError) as caught:
        caption_limits(params)
    assert caught.value.parameter == parameter
    assert says in caught.value.message, caught.value.message


# -- natural line breaks -----------------------------------------------------------------------


def test_break_costs_follow_the_english_rules() -> None:
    assert break_cost("there.", "This") < break_cost("brother,", "and") < break_cost("apples", "and") < 0
    assert break_cost("went", "to") < 0 == break_cost("went", "home")
    assert break_cost("the", "market") == FORBIDDEN, "a determiner stays with its word"
    assert break_cost("Mary", "Ann") == FORBIDDEN and break_cost("Ann", "Evans") == FORBIDDEN, "inside a name"
    assert break_cost("Yesterday", "Mary", True) == 0, "capitalised only because it opens a sentence"
    assert break_cost("Mr.", "Smith") == FORBIDDEN and break_cost("and", "I") == 0


def test_lines_break_at_natural_points_and_balance() -> None:
    words = ["Yesterday", "Mary", "Ann", "Evans", "went", "to", "the", "market", "in", "New", "York"]
    assert greedy_wrap(words, 37) == ["Yesterday Mary Ann Evans went to the", "market in New York"]
    assert natural_wrap(words, 37, 2) == ["Yesterday Mary Ann Evans went", "to the market in New York"]
    words = ["we", "saw", "him,", "and", "then", "we", "all", "went", "home"]
    assert natural_wrap(words, 30, 2) == ["we saw him,", "and then we all went home"]


def test_the_natural_wrap_is_never_worse_than_the_greedy_fill() -> None:
    assert natural_wrap(["short", "line"], 42, 2) == ["short line"], "one line stays one line"
    assert natural_wrap(["the"] * 12, 20, 2) == greedy_wrap(["the"] * 12, 20), "nothing allowed: the greedy lines"
    long = ["x" * 50, "and", "more"]
    assert natural_wrap(long, 42, 2) == greedy_wrap(long, 42)


# -- timing and the audit ----------------------------------------------------------------------


def test_a_fast_cue_takes_time_from_the_gap_and_keeps_the_minimum_gap() -> None:
    limits = PRESETS["netflix"]
    cues = [Cue(0, 500, ("A line of forty characters to be read.",)), Cue(5000, 5600, ("Next.",))]
    first, second = retime(cues, limits)
    assert first.end == 0 + -(-38 * 1000 // 17), "38 characters at 17 a second"
    assert second.start == 5000 and second.end == 5000 + 834, "the last cue stretched to the minimum"
    squeezed = retime([Cue(0, 500, ("A line of forty characters to be read.",)), Cue(900, 1600, ("Next.",))], limits)
    assert squeezed[0].end == 900 - 84, "no further than the gap before the next cue"
    problems = audit_cues(squeezed, limits)
    assert [(p.cue, p.kind) for p in problems] == [(1, "too_fast"), (1, "too_short")]
    assert "at most 17" in problems[0].detail


def test_overlapping_words_never_make_overlapping_cues() -> None:
    words = [
        {"text": "x" * 40, "start": 0, "end": 900},
        {"text": "y" * 40, "start": 100, "end": 950},
        {"text": "z" * 40, "start": 20, "end": 400},  # a recogniser's overlap
    ]
    first, second = build_cues(words, PRESETS["netflix"])
    assert first.start < first.end and first.end + 84 <= second.start < second.end


def test_the_audit_names_what_one_word_forces() -> None:
    limits = PRESETS["bbc"]
    cues = build_cues([{"text": "x" * 50, "start": 0, "end": 9000}], limits)
    kinds = {p.kind for p in audit_cues(cues, limits)}
    assert kinds == {"too_long", "line_too_long"}


# -- every preset's output parses with real parsers --------------------------------------------


@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_preset_writes_srt_and_webvtt_that_real_parsers_read(preset: str) -> None:
    srt, webvtt = require("srt"), require("webvtt")
    words = timed(SPEECH + " <b>Tom & Jerry</b> --> said: “fine”")
    limits = PRESETS[preset]
    cues = build_cues(words, limits)
    subtitles = list(srt.parse(to_srt(words, limits=limits)))
    assert [(s.start.total_seconds() * 1000, s.end.total_seconds() * 1000) for s in subtitles] == [
        (c.start, c.end) for c in cues
    ]
    assert [s.content.split("\n") for s in subtitles] == [[line.replace("-->", "→") for line in c.lines] for c in cues]
    captions = webvtt.from_buffer(io.StringIO(to_vtt(words, limits=limits))).captions
    assert len(captions) == len(cues)
    assert html.unescape(" ".join(c.text.replace("\n", " ") for c in captions)).split() == [
        w["text"].replace("-->", "→") for w in words
    ]


def test_the_broadcast_presets_change_the_lines_and_the_times() -> None:
    words = timed(SPEECH)
    assert to_srt(words) == to_srt(words, limits=PRESETS["default"])
    netflix = to_srt(words, limits=PRESETS["netflix"])
    assert "Yesterday Mary Ann Evans went to\nthe market in New York with her brother,\n" in netflix
    assert "00:00:04,416" in netflix, "the first cue ends two frames before the next"
    bbc = to_srt(words, limits=PRESETS["bbc"])
    assert all(len(line) <= 37 for line in bbc.splitlines())
