"""The redacted copy of an audio: a tone over each span, the rest as it was, memory flat."""

from __future__ import annotations

import io
import tracemalloc
import wave
from array import array
from pathlib import Path

import pytest

from django_slashml.audio.tones import merged, tone_over

from .extras import require

FIXTURES = Path(__file__).parent / "fixtures"


def samples_of(data: io.BytesIO | Path) -> tuple[int, array[int]]:
    with wave.open(str(data) if isinstance(data, Path) else data) as read:
        return read.getframerate(), array("h", read.readframes(read.getnframes()))


def test_spans_are_merged_and_sorted() -> None:
    assert merged([(900, 1200), (0, 0), (100, 300), (250, 400), (400, 500)]) == [(100, 500), (900, 1200)]


@pytest.mark.parametrize("name", ["speech.wav", "speech.mp3", "speech.flac"])
def test_a_tone_replaces_the_span_and_nothing_else(name: str) -> None:
    require("av")
    toned = io.BytesIO()
    with (FIXTURES / name).open("rb") as source:
        written = tone_over(source, toned, [(1000, 1500)])
    toned.seek(0)
    rate, got = samples_of(toned)
    assert len(got) == written and written > 2 * rate
    inside = got[int(1.05 * rate) : int(1.45 * rate)]
    assert max(inside) == 6553 and min(inside) == -6553, "the tone at a fifth of full scale"
    plain = io.BytesIO()
    with (FIXTURES / name).open("rb") as source:
        tone_over(source, plain, [])
    plain.seek(0)
    _, original = samples_of(plain)
    outside = slice(int(1.6 * rate), None)
    assert got[outside] == original[outside] and got[:rate] == original[:rate]


def _silence(path: Path, seconds: int, rate: int = 16000) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        chunk = bytes(2 * rate)
        for _ in range(seconds):
            out.writeframes(chunk)
    return path


def test_memory_does_not_grow_with_the_audio(tmp_path: Path) -> None:
    require("av")
    peaks = []
    for seconds in (20, 200):
        source = _silence(tmp_path / f"{seconds}.wav", seconds)
        tracemalloc.start()
        with source.open("rb") as given, (tmp_path / f"{seconds}-toned.wav").open("wb") as target:
            tone_over(given, target, [(5000, 6000), (15000, 15500)])
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 2 * peaks[0] + 256 * 1024, peaks
