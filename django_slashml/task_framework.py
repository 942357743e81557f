"""The job tasks on Django's task framework: ``django.tasks``, or the ``django-tasks`` backport.

The same steps as :mod:`django_slashml.tasks` (Celery's): each runs whatever step the job's
row says is due, so a repeated or late task is a no-op. The framework neither retries nor
recovers a task whose worker died; the job row's lease and the sweeper do that here.
Imported only where the task framework is chosen (``SLASHML["QUEUE"]``), by the worker
that runs a task and by :mod:`django_slashml.jobs.queues` when it sends one.

Without Celery beat, run the sweeper with ``manage.py slashml_sweep --loop`` or from cron
(docs/task-framework.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django_slashml.jobs import pipeline, pruning, queues, retention, sweeper

__all__ = ["poll_job", "purge_audio", "start_job", "sweep"]

_framework = queues.framework()
if _framework is None:  # pragma: no cover - the checks say so before anything imports this
    raise ImportError('Django\'s task framework is not installed: pip install "django-slashml[tasks]".')
task: Callable[[Callable[..., Any]], Any] = _framework.task


@task
def start_job(job_id: str) -> str:
    """Run the job's due step (:func:`~django_slashml.jobs.pipeline.advance`); sent for PENDING jobs."""
    return pipeline.advance(job_id)


@task
def poll_job(job_id: str) -> str:
    """Run the job's due step; sent for submitted jobs."""
    return pipeline.advance(job_id)


@task
def sweep() -> int:
    """Send a task for every job whose step is overdue."""
    return sweeper.sweep()


@task
def purge_audio() -> int:
    """Delete stored audio older than ``AUDIO_RETENTION_DAYS`` and events older than ``EVENT_RETENTION_DAYS``."""
    pruning.prune_expired_events()
    report = retention.purge_expired_audio()
    return report.bytes_freed if report else 0
