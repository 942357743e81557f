"""Not paying twice for the same audio: finding an earlier job whose SlashML work a job can share.

Two jobs are for the same audio when their uploads have the same sha256 (computed
while the file was stored) and they ask the same provider. Just before a job would
be submitted, unless it was created with ``fresh=True``, one query looks for such a
twin, in this order:

1. a COMPLETED twin (the newest): its transcript is copied, nothing is sent to SlashML;
2. a twin SlashML is working on (QUEUED or IN_PROGRESS): the job follows the same
   remote job, polling it like its own;
3. a PENDING twin created before this job: the job waits for that one to be
   submitted, then takes rule 1 or 2.

Only jobs of the same owner are twins, unless ``SLASHML['REUSE_ACROSS_OWNERS']``: otherwise
a finished job would tell a user that someone else sent the same recording. ERROR and
CANCELLED twins are never used. Rule 3 orders pending twins by
``(created_at, id)``, so of two jobs for the same audio started at once, exactly
one submits and the other follows it, without locks; the one query reads a single
snapshot, so a twin that moves on while we look is still seen in one of its states.
Jobs for an external URL are never shared: what a URL serves can change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from django.db.models import Case, IntegerField, Q, Value, When

from django_slashml.conf import slashml_settings
from django_slashml.models import JobStatus, TranscriptionJob

Action = Literal["copy", "follow", "wait"]


@dataclass(frozen=True)
class Twin:
    """What to do with the earlier job found for the same audio and provider."""

    action: Action
    job: TranscriptionJob


def _same_audio(job: TranscriptionJob) -> Q | None:
    upload = job.upload
    if job.fresh or upload is None or not upload.sha256:
        return None
    same = Q(upload__sha256=upload.sha256, service_provider=job.service_provider)
    if not slashml_settings.REUSE_ACROSS_OWNERS:
        same &= Q(owner__isnull=True) if job.owner_id is None else Q(owner_id=job.owner_id)
    return same


def find_twin(job: TranscriptionJob) -> Twin | None:
    """The twin ``job`` should share work with, or None if ``job`` must be submitted itself."""
    same_audio = _same_audio(job)
    if same_audio is None:
        return None
    ahead = Q(created_at__lt=job.created_at) | Q(created_at=job.created_at, pk__lt=job.pk)
    usable = (
        Q(status=JobStatus.COMPLETED)
        | (Q(status__in=[JobStatus.QUEUED, JobStatus.IN_PROGRESS]) & ~Q(remote_id=""))
        | (Q(status=JobStatus.PENDING) & ahead)
    )
    rank = Case(
        When(status=JobStatus.COMPLETED, then=Value(0)),
        When(status=JobStatus.PENDING, then=Value(2)),
        default=Value(1),
        output_field=IntegerField(),
    )
    twin = (
        TranscriptionJob.objects.filter(same_audio, usable)
        .exclude(pk=job.pk)
        .annotate(reuse_rank=rank)
        .order_by("reuse_rank", "-completed_at", "submitted_at", "created_at", "pk")
        .first()
    )
    if twin is None:
        return None
    if twin.status == JobStatus.COMPLETED:
        return Twin("copy", twin)
    if twin.status == JobStatus.PENDING:
        return Twin("wait", twin)
    return Twin("follow", twin)
