"""Not paying twice for the same audio: finding an earlier job whose SlashML work a job can share.

Two jobs are for the same audio when their uploads have the same sha256 (computed
while the file was stored, and copied onto each job when it is created) and they ask
the same provider. Just before a job would
be submitted, one query reads the job's own upload row and, unless the job was created
with ``fresh=True``, looks for such a twin, in this order:

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
Jobs for an external URL are never shared: what a URL serves can change. The same query
tells whether another active job uses the very same upload row (a comparison's jobs do),
the only case in which uploading the file to SlashML needs the upload's claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from django.db.models import Case, IntegerField, Q, Value, When

from django_slashml.conf import slashml_settings
from django_slashml.models import ACTIVE_STATUSES, JobStatus, TranscriptionJob

Action = Literal["copy", "follow", "wait"]

#: How :func:`look_around` ranks the rows its one query finds; the lowest comes first.
OWN, COMPLETED_TWIN, RUNNING_TWIN, PENDING_TWIN, SHARER, UNUSABLE = range(-1, 5)


@dataclass(frozen=True)
class Twin:
    """What to do with the earlier job found for the same audio and provider."""

    action: Action
    job: TranscriptionJob


@dataclass(frozen=True)
class Surroundings:
    """What a PENDING job with an upload finds around it before it is submitted."""

    twin: Twin | None
    #: Another active job uses the same upload row (a comparison's jobs do): uploading it to
    #: SlashML then needs the upload's claim, so that one of them uploads and the others wait.
    upload_shared: bool


def _same_audio(job: TranscriptionJob) -> Q | None:
    """Jobs for the same audio as ``job`` (by the sha256 each job copies from its upload) and provider."""
    if job.fresh or job.upload_id is None or not job.audio_sha256:
        return None
    same = Q(audio_sha256=job.audio_sha256, service_provider=job.service_provider)
    if not slashml_settings.REUSE_ACROSS_OWNERS:
        same &= Q(owner__isnull=True) if job.owner_id is None else Q(owner_id=job.owner_id)
    return same


def look_around(job: TranscriptionJob) -> Surroundings:
    """In one query: ``job``'s own upload row (cached on ``job``), its twin, and whether its upload is shared.

    The query returns at most two rows, ranked: ``job`` itself with its upload, then the best
    twin, or failing that another active job on the same upload row. Candidates that can
    be neither (a twin created later, or not yet known to SlashML) rank last.
    """
    if job.upload_id is None:
        return Surroundings(twin=None, upload_shared=False)
    on_upload = Q(upload_id=job.upload_id)
    wanted = Q(pk=job.pk) | (on_upload & Q(status__in=ACTIVE_STATUSES))
    ranks = [When(pk=job.pk, then=Value(OWN))]
    same_audio = _same_audio(job)
    if same_audio is not None:
        wanted |= same_audio & Q(status__in=[JobStatus.COMPLETED, *ACTIVE_STATUSES])
        ahead = Q(created_at__lt=job.created_at) | Q(created_at=job.created_at, pk__lt=job.pk)
        ranks += [
            # Only the same-audio arm brings COMPLETED rows: the same upload's are active ones.
            When(status=JobStatus.COMPLETED, then=Value(COMPLETED_TWIN)),
            When(same_audio & ~Q(status=JobStatus.PENDING) & ~Q(remote_id=""), then=Value(RUNNING_TWIN)),
            When(same_audio & Q(status=JobStatus.PENDING) & ahead, then=Value(PENDING_TWIN)),
        ]
    ranks.append(When(on_upload, then=Value(SHARER)))
    found = list(
        TranscriptionJob.objects.filter(wanted)
        .select_related("upload")
        .annotate(reuse_rank=Case(*ranks, default=Value(UNUSABLE), output_field=IntegerField()))
        .order_by("reuse_rank", "-completed_at", "submitted_at", "created_at", "pk")[:2]
    )
    if found and found[0].pk == job.pk:
        job.upload = found.pop(0).upload
    if not found:
        return Surroundings(twin=None, upload_shared=False)
    near = found[0]
    rank: int = near.reuse_rank  # type: ignore[attr-defined]  # the annotation above
    if rank >= SHARER:
        return Surroundings(twin=None, upload_shared=rank == SHARER)
    action: Action = "copy" if rank == COMPLETED_TWIN else "follow" if rank == RUNNING_TWIN else "wait"
    return Surroundings(twin=Twin(action, near), upload_shared=False)


def find_twin(job: TranscriptionJob) -> Twin | None:
    """The twin ``job`` should share work with, or None if ``job`` must be submitted itself."""
    return look_around(job).twin
