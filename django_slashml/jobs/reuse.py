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

import functools
from dataclasses import dataclass
from typing import Any, Literal

from django.db.backends.base.base import BaseDatabaseWrapper

from django_slashml.conf import slashml_settings
from django_slashml.jobs import rows
from django_slashml.models import ACTIVE_STATUSES, AudioUpload, JobStatus, TranscriptionJob

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


def _same_audio(job: TranscriptionJob, db: BaseDatabaseWrapper) -> tuple[str, list[Any]] | None:
    """SQL for jobs of the same audio as ``job`` (by the sha256 each job copies from its upload) and provider."""
    if job.fresh or job.upload_id is None or not job.audio_sha256:
        return None
    col = functools.partial(rows.quoted_column, TranscriptionJob, db=db)
    sql = f"j.{col('audio_sha256')} = %s AND j.{col('service_provider')} = %s"
    params: list[Any] = [job.audio_sha256, job.service_provider]
    if slashml_settings.REUSE_ACROSS_OWNERS:
        return f"({sql})", params
    if job.owner_id is None:
        return f"({sql} AND j.{col('owner')} IS NULL)", params
    owner = TranscriptionJob._meta.get_field("owner").get_db_prep_value(job.owner_id, db)
    return f"({sql} AND j.{col('owner')} = %s)", [*params, owner]


def _lookup_sql(job: TranscriptionJob, db: BaseDatabaseWrapper) -> tuple[str, list[Any]]:
    """The one query of :func:`look_around`, written out: Django compiled its Case/When anew for every
    job, three times the cost of running it. It returns every column of the jobs it ranks, ``reuse_rank``,
    and ``job``'s upload row under ``upload__<column>``."""
    ops, job_meta, upload_meta = db.ops, TranscriptionJob._meta, AudioUpload._meta
    col = functools.partial(rows.quoted_column, TranscriptionJob, db=db)
    pk = job_meta.pk.get_db_prep_value(job.pk, db)
    upload_id = upload_meta.pk.get_db_prep_value(job.upload_id, db)
    status, remote_id = f"j.{col('status')}", f"j.{col('remote_id')}"
    on_upload = f"j.{col('upload')} = %s"
    active = ", ".join(["%s"] * len(ACTIVE_STATUSES))
    wanted = f"j.{col('id')} = %s OR ({on_upload} AND {status} IN ({active}))"
    wanted_params: list[Any] = [pk, upload_id, *ACTIVE_STATUSES]
    ranks = [f"WHEN j.{col('id')} = %s THEN {OWN}"]
    rank_params: list[Any] = [pk]
    same_audio = _same_audio(job, db)
    if same_audio is not None:
        same, same_params = same_audio
        wanted += f" OR ({same} AND {status} IN (%s, {active}))"
        wanted_params += [*same_params, JobStatus.COMPLETED, *ACTIVE_STATUSES]
        created = ops.adapt_datetimefield_value(job.created_at)
        ahead = f"(j.{col('created_at')} < %s OR (j.{col('created_at')} = %s AND j.{col('id')} < %s))"
        ranks += [
            # Only the same-audio arm brings COMPLETED rows: the same upload's are active ones.
            f"WHEN {status} = %s THEN {COMPLETED_TWIN}",
            f"WHEN {same} AND {status} <> %s AND {remote_id} <> '' THEN {RUNNING_TWIN}",
            f"WHEN {same} AND {status} = %s AND {ahead} THEN {PENDING_TWIN}",
        ]
        rank_params += [JobStatus.COMPLETED, *same_params, JobStatus.PENDING, *same_params]
        rank_params += [JobStatus.PENDING, created, created, pk]
    ranks.append(f"WHEN {on_upload} THEN {SHARER}")
    rank_params.append(upload_id)
    uploads = ", ".join(
        f"u.{ops.quote_name(str(field.column))} AS {ops.quote_name(f'upload__{field.column}')}"
        for field in upload_meta.concrete_fields
    )
    sql = (
        f"SELECT j.*, {uploads}, CASE {' '.join(ranks)} ELSE {UNUSABLE} END AS reuse_rank "  # noqa: S608 (names are quoted, values are parameters)
        f"FROM {ops.quote_name(job_meta.db_table)} j "
        f"LEFT JOIN {ops.quote_name(upload_meta.db_table)} u "
        f"ON u.{rows.quoted_column(AudioUpload, 'id', db)} = j.{col('upload')} "
        f"WHERE {wanted} ORDER BY reuse_rank, j.{col('completed_at')} DESC, j.{col('submitted_at')}, "
        f"j.{col('created_at')}, j.{col('id')} LIMIT 2"
    )
    return sql, [*rank_params, *wanted_params]


def look_around(job: TranscriptionJob) -> Surroundings:
    """In one query: ``job``'s own upload row (cached on ``job``), its twin, and whether its upload is shared.

    The query returns at most two rows, ranked: ``job`` itself with its upload, then the best
    twin, or failing that another active job on the same upload row. Candidates that can
    be neither (a twin created later, or not yet known to SlashML) rank last.
    """
    if job.upload_id is None:
        return Surroundings(twin=None, upload_shared=False)
    db = rows.jobs_db()
    found = rows.select(db, *_lookup_sql(job, db))
    if found and found[0]["reuse_rank"] == OWN:
        own = found.pop(0)
        # None when the upload was deleted since the job was read, as select_related would say.
        has_upload = own[f"upload__{AudioUpload._meta.pk.column}"] is not None
        job.upload = rows.instance_of(db, AudioUpload, own, prefix="upload__") if has_upload else None
    if not found:
        return Surroundings(twin=None, upload_shared=False)
    rank = found[0]["reuse_rank"]
    if rank >= SHARER:
        return Surroundings(twin=None, upload_shared=rank == SHARER)
    action: Action = "copy" if rank == COMPLETED_TWIN else "follow" if rank == RUNNING_TWIN else "wait"
    return Surroundings(twin=Twin(action, rows.instance_of(db, TranscriptionJob, found[0])), upload_shared=False)


def find_twin(job: TranscriptionJob) -> Twin | None:
    """The twin ``job`` should share work with, or None if ``job`` must be submitted itself."""
    return look_around(job).twin
