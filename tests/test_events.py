"""The job event log: every step's story, written with its change (issue 20)."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from django.db import DataError, IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from django_slashml import transcribe
from django_slashml.jobs import actions, heartbeat, pipeline, sweeper
from django_slashml.jobs.events import StepLog
from django_slashml.jobs.pipeline import Step
from django_slashml.models import EventKind, JobEvent, JobStatus, TranscriptionJob
from django_slashml.testing import fake_settings, fake_slashml, sandbox_settings
from django_slashml.transcripts.review import review

from .helpers import drive, lose_the_lease_once_claimed, make_due, wait_until

#: Also on PostgreSQL in the services tier and on MariaDB in its own.
pytestmark = [pytest.mark.django_db, pytest.mark.services]


def kinds(job: TranscriptionJob) -> list[str]:
    return list(job.events.order_by("at", "pk").values_list("kind", flat=True))


def test_a_job_tells_its_story_from_upload_to_one_completed_event(slashml, speech_path) -> None:
    job = drive(transcribe(speech_path))
    assert job.status == JobStatus.COMPLETED
    story = kinds(job)
    assert story[:3] == [EventKind.UPLOAD, EventKind.SUBMIT, EventKind.TRANSITION]
    assert story[-2:] == [EventKind.STATUS, EventKind.COMPLETED]
    assert story.count(EventKind.COMPLETED) == 1
    polls = slashml.stats()["polls_per_job"][job.remote_id]
    assert story.count(EventKind.STATUS) == polls == job.poll_count
    for call in job.events.filter(kind__in=[EventKind.UPLOAD, EventKind.SUBMIT, EventKind.STATUS]):
        assert call.http_status == 200 and call.duration_ms > 0
        assert call.worker.endswith(f":{os.getpid()}") and call.attempt == 1
        assert call.answer is not None
    last_status = job.events.filter(kind=EventKind.STATUS).last()
    assert last_status.remote_status == JobStatus.COMPLETED
    assert last_status.answer["id"] == job.remote_id
    completed = job.events.get(kind=EventKind.COMPLETED)
    assert completed.old_status in (JobStatus.QUEUED, JobStatus.IN_PROGRESS)
    assert completed.new_status == JobStatus.COMPLETED


def test_transient_errors_keep_every_answer_and_the_backoff(slashml, speech_path) -> None:
    slashml.set_faults(script=[{"endpoint": "submit", "fault": "500", "count": 2}])
    job = drive(transcribe(speech_path))
    assert job.status == JobStatus.COMPLETED
    submits = list(job.events.filter(kind=EventKind.SUBMIT).order_by("at", "pk"))
    assert [event.http_status for event in submits] == [500, 500, 200]
    assert "500" in submits[0].detail and "Internal Server Error" in json.dumps(submits[0].answer)
    errors = list(job.events.filter(kind=EventKind.TRANSIENT_ERROR).order_by("at", "pk"))
    assert [event.attempt for event in errors] == [1, 2]
    assert all(event.backoff_seconds and event.backoff_seconds > 0 for event in errors)
    assert submits[1].attempt == 2 and submits[2].attempt == 3


def test_a_job_that_ends_in_error_after_many_attempts_keeps_every_answer(settings, slashml, sandbox, speech_path):
    settings.SLASHML = sandbox_settings(sandbox, MAX_TRANSIENT_FAILURES=4, RETRY_BASE_DELAY=0.01, RETRY_MAX_DELAY=0.02)
    slashml.set_faults(script=[{"endpoint": "submit", "fault": "500", "count": 10}])
    job = drive(transcribe(speech_path))
    assert job.status == JobStatus.ERROR
    assert job.events.filter(kind=EventKind.SUBMIT, http_status=500).count() == 4
    assert job.events.filter(kind=EventKind.TRANSIENT_ERROR).count() == 4
    failed = job.events.get(kind=EventKind.TRANSITION, new_status=JobStatus.ERROR)
    assert failed.detail == job.error_message
    assert job.events.filter(kind=EventKind.COMPLETED).count() == 0


def test_answers_are_redacted_and_cut_to_the_configured_size(settings, slashml, sandbox, speech_path) -> None:
    settings.SLASHML = sandbox_settings(sandbox, EVENT_ANSWER_MAX_CHARS=200)
    slashml.set_quirks(echo_credentials=True)
    job = drive(transcribe(speech_path))
    key = settings.SLASHML["API_KEY"]
    stored = json.dumps(list(job.events.values_list("answer", "detail")))
    assert key not in stored
    final = job.events.filter(kind=EventKind.STATUS).last().answer
    assert final["truncated"] is True and len(final["head"]) == 200 and final["chars"] > 200


def test_an_event_never_commits_without_its_change(slashml, speech_path, monkeypatch) -> None:
    job = transcribe(speech_path)
    # The table refuses every event of the step: a CHECK (IntegrityError), or MySQL's unsigned column (DataError).
    monkeypatch.setattr(StepLog, "of", classmethod(lambda cls, job: cls(job=job, attempt=-1)))
    with pytest.raises((IntegrityError, DataError)):
        pipeline.advance(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.PENDING and job.remote_id == ""  # the transition rolled back with it
    assert not JobEvent.objects.exists()


def test_a_step_that_lost_its_lease_writes_no_event(slashml, speech_path, monkeypatch) -> None:
    job = drive(transcribe(speech_path))
    TranscriptionJob.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED, next_poll_at=None)
    make_due(job)
    before = job.events.count()
    lose_the_lease_once_claimed(monkeypatch)
    assert pipeline.advance(job.pk) == Step.LOST_LEASE
    assert job.events.count() == before


def test_people_and_the_sweeper_leave_events_too(slashml, speech_path, admin_user) -> None:
    job = drive(transcribe(speech_path))
    review(job, reviewer=admin_user, state="approved")
    assert job.events.filter(kind=EventKind.REVIEW, detail="approved").count() == 1
    actions.retry(job)
    retried = job.events.filter(kind=EventKind.TRANSITION).last()
    assert (retried.old_status, retried.new_status) == (JobStatus.COMPLETED, JobStatus.PENDING)
    make_due(job)
    TranscriptionJob.objects.filter(pk=job.pk).update(next_poll_at="2000-01-01T00:00:00Z")
    assert sweeper.sweep() == 1
    assert job.events.filter(kind=EventKind.REDISPATCH).count() == 1
    actions.cancel(job)
    assert job.events.filter(kind=EventKind.TRANSITION, new_status=JobStatus.CANCELLED).count() == 1


def test_a_reused_transcript_is_an_event(slashml, speech_path) -> None:
    first = drive(transcribe(speech_path))
    second = drive(transcribe(speech_path))
    assert second.reused_from_id == first.pk
    assert kinds(second) == [EventKind.REUSE, EventKind.COMPLETED]
    assert str(first.pk) in second.events.get(kind=EventKind.REUSE).detail


def test_turned_off_the_log_writes_nothing(settings, slashml, sandbox, speech_path) -> None:
    settings.SLASHML = sandbox_settings(sandbox, EVENT_LOG=False)
    job = drive(transcribe(speech_path))
    assert job.status == JobStatus.COMPLETED
    assert not JobEvent.objects.exists()


def _statements_per_step(settings: Any, *, log: bool) -> list[int]:
    settings.SLASHML = fake_settings(EVENT_LOG=log)  # Celery not eager: each advance() is one step
    fake_slashml.reset()
    fake_slashml.next_result("hello world", polls=2)
    job = transcribe("https://example.com/a.wav")
    counts = []
    for _ in range(3):  # submit, a status call answering IN_PROGRESS, the one answering COMPLETED
        make_due(job)
        with CaptureQueriesContext(connection) as captured:
            assert pipeline.advance(job.pk) != Step.SKIPPED
        counts.append(len(captured.captured_queries))
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED
    return counts


def test_the_log_costs_one_insert_per_step(settings) -> None:
    """A regression guard, not a goal: every event of a step goes in one bulk INSERT, on every database."""
    without = _statements_per_step(settings, log=False)
    with_log = _statements_per_step(settings, log=True)
    fake_slashml.reset()
    assert [a - b for a, b in zip(with_log, without, strict=True)] == [1] * 3, (with_log, without)


def test_every_log_line_of_a_step_names_its_job(settings, slashml, sandbox, speech_path, caplog) -> None:
    settings.SLASHML = sandbox_settings(sandbox, STATUS_HTTP_RETRIES=1)
    slashml.set_faults(script=[{"endpoint": "submit", "fault": "500"}, {"endpoint": "status", "fault": "drop"}])
    caplog.set_level("DEBUG", logger="django_slashml")
    job = drive(transcribe(speech_path))
    ours = [r for r in caplog.records if r.name.startswith(("django_slashml.jobs", "django_slashml.remote"))]
    messages = [record.getMessage() for record in ours]
    assert any("Retrying SlashML status" in message for message in messages)  # the client's own line
    assert any("transient failure" in message for message in messages)
    for record, message in zip(ours, messages, strict=True):
        assert getattr(record, "slashml_job_id", None) == str(job.pk), message
        assert str(job.pk) in message, message


@pytest.mark.django_db(transaction=True)  # the heartbeat renews from a thread, on a connection of its own
def test_the_lease_heartbeat_names_its_job_when_a_renewal_fails(settings, caplog) -> None:
    settings.SLASHML = fake_settings(LEASE_SECONDS=0.3)
    job = TranscriptionJob.objects.create(audio_url="https://example.com/a.wav", lease_owner="this worker")
    renewals: list[object] = []

    def renewed(until: object) -> None:  # what the step does with each renewal fails, as a locked row would
        renewals.append(until)
        raise RuntimeError("database is locked")

    caplog.set_level("WARNING", logger="django_slashml.jobs.heartbeat")
    with heartbeat.renewing(job.pk, "this worker", renewed):
        wait_until(lambda: len(renewals) >= 2, timeout=10)
    (record, *_) = [r for r in caplog.records if r.name == "django_slashml.jobs.heartbeat"]
    assert getattr(record, "slashml_job_id", None) == str(job.pk)
    assert str(job.pk) in record.getMessage()
