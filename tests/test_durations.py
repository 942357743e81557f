"""Durations read locally for every format SlashML takes (issue 19), and files whose duration is unknown."""

from __future__ import annotations

import io
import shutil
import sys
from pathlib import Path

import pytest

from django_slashml import transcribe
from django_slashml.audio.formats import read_duration, sniff
from django_slashml.jobs.uploads import save_upload
from django_slashml.models import JobStatus

from .extras import require
from .helpers import drive

FIXTURES = Path(__file__).parent / "fixtures"
SECONDS = 5.37  # speech.wav; encoders pad a few frames


def _read(name: str) -> float | None:
    data = (FIXTURES / name).read_bytes()
    fileobj = io.BytesIO(data)
    fileobj.seek(7)
    seconds = read_duration(fileobj, sniff(data[:64]))  # type: ignore[arg-type]
    assert fileobj.tell() == 7, "the caller's position is kept"
    return seconds


@pytest.mark.parametrize("name", ["speech.wav", "speech.mp3", "speech.ogg", "speech.opus", "speech.flac", "speech.m4a"])
def test_every_format_has_its_duration_read_without_decoding(name) -> None:
    assert _read(name) == pytest.approx(SECONDS, abs=0.15)


def test_without_mutagen_pyav_reads_it(monkeypatch) -> None:
    require("av")
    monkeypatch.setitem(sys.modules, "mutagen", None)  # import mutagen now raises ImportError
    assert _read("speech.m4a") == pytest.approx(SECONDS, abs=0.15)


def test_without_either_library_the_duration_is_unknown_not_an_error(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "mutagen", None)
    monkeypatch.setitem(sys.modules, "av", None)
    assert _read("speech.flac") is None
    assert _read("speech.wav") == pytest.approx(SECONDS, abs=0.01), "WAV needs neither"


@pytest.mark.django_db
def test_the_upload_keeps_the_duration(tmp_path) -> None:
    with (FIXTURES / "speech.opus").open("rb") as fileobj:
        upload = save_upload(fileobj, name="speech.opus")
    assert upload.duration == pytest.approx(SECONDS, abs=0.15)


@pytest.mark.django_db
def test_a_file_whose_duration_cannot_be_read_is_still_transcribed(slashml, tmp_path) -> None:
    # MP3 frame sync bits, then nothing an MP3 reader can make sense of.
    path = tmp_path / "broken.mp3"
    path.write_bytes(b"\xff\xfb\x90\x00" + bytes(range(256)) * 40)
    job = transcribe(path)
    assert job.upload.duration is None
    assert drive(job).status == JobStatus.COMPLETED


@pytest.mark.django_db
def test_the_schedule_polls_an_mp3_by_its_duration(settings, slashml, sandbox, tmp_path) -> None:
    from django_slashml.jobs import pipeline
    from django_slashml.testing import sandbox_settings

    settings.SLASHML = sandbox_settings(sandbox, POLL_INITIAL_DELAY=1, POLL_DURATION_FACTOR=10, POLL_JITTER=0)
    path = tmp_path / "speech.mp3"
    shutil.copy(FIXTURES / "speech.mp3", path)
    job = transcribe(path)
    pipeline.advance(job.pk)
    job.refresh_from_db()
    wait = (job.next_poll_at - job.submitted_at).total_seconds()
    assert wait == pytest.approx(10 * job.upload.duration, abs=0.5)
    assert wait > 50, "not POLL_INITIAL_DELAY: the MP3's 5.4 s were read"


@pytest.mark.django_db
def test_a_job_shows_the_duration_read_from_its_opus_upload_before_slashml_gives_one(slashml, tmp_path) -> None:
    from django_slashml.jobs import pipeline

    path = tmp_path / "speech.opus"
    shutil.copy(FIXTURES / "speech.opus", path)
    job = transcribe(path)
    assert pipeline.advance(job.pk) == pipeline.Step.SUBMITTED
    job.refresh_from_db()
    assert job.audio_duration == pytest.approx(SECONDS, abs=0.15)
