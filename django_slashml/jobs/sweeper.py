"""Finding jobs whose message was lost, and sending them another.

Run by the ``django_slashml.sweep`` beat task or the ``slashml_sweep`` command (``--loop``
where there is no beat).
A job is swept when its next step is overdue by more than ``SWEEP_GRACE``
seconds and no live worker holds its lease: its message was never published
(broker down at commit), was lost with a killed worker, or the workers are behind.
Rows are claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` so concurrent
sweepers split the work instead of sending twice.

It also schedules ahead: a step set further off than ``MAX_COUNTDOWN`` got no
countdown message (long ETAs sit in worker memory), so each sweep sends one, with
the right countdown, for such steps that fall due before the next sweep. Without
that, the first poll of a long file would wait up to a sweep interval past its time.

On a task backend that cannot defer (``supports_defer`` false) no step due later was
sent at all, so the sweeper sends every step as soon as it is due, with no grace: run
often (``slashml_sweep --loop --interval 2``), it is the due-time poller. On the task
framework it also marks the results killed workers left RUNNING as failed.

A worker whose settings cannot work (no API key, a ``CLIENT_CLASS`` that cannot be imported)
leaves its jobs due, so they are overdue at every sweep; a sweep that finds its own process so
configured says so, once a sweep, naming the setting.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from django_slashml.conf import slashml_settings
from django_slashml.exceptions import ConfigurationError
from django_slashml.jobs import events, queues
from django_slashml.jobs.dispatch import dispatch
from django_slashml.models import EventKind, TranscriptionJob
from django_slashml.remote.client import get_client

logger = logging.getLogger("django_slashml.jobs.sweeper")


def overdue_jobs(*, at: datetime | None = None):  # type: ignore[no-untyped-def]
    now = at or timezone.now()
    grace = slashml_settings.SWEEP_GRACE if queues.backend_can_defer() else 0
    cutoff = now - timedelta(seconds=grace)
    return TranscriptionJob.objects.due(at=now).filter(next_poll_at__lte=cutoff)


def unsent_soon(*, at: datetime | None = None):  # type: ignore[no-untyped-def]
    """Steps due before the next sweep that were set more than ``MAX_COUNTDOWN`` ahead (so got no message).

    Every write of ``next_poll_at`` also writes ``updated_at``, so the gap between them
    is how far ahead the step was set.
    """
    s = slashml_settings
    now = at or timezone.now()
    return (
        TranscriptionJob.objects.active()
        .filter(next_poll_at__gt=now, next_poll_at__lte=now + timedelta(seconds=float(s.SWEEP_INTERVAL)))
        .filter(next_poll_at__gt=F("updated_at") + timedelta(seconds=float(s.MAX_COUNTDOWN)))
    )


def configuration_problem() -> str | None:
    """Why this process's settings cannot reach SlashML, or None: what a worker like it would meet."""
    try:
        get_client()
    except ConfigurationError as exc:
        return str(exc)
    return None


def sweep(*, at: datetime | None = None, limit: int | None = None) -> int:
    """Re-dispatch overdue jobs and schedule soon-due unsent steps; returns how many messages were published."""
    batch = int(limit or slashml_settings.SWEEP_BATCH_SIZE)
    now = at or timezone.now()
    sent = 0
    can_defer = queues.backend_can_defer()
    with transaction.atomic():
        rows = list(
            overdue_jobs(at=now)
            .order_by("next_poll_at")
            .select_for_update(skip_locked=True)
            .values_list("pk", "status", "next_poll_at")[:batch]
        )
        # Where steps are only sent when due, those just due were never sent, not lost.
        late = now - timedelta(seconds=slashml_settings.SWEEP_GRACE)
        resent = [(job_id, due) for job_id, status, due in rows if dispatch(job_id, status)]
        sent += len(resent)
        events.record(
            [job_id for job_id, due in resent if can_defer or due <= late],
            EventKind.REDISPATCH,
            detail="overdue: its message was lost or the workers are behind",
        )
        ahead = list(
            unsent_soon(at=now)
            .order_by("next_poll_at")
            .select_for_update(skip_locked=True)
            .values_list("pk", "status", "next_poll_at")[: max(0, batch - len(rows)) if can_defer else 0]
        )
        for job_id, status, due in ahead:
            if dispatch(job_id, status, countdown=(due - now).total_seconds()):
                sent += 1
    failed = queues.fail_stale_results()
    if failed:
        logger.warning("Sweep: %d task result(s) left RUNNING by stopped workers marked failed", failed)
    problem = configuration_problem() if rows else None
    if problem:
        logger.error(
            "Sweep: %d overdue job(s) sent again, but this process's SLASHML settings cannot work, so "
            "workers set up like it leave them due: %s",
            len(rows),
            problem,
        )
    if rows or ahead:
        logger.info(
            "Sweep: %d overdue job(s), %d step(s) scheduled ahead, %d message(s) published", len(rows), len(ahead), sent
        )
    return sent
