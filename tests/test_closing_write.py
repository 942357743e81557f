"""The write that ends a step: a conditional UPDATE that wins when it returns 1, and the step's events with it.

Run on every database of the tiers (SQLite, PostgreSQL, MariaDB): the rows left behind must be the same.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import router, transaction

from django_slashml import transcribe
from django_slashml.jobs import closing, pipeline
from django_slashml.jobs.events import StepLog
from django_slashml.jobs.pipeline import Step
from django_slashml.models import AudioUpload, EventKind, JobEvent, JobStatus, TranscriptionJob

from .helpers import lose_the_lease_once_claimed

pytestmark = [pytest.mark.django_db, pytest.mark.services]

FIELDS = [field.name for field in JobEvent._meta.concrete_fields if not field.primary_key]


def _event(job: TranscriptionJob, **fields: Any) -> JobEvent:
    return JobEvent(
        job_id=job.pk,
        kind=EventKind.STATUS,
        at=datetime(2026, 12, 6, 18, 30, 1, 123456, tzinfo=UTC),
        attempt=3,
        http_method="GET",
        endpoint="status",
        http_status=200,
        remote_status="IN_PROGRESS",
        duration_ms=12.345,
        backoff_seconds=None,
        detail="ünïcode and 'quotes' and \"doubles\"",
        answer={"id": "r1", "words": [{"text": "a", "start": 0, "end": 10, "confidence": 0.5}], "text": None},
        **fields,
    )


def _bare_event(job: TranscriptionJob) -> JobEvent:
    """Every nullable column empty: NULLs must stay NULLs, not JSON nulls or zeros."""
    return JobEvent(job_id=job.pk, kind=EventKind.TRANSIENT_ERROR, at=datetime(2026, 12, 6, tzinfo=UTC))


def _stored(event_id: int) -> dict[str, Any]:
    return JobEvent.objects.filter(pk=event_id).values(*FIELDS).get()


def test_events_written_with_the_update_are_the_rows_bulk_create_writes(slashml) -> None:
    job = transcribe("https://example.com/a.wav")
    references = [_event(job), _bare_event(job)]
    JobEvent.objects.bulk_create(references)
    expected = [_stored(reference.pk) for reference in references]
    step = StepLog.of(job)
    step.pending += [_event(job), _bare_event(job)]
    with transaction.atomic():
        won = closing.write(TranscriptionJob.objects.filter(pk=job.pk), {"metadata": {"seen": True}}, step=step)
    assert won
    written = JobEvent.objects.exclude(pk__in=[reference.pk for reference in references]).order_by("pk")
    assert [_stored(event.pk) for event in written] == expected
    assert expected[0]["at"].microsecond == 123456 and expected[0]["answer"]["text"] is None
    assert expected[1]["answer"] is None and expected[1]["http_status"] is None
    assert step.pending == [], "taken: a later write of the same step does not write them again"


def test_an_update_that_finds_no_row_writes_no_event_and_keeps_them_for_a_later_try(slashml) -> None:
    job = transcribe("https://example.com/a.wav")
    step = StepLog.of(job)
    step.note(EventKind.REUSE, detail="kept")
    with transaction.atomic():
        won = closing.write(
            TranscriptionJob.objects.filter(pk=job.pk, lease_owner="nobody"), {"metadata": {"seen": True}}, step=step
        )
    assert not won
    assert not JobEvent.objects.exists()
    job.refresh_from_db()
    assert job.metadata != {"seen": True}
    assert len(step.pending) == 1


def test_a_lone_uploads_url_lands_with_the_submit_and_its_event(slashml, speech_path) -> None:
    job = transcribe(speech_path)
    assert pipeline.advance(job.pk) == Step.SUBMITTED
    upload = AudioUpload.objects.get(pk=job.upload_id)
    assert "/upload/" in upload.remote_url and upload.remote_expires_at is not None
    kinds = set(JobEvent.objects.filter(job=job).values_list("kind", flat=True))
    assert {EventKind.UPLOAD, EventKind.SUBMIT, EventKind.TRANSITION} <= kinds
    job.refresh_from_db()
    assert job.submit_attempts == 1


def test_a_step_that_loses_its_lease_keeps_slashmls_copy_of_the_upload(slashml, speech_path, monkeypatch) -> None:
    """The upload happened and SlashML holds the file: the next attempt submits it without sending it again."""
    job = transcribe(speech_path)
    lose_the_lease_once_claimed(monkeypatch)
    assert pipeline.advance(job.pk) == Step.LOST_LEASE
    assert AudioUpload.objects.get(pk=job.upload_id).remote_url
    assert not JobEvent.objects.filter(job=job).exists()
    job.refresh_from_db()
    assert job.status == JobStatus.PENDING


class RecordsWrites:
    """A router that sends everything to the default database and notes which models were asked about."""

    def __init__(self) -> None:
        self.asked: list[Any] = []

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return None

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        self.asked.append(model)
        return None


def test_the_claim_and_the_reuse_lookup_run_where_the_router_writes_jobs(slashml, speech_path, monkeypatch) -> None:
    """A replica may lag: the claim, the read after it and the reuse lookup ask for the jobs' write database."""
    from django_slashml.jobs import reuse

    job = transcribe(speech_path)
    recorder = RecordsWrites()
    monkeypatch.setattr(router, "routers", [recorder])
    lease = pipeline.claim(job.pk)
    assert lease is not None and lease.job is not None and lease.job._state.db == "default"
    assert recorder.asked.count(TranscriptionJob) == 1
    assert reuse.shared_work(lease.job).earlier is None
    assert recorder.asked.count(TranscriptionJob) == 2


def test_an_upload_deleted_since_the_job_was_made_reads_as_none(slashml, speech_path) -> None:
    """The claim reads the job with its upload: the pipeline then fails the job with a message about its audio."""
    job = transcribe(speech_path)
    AudioUpload.objects.filter(pk=job.upload_id).delete()  # the job's row is set to no upload
    lease = pipeline.claim(job.pk)
    assert lease is not None and lease.job is not None
    assert lease.job.upload is None


def test_a_persons_transition_records_the_rows_own_remote_status(slashml) -> None:
    """Without a lease the object in hand may be stale: the event is written once the row is read back."""
    from django_slashml.jobs import actions

    job = transcribe("https://example.com/a.wav")
    TranscriptionJob.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED, remote_status="QUEUED")
    job.refresh_from_db()
    TranscriptionJob.objects.filter(pk=job.pk).update(status=JobStatus.IN_PROGRESS, remote_status="IN_PROGRESS")
    actions.cancel(job)  # still believes QUEUED
    event = JobEvent.objects.get(job=job, new_status=JobStatus.CANCELLED)
    assert (event.old_status, event.remote_status) == (JobStatus.IN_PROGRESS, "IN_PROGRESS")
