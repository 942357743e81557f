"""Sending messages for jobs, on Celery or Django's task framework (:mod:`.queues`).

Messages are only nudges: losing one is fine. The job row already says what is due
and when; a message that cannot be published (broker or database down) is logged and
left to the sweeper. Countdowns are kept short: a poll due later than ``MAX_COUNTDOWN``
gets no message at all, and the sweeper sends one when the poll is due.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from django_slashml.conf import slashml_settings
from django_slashml.jobs import queues
from django_slashml.logs import job_logger
from django_slashml.models import JobStatus, TranscriptionJob

logger = job_logger("django_slashml.jobs.dispatch")

#: The names of the job steps: Celery's (:mod:`django_slashml.tasks`); the task framework's
#: tasks (:mod:`django_slashml.task_framework`) carry the part after the dot.
START_TASK = "django_slashml.start_job"
POLL_TASK = "django_slashml.poll_job"
JOB_TASK_NAMES = (START_TASK, POLL_TASK)


def dispatch(job_id: UUID | str, status: str, *, countdown: float | None = None) -> bool:
    """Send the task for a job's next step. Returns False if nothing was sent (the sweeper will)."""
    name = START_TASK if status == JobStatus.PENDING else POLL_TASK
    try:
        return queues.send(name, job_id, countdown=countdown)
    except Exception:
        logger.warning(
            "Could not publish %s for job %s; the sweeper will pick it up.",
            name,
            job_id,
            exc_info=True,
            extra={"slashml_job_id": job_id},
        )
        return False


def nudge_when_due(job_id: UUID | str, status: str, due_at: datetime | None) -> bool:
    """Send a countdown message for a step due at ``due_at``, unless that is too far off."""
    if due_at is None:
        return False
    countdown = max(0.0, (due_at - timezone.now()).total_seconds())
    if countdown > float(slashml_settings.MAX_COUNTDOWN):
        return False
    return dispatch(job_id, status, countdown=countdown)


def dispatch_on_commit(job: TranscriptionJob) -> None:
    """Nudge a worker for ``job`` once the current transaction commits.

    The message is named after the status ``job`` holds at commit, without reading the row
    again: both job tasks run whatever step the row says is due, so a job that moved on
    (or was deleted) before the message arrives turns it into a no-op, and the create saves
    a statement.
    """
    job_id = job.pk

    def send() -> None:
        dispatch(job_id, job.status)

    transaction.on_commit(send, robust=True)
