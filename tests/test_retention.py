"""Retention: old audio is deleted, every row and transcript stays, and the command says what it freed."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from django_slashml import transcribe
from django_slashml.audio.formats import human_size
from django_slashml.audio.storage import audio_storage
from django_slashml.exceptions import InvalidAudioError
from django_slashml.jobs import actions as job_actions
from django_slashml.jobs.retention import purge_audio
from django_slashml.models import AudioUpload, JobStatus, TranscriptionJob
from django_slashml.tasks import purge_audio as purge_audio_task

from .conftest import SPEECH_SCRIPT
from .helpers import drive

pytestmark = pytest.mark.django_db


def age(upload: AudioUpload, days: float) -> None:
    AudioUpload.objects.filter(pk=upload.pk).update(created_at=timezone.now() - timedelta(days=days))


def purge(*args: str) -> str:
    out = io.StringIO()
    call_command("slashml_purge_audio", *args, stdout=out, stderr=out)
    return out.getvalue()


@pytest.fixture
def old_and_new(slashml: Any, speech_path: Any) -> tuple[TranscriptionJob, TranscriptionJob]:
    """Two finished jobs: one whose audio is 40 days old, one from today."""
    old = drive(transcribe(speech_path))
    new = drive(transcribe(speech_path, fresh=True))
    age(old.upload, 40)
    return old, new


@pytest.mark.services
def test_old_audio_is_deleted_and_the_transcript_and_row_stay(old_and_new, stored_files) -> None:
    old, new = old_and_new
    name, size = old.upload.file.name, old.upload.size
    output = purge("--older-than", "30")
    assert f"deleted  {name}  {human_size(size)}  (uploaded " in output
    assert "Deleted 1 audio file(s) uploaded before" in output and f"freed {human_size(size)} ({size} bytes)." in output
    assert stored_files() == [new.upload.file.name]
    old.refresh_from_db()
    old.upload.refresh_from_db()
    assert old.status == JobStatus.COMPLETED and old.text.split() == SPEECH_SCRIPT and old.words
    assert not old.upload.file and old.upload.purged_at is not None
    assert (old.upload.size, old.upload.sha256, old.upload.original_name) == (size, new.upload.sha256, "speech.wav")
    assert "Deleted 0 audio file(s)" in purge("--older-than", "30"), "a purged upload is not purged again"


def test_a_dry_run_lists_and_deletes_nothing(old_and_new, stored_files) -> None:
    old, _ = old_and_new
    before = stored_files()
    output = purge("--older-than", "30", "--dry-run")
    assert f"would delete  {old.upload.file.name}" in output
    assert f"Would delete 1 file(s), freeing {human_size(old.upload.size)} ({old.upload.size} bytes)" in output
    assert stored_files() == before
    old.upload.refresh_from_db()
    assert old.upload.purged_at is None


def test_the_age_comes_from_the_setting_and_is_required(settings, slashml, old_and_new, stored_files) -> None:
    assert "Audio kept" in purge(), "with only EVENT_RETENTION_DAYS (default 30) events are pruned, audio kept"
    settings.SLASHML = {**settings.SLASHML, "EVENT_RETENTION_DAYS": None}
    with pytest.raises(CommandError, match=r"pass --older-than DAYS or set SLASHML\['AUDIO_RETENTION_DAYS'\]"):
        purge()
    settings.SLASHML = {**settings.SLASHML, "AUDIO_RETENTION_DAYS": 50}
    assert "Deleted 0 audio file(s)" in purge()
    settings.SLASHML = {**settings.SLASHML, "AUDIO_RETENTION_DAYS": 30}
    assert "Deleted 1 audio file(s)" in purge()
    with pytest.raises(CommandError, match="number of days >= 0"):
        purge("--older-than", "-1")


@pytest.mark.services
def test_audio_an_active_job_needs_is_kept(slashml, speech_path, stored_files) -> None:
    done = drive(transcribe(speech_path))
    pending = transcribe(done.upload)  # a new job on the same, old upload
    age(done.upload, 40)
    assert "Deleted 0 audio file(s)" in purge("--older-than", "30")
    assert stored_files() == [done.upload.file.name]
    job_actions.cancel(pending)
    assert "Deleted 1 audio file(s)" in purge("--older-than", "30")


def test_limit_and_verbosity(slashml, speech_path) -> None:
    uploads = [transcribe(speech_path, fresh=True).upload for _ in range(3)]
    for upload in uploads:
        age(upload, 40)
    TranscriptionJob.objects.update(status=JobStatus.COMPLETED)
    output = purge("--older-than", "30", "--limit", "2", "-v", "0")
    assert "deleted  " not in output and "Deleted 2 audio file(s)" in output
    assert AudioUpload.objects.filter(purged_at__isnull=True).count() == 1


def test_a_file_that_cannot_be_deleted_keeps_its_row_for_the_next_run(old_and_new, monkeypatch) -> None:
    old, _ = old_and_new

    def refuse(name: str) -> None:
        raise PermissionError(f"read-only: {name}")

    # Patch stays: tests may run as root, which deletes from read-only folders, so a real refusal is not portable.
    monkeypatch.setattr(audio_storage, "delete", refuse)
    with pytest.raises(CommandError, match=r"1 file\(s\) could not be deleted"):
        purge("--older-than", "30")
    old.upload.refresh_from_db()
    assert old.upload.file.name and old.upload.purged_at is None
    monkeypatch.undo()
    assert "Deleted 1 audio file(s)" in purge("--older-than", "30")


def test_the_beat_task_uses_the_setting_and_reports_the_bytes(settings, slashml, old_and_new) -> None:
    old, _ = old_and_new
    assert purge_audio_task() == 0, "no AUDIO_RETENTION_DAYS: nothing is purged"
    settings.SLASHML = {**settings.SLASHML, "AUDIO_RETENTION_DAYS": 30}
    assert purge_audio_task() == old.upload.size


def test_a_purged_upload_cannot_be_transcribed_again(old_and_new) -> None:
    old, _ = old_and_new
    purge_audio(timedelta(days=30))
    old.upload.refresh_from_db()
    with pytest.raises(InvalidAudioError, match=r"deleted on .* by the retention policy.*pass the file again"):
        transcribe(old.upload)


def test_a_retry_after_the_purge_uses_slashmls_copy_while_it_lasts_then_fails_clearly(slashml, old_and_new) -> None:
    old, _ = old_and_new
    purge_audio(timedelta(days=30))
    job_actions.retry(old)
    assert drive(old).status == JobStatus.COMPLETED, "SlashML's 24-hour copy is still there"
    AudioUpload.objects.filter(pk=old.upload_id).update(remote_expires_at=timezone.now())
    job_actions.retry(old)
    old = drive(old)
    assert old.status == JobStatus.ERROR
    assert "by the retention policy" in old.error_message and "SlashML's copy has expired" in old.error_message
    assert old.error_message.endswith("upload the file again.")


def test_the_same_audio_after_the_purge_still_reuses_the_transcript(slashml, old_and_new, speech_path) -> None:
    old, new = old_and_new
    purge_audio(timedelta(days=30))
    TranscriptionJob.objects.filter(pk=new.pk).delete()
    again = drive(transcribe(speech_path))
    assert again.reused_from_id == old.pk and again.text == old.text
