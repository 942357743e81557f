"""The job event log: what each step did, written with the change it explains.

A step (:func:`django_slashml.jobs.pipeline.advance`) runs inside :func:`step`: the
SlashML client notes its HTTP calls (:mod:`django_slashml.remote.calls`) and the step
notes its back-offs and reuse here, all in memory. The write that ends the step (a
transition in :mod:`~django_slashml.jobs.lifecycle`, or the pipeline's release of the
lease) carries them (:mod:`~django_slashml.jobs.closing`): one ``INSERT`` of every event of
the step in its transaction, so an event commits exactly when its change does; on
PostgreSQL the INSERT is part of the UPDATE's own statement.
A step whose write loses the race (its lease was taken) leaves no events, as it leaves
no change. ``SLASHML['EVENT_LOG'] = False`` writes none at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from django_slashml.conf import slashml_settings
from django_slashml.models import EventKind, JobEvent, JobStatus, TranscriptionJob
from django_slashml.remote import calls

__all__ = [
    "bounded",
    "enabled",
    "note",
    "record",
    "save",
    "sending_submit",
    "step",
    "step_rows",
    "submit_sent",
    "transition_row",
    "written",
]


@dataclass
class _Step:
    attempt: int
    pending: list[JobEvent] = field(default_factory=list)
    #: The step began a submit POST (whatever came of it: SlashML may hold the job).
    submit_sent: bool = False


_current: ContextVar[_Step | None] = ContextVar("slashml_step", default=None)


def enabled() -> bool:
    return bool(slashml_settings.EVENT_LOG)


def bounded(answer: Any) -> Any:
    """SlashML's answer as stored: whole if its JSON fits ``EVENT_ANSWER_MAX_CHARS``, else its cut head."""
    if answer is None:
        return None
    limit = int(slashml_settings.EVENT_ANSWER_MAX_CHARS)
    text = json.dumps(answer, default=str, ensure_ascii=False)
    if len(text) <= limit:
        return answer
    return {"truncated": True, "chars": len(text), "head": text[:limit]}


@contextmanager
def step(job: TranscriptionJob) -> Iterator[None]:
    """Collect the events of one step of ``job`` (its attempt: failures in a row so far, plus one)."""
    token = _current.set(_Step(attempt=job.consecutive_failures + 1))
    try:
        with calls.recording():
            yield
    finally:
        _current.reset(token)


def _attempt() -> int:
    current = _current.get()
    return current.attempt if current else 1


def sending_submit() -> None:
    """Remember that the current step is about to POST the submit, before it is sent."""
    current = _current.get()
    if current is not None:
        current.submit_sent = True


def submit_sent() -> bool:
    """Whether the current step began a submit POST (False outside a step)."""
    current = _current.get()
    return current is not None and current.submit_sent


def note(job: TranscriptionJob, kind: str, **fields: Any) -> None:
    """Keep an event of the current step until its write; outside a step, use :func:`record`."""
    current = _current.get()
    if current is None or not enabled():
        return
    fields.setdefault("attempt", current.attempt)
    current.pending.append(JobEvent(job_id=job.pk, kind=kind, **fields))


def _from_call(job_id: Any, call: calls.Call, attempt: int) -> JobEvent:
    return JobEvent(
        job_id=job_id,
        kind=call.endpoint,
        at=datetime.fromtimestamp(call.started, tz=UTC),
        attempt=attempt,
        http_method=call.method,
        endpoint=call.endpoint,
        http_status=call.http_status,
        remote_status=call.remote_status,
        duration_ms=call.duration_ms,
        detail=call.error[:2000],
        answer=bounded(call.answer),
    )


def step_rows(job: TranscriptionJob, also: Iterable[JobEvent] = ()) -> list[JobEvent]:
    """The rows the step's closing write carries: its calls and notes so far, and ``also``.

    Nothing is taken yet: a write that loses its race leaves them for a later try
    (:func:`~django_slashml.jobs.closing.write`). None with the log off.
    """
    if not enabled():
        return []
    attempt = _attempt()
    current = _current.get()
    pending = current.pending if current else []
    return [_from_call(job.pk, call, attempt) for call in calls.calls_made()] + pending + list(also)


def written() -> None:
    """The step's closing write has taken its events: each is written once."""
    calls.taking()
    current = _current.get()
    if current:
        current.pending.clear()


def transition_row(
    job: TranscriptionJob, old_status: str, new_status: str, *, remote_status: str, error_message: str
) -> JobEvent:
    """The transition's own event, kind ``completed`` for the one into COMPLETED; written with the UPDATE."""
    kind = EventKind.COMPLETED if new_status == JobStatus.COMPLETED else EventKind.TRANSITION
    return JobEvent(
        job_id=job.pk,
        kind=kind,
        at=timezone.now(),
        attempt=_attempt(),
        old_status=old_status,
        new_status=new_status,
        remote_status=remote_status,
        detail=error_message[:2000] if new_status == JobStatus.ERROR else "",
    )


def record(job_ids: Iterable[Any], kind: str, **fields: Any) -> None:
    """Write one event of ``kind`` for each job, outside a step (the sweeper's re-dispatch): one INSERT."""
    if not enabled():
        return
    save([JobEvent(job_id=job_id, kind=kind, **fields) for job_id in job_ids])


def save(rows: list[JobEvent]) -> None:
    """Write ``rows`` now, in one INSERT (none with the log off): events of no step's closing write."""
    if rows and enabled():
        JobEvent.objects.bulk_create(rows)
