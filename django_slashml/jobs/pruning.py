"""Deleting old job events and the raw answers of finished jobs, in constant memory.

The event log grows by a few rows per step; left alone it outgrows everything else.
:func:`prune_events` deletes events older than a cut-off in windows of primary keys
(``DELETE ... WHERE id BETWEEN a AND b AND at < cutoff``), so no row is ever loaded into
Python and each statement holds its locks briefly, whatever the table's size. The raw
answers (``last_response``) of jobs finished before the cut-off are emptied in batches
of keys too; their transcripts stay. SlashML upload URLs past their expiry are emptied as
well: a presigned URL is a credential, and an expired one serves no job. Run by the retention command and task
(``slashml_purge_audio``, ``django_slashml.purge_audio``) with ``EVENT_RETENTION_DAYS``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Max, Min
from django.utils import timezone

from django_slashml.conf import slashml_settings
from django_slashml.models import TERMINAL_STATUSES, AudioUpload, JobEvent, TranscriptionJob

logger = logging.getLogger("django_slashml.jobs.pruning")

__all__ = ["PruneReport", "prune_events", "prune_expired_events"]


@dataclass(frozen=True)
class PruneReport:
    cutoff: datetime
    events_deleted: int
    answers_cleared: int
    urls_cleared: int = 0

    def summary(self) -> str:
        text = (
            f"Deleted {self.events_deleted} job event(s) from before {self.cutoff:%Y-%m-%d %H:%M} and cleared "
            f"the raw answers of {self.answers_cleared} job(s) finished before then."
        )
        if self.urls_cleared:
            text += f" Cleared the expired SlashML upload URLs of {self.urls_cleared} upload(s)."
        return text


def _delete_events(cutoff: datetime, batch: int) -> int:
    old = JobEvent.objects.filter(at__lt=cutoff)
    bounds = old.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return 0
    deleted = 0
    start: int = bounds["low"]
    while start <= bounds["high"]:
        # JobEvent has no dependants, so Django deletes with one DELETE and loads nothing.
        count, _ = old.filter(pk__gte=start, pk__lt=start + batch).delete()
        deleted += count
        start += batch
    return deleted


def _clear_answers(cutoff: datetime, batch: int) -> int:
    finished = TranscriptionJob.objects.filter(
        status__in=TERMINAL_STATUSES, updated_at__lt=cutoff, last_response__isnull=False
    )
    cleared = 0
    last: Any = None
    while True:
        # Keyset paging: each batch starts after the last key, so no batch rescans cleared rows.
        page = finished.filter(pk__gt=last) if last is not None else finished
        keys = list(page.order_by("pk").values_list("pk", flat=True)[:batch])
        if not keys:
            return cleared
        last = keys[-1]
        # A plain UPDATE: updated_at keeps saying when the job last changed.
        cleared += TranscriptionJob.objects.filter(pk__in=keys, last_response__isnull=False).update(last_response=None)


def _clear_expired_urls(now: datetime, batch: int) -> int:
    expired = AudioUpload.objects.filter(remote_expires_at__lte=now).exclude(remote_url="")
    cleared = 0
    while True:
        keys = list(expired.order_by("pk").values_list("pk", flat=True)[:batch])
        if not keys:
            return cleared
        # The same condition again: a job that uploaded anew meanwhile keeps its fresh URL.
        cleared += expired.filter(pk__in=keys).update(remote_url="", remote_expires_at=None)


def prune_events(older_than: timedelta, *, now: datetime | None = None, batch: int | None = None) -> PruneReport:
    """Delete events older than ``older_than``, the raw answers of jobs finished before then, expired upload URLs."""
    now = now or timezone.now()
    cutoff = now - older_than
    size = max(1, int(batch or slashml_settings.PRUNE_BATCH_SIZE))
    report = PruneReport(
        cutoff, _delete_events(cutoff, size), _clear_answers(cutoff, size), _clear_expired_urls(now, size)
    )
    if report.events_deleted or report.answers_cleared or report.urls_cleared:
        logger.info("%s", report.summary())
    return report


def prune_expired_events() -> PruneReport | None:
    """Prune with ``SLASHML['EVENT_RETENTION_DAYS']``; None when it is not set (events kept forever)."""
    days = slashml_settings.EVENT_RETENTION_DAYS
    if days is None:
        return None
    return prune_events(timedelta(days=float(days)))
