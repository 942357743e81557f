"""Deleting stored audio after a while, while keeping every row and transcript.

Audio is the bulk of what the app stores; transcripts are small. :func:`purge_audio`
deletes the files of uploads older than a cut-off and marks their rows (``file``
emptied, ``purged_at`` set), so the history, the content hash (which lets new jobs
reuse old transcripts) and the jobs with their text and words all remain. Uploads
that an active job still needs are left alone.

Each row is marked by a conditional UPDATE before its file is deleted, so two purges
running at once delete a file once; a file that cannot be deleted gets its row back
and is tried again by the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from django.db.models import Q, QuerySet
from django.utils import timezone

from django_slashml.audio.formats import human_size
from django_slashml.audio.storage import audio_storage
from django_slashml.conf import slashml_settings
from django_slashml.models import ACTIVE_STATUSES, AudioUpload

logger = logging.getLogger("django_slashml.jobs.retention")

_BATCH = 500


@dataclass(frozen=True)
class PurgedFile:
    upload_id: UUID
    name: str
    size: int
    uploaded_at: datetime


@dataclass
class PurgeReport:
    """What a purge deleted (or, in a dry run, would delete) and what it could not."""

    cutoff: datetime
    dry_run: bool
    deleted: list[PurgedFile] = field(default_factory=list)
    failed: list[tuple[PurgedFile, str]] = field(default_factory=list)

    @property
    def bytes_freed(self) -> int:
        return sum(item.size for item in self.deleted)

    def summary(self) -> str:
        size = f"{human_size(self.bytes_freed)} ({self.bytes_freed} bytes)"
        if self.dry_run:
            return f"Would delete {len(self.deleted)} file(s), freeing {size}; nothing was deleted (dry run)."
        text = f"Deleted {len(self.deleted)} audio file(s) uploaded before {self.cutoff:%Y-%m-%d %H:%M}, freed {size}."
        if self.failed:
            text += f" {len(self.failed)} could not be deleted."
        return text


def purgeable(cutoff: datetime) -> QuerySet[AudioUpload]:
    """Uploads older than ``cutoff`` that still have a file and no active job."""
    return (
        AudioUpload.objects.filter(created_at__lt=cutoff, purged_at__isnull=True)
        .exclude(file="")
        .exclude(jobs__status__in=ACTIVE_STATUSES)
    )


def purge_audio(
    older_than: timedelta,
    *,
    dry_run: bool = False,
    limit: int | None = None,
    now: datetime | None = None,
) -> PurgeReport:
    """Delete the audio of uploads created more than ``older_than`` ago; see the module docstring."""
    now = now or timezone.now()
    report = PurgeReport(cutoff=now - older_than, dry_run=dry_run)
    for item in _candidates(report.cutoff, limit):
        if dry_run:
            report.deleted.append(item)
            continue
        _purge_one(item, now, report)
    if not dry_run and (report.deleted or report.failed):
        logger.info("%s", report.summary())
    return report


def purge_expired_audio() -> PurgeReport | None:
    """Purge with ``SLASHML['AUDIO_RETENTION_DAYS']``; None (and a warning) when it is not set."""
    days = slashml_settings.AUDIO_RETENTION_DAYS
    if days is None:
        logger.warning(
            "SLASHML['AUDIO_RETENTION_DAYS'] is not set, so no audio was purged; set it to a number of days "
            "or take the django_slashml.purge_audio task out of the beat schedule."
        )
        return None
    return purge_audio(timedelta(days=float(days)))


def purge_now(upload: AudioUpload) -> bool:
    """Delete ``upload``'s audio now unless an active job still needs it; whether it was deleted."""
    if upload.purged_at is not None or not upload.file.name:
        return False
    now = timezone.now()
    report = PurgeReport(cutoff=now, dry_run=False)
    _purge_one(PurgedFile(upload.pk, upload.file.name, upload.size, upload.created_at), now, report)
    return bool(report.deleted)


def _candidates(cutoff: datetime, limit: int | None) -> Iterator[PurgedFile]:
    """Purgeable uploads, oldest first, read in batches by key so rows changed meanwhile are not skipped or repeated."""
    seen = 0
    after: tuple[datetime, UUID] | None = None
    while limit is None or seen < limit:
        rows = purgeable(cutoff).order_by("created_at", "pk")
        if after is not None:
            rows = rows.filter(Q(created_at__gt=after[0]) | Q(created_at=after[0], pk__gt=after[1]))
        count = _BATCH if limit is None else min(_BATCH, limit - seen)
        batch = list(rows.values_list("pk", "file", "size", "created_at")[:count])
        if not batch:
            return
        for pk, name, size, created_at in batch:
            yield PurgedFile(upload_id=pk, name=name, size=size, uploaded_at=created_at)
        seen += len(batch)
        after = (batch[-1][3], batch[-1][0])


def _purge_one(item: PurgedFile, now: datetime, report: PurgeReport) -> None:
    marked = (
        AudioUpload.objects.filter(pk=item.upload_id, purged_at__isnull=True)
        .exclude(jobs__status__in=ACTIVE_STATUSES)
        .update(file="", purged_at=now)
    )
    if not marked:
        return  # another purge took it, or a job started on it meanwhile
    try:
        audio_storage.delete(item.name)
    except Exception as exc:  # any storage error: keep the row as it was, try again next run
        AudioUpload.objects.filter(pk=item.upload_id).update(file=item.name, purged_at=None)
        logger.warning("Could not delete %s: %s", item.name, exc)
        report.failed.append((item, f"{type(exc).__name__}: {exc}"))
        return
    report.deleted.append(item)
