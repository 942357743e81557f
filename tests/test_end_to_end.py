"""The whole pipeline with a real Celery worker (not eager mode) and the sandbox over HTTP.

These run in both tiers: SQLite + in-memory transport by default, PostgreSQL +
Redis in the service tier.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import transaction
from kombu.exceptions import OperationalError

from django_slashml import transcribe
from django_slashml.jobs import actions as job_actions
from django_slashml.jobs import dispatch, sweeper
from django_slashml.models import JobStatus, TranscriptionJob
from django_slashml.testing import sandbox_settings
from tests.celery_app import app as celery_app

from .conftest import SPEECH_SCRIPT
from .helpers import broker_down, wait_until

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def celery_worker() -> Iterator[Any]:
    with start_worker(
        celery_app,
        pool="threads",
        concurrency=2,
        perform_ping_check=False,
        loglevel="WARNING",
        shutdown_timeout=10,
    ) as worker:
        yield worker


def finished(job: TranscriptionJob) -> bool:
    job.refresh_from_db()
    return job.is_terminal


def test_transcribe_completes_through_a_real_worker(slashml, celery_worker, speech_path, signal_log) -> None:
    job = transcribe(speech_path, metadata={"ticket": 42})
    wait_until(lambda: finished(job), timeout=60)
    assert job.status == JobStatus.COMPLETED, job.error_message
    assert job.text.split() == SPEECH_SCRIPT
    assert len(job.words) == len(SPEECH_SCRIPT)
    assert job.metadata == {"ticket": 42}
    completed = [kw["job"].pk for name, kw in signal_log if name == "transcription_completed"]
    assert completed == [job.pk]
    changes = [
        (kw["old_status"], kw["new_status"]) for name, kw in signal_log if name == "transcription_status_changed"
    ]
    assert changes[0][0] == "PENDING" and changes[-1] == (changes[-1][0], "COMPLETED")
    assert len(changes) == len(set(changes)), "each transition is announced once"


def test_messages_are_sent_only_after_the_transaction_commits(slashml, speech_path, monkeypatch) -> None:
    sent: list[tuple[Any, str]] = []
    # Patch stays: a spy, not an outage; it records when a message is sent, relative to the commit.
    monkeypatch.setattr(dispatch, "dispatch", lambda job_id, status, countdown=None: sent.append((job_id, status)))
    with transaction.atomic():
        rolled_back = transcribe(speech_path)
        assert sent == []
        transaction.set_rollback(True)
    assert sent == [] and not TranscriptionJob.objects.filter(pk=rolled_back.pk).exists()
    with transaction.atomic():
        job = transcribe(speech_path)
        assert sent == []
    assert sent == [(job.pk, JobStatus.PENDING)]


def test_the_sweeper_recovers_a_job_whose_message_was_lost(
    settings, sandbox, slashml, celery_worker, speech_path, caplog
) -> None:
    settings.SLASHML = sandbox_settings(sandbox, SWEEP_GRACE=0)
    with broker_down(), caplog.at_level(logging.WARNING, logger="django_slashml.jobs.dispatch"):
        job = transcribe(speech_path)  # the commit-time message cannot be published
        time.sleep(0.5)  # time enough for a worker to act, had a message got through
    assert any(isinstance(record.exc_info[1], OperationalError) for record in caplog.records if record.exc_info)
    job.refresh_from_db()
    assert job.status == JobStatus.PENDING and slashml.stats()["calls"].get("submit", 0) == 0
    assert sweeper.sweep() == 1  # the broker is back
    wait_until(lambda: finished(job), timeout=60)
    assert job.status == JobStatus.COMPLETED


def test_duplicate_messages_make_one_job_and_one_signal(slashml, celery_worker, speech_path, signal_log) -> None:
    job = transcribe(speech_path)
    for _ in range(6):  # redeliveries, a sweeper and a nervous admin, all at once
        dispatch.dispatch(job.pk, JobStatus.PENDING)
    wait_until(lambda: finished(job), timeout=60)
    assert job.status == JobStatus.COMPLETED
    stats = slashml.stats()
    assert stats["calls"]["submit"] == 1
    assert stats["calls"]["upload"] == 1
    assert [name for name, _ in signal_log].count("transcription_completed") == 1


def test_retry_runs_a_failed_job_again(slashml, celery_worker, speech_path, signal_log) -> None:
    slashml.set_faults(job_error_rate=1.0)
    job = transcribe(speech_path)
    wait_until(lambda: finished(job), timeout=60)
    assert job.status == JobStatus.ERROR
    slashml.set_faults(job_error_rate=0.0)
    job_actions.retry(job)
    wait_until(lambda: finished(job), timeout=60)
    assert job.status == JobStatus.COMPLETED and job.error_message == ""
    names = [name for name, _ in signal_log]
    assert names.count("transcription_failed") == 1 and names.count("transcription_completed") == 1
