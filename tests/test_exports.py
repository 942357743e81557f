"""Subtitles from word timings, against hand-made files, and limits on every cue."""

from __future__ import annotations

import io
import random

import pytest

from django_slashml.transcripts.exports import CueLimits, build_cues, to_srt, to_text, to_vtt

from .conftest import FIXTURES
from .extras import require

WORDS = [
    {"text": text, "start": start, "end": end, "confidence": 0.9}
    for text, start, end in [
        ("Hello", 0, 400), ("there.", 450, 900), ("This", 1000, 1200), ("is", 1250, 1350), ("a", 1400, 1450),
        ("subtitle", 1500, 2000), ("test", 2050, 2400), ("with", 2450, 2600), ("enough", 2650, 2900),
        ("words", 2950, 3300), ("to", 3350, 3400), ("wrap", 3450, 3800), ("across", 3850, 4200),
        ("two", 4250, 4400), ("lines.", 4450, 4900), ("After", 6000, 6300), ("a", 6350, 6400),
        ("long", 6450, 6700), ("pause", 6750, 7100), ("it", 7150, 7250), ("starts", 7300, 7700), ("again", 7750, 8100),
    ]
]  # fmt: skip


@pytest.fixture
def webvtt():  # type: ignore[no-untyped-def]
    """webvtt-py, a real WebVTT parser, to read back what the export wrote."""
    return require("webvtt")


def test_srt_matches_the_hand_made_file() -> None:
    assert to_srt(WORDS) == (FIXTURES / "exports" / "expected.srt").read_text()


def test_vtt_matches_the_hand_made_file_and_parses(webvtt) -> None:
    vtt = to_vtt(WORDS)
    assert vtt == (FIXTURES / "exports" / "expected.vtt").read_text()
    captions = webvtt.from_buffer(io.StringIO(vtt)).captions
    assert [(c.start, c.end) for c in captions] == [("00:00:00.000", "00:00:04.900"), ("00:00:06.000", "00:00:08.100")]
    assert captions[1].text == "After a long pause it starts again"


def test_a_long_transcript_keeps_every_cue_within_the_limits(webvtt) -> None:
    rng = random.Random(3)
    words, clock = [], 0
    for index in range(5000):
        length = rng.randint(1, 12)
        text = "w" * length + ("." if index % 17 == 16 else "")
        start = clock + rng.choice([30, 60, 90, 900])  # now and then a pause
        words.append({"text": text, "start": start, "end": start + 150 + 20 * length, "confidence": 1.0})
        clock = words[-1]["end"]
    limits = CueLimits()
    cues = build_cues(words, limits)
    assert sum(len(" ".join(cue.lines).split()) for cue in cues) == len(words), "no word lost or repeated"
    for cue in cues:
        assert len(cue.lines) <= limits.max_lines
        assert all(len(line) <= limits.max_line_chars for line in cue.lines)
        assert cue.end - cue.start <= limits.max_cue_ms
    vtt = webvtt.from_buffer(io.StringIO(to_vtt(words)))
    assert len(vtt.captions) == len(cues)


def test_hours_and_text_without_timings() -> None:
    late = [{"text": "late", "start": 3_723_004, "end": 3_723_500}]
    assert "01:02:03,004 --> 01:02:03,500" in to_srt(late)
    assert to_srt([], text="no timings here", duration=2.5) == "1\n00:00:00,000 --> 00:00:02,500\nno timings here\n"
    assert to_vtt([]) == "WEBVTT\n"


@pytest.mark.parametrize(("text", "expected"), [("  hello  ", "hello\n"), ("", "")])
def test_plain_text(text, expected) -> None:
    assert to_text(text) == expected


def test_an_arrow_in_a_transcript_cannot_break_webvtt(webvtt) -> None:
    vtt = to_vtt([{"text": "a-->b", "start": 0, "end": 500}])
    assert webvtt.from_buffer(io.StringIO(vtt)).captions[0].text == "a→b"


FORGERY = "hi\n\n2\n00:00:00,000 --> 99:00:00,000\nFORGED"


def srt_cues(text: str) -> list[list[str]]:
    """Cues as SubRip players read them: blocks split at blank lines."""
    return [block.split("\n") for block in text.strip("\n").split("\n\n")]


def test_a_word_cannot_forge_srt_cues() -> None:
    words = [{"text": FORGERY, "start": 0, "end": 500}, {"text": "bye", "start": 600, "end": 900}]
    cues = srt_cues(to_srt(words))
    assert len(cues) == 1 and cues[0][0] == "1" and cues[0][1] == "00:00:00,000 --> 00:00:00,900"
    assert not any("-->" in line for line in cues[0][2:])
    assert " ".join(cues[0][2:]) == "hi 2 00:00:00,000 → 99:00:00,000 FORGED bye"


def test_webvtt_cue_text_is_escaped(webvtt) -> None:
    words = [
        {"text": "<c.evil>x</c>", "start": 0, "end": 400},
        {"text": "R&D", "start": 450, "end": 800},
        {"text": FORGERY, "start": 900, "end": 1200},
    ]
    vtt = to_vtt(words)
    parsed = webvtt.from_buffer(io.StringIO(vtt))
    assert len(parsed.captions) == 1
    body = vtt.split("\n", 3)[3]
    assert "<" not in body and ">" not in body and "&lt;c.evil&gt;x&lt;/c&gt;" in body and "R&amp;D" in body
