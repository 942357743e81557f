"""Sending Celery messages for jobs. Messages are only nudges: losing one is fine.

The job row already says what is due and when; a message that cannot be
published (broker down) is logged and left to the sweeper. Countdowns are kept
short: a poll due later than ``MAX_COUNTDOWN`` gets no message at all, and the
sweeper sends one when the poll is due.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from .conf import slashml_settings
from .models import JobStatus, TranscriptionJob

logger = logging.getLogger("django_slashml.dispatch")


def dispatch(job_id: UUID | str, status: str, *, countdown: float | None = None) -> bool:
    """Publish the task for a job's next step. Returns False if the broker refused it."""
    from .tasks import poll_job, start_job

    task = start_job if status == JobStatus.PENDING else poll_job
    s = slashml_settings
    options: dict[str, Any] = {
        "time_limit": s.TASK_TIME_LIMIT,
        "soft_time_limit": s.TASK_SOFT_TIME_LIMIT,
    }
    if countdown and countdown > 0:
        options["countdown"] = countdown
    if s.TASK_QUEUE:
        options["queue"] = s.TASK_QUEUE
    try:
        task.apply_async(args=[str(job_id)], **options)
    except Exception:
        logger.warning(
            "Could not publish %s for job %s; the sweeper will pick it up.", task.name, job_id, exc_info=True
        )
        return False
    return True


def nudge_when_due(job_id: UUID | str, status: str, due_at: datetime | None) -> bool:
    """Send a countdown message for a step due at ``due_at``, unless that is too far off."""
    if due_at is None:
        return False
    countdown = max(0.0, (due_at - timezone.now()).total_seconds())
    if countdown > float(slashml_settings.MAX_COUNTDOWN):
        return False
    return dispatch(job_id, status, countdown=countdown)


def dispatch_on_commit(job: TranscriptionJob) -> None:
    """Nudge a worker for ``job`` once the current transaction commits."""
    job_id = job.pk

    def send() -> None:
        status = TranscriptionJob.objects.filter(pk=job_id).values_list("status", flat=True).first()
        if status is not None:
            dispatch(job_id, status)

    transaction.on_commit(send, robust=True)
