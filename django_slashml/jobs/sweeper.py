"""Finding jobs whose message was lost, and sending them another.

Run by the ``django_slashml.sweep`` beat task or the ``slashml_sweep`` command.
A job is swept when its next step is overdue by more than ``SWEEP_GRACE``
seconds and no live worker holds its lease: its message was never published
(broker down at commit), was lost with a killed worker, or the workers are behind.
Rows are claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` so concurrent
sweepers split the work instead of sending twice.

It also schedules ahead: a step set further off than ``MAX_COUNTDOWN`` got no
countdown message (long ETAs sit in worker memory), so each sweep sends one, with
the right countdown, for such steps that fall due before the next sweep. Without
that, the first poll of a long file would wait up to a sweep interval past its time.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from django_slashml.conf import slashml_settings
from django_slashml.jobs import events
from django_slashml.jobs.dispatch import dispatch
from django_slashml.models import EventKind, TranscriptionJob

logger = logging.getLogger("django_slashml.jobs.sweeper")


def overdue_jobs(*, at: datetime | None = None):  # type: ignore[no-untyped-def]
    now = at or timezone.now()
    cutoff = now - timedelta(seconds=slashml_settings.SWEEP_GRACE)
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


def sweep(*, at: datetime | None = None, limit: int | None = None) -> int:
    """Re-dispatch overdue jobs and schedule soon-due unsent steps; returns how many messages were published."""
    batch = int(limit or slashml_settings.SWEEP_BATCH_SIZE)
    now = at or timezone.now()
    sent = 0
    with transaction.atomic():
        rows = list(
            overdue_jobs(at=now)
            .order_by("next_poll_at")
            .select_for_update(skip_locked=True)
            .values_list("pk", "status")[:batch]
        )
        resent = [job_id for job_id, status in rows if dispatch(job_id, status)]
        sent += len(resent)
        events.record(resent, EventKind.REDISPATCH, detail="overdue: its message was lost or the workers are behind")
        ahead = list(
            unsent_soon(at=now)
            .order_by("next_poll_at")
            .select_for_update(skip_locked=True)
            .values_list("pk", "status", "next_poll_at")[: max(0, batch - len(rows))]
        )
        for job_id, status, due in ahead:
            if dispatch(job_id, status, countdown=(due - now).total_seconds()):
                sent += 1
    if rows or ahead:
        logger.info(
            "Sweep: %d overdue job(s), %d step(s) scheduled ahead, %d message(s) published", len(rows), len(ahead), sent
        )
    return sent
