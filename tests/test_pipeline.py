"""The pipeline's steps against the sandbox, run in the test's thread (no Celery)."""

from __future__ import annotations

import time
from contextlib import ExitStack
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from django_slashml import transcribe
from django_slashml.exceptions import TransientAPIError
from django_slashml.jobs import pipeline
from django_slashml.jobs.pipeline import Step
from django_slashml.models import AudioUpload, JobEvent, JobStatus, TranscriptionJob
from django_slashml.remote.client import get_client
from django_slashml.signals import transcription_status_changed
from django_slashml.testing import sandbox_settings

from .conftest import SPEECH_SCRIPT
from .helpers import drive, lose_the_lease_once_claimed, make_due

pytestmark = pytest.mark.django_db


def test_a_file_ends_completed_with_text_and_word_timings(slashml, speech_path, signal_log) -> None:
    job = drive(transcribe(speech_path))
    assert job.status == JobStatus.COMPLETED
    assert job.text.split() == SPEECH_SCRIPT
    assert [w["text"] for w in job.words] == SPEECH_SCRIPT
    assert set(job.words[0]) == {"text", "start", "end", "confidence"}
    assert job.audio_duration == pytest.approx(5.37, abs=0.01)
    assert job.remote_id and job.submitted_at and job.completed_at
    assert job.lease_owner == "" and job.next_poll_at is None
    names = [name for name, _ in signal_log]
    assert names.count("transcription_completed") == 1
    assert [kw["new_status"] for name, kw in signal_log if name == "transcription_status_changed"][-1] == "COMPLETED"


def test_an_external_url_is_submitted_without_an_upload(slashml, sandbox, speech_path) -> None:
    with speech_path.open("rb") as fileobj:
        from django_slashml.remote.client import SlashMLClient

        url = (
            SlashMLClient(sandbox.url, "sandbox-key")
            .upload(fileobj, filename="speech.wav", content_type="audio/wav", service_provider="assembly")
            .url
        )
    before = slashml.stats()["calls"].get("upload", 0)
    job = drive(transcribe(url, service_provider="deepgram"))
    assert job.status == JobStatus.COMPLETED and job.upload is None
    assert slashml.stats()["calls"].get("upload", 0) == before


def test_remote_error_ends_the_job_with_the_providers_reason(slashml, speech_path, signal_log) -> None:
    slashml.set_faults(job_error_rate=1.0)
    job = drive(transcribe(speech_path))
    assert job.status == JobStatus.ERROR
    assert "could not process this audio" in job.error_message
    failed = [kw for name, kw in signal_log if name == "transcription_failed"]
    assert len(failed) == 1 and failed[0]["error"] == job.error_message
    # The row and its last event say what SlashML said, not what it said before it failed.
    assert job.remote_status == "ERROR" and job.last_response["status"] == "ERROR"
    assert job.events.get(new_status=JobStatus.ERROR).remote_status == "ERROR"


def _until_slashml_says_error(job: TranscriptionJob) -> None:
    deadline = time.monotonic() + 10
    while not get_client().status(job.remote_id, service_provider=job.service_provider).is_failed:
        assert time.monotonic() < deadline, "the sandbox never ended the job in ERROR"
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("ending", "status_calls"),
    [("remote error", 1), ("deadline", 0), ("not found", 1), ("gave up", 1), ("retrying", 1)],
)
def test_a_step_whose_write_lost_the_lease_leaves_the_job_to_its_new_holder(
    settings, slashml, sandbox, speech_path, monkeypatch, ending, status_calls
) -> None:
    settings.SLASHML = sandbox_settings(sandbox, MAX_TRANSIENT_FAILURES=3 if ending == "retrying" else 1)
    if ending == "remote error":  # SlashML decides when it takes the job
        slashml.set_faults(job_error_rate=1.0)
    job = transcribe(speech_path)
    assert pipeline.advance(job.pk) == Step.SUBMITTED
    job.refresh_from_db()
    make_due(job)
    if ending == "remote error":
        _until_slashml_says_error(job)
    elif ending == "deadline":
        TranscriptionJob.objects.filter(pk=job.pk).update(deadline_at=timezone.now() - timedelta(seconds=1))
    elif ending == "not found":
        TranscriptionJob.objects.filter(pk=job.pk).update(remote_id="no-such-job")
    else:
        slashml.set_faults(script=[{"endpoint": "status", "fault": "500"}])
    before = _calls(slashml)["status"]
    lose_the_lease_once_claimed(monkeypatch)
    assert pipeline.advance(job.pk) == Step.LOST_LEASE
    assert _calls(slashml)["status"] == before + status_calls  # the step got as far as its ending
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.error_message == "" and job.lease_owner == "another-worker"
    assert job.consecutive_failures == 0 and job.poll_count == 0  # none of the step's writes landed


def _finished_at_submit(slashml, **faults) -> None:
    """SlashML finishes each job before it answers the submit, which then says COMPLETED (or ERROR)."""
    slashml.set_faults(processing_time=0, **faults)
    slashml.set_quirks(finished_at_submit=True)


def _calls(slashml) -> dict[str, int]:
    calls = slashml.stats()["calls"]
    return {name: calls.get(name, 0) for name in ("submit", "status")}


def test_a_submit_answered_completed_keeps_slashmls_id_and_fetches_the_word_timings_at_once(
    slashml, speech_path, signal_log
) -> None:
    _finished_at_submit(slashml)
    job = transcribe(speech_path)
    before_submit = timezone.now()
    assert pipeline.advance(job.pk) == Step.COMPLETED  # one step: no poll message needed
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED and job.remote_id
    assert [w["text"] for w in job.words] == SPEECH_SCRIPT  # the submit's answer had only the text
    assert job.poll_count == 1 and job.lease_owner == "" and job.next_poll_at is None
    # Its time counts from the submit's POST, during which SlashML did the work.
    assert before_submit <= job.submitted_at <= job.completed_at and job.processing_rate is not None
    assert _calls(slashml) == {"submit": 1, "status": 1}
    moves = [(kw["old_status"], kw["new_status"]) for name, kw in signal_log if name == "transcription_status_changed"]
    assert moves == [("PENDING", "QUEUED"), ("QUEUED", "COMPLETED")]
    assert [name for name, _ in signal_log].count("transcription_completed") == 1


def test_a_submit_answered_error_keeps_slashmls_id(slashml, speech_path) -> None:
    _finished_at_submit(slashml, job_error_rate=1.0)
    job = transcribe(speech_path)
    assert pipeline.advance(job.pk) == Step.FAILED
    job.refresh_from_db()
    assert job.status == JobStatus.ERROR and job.remote_id and job.remote_status == "ERROR"
    assert "could not process" in job.error_message
    assert _calls(slashml) == {"submit": 1, "status": 0}


@pytest.mark.parametrize("error", [RuntimeError("a bug, or a soft time limit"), TransientAPIError("SlashML 503")])
def test_whatever_breaks_after_a_finished_submit_the_job_is_never_submitted_again(
    slashml, speech_path, monkeypatch, error
) -> None:
    _finished_at_submit(slashml)
    client = get_client()
    real_status = client.status
    monkeypatch.setattr(client, "status", lambda *args, **kwargs: (_ for _ in ()).throw(error))
    job = transcribe(speech_path)
    assert pipeline.advance(job.pk) == Step.RETRYING
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.remote_id and job.lease_owner == ""
    monkeypatch.setattr(client, "status", real_status)
    make_due(job)
    job = drive(job)
    assert job.status == JobStatus.COMPLETED and [w["text"] for w in job.words] == SPEECH_SCRIPT
    assert _calls(slashml)["submit"] == 1


def test_a_lease_lost_while_fetching_a_finished_submit_leaves_the_job_to_its_new_holder(
    slashml, speech_path, monkeypatch
) -> None:
    _finished_at_submit(slashml)
    client = get_client()
    real_status = client.status

    def another_worker_takes_it(*args, **kwargs):
        TranscriptionJob.objects.filter(pk=job.pk).update(lease_owner="another-worker")
        return real_status(*args, **kwargs)

    monkeypatch.setattr(client, "status", another_worker_takes_it)
    job = transcribe(speech_path)
    assert pipeline.advance(job.pk) == Step.LOST_LEASE
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.remote_id  # the new holder polls it, never submits
    assert job.lease_owner == "another-worker"


def test_a_lease_that_ran_out_during_the_upload_sends_no_submit(settings, slashml, sandbox, speech_path, monkeypatch):
    settings.SLASHML = sandbox_settings(sandbox, LEASE_SECONDS=0.3)
    client = get_client()
    real_upload = client.upload

    def slow_upload(*args, **kwargs):
        time.sleep(0.4)  # past the lease: under -P solo no time limit stops the step
        return real_upload(*args, **kwargs)

    monkeypatch.setattr(client, "upload", slow_upload)
    job = transcribe(speech_path)
    assert pipeline.advance(job.pk) == Step.LOST_LEASE
    assert _calls(slashml)["submit"] == 0
    assert AudioUpload.objects.get(pk=job.upload_id).remote_url  # SlashML's copy is kept for the next try
    monkeypatch.setattr(client, "upload", real_upload)
    settings.SLASHML = sandbox_settings(sandbox)
    make_due(job)
    job = drive(job)
    assert job.status == JobStatus.COMPLETED
    assert slashml.stats()["calls"]["upload"] == 1 and _calls(slashml)["submit"] == 1


def test_transient_failures_back_off_then_succeed(slashml, speech_path) -> None:
    slashml.set_faults(
        script=[{"endpoint": "submit", "fault": "500", "count": 2}, {"endpoint": "status", "fault": "429"}]
    )
    job = drive(transcribe(speech_path))
    assert job.status == JobStatus.COMPLETED
    assert job.submit_attempts == 3
    assert slashml.stats()["faults"] == {"500": 2, "429": 1}


def test_429_retry_after_is_respected(slashml, speech_path) -> None:
    slashml.set_faults(retry_after=30, script=[{"endpoint": "submit", "fault": "429"}])
    job = transcribe(speech_path)
    assert pipeline.advance(job.pk) == Step.RETRYING
    job.refresh_from_db()
    assert job.next_poll_at >= timezone.now() + timedelta(seconds=29)
    assert job.status == JobStatus.PENDING and job.lease_owner == ""


def test_too_many_transient_failures_end_in_error(settings, slashml, sandbox, speech_path) -> None:
    settings.SLASHML = sandbox_settings(sandbox, MAX_TRANSIENT_FAILURES=3, RETRY_BASE_DELAY=0.01, RETRY_MAX_DELAY=0.02)
    slashml.set_faults(script=[{"endpoint": "submit", "fault": "500", "count": 10}])
    job = drive(transcribe(speech_path))
    assert job.status == JobStatus.ERROR
    assert "Gave up after 3 failed attempts" in job.error_message
    assert "500" in job.error_message


def test_a_submit_cut_off_without_an_answer_still_counts_as_sent(slashml, speech_path, monkeypatch) -> None:
    from celery.exceptions import SoftTimeLimitExceeded

    from django_slashml.remote.client import SlashMLClient

    def cut_off(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise SoftTimeLimitExceeded()  # the task's soft time limit, mid-POST: SlashML may have the job

    monkeypatch.setattr(SlashMLClient, "submit", cut_off)
    job = transcribe(speech_path)
    assert pipeline.advance(job.pk) == Step.RETRYING
    job.refresh_from_db()
    assert job.status == JobStatus.PENDING and job.submit_attempts == 1


def test_permanent_failure_ends_the_job_at_once(settings, slashml, sandbox, speech_path) -> None:
    settings.SLASHML = {**sandbox_settings(sandbox), "API_KEY": "wrong-key-123456"}
    job = drive(transcribe(speech_path))
    assert job.status == JobStatus.ERROR
    assert "API key" in job.error_message and "wrong-key-123456" not in job.error_message
    assert job.submit_attempts == 0  # the upload was refused first


def test_malformed_transcript_ends_in_error_without_retrying(slashml, speech_path) -> None:
    slashml.set_faults(processing_time=0, script=[{"endpoint": "status", "fault": "missing_word_fields"}])
    job = drive(transcribe(speech_path))
    assert job.status == JobStatus.ERROR
    assert "has no 'start', 'end'" in job.error_message


def test_unknown_remote_status_is_treated_as_running(slashml, speech_path, caplog) -> None:
    slashml.set_faults(processing_time=0.3, script=[{"endpoint": "status", "fault": "unknown_status"}])
    job = drive(transcribe(speech_path))
    assert job.status == JobStatus.COMPLETED
    assert "unknown status 'PAUSED_FOR_REVIEW'" in caplog.text


def test_deadline_ends_a_job_that_never_finishes(settings, slashml, sandbox, speech_path, signal_log) -> None:
    settings.SLASHML = sandbox_settings(sandbox, JOB_DEADLINE=2, POLL_DURATION_FACTOR=0, POLL_MAX_INTERVAL=5)
    slashml.set_faults(never_finish_rate=1.0)
    job = transcribe(speech_path)
    job = drive(job, timeout=10)
    assert job.status == JobStatus.ERROR
    assert job.error_message.startswith("Timed out: SlashML did not finish within 0:00:02")
    assert job.poll_count >= 2
    assert job.completed_at <= job.deadline_at + timedelta(seconds=1), "the timeout fires at the deadline"
    assert [name for name, _ in signal_log].count("transcription_failed") == 1


def test_a_redelivered_message_does_nothing(settings, slashml, sandbox, speech_path) -> None:
    settings.SLASHML = sandbox_settings(sandbox, POLL_INITIAL_DELAY=5, POLL_MAX_INTERVAL=10)
    job = transcribe(speech_path)
    assert pipeline.advance(job.pk) == Step.SUBMITTED
    assert pipeline.advance(job.pk) == Step.SKIPPED  # the poll is not due yet
    assert slashml.stats()["calls"]["submit"] == 1


def test_a_held_lease_keeps_a_second_worker_out(slashml, speech_path) -> None:
    job = transcribe(speech_path)
    lease = pipeline.claim(job.pk)
    assert lease is not None
    assert pipeline.claim(job.pk) is None
    assert pipeline.advance(job.pk) == Step.SKIPPED
    # A lease that ran out (its worker died) is free again.
    TranscriptionJob.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert pipeline.advance(job.pk) == Step.SUBMITTED


def test_a_job_that_kills_its_worker_every_time_runs_out_of_attempts(settings, slashml, sandbox, speech_path) -> None:
    settings.SLASHML = sandbox_settings(sandbox, MAX_TRANSIENT_FAILURES=2)
    job = transcribe(speech_path)
    for _ in range(3):  # claim, then "die": the lease just runs out
        assert pipeline.claim(job.pk) is not None
        TranscriptionJob.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert pipeline.advance(job.pk) == Step.FAILED
    job.refresh_from_db()
    assert job.status == JobStatus.ERROR and "failed attempts in a row" in job.error_message


def test_the_remote_upload_is_reused_within_its_lifetime_and_redone_after(slashml, speech_path) -> None:
    from django_slashml.jobs import actions as job_actions

    first = drive(transcribe(speech_path))
    upload = AudioUpload.objects.get()
    assert upload.remote_url and upload.remote_url_usable()
    job_actions.retry(first)
    drive(first)
    assert slashml.stats()["calls"]["upload"] == 1, "a fresh upload URL is reused"
    AudioUpload.objects.filter(pk=upload.pk).update(remote_expires_at=timezone.now() + timedelta(minutes=5))
    job_actions.retry(first)
    drive(first)
    assert slashml.stats()["calls"]["upload"] == 2, "an upload near its 24 h end is uploaded again"


def test_an_expired_remote_upload_is_uploaded_again_on_resubmit(settings, slashml, sandbox, speech_path) -> None:
    job = transcribe(speech_path)
    upload = job.upload
    upload.remote_url = f"{sandbox.url}/upload/00000000-0000-0000-0000-000000000000"
    upload.remote_uploaded_at = timezone.now() - timedelta(hours=25)
    upload.remote_expires_at = timezone.now() - timedelta(hours=1)
    upload.save()
    assert drive(job).status == JobStatus.COMPLETED
    assert slashml.stats()["calls"]["upload"] == 1


def test_missing_audio_in_storage_is_a_clear_error(slashml, speech_path) -> None:
    job = transcribe(speech_path)
    job.upload.file.storage.delete(job.upload.file.name)
    job = drive(job)
    assert job.status == JobStatus.ERROR
    assert "cannot be read from storage" in job.error_message


def test_polls_wait_for_a_share_of_the_audio_duration(settings, slashml, sandbox, speech_path) -> None:
    settings.SLASHML = sandbox_settings(
        sandbox, POLL_INITIAL_DELAY=1, POLL_DURATION_FACTOR=10, POLL_MAX_INTERVAL=120, POLL_JITTER=0
    )
    job = transcribe(speech_path)
    pipeline.advance(job.pk)
    job.refresh_from_db()
    wait = (job.next_poll_at - job.submitted_at).total_seconds()
    assert wait == pytest.approx(53.7, abs=0.5)  # 5.37 s of audio x 10
    make_due(job)
    assert pipeline.advance(job.pk) in (Step.POLLED, Step.COMPLETED)


def test_the_api_key_is_nowhere_in_a_failed_job_or_the_logs(settings, slashml, sandbox, speech_path, caplog) -> None:
    import json
    import logging

    from django.core import serializers

    secret = "sk-live-never-show-me-42"
    settings.SLASHML = {**sandbox_settings(sandbox), "API_KEY": secret}
    caplog.set_level(logging.DEBUG)
    job = drive(transcribe(speech_path))
    assert job.status == JobStatus.ERROR
    stored = serializers.serialize("json", [job, job.upload])
    assert secret not in stored and secret not in json.dumps(job.last_response)
    assert secret not in caplog.text


def test_a_healthy_job_never_shows_a_failure(slashml, speech_path) -> None:
    job = transcribe(speech_path)
    assert pipeline.claim(job.pk) is not None
    job.refresh_from_db()
    assert job.consecutive_failures == 0, "taking the lease is not a failure"
    TranscriptionJob.objects.filter(pk=job.pk).update(lease_owner="", lease_expires_at=None)
    job = drive(job)
    assert job.status == JobStatus.COMPLETED and job.consecutive_failures == 0


def test_a_worker_that_died_counts_as_one_failure(slashml, speech_path) -> None:
    job = transcribe(speech_path)
    assert pipeline.claim(job.pk) is not None
    TranscriptionJob.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert pipeline.claim(job.pk) is not None  # finds the dead worker's lease
    job.refresh_from_db()
    assert job.consecutive_failures == 1


@pytest.mark.parametrize(("failures", "step"), [(1, Step.SUBMITTED), (2, Step.FAILED)])
def test_workers_dying_give_up_after_max_transient_failures(
    settings, slashml, sandbox, speech_path, failures, step
) -> None:
    settings.SLASHML = sandbox_settings(sandbox, MAX_TRANSIENT_FAILURES=2)
    job = transcribe(speech_path)
    for _ in range(failures):  # claim, then "die": the lease just runs out
        assert pipeline.claim(job.pk) is not None
        TranscriptionJob.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert pipeline.advance(job.pk) == step
    job.refresh_from_db()
    if step == Step.FAILED:
        assert job.error_message.startswith("Gave up after 2 failed attempts in a row")


@pytest.mark.parametrize(("failures", "status"), [(2, JobStatus.COMPLETED), (3, JobStatus.ERROR)])
def test_transient_failures_give_up_after_max_transient_failures(
    settings, slashml, sandbox, speech_path, failures, status
) -> None:
    settings.SLASHML = sandbox_settings(sandbox, MAX_TRANSIENT_FAILURES=3, RETRY_BASE_DELAY=0.01, RETRY_MAX_DELAY=0.02)
    slashml.set_faults(script=[{"endpoint": "submit", "fault": "500", "count": failures}])
    job = drive(transcribe(speech_path))
    assert job.status == status
    if status == JobStatus.ERROR:
        assert job.error_message.startswith("Gave up after 3 failed attempts in a row")
        assert job.consecutive_failures == 3
    else:
        assert job.consecutive_failures == 0 and job.submit_attempts == 3


def test_a_died_worker_and_a_transient_failure_add_up(settings, slashml, sandbox, speech_path) -> None:
    settings.SLASHML = sandbox_settings(sandbox, MAX_TRANSIENT_FAILURES=2)
    slashml.set_faults(script=[{"endpoint": "submit", "fault": "500", "count": 5}])
    job = transcribe(speech_path)
    assert pipeline.claim(job.pk) is not None
    TranscriptionJob.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert pipeline.advance(job.pk) == Step.FAILED
    job.refresh_from_db()
    assert job.error_message.startswith("Gave up after 2 failed attempts in a row")


def test_advance_answers_with_a_step_that_is_also_a_string(slashml, speech_path) -> None:
    step = pipeline.advance(transcribe(speech_path).pk)
    assert step is Step.SUBMITTED and step == "submitted" and str(step) == "submitted"


@pytest.mark.django_db(transaction=True)  # the renewals come from a thread, on a connection of its own
def test_a_step_that_outlives_its_lease_keeps_it_while_it_runs(settings, slashml, sandbox, speech_path, monkeypatch):
    """The lease is short so a killed worker's job is free again soon; a slow upload extends it as it goes."""
    settings.SLASHML = sandbox_settings(sandbox, LEASE_SECONDS=0.6)
    client = get_client()
    real_upload = client.upload
    others: list[object] = []

    def slow_upload(*args, **kwargs):
        for _ in range(3):
            time.sleep(0.5)  # 1.5 s in all, over twice the lease
            others.append(pipeline.claim(job.pk))  # another worker, sent by the sweeper, tries to take the job
        return real_upload(*args, **kwargs)

    monkeypatch.setattr(client, "upload", slow_upload)
    job = transcribe(speech_path)
    assert pipeline.advance(job.pk) == Step.SUBMITTED
    assert others == [None, None, None]
    job.refresh_from_db()
    assert (job.submit_attempts, job.consecutive_failures, job.lease_owner) == (1, 0, "")


@pytest.mark.django_db(transaction=True)
def test_a_lease_nobody_renews_is_free_once_it_runs_out(settings) -> None:
    """What a killed worker leaves: the job is taken again after LEASE_SECONDS, counting one failed attempt."""
    settings.SLASHML = {**settings.SLASHML, "LEASE_SECONDS": 0.3}
    job = transcribe("https://example.com/a.wav")
    first = pipeline.claim(job.pk)  # its worker dies here: nothing renews or lets go of the lease
    assert first is not None and pipeline.claim(job.pk) is None
    time.sleep(0.4)
    second = pipeline.claim(job.pk)
    assert second is not None and second.job is not None
    assert second.job.consecutive_failures == 1


class DatabaseAway:
    """A database that answers every query with a dropped connection for ``seconds`` once :meth:`leave` is called."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.back_at, self.refused = seconds, 0.0, 0

    def leave(self) -> None:
        self.back_at = time.monotonic() + self.seconds

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        if time.monotonic() < self.back_at:
            self.refused += 1
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)


def _database_away_after(monkeypatch, call: str, seconds: float) -> DatabaseAway:
    """SlashML answers ``call`` ("submit" or "upload"); the database goes away before the answer is written."""
    from django_slashml.remote.client import SlashMLClient

    away = DatabaseAway(seconds)
    real = getattr(SlashMLClient, call)

    def answered_then_away(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        answer = real(self, *args, **kwargs)
        away.leave()
        return answer

    monkeypatch.setattr(SlashMLClient, call, answered_then_away)
    return away


@pytest.mark.django_db(transaction=True)  # the step reconnects: no test transaction to lose
@pytest.mark.parametrize("answer", ["submit queued", "submit finished", "upload"])
def test_slashmls_answer_given_while_the_database_is_away_is_written_when_it_returns(
    slashml, speech_path, monkeypatch, answer
) -> None:
    """Not written, it was lost: the job submitted (and paid for) again after its lease, or the file sent again."""
    if answer == "submit finished":
        _finished_at_submit(slashml)
    away = _database_away_after(monkeypatch, answer.split()[0], seconds=0.5)
    job = transcribe(speech_path)
    with connection.execute_wrapper(away):
        step = pipeline.advance(job.pk)
    assert away.refused >= 1
    assert step == (Step.COMPLETED if answer == "submit finished" else Step.SUBMITTED)
    job.refresh_from_db()
    assert job.remote_id and job.lease_owner == "" and job.submit_attempts == 1
    job = drive(job)
    assert job.status == JobStatus.COMPLETED
    assert _calls(slashml)["submit"] == 1 and slashml.stats()["calls"]["upload"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_database_away_for_longer_than_the_lease_leaves_the_job_to_the_next_claim(
    settings, slashml, sandbox, speech_path, monkeypatch
) -> None:
    """The wait ends with the lease: after it another worker may take the job, and submits again."""
    from django.db.backends.signals import connection_created

    settings.SLASHML = sandbox_settings(sandbox, LEASE_SECONDS=0.6)
    away = _database_away_after(monkeypatch, "submit", seconds=30)
    job = transcribe(speech_path)
    started = time.monotonic()
    with ExitStack() as on_every_connection:

        def also_away(sender, connection, **kwargs):  # type: ignore[no-untyped-def]
            on_every_connection.enter_context(connection.execute_wrapper(away))  # the lease's renewals fail too

        connection_created.connect(also_away, weak=False)
        on_every_connection.callback(connection_created.disconnect, also_away)
        on_every_connection.enter_context(connection.execute_wrapper(away))
        with pytest.raises(OperationalError):
            pipeline.advance(job.pk)
    assert 0.6 <= time.monotonic() - started < 3  # it waited out the lease, no longer
    job.refresh_from_db()
    assert job.status == JobStatus.PENDING and job.remote_id == "" and job.submit_attempts == 1


@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_inside_a_receiver_is_not_taken_for_a_written_submit(slashml, speech_path) -> None:
    """The receiver's savepoint cannot be rolled back, so the transition's transaction is lost with it:
    the step writes it again once the database is back, with the submit's event, not as if it stood."""
    away = DatabaseAway(0.5)

    def receiver(sender, job, old_status, **kwargs):  # type: ignore[no-untyped-def]
        if old_status == JobStatus.PENDING and not away.back_at:
            away.leave()
            TranscriptionJob.objects.filter(pk=job.pk).exists()  # the receiver's own query, refused

    transcription_status_changed.connect(receiver, weak=False, dispatch_uid="cut-in-receiver")
    try:
        job = transcribe(speech_path)
        with connection.execute_wrapper(away):
            step = pipeline.advance(job.pk)
    finally:
        transcription_status_changed.disconnect(dispatch_uid="cut-in-receiver")
    assert away.refused >= 1 and step == Step.SUBMITTED
    job.refresh_from_db()
    assert job.status != JobStatus.PENDING and job.remote_id and job.lease_owner == ""
    assert JobEvent.objects.filter(job_id=job.pk, kind="submit").count() == 1  # the call's event survived
    assert _calls(slashml)["submit"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_receiver_that_raises_outside_a_transaction_is_logged_and_returned(caplog) -> None:
    """Signals sent where no transaction is open (jobs on another database): nothing to lose but its own writes."""

    def receiver(sender, **kwargs):  # type: ignore[no-untyped-def]
        raise ValueError("a receiver's own bug")

    transcription_status_changed.connect(receiver, weak=False, dispatch_uid="raises-outside")
    try:
        responses = transcription_status_changed.send_in_transaction(TranscriptionJob, job=None)
    finally:
        transcription_status_changed.disconnect(dispatch_uid="raises-outside")
    assert [type(answer) for connected, answer in responses if connected is receiver] == [ValueError]
    assert "A receiver of transcription_status_changed raised" in caplog.text
