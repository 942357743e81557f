"""The job state machine: every status change, exactly once, with its signals.

Each transition is a conditional UPDATE (``WHERE status IN allowed``); of two
workers racing, one sees ``1`` row updated and sends the signals, in the same
transaction, the other sees ``0`` and does nothing. Views, admin actions, tasks
and commands call these functions and never write ``status`` themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any

from django.db import transaction
from django.utils import timezone

from django_slashml import signals
from django_slashml.conf import slashml_settings
from django_slashml.jobs import closing, events, redacting, speed
from django_slashml.jobs.events import StepLog
from django_slashml.logs import job_logger
from django_slashml.models import ACTIVE_STATUSES, JobEvent, JobStatus, TranscriptionJob
from django_slashml.privacy.transcript import Span
from django_slashml.remote.responses import RemoteJob

logger = job_logger("django_slashml.jobs.lifecycle")

#: Where each status may go. Terminal states leave only through :func:`retry`.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    JobStatus.PENDING: frozenset(
        {JobStatus.QUEUED, JobStatus.IN_PROGRESS, JobStatus.COMPLETED, JobStatus.ERROR, JobStatus.CANCELLED}
    ),
    JobStatus.QUEUED: frozenset({JobStatus.IN_PROGRESS, JobStatus.COMPLETED, JobStatus.ERROR, JobStatus.CANCELLED}),
    JobStatus.IN_PROGRESS: frozenset({JobStatus.COMPLETED, JobStatus.ERROR, JobStatus.CANCELLED}),
    JobStatus.COMPLETED: frozenset({JobStatus.PENDING}),
    JobStatus.ERROR: frozenset({JobStatus.PENDING}),
    JobStatus.CANCELLED: frozenset({JobStatus.PENDING}),
}

#: The fields that let go of a job's lease; every write that ends a step includes them.
LEASE_CLEARED: Mapping[str, Any] = MappingProxyType({"lease_expires_at": None, "lease_owner": ""})


def _sources(target: str, allowed_from: Iterable[str] | None) -> list[str]:
    sources = [status for status, targets in ALLOWED_TRANSITIONS.items() if target in targets]
    if allowed_from is not None:
        sources = [status for status in sources if status in set(allowed_from)]
    return sources


def transition(
    job: TranscriptionJob,
    new_status: str,
    *,
    allowed_from: Iterable[str] | None = None,
    held_by: str | None = None,
    step: StepLog | None = None,
    **fields: Any,
) -> bool:
    """Move ``job`` to ``new_status`` if it is still in a state that allows it.

    Returns whether this call made the transition. ``held_by`` (a lease owner)
    additionally requires that the caller still holds the job's lease; ``step`` is the
    step's log, written with the change. On success ``job`` is refreshed and the signals
    have been sent inside the transaction.
    """
    now = timezone.now()
    sources = _sources(new_status, allowed_from)
    conditions: dict[str, Any] = {"pk": job.pk}
    leased = held_by is not None
    if leased:
        conditions["lease_owner"] = held_by
    attempt = step.attempt if step is not None else 1
    with transaction.atomic(using=closing.jobs_alias()):  # where the closing write goes
        # Pinning the status in the UPDATE makes old_status exact even under a race. The
        # status this object holds is tried first: it is right whenever nobody moved the
        # job since it was read (always, under a lease), and saves reading it again.
        guesses: list[str | None] = [job.status] if job.status in sources else []
        for guess in [*guesses, None, None, None]:
            current = guess or TranscriptionJob.objects.filter(pk=job.pk).values_list("status", flat=True).first()
            if current not in sources:
                return False
            matching = TranscriptionJob.objects.filter(status=current, **conditions)
            # Under a lease the row is this object plus ``fields``, so the transition's event rides with the
            # UPDATE; without one (a person's action) it is written once the row has been read back.
            also = [_transition_event(job, current, new_status, fields, attempt)] if leased else []
            if closing.write(matching, {"status": new_status, "updated_at": now, **fields}, step=step, also=also):
                break
        else:
            return False
        _refresh_after_update(job, leased, status=new_status, updated_at=now, **fields)
        if not leased:
            events.save([_transition_event(job, current, new_status, {}, attempt)])
        _announce(job, old_status=current, new_status=new_status)
    logger.info("Job %s: %s -> %s", job.pk, current, new_status, extra={"slashml_job_id": job.pk})
    return True


def _transition_event(
    job: TranscriptionJob, old_status: str, new_status: str, fields: dict[str, Any], attempt: int
) -> JobEvent:
    return events.transition_row(
        job,
        old_status,
        new_status,
        remote_status=fields.get("remote_status", job.remote_status),
        error_message=fields.get("error_message", job.error_message),
        attempt=attempt,
    )


def _refresh_after_update(job: TranscriptionJob, leased: bool, **fields: Any) -> None:
    """Bring ``job`` up to date after its UPDATE: from what was written, under a lease, else from the row.

    Under a lease nobody else writes the row, so what was written is the row, and a
    step saves the SELECT that reading it back would cost.
    """
    if not leased or any(hasattr(value, "resolve_expression") for value in fields.values()):
        job.refresh_from_db()
        return
    for name, value in fields.items():
        setattr(job, name, value)


def _announce(job: TranscriptionJob, *, old_status: str, new_status: str) -> None:
    using = closing.jobs_alias()  # the transition's transaction: each receiver's savepoint sits in it
    signals.transcription_status_changed.send_in_transaction(
        TranscriptionJob, using=using, job=job, old_status=old_status, new_status=new_status
    )
    if new_status == JobStatus.COMPLETED:
        signals.transcription_completed.send_in_transaction(TranscriptionJob, using=using, job=job)
    elif new_status == JobStatus.ERROR:
        signals.transcription_failed.send_in_transaction(
            TranscriptionJob, using=using, job=job, error=job.error_message
        )


# -- transitions the pipeline makes -------------------------------------------


def remote_answer(remote: RemoteJob) -> dict[str, Any]:
    """SlashML's status and answer as a job's row keeps them (the status cut to its column)."""
    return {"remote_status": remote.status[:40], "last_response": remote.stored_raw}


def _remote_fields(remote: RemoteJob) -> dict[str, Any]:
    fields = remote_answer(remote)
    if remote.audio_duration is not None:
        fields["audio_duration"] = remote.audio_duration
    return fields


def mark_submitted(
    job: TranscriptionJob,
    remote: RemoteJob,
    *,
    lease_owner: str,
    next_poll_at: datetime,
    submitted_at: datetime | None = None,
    keep_lease: bool = False,
    step: StepLog | None = None,
) -> bool:
    """PENDING -> QUEUED/IN_PROGRESS once SlashML has accepted the job.

    ``keep_lease``: the step goes on to poll the job at once (SlashML answered the submit with
    a finished job), so the write keeps the lease that the poll's own write lets go of.
    """
    target = JobStatus.IN_PROGRESS if remote.status == JobStatus.IN_PROGRESS else JobStatus.QUEUED
    return transition(
        job,
        target,
        allowed_from=[JobStatus.PENDING],
        held_by=lease_owner,
        step=step,
        remote_id=remote.id,
        submitted_at=submitted_at or timezone.now(),
        next_poll_at=next_poll_at,
        consecutive_failures=0,
        **_remote_fields(remote),
        **({} if keep_lease else LEASE_CLEARED),
    )


def mark_in_progress(
    job: TranscriptionJob,
    remote: RemoteJob,
    *,
    lease_owner: str,
    next_poll_at: datetime,
    step: StepLog | None = None,
    **polled: Any,
) -> bool:
    """QUEUED -> IN_PROGRESS; ``polled`` are the poll's own fields (its count, when it found the job running)."""
    return transition(
        job,
        JobStatus.IN_PROGRESS,
        allowed_from=[JobStatus.QUEUED],
        held_by=lease_owner,
        step=step,
        next_poll_at=next_poll_at,
        **polled,
        consecutive_failures=0,
        **_remote_fields(remote),
        **LEASE_CLEARED,
    )


def _processing_rate(job: TranscriptionJob, remote: RemoteJob, asked_at: datetime) -> float | None:
    """What this completion teaches the poll schedule, timed from the submit's sending to the poll's.

    Nothing for a job that followed another's, nor for one whose poll came late: after a
    failure (a worker killed mid-step, errors from SlashML), or more than ``POLL_MIN_INTERVAL``
    (and a second) after it was due (a lost message the sweeper sent again, a backlog of tasks).
    Such a job was found done when the recovery let it be, not when SlashML finished, and one
    such time would push every next job's first poll out.
    """
    if job.submitted_at is None or job.reused_from_id is not None or job.consecutive_failures:
        return None
    late = (asked_at - job.next_poll_at).total_seconds() if job.next_poll_at is not None else 0.0
    if late > max(1.0, slashml_settings.POLL_MIN_INTERVAL):
        return None
    duration = speed.audio_seconds(job, remote.audio_duration)
    done_after = (asked_at - job.submitted_at).total_seconds()
    return speed.observed_rate(done_after=done_after, running_after=job.running_after, duration=duration)


def complete(
    job: TranscriptionJob,
    remote: RemoteJob,
    *,
    lease_owner: str | None = None,
    step: StepLog | None = None,
    asked_at: datetime | None = None,
    **polled: Any,
) -> bool:
    """Any -> COMPLETED with SlashML's transcript; ``polled`` are the poll's own fields (its count).

    ``asked_at`` is when the status call that found it done was sent (now, if not given).

    The transcript is stored respelled and redacted by the job's rules (:mod:`~django_slashml.jobs.redacting`),
    its redacted spans in the same transaction, before the completion signal's receivers see the job.
    """
    transcript, spans = redacting.transcript_fields(
        job, remote.text or "", [word.as_dict() for word in remote.words or []]
    )
    now = timezone.now()
    return _complete_with(
        job,
        spans,
        lease_owner,
        step,
        **transcript,
        confidence=remote.confidence,
        completed_at=now,
        processing_rate=_processing_rate(job, remote, asked_at or now),
        next_poll_at=None,
        error_message="",
        consecutive_failures=0,
        **_remote_fields(remote),
        **polled,
        **LEASE_CLEARED,
    )


def _complete_with(
    job: TranscriptionJob,
    spans: Sequence[Span],
    held_by: str | None,
    step: StepLog | None,
    /,
    sources: Iterable[str] = ACTIVE_STATUSES,
    **fields: Any,
) -> bool:
    """The transition to COMPLETED with ``fields``, and ``job``'s spans, both or neither."""
    if not spans:  # most transcripts: no statement more than the transition's
        return transition(job, JobStatus.COMPLETED, allowed_from=sources, held_by=held_by, step=step, **fields)
    with transaction.atomic(using=closing.jobs_alias()):
        redacting.add_spans(job, spans)
        if transition(job, JobStatus.COMPLETED, allowed_from=sources, held_by=held_by, step=step, **fields):
            return True
        transaction.set_rollback(True, using=closing.jobs_alias())
        return False


def adopt(
    job: TranscriptionJob,
    source: TranscriptionJob,
    *,
    lease_owner: str,
    next_poll_at: datetime | None = None,
    step: StepLog | None = None,
) -> bool:
    """PENDING -> the status of ``source``, an earlier job for the same audio and provider.

    A COMPLETED source's transcript is copied (SlashML's text and words by this job's rules; a
    reviewer's correction stays with its own job); an active source's remote job is followed, and
    this job polls it from ``next_poll_at``, as is a COMPLETED one given ``next_poll_at`` (its
    transcript fetched again, for rules the stored copy cannot serve). Nothing is sent to SlashML.
    """
    shared: dict[str, Any] = {
        "reused_from": source,
        "remote_id": source.remote_id,
        "remote_status": source.remote_status,
        "last_response": source.last_response,
        "submitted_at": timezone.now(),
        "consecutive_failures": 0,
        **LEASE_CLEARED,
    }
    if source.audio_duration is not None:
        shared["audio_duration"] = source.audio_duration
    if source.status == JobStatus.COMPLETED and next_poll_at is None:
        transcript, spans = redacting.copied_fields(job, source)
        return _complete_with(
            job,
            spans,
            lease_owner,
            step,
            [JobStatus.PENDING],
            **shared,
            **transcript,
            confidence=source.confidence,
            error_message="",
            completed_at=timezone.now(),
            next_poll_at=None,
        )
    shared["next_poll_at"] = next_poll_at
    # A finished source followed (its rules differ from this job's): fetch SlashML's transcript again.
    status = JobStatus.IN_PROGRESS if source.status == JobStatus.COMPLETED else source.status
    return transition(job, status, allowed_from=[JobStatus.PENDING], held_by=lease_owner, step=step, **shared)


def fail(
    job: TranscriptionJob,
    message: str,
    *,
    lease_owner: str | None = None,
    last_response: Any = None,
    step: StepLog | None = None,
    **polled: Any,
) -> bool:
    """End the job in ERROR with a message a person can act on."""
    fields: dict[str, Any] = dict(polled)
    if last_response is not None:
        fields["last_response"] = last_response
    return transition(
        job,
        JobStatus.ERROR,
        allowed_from=ACTIVE_STATUSES,
        held_by=lease_owner,
        step=step,
        error_message=message,
        completed_at=timezone.now(),
        next_poll_at=None,
        **fields,
        **LEASE_CLEARED,
    )


# -- transitions people make (API, admin, commands) ---------------------------
