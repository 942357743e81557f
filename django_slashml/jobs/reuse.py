"""Not paying twice for the same audio: finding an earlier job whose SlashML work a job can share.

Two jobs are for the same audio when their uploads have the same sha256 (computed
while the file was stored, and copied onto each job when it is created) and they ask
the same provider. Just before a job would
be submitted, one query (an ORM ``Case``/``When`` rank), unless the job was created
with ``fresh=True``, looks for such an earlier job, in this order:

1. a COMPLETED earlier job (the newest): its transcript is copied, nothing is sent to SlashML;
2. a job SlashML is working on (QUEUED or IN_PROGRESS): the job follows the same
   remote job, polling it like its own;
3. a PENDING job created before this job: the job waits for that one to be
   submitted, then takes rule 1 or 2.

Only jobs of the same owner count, unless ``SLASHML['REUSE_ACROSS_OWNERS']``: otherwise
a finished job would tell a user that someone else sent the same recording. ERROR and
CANCELLED ones are never used. Rule 3 orders pending jobs by
``(created_at, id)``, so of two jobs for the same audio started at once, exactly
one submits and the other follows it, without locks; the one query reads a single
snapshot, so a job that moves on while we look is still seen in one of its states.
Jobs for an external URL are never shared: what a URL serves can change. The same query
tells whether another active job uses the very same upload row (a comparison's jobs do),
the only case in which uploading the file to SlashML needs the upload's claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from django.db.models import Case, F, IntegerField, Q, Value, When

from django_slashml.conf import slashml_settings
from django_slashml.jobs.closing import jobs_alias
from django_slashml.models import ACTIVE_STATUSES, JobStatus, TranscriptionJob

Action = Literal["copy", "follow", "wait"]

#: How :func:`shared_work` ranks the jobs its query finds; the lowest comes first.
COMPLETED_EARLIER, RUNNING_EARLIER, PENDING_EARLIER, SAME_UPLOAD, UNUSABLE = range(5)


@dataclass(frozen=True)
class EarlierJob:
    """What to do with the earlier job found for the same audio and provider."""

    action: Action
    job: TranscriptionJob


@dataclass(frozen=True)
class SharedWork:
    """What a PENDING job with an upload finds before it is submitted."""

    earlier: EarlierJob | None
    #: Another active job uses the same upload row (a comparison's jobs do): uploading it to
    #: SlashML then needs the upload's claim, so that one of them uploads and the others wait.
    upload_shared: bool


def _same_audio(job: TranscriptionJob) -> Q | None:
    """Jobs of the same audio as ``job`` (by the sha256 each job copies from its upload) and provider."""
    if job.fresh or job.upload_id is None or not job.audio_sha256:
        return None
    same = Q(audio_sha256=job.audio_sha256, service_provider=job.service_provider)
    if slashml_settings.REUSE_ACROSS_OWNERS:
        return same
    if job.owner_id is None:
        return same & Q(owner__isnull=True)
    return same & Q(owner_id=job.owner_id)


def shared_work(job: TranscriptionJob) -> SharedWork:
    """In one query: the earlier job ``job`` should share work with, and whether its upload is shared.

    The query ranks its candidates and returns the first: the best earlier job, or failing that
    another active job on the same upload row. Candidates that can be neither (a job created
    later, or not yet known to SlashML) rank last.
    """
    if job.upload_id is None:
        return SharedWork(earlier=None, upload_shared=False)
    on_upload = Q(upload_id=job.upload_id)
    wanted = on_upload & Q(status__in=ACTIVE_STATUSES)
    ranks: list[When] = []
    same = _same_audio(job)
    if same is not None:
        wanted |= same & Q(status__in=[JobStatus.COMPLETED, *ACTIVE_STATUSES])
        ahead = Q(created_at__lt=job.created_at) | Q(created_at=job.created_at, pk__lt=job.pk)
        ranks += [
            When(same & Q(status=JobStatus.COMPLETED), then=Value(COMPLETED_EARLIER)),
            When(same & ~Q(status=JobStatus.PENDING) & ~Q(remote_id=""), then=Value(RUNNING_EARLIER)),
            When(same & Q(status=JobStatus.PENDING) & ahead, then=Value(PENDING_EARLIER)),
        ]
    ranks.append(When(on_upload, then=Value(SAME_UPLOAD)))
    found = (
        TranscriptionJob.objects.using(jobs_alias())
        .filter(wanted)
        .exclude(pk=job.pk)
        .annotate(reuse_rank=Case(*ranks, default=Value(UNUSABLE), output_field=IntegerField()))
        .order_by(
            "reuse_rank",
            F("completed_at").desc(nulls_last=True),
            F("submitted_at").asc(nulls_last=True),
            "created_at",
            "pk",
        )
        .first()
    )
    if found is None:
        return SharedWork(earlier=None, upload_shared=False)
    rank: int = found.reuse_rank  # type: ignore[attr-defined]  # the annotation above
    if rank >= SAME_UPLOAD:
        return SharedWork(earlier=None, upload_shared=rank == SAME_UPLOAD)
    action: Action = "copy" if rank == COMPLETED_EARLIER else "follow" if rank == RUNNING_EARLIER else "wait"
    return SharedWork(earlier=EarlierJob(action, found), upload_shared=False)


def earlier_job(job: TranscriptionJob) -> EarlierJob | None:
    """The earlier job ``job`` should share work with, or None if ``job`` must be submitted itself."""
    return shared_work(job).earlier
