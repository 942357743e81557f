"""The fake SlashML client and its pytest fixture, used as a host project would use them.

No server and no worker: ``fake_slashml`` switches ``SLASHML["CLIENT_CLASS"]`` to the fake and
runs Celery eagerly, so jobs go through the real pipeline, lifecycle and signals.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

import django_slashml
from django_slashml.exceptions import AuthenticationError, RateLimitedError
from django_slashml.models import JobStatus, TranscriptionJob
from django_slashml.remote.client import SlashMLClient, get_client
from django_slashml.signals import transcription_completed, transcription_failed
from django_slashml.testing import FakeSlashMLClient, calls
from django_slashml.testing import fake_slashml as fake_controls

from .test_configuration import check_ids


@pytest.fixture
def completed() -> Any:
    """A host project's receiver of transcription_completed: records (job id, text) per call."""
    received: list[tuple[Any, str]] = []

    def receiver(sender: Any, job: TranscriptionJob, **kwargs: Any) -> None:
        received.append((job.pk, job.text))

    transcription_completed.connect(receiver, weak=False, dispatch_uid="test-kit-completed")
    yield received
    transcription_completed.disconnect(dispatch_uid="test-kit-completed")


@pytest.fixture
def failed() -> Any:
    received: list[tuple[Any, str]] = []

    def receiver(sender: Any, job: TranscriptionJob, error: str, **kwargs: Any) -> None:
        received.append((job.pk, error))

    transcription_failed.connect(receiver, weak=False, dispatch_uid="test-kit-failed")
    yield received
    transcription_failed.disconnect(dispatch_uid="test-kit-failed")


@pytest.mark.django_db(transaction=True)
def test_a_receiver_runs_once_with_the_fakes_transcript(fake_slashml, completed, speech_path: Path) -> None:
    job = django_slashml.transcribe(speech_path)  # commits; the on-commit message runs the job eagerly

    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED
    assert completed == [(job.pk, "fake transcript of speech.wav")]
    assert [word["text"] for word in job.words] == ["fake", "transcript", "of", "speech.wav"]
    assert job.words[1] == {"text": "transcript", "start": 400, "end": 750, "confidence": 0.95}


@pytest.mark.django_db
def test_in_a_db_test_run_jobs_finishes_them_with_the_queued_result(fake_slashml, completed, speech_path) -> None:
    words = [{"text": "hello", "start": 0, "end": 300}, {"text": "there", "start": 350, "end": 700}]
    fake_slashml.next_result(words=words, confidence=0.8)
    job = django_slashml.transcribe(speech_path)
    assert completed == [] and len(calls) == 0  # the test's transaction never commits

    assert fake_slashml.run_jobs() == ["submitted"]  # with Celery eager, the poll ran inside that step
    job.refresh_from_db()
    assert (job.status, job.text, job.confidence) == (JobStatus.COMPLETED, "hello there", 0.8)
    assert completed == [(job.pk, "hello there")]
    assert fake_slashml.run_jobs() == []


@pytest.mark.django_db
def test_calls_are_recorded_in_order_with_the_audio_as_name_and_size(fake_slashml, speech_path) -> None:
    job = django_slashml.transcribe(speech_path, service_provider="whisper")
    fake_slashml.run_jobs()
    job.refresh_from_db()

    assert calls.methods() == ["upload", "submit", "status"]
    upload, submit, status = calls
    assert upload.args == {
        "filename": "speech.wav",
        "size": speech_path.stat().st_size,
        "content_type": "audio/wav",
        "service_provider": "whisper",
    }
    assert submit.args == {"audio_url": job.upload.remote_url, "service_provider": "whisper"}
    assert status.args == {"remote_id": job.remote_id, "service_provider": "whisper"}
    assert upload.at <= submit.at <= status.at and all(call.error is None for call in calls)


@pytest.mark.django_db
def test_a_job_failed_by_slashml_sends_the_failure_signal_with_the_message(fake_slashml, failed, speech_path) -> None:
    fake_slashml.fail_next("The audio has no speech.")
    job = django_slashml.transcribe(speech_path)
    fake_slashml.run_jobs()

    job.refresh_from_db()
    assert job.status == JobStatus.ERROR
    assert failed == [(job.pk, "SlashML could not transcribe the audio: The audio has no speech.")]


@pytest.mark.django_db
def test_transient_errors_are_retried_by_the_pipeline(fake_slashml, completed, failed, speech_path) -> None:
    fake_slashml.raise_next("status", times=2)  # two 503s
    fake_slashml.raise_next("submit", RateLimitedError("slow down", status_code=429))
    job = django_slashml.transcribe(speech_path)
    fake_slashml.run_jobs()

    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED and failed == [] and len(completed) == 1
    assert calls.methods() == ["upload", "submit", "submit", "status", "status", "status"]
    errors = [type(call.error).__name__ if call.error else None for call in calls]
    assert errors == [None, "RateLimitedError", None, "ServerError", "ServerError", None]
    assert job.consecutive_failures == 0 and job.upload.remote_url  # the upload was not repeated


@pytest.mark.django_db
def test_a_permanent_error_ends_the_job(fake_slashml, failed, speech_path) -> None:
    fake_slashml.raise_next("submit", AuthenticationError("SlashML refused the API key (401).", status_code=401))
    job = django_slashml.transcribe(speech_path)
    fake_slashml.run_jobs()
    assert failed == [(job.pk, "SlashML refused the API key (401).")]


@pytest.mark.django_db
def test_polls_make_the_job_pass_through_in_progress(fake_slashml, signal_log, speech_path) -> None:
    fake_slashml.next_result("done at last", polls=3)
    job = django_slashml.transcribe(speech_path)
    fake_slashml.run_jobs()

    moves = [(kw["old_status"], kw["new_status"]) for name, kw in signal_log if name == "transcription_status_changed"]
    assert moves == [("PENDING", "QUEUED"), ("QUEUED", "IN_PROGRESS"), ("IN_PROGRESS", "COMPLETED")]
    assert calls.methods().count("status") == 3
    job.refresh_from_db()
    assert job.text == "done at last"


@pytest.mark.django_db
def test_results_queue_up_one_per_job_and_urls_are_named_by_their_path(fake_slashml, speech_path) -> None:
    fake_slashml.next_result("first")
    fake_slashml.fail_next()
    one = django_slashml.transcribe("https://media.example/talks/keynote.mp3")
    two = django_slashml.transcribe(speech_path)
    three = django_slashml.transcribe("https://media.example/q%26a.ogg")
    fake_slashml.run_jobs()

    for job, expected in ((one, "first"), (three, "fake transcript of q&a.ogg")):
        job.refresh_from_db()
        assert (job.status, job.text) == (JobStatus.COMPLETED, expected)
    two.refresh_from_db()
    assert two.status == JobStatus.ERROR
    assert calls.of("submit")[0].args["audio_url"] == "https://media.example/talks/keynote.mp3"


def test_the_setting_picks_the_client_and_the_fixture_switches_it_back() -> None:
    assert type(get_client()) is SlashMLClient
    with fake_controls.active():
        assert type(get_client()) is FakeSlashMLClient
    assert type(get_client()) is SlashMLClient


def test_the_fake_passes_the_checks_and_a_bad_client_class_fails_them(monkeypatch) -> None:
    with override_settings(SLASHML={"API_KEY": "k", "CLIENT_CLASS": "django_slashml.testing.FakeSlashMLClient"}):
        assert check_ids() == set()
    for bad in ("django_slashml.remote.client.NoSuchClient", "no_such_package.Client", "nodots", 42):
        with override_settings(SLASHML={"API_KEY": "k", "CLIENT_CLASS": bad}):
            assert "slashml.E021" in check_ids(), bad
    for not_a_client in ("django_slashml.remote.client.get_client", "django_slashml.testing.CallLog"):
        with override_settings(SLASHML={"API_KEY": "k", "CLIENT_CLASS": not_a_client}):
            assert "slashml.E021" in check_ids(), not_a_client


@pytest.mark.django_db
def test_without_the_fixture_active_and_on_commit_callbacks_run_the_job(
    completed, speech_path, django_capture_on_commit_callbacks
) -> None:
    """docs/testing.md's unittest recipe: fake_slashml.active() plus executed on-commit callbacks."""
    with fake_controls.active(), django_capture_on_commit_callbacks(execute=True):
        job = django_slashml.transcribe(speech_path)
    assert completed == [(job.pk, "fake transcript of speech.wav")]
    assert len(calls) == 0  # active() leaves a clean outbox behind


def test_stored_audio_goes_to_a_temporary_media_root_while_the_fake_is_active(settings) -> None:
    project_media = settings.MEDIA_ROOT
    with fake_controls.active():
        temporary = Path(settings.MEDIA_ROOT)
        assert temporary != Path(project_media) and temporary.is_dir()
    assert project_media == settings.MEDIA_ROOT and not temporary.exists()


def test_the_fixture_keeps_stored_audio_in_a_temporary_media_root(fake_slashml, slashml_media_root, settings) -> None:
    assert str(slashml_media_root) == settings.MEDIA_ROOT and slashml_media_root.is_dir()


def test_write_silent_wav_makes_audio_that_transcribe_accepts(fake_slashml, db, tmp_path) -> None:
    from django_slashml.testing import write_silent_wav

    audio = write_silent_wav(tmp_path / "voicemail.wav", seconds=0.5)
    job = django_slashml.transcribe(audio)
    fake_slashml.run_jobs()
    job.refresh_from_db()
    assert (job.status, job.text, job.audio_duration) == (JobStatus.COMPLETED, "fake transcript of voicemail.wav", 0.5)
