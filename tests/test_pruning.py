"""Retention of the event log: old events and finished jobs' raw answers go, in constant memory (issue 20)."""

from __future__ import annotations

import io
import tracemalloc
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from django_slashml.jobs.pruning import prune_events
from django_slashml.models import EventKind, JobEvent, JobStatus, TranscriptionJob
from django_slashml.tasks import purge_audio as retention_task

pytestmark = pytest.mark.django_db

MILLION = 1_000_000


def make_job(status: str = JobStatus.COMPLETED, *, days_ago: float = 0) -> TranscriptionJob:
    job = TranscriptionJob.objects.create(
        service_provider="assembly", status=status, audio_url="https://example.com/a.wav"
    )
    TranscriptionJob.objects.filter(pk=job.pk).update(
        last_response={"id": "r", "text": "raw answer"}, updated_at=timezone.now() - timedelta(days=days_ago)
    )
    return job


def event(job: TranscriptionJob, days_ago: float) -> JobEvent:
    return JobEvent(job=job, kind=EventKind.STATUS, at=timezone.now() - timedelta(days=days_ago), answer={"a": 1})


def test_old_events_and_old_raw_answers_go_and_the_rest_stays() -> None:
    old_done, new_done = make_job(days_ago=40), make_job(days_ago=1)
    running = make_job(JobStatus.IN_PROGRESS, days_ago=40)
    JobEvent.objects.bulk_create([event(old_done, 40), event(old_done, 31), event(new_done, 1), event(running, 29)])
    report = prune_events(timedelta(days=30), batch=1)
    assert (report.events_deleted, report.answers_cleared) == (2, 1)
    assert sorted(JobEvent.objects.values_list("job_id", flat=True)) == sorted([new_done.pk, running.pk])
    answers = dict(TranscriptionJob.objects.values_list("pk", "last_response"))
    assert answers[old_done.pk] is None
    assert answers[new_done.pk] and answers[running.pk], "a running job's answer and a recent one are kept"
    old_done.refresh_from_db()
    assert old_done.text == "" and old_done.status == JobStatus.COMPLETED  # the job itself stays


def test_the_retention_command_and_task_prune_with_the_setting(settings) -> None:
    settings.SLASHML = {**getattr(settings, "SLASHML", {}), "EVENT_RETENTION_DAYS": 30}
    job = make_job(days_ago=40)
    JobEvent.objects.bulk_create([event(job, 40), event(job, 1)])
    out = io.StringIO()
    call_command("slashml_purge_audio", stdout=out)
    assert "Deleted 1 job event(s)" in out.getvalue() and "Audio kept" in out.getvalue()
    assert JobEvent.objects.count() == 1
    JobEvent.objects.bulk_create([event(job, 40)])
    retention_task()
    assert JobEvent.objects.count() == 1
    call_command("slashml_purge_audio", "--events-older-than", "0", stdout=out)
    assert JobEvent.objects.count() == 0
    settings.SLASHML = {**settings.SLASHML, "EVENT_RETENTION_DAYS": None}
    JobEvent.objects.bulk_create([event(job, 400)])
    retention_task()
    assert JobEvent.objects.count() == 1, "None keeps events forever"


def _insert_events(job: TranscriptionJob, count: int, *, days_ago: float) -> None:
    """``count`` events straight into the table: generate_series on PostgreSQL, executemany elsewhere."""
    table = JobEvent._meta.db_table
    at = timezone.now() - timedelta(days=days_ago)
    columns = "job_id, kind, at, attempt, worker, http_method, endpoint, remote_status, detail, old_status, new_status"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT %s, 'status', %s, 1, 'w:1', 'GET', 'status', "  # noqa: S608
                "'IN_PROGRESS', '', '', '' FROM generate_series(1, %s)",
                [job.pk, at, count],
            )
            return
        job_id = JobEvent._meta.get_field("job").get_db_prep_value(job.pk, connection)
        row = (
            job_id,
            "status",
            connection.ops.adapt_datetimefield_value(at),
            1,
            "w:1",
            "GET",
            "status",
            "IN_PROGRESS",
            "",
            "",
            "",
        )
        marks = ", ".join(["%s"] * len(row))
        sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608
        chunk = [row] * 50_000
        for _ in range(count // len(chunk)):
            cursor.executemany(sql, chunk)


@pytest.mark.slow
@pytest.mark.services
def test_a_million_events_are_pruned_in_constant_memory() -> None:
    job = make_job(days_ago=40)
    _insert_events(job, MILLION, days_ago=40)
    recent = JobEvent.objects.bulk_create([event(job, 1) for _ in range(10)])
    assert JobEvent.objects.count() == MILLION + 10
    tracemalloc.start()
    try:
        report = prune_events(timedelta(days=30), batch=20_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.events_deleted == MILLION
    assert sorted(JobEvent.objects.values_list("pk", flat=True)) == sorted(event.pk for event in recent)
    # One loaded row would cost a few hundred bytes, a million of them hundreds of MB; pruning loads none.
    assert peak < 2 * 1024**2, f"peak Python memory while pruning: {peak / 1024:.0f} KiB"


def test_raw_answers_are_cleared_in_keyset_batches_that_never_rescan_cleared_rows() -> None:
    from django.test.utils import CaptureQueriesContext

    for _ in range(5):
        make_job(days_ago=40)
    # In the database's order: MariaDB's native UUID type sorts otherwise than Python does.
    jobs = list(TranscriptionJob.objects.order_by("pk").values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as ctx:
        report = prune_events(timedelta(days=30), batch=2)
    assert report.answers_cleared == 5
    table = TranscriptionJob._meta.db_table
    selects = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("SELECT") and table in q["sql"]]
    selects = [sql for sql in selects if "last_response" in sql]
    assert len(selects) == 4, selects  # 2 + 2 + 1 rows, then the empty page that ends the loop
    after_key = f"{connection.ops.quote_name('id')} >"
    assert after_key not in selects[0]
    for sql, after in zip(selects[1:], [jobs[1], jobs[3], jobs[4]], strict=True):
        assert after_key in sql, "every later batch starts after the last key of the one before"
        assert after.hex in sql or str(after) in sql
    assert not TranscriptionJob.objects.filter(last_response__isnull=False).exists()
