"""SQL statements per job from create to COMPLETED: counted by tests/test_statements.py and by the
throughput benchmark (benchmarks/throughput.py), the same way in both.

Transaction control (BEGIN, COMMIT, savepoints) is left out: SQLite logs it and PostgreSQL's driver
does not. The learned speed is read once per provider per POLL_LEARNING_CACHE_SECONDS per process,
and PostgreSQL's search configuration once per process, so both are warmed first: the count is
the steady state's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_slashml import transcribe
from django_slashml.jobs import pipeline, speed
from django_slashml.jobs.pipeline import Step
from django_slashml.models import JobStatus, TranscriptionJob
from django_slashml.transcripts.search.engines import require_search_config

CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


@dataclass(frozen=True)
class JobStatements:
    """Statements to create the job, for its first step (submit) and for its second (the poll that completes it)."""

    create: int
    submit: int
    poll: int

    @property
    def total(self) -> int:
        return self.create + self.submit + self.poll


def app_statements(captured: CaptureQueriesContext) -> list[str]:
    """The app's own statements: the services tier's signal recorder writes rows of its own."""
    return [
        q["sql"]
        for q in captured.captured_queries
        if not q["sql"].upper().startswith(CONTROL) and "slashml_reliability" not in q["sql"]
    ]


def _expect(got: object, wanted: object) -> None:
    """An assertion that still runs under ``python -O`` (the benchmark imports this module)."""
    if got != wanted:
        raise AssertionError(f"expected {wanted!r}, got {got!r}")


def count_job_statements(audio: object, *, provider: str = "assembly", processing_wait: float = 0.15) -> JobStatements:
    """Create one job for ``audio``, submit it, wait ``processing_wait`` for SlashML, poll it to COMPLETED."""
    speed.learned_rate(provider)
    require_search_config("default")
    # The message sent at commit is part of creating the job: a test's transaction never commits,
    # so its on_commit callbacks are run here, inside the count.
    with CaptureQueriesContext(connection) as create, TestCase.captureOnCommitCallbacks(execute=True):
        job = transcribe(audio, service_provider=provider)
    with CaptureQueriesContext(connection) as submit:
        _expect(pipeline.advance(job.pk), Step.SUBMITTED)
    time.sleep(processing_wait)
    TranscriptionJob.objects.filter(pk=job.pk).update(next_poll_at=timezone.now())
    with CaptureQueriesContext(connection) as poll:
        _expect(pipeline.advance(job.pk), Step.COMPLETED)
    job.refresh_from_db()
    _expect((job.status, job.poll_count), (JobStatus.COMPLETED, 1))
    return JobStatements(len(app_statements(create)), len(app_statements(submit)), len(app_statements(poll)))
