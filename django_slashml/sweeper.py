"""Finding jobs whose message was lost, and sending them another.

Run by the ``django_slashml.sweep`` beat task or the ``slashml_sweep`` command.
A job is swept when its next step is overdue by more than ``SWEEP_GRACE``
seconds and no live worker holds its lease: its message was never published
(broker down at commit), was lost with a killed worker, or the workers are behind.
Rows are claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` so concurrent
sweepers split the work instead of sending twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from .conf import slashml_settings
from .dispatch import dispatch
from .models import TranscriptionJob

logger = logging.getLogger("django_slashml.sweeper")


def overdue_jobs(*, at: datetime | None = None):  # type: ignore[no-untyped-def]
    now = at or timezone.now()
    cutoff = now - timedelta(seconds=slashml_settings.SWEEP_GRACE)
    return TranscriptionJob.objects.due(at=now).filter(next_poll_at__lte=cutoff)


def sweep(*, at: datetime | None = None, limit: int | None = None) -> int:
    """Re-dispatch overdue jobs; returns how many messages were published."""
    batch = int(limit or slashml_settings.SWEEP_BATCH_SIZE)
    sent = 0
    with transaction.atomic():
        rows = list(
            overdue_jobs(at=at)
            .order_by("next_poll_at")
            .select_for_update(skip_locked=True)
            .values_list("pk", "status")[:batch]
        )
        for job_id, status in rows:
            if dispatch(job_id, status):
                sent += 1
    if rows:
        logger.info("Sweep: %d overdue job(s), %d message(s) published", len(rows), sent)
    return sent
