"""The offline engine really listens: flite's slt voice, in four containers, comes back as the script."""

from __future__ import annotations

from collections import Counter

import pytest

from django_slashml.sandbox.engines import EngineError, get_engine

from .conftest import FIXTURES, SPEECH_SCRIPT
from .extras import require_for_module

require_for_module("av", "pocketsphinx")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engine():  # type: ignore[no-untyped-def]
    return get_engine("offline")


def shared_fraction(heard: list[str], script: list[str]) -> float:
    overlap = Counter(heard) & Counter(script)
    return sum(overlap.values()) / len(script)


@pytest.mark.parametrize("name", ["speech.wav", "speech.mp3", "speech.ogg", "speech.flac"])
def test_spoken_english_shares_most_words_with_its_script(engine, name) -> None:
    transcript = engine.transcribe(str(FIXTURES / name), filename=name, sha256="")
    heard = [word.text for word in transcript.words]
    assert shared_fraction(heard, SPEECH_SCRIPT) >= 0.7, transcript.text
    assert transcript.duration == pytest.approx(5.37, abs=0.1)
    starts = [word.start for word in transcript.words]
    assert starts == sorted(starts) and all(w.end > w.start for w in transcript.words)
    assert transcript.words[-1].end <= transcript.duration * 1000 + 50
    assert all(0.0 <= w.confidence <= 1.0 for w in transcript.words)
    assert not any(w.text.startswith(("<", "[")) for w in transcript.words), "fillers and silences are dropped"


def test_a_file_that_is_not_decodable_is_an_engine_error(engine, tmp_path) -> None:
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"ID3" + b"\x00" * 200)
    with pytest.raises(EngineError, match=r"decode|no audio|no samples"):
        engine.transcribe(str(broken), filename="broken.mp3", sha256="")
