"""Celery tasks: thin, idempotent, keyed by the job's primary key only.

``acks_late`` with ``reject_on_worker_lost`` means a message is acknowledged
only after the task returns, so a killed worker's job is delivered again; the
lease in :mod:`~django_slashml.jobs.pipeline` turns the repeat into a no-op if the
step already ran. Time limits are passed per message by
:mod:`~django_slashml.jobs.dispatch` so no setting is read at import time.

Add the sweeper to the beat schedule to recover lost messages, and optionally the
audio purge (``SLASHML['AUDIO_RETENTION_DAYS']``)::

    CELERY_BEAT_SCHEDULE = {
        "slashml-sweep": {"task": "django_slashml.sweep", "schedule": 10.0},
        "slashml-purge-audio": {"task": "django_slashml.purge_audio", "schedule": 24 * 60 * 60},
    }
"""

from __future__ import annotations

from typing import TypedDict

from celery import shared_task

__all__ = ["poll_job", "purge_audio", "start_job", "sweep"]

from django_slashml.jobs import pipeline, pruning, retention, sweeper
from django_slashml.jobs.dispatch import POLL_TASK, START_TASK


class _JobTaskOptions(TypedDict):
    acks_late: bool
    reject_on_worker_lost: bool
    ignore_result: bool


_JOB_TASK_OPTIONS: _JobTaskOptions = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}


@shared_task(name=START_TASK, **_JOB_TASK_OPTIONS)
def start_job(job_id: str) -> str:
    """Run the job's due step (:func:`~django_slashml.jobs.pipeline.advance`); sent for PENDING jobs.

    Both job tasks run whatever step the job's row says is due, so a message that
    arrives after the job moved on is still right; the two names only let a host
    route or watch submitting and polling apart.
    """
    return pipeline.advance(job_id)


@shared_task(name=POLL_TASK, **_JOB_TASK_OPTIONS)
def poll_job(job_id: str) -> str:
    """Run the job's due step (:func:`~django_slashml.jobs.pipeline.advance`); sent for submitted jobs."""
    return pipeline.advance(job_id)


@shared_task(name="django_slashml.sweep", ignore_result=True)
def sweep() -> int:
    """Send a message for every job whose step is overdue."""
    return sweeper.sweep()


@shared_task(name="django_slashml.purge_audio", ignore_result=True)
def purge_audio() -> int:
    """Delete stored audio older than ``AUDIO_RETENTION_DAYS`` (returns the bytes freed), and job events and
    finished jobs' raw answers older than ``EVENT_RETENTION_DAYS``."""
    pruning.prune_expired_events()
    report = retention.purge_expired_audio()
    return report.bytes_freed if report else 0
