"""The job event log: what each step did, written with the change it explains.

A step (:func:`django_slashml.jobs.pipeline.advance`) carries a :class:`StepLog`: the
SlashML client notes its HTTP calls in the log's
:class:`~django_slashml.remote.calls.StepCalls`, which the step hands it, and the step
notes its back-offs and reuse, in memory. The write that ends the step (a transition in
:mod:`~django_slashml.jobs.lifecycle`, or the pipeline's release of the lease) carries them
(:mod:`~django_slashml.jobs.closing`): one ``INSERT`` of every event of the step in the
transaction of its UPDATE, so an event commits exactly when its change does.
A step whose write loses the race (its lease was taken) leaves no events, as it leaves
no change. ``SLASHML['EVENT_LOG'] = False`` writes none at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from django_slashml.conf import slashml_settings
from django_slashml.jobs import redacting
from django_slashml.models import EventKind, JobEvent, JobStatus, TranscriptionJob
from django_slashml.remote.calls import Call, StepCalls

__all__ = ["StepLog", "bounded", "enabled", "record", "save", "transition_row"]


@dataclass
class StepLog:
    """One step of one job: the events it noted and the SlashML calls it made, until its closing write."""

    job: TranscriptionJob
    #: Failures in a row before this step, plus one.
    attempt: int
    pending: list[JobEvent] = field(default_factory=list)
    #: What the step hands the SlashML client to note its calls in.
    calls: StepCalls = field(init=False)

    def __post_init__(self) -> None:
        self.calls = StepCalls(job_id=str(self.job.pk))

    @classmethod
    def of(cls, job: TranscriptionJob) -> StepLog:
        return cls(job=job, attempt=job.consecutive_failures + 1)

    @property
    def job_id(self) -> Any:
        return self.job.pk

    def note(self, kind: str, **fields: Any) -> None:
        """Keep an event until the step's closing write; outside a step, use :func:`record`."""
        if not enabled():
            return
        fields.setdefault("attempt", self.attempt)
        self.pending.append(JobEvent(job_id=self.job_id, kind=kind, **fields))

    def rows(self, also: Iterable[JobEvent] = ()) -> list[JobEvent]:
        """The rows the closing write carries: the calls and notes so far, and ``also`` (none with the log off).

        Nothing is taken yet: a write that loses its race leaves them for a later try.
        """
        if not enabled():
            return []
        made = [_from_call(self.job, call, self.attempt) for call in self.calls]
        return made + self.pending + list(also)

    def clear(self) -> None:
        """The closing write has taken the events: each is written once."""
        self.calls.clear()
        self.pending.clear()

    def snapshot(self) -> tuple[list[Call], list[JobEvent]]:
        """What the log holds now, for :meth:`restore` if the transaction that takes it is lost."""
        return list(self.calls), list(self.pending)

    def restore(self, snapshot: tuple[list[Call], list[JobEvent]]) -> None:
        calls, pending = snapshot
        self.calls.restore(calls)
        self.pending[:] = pending


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


def _from_call(job: TranscriptionJob, call: Call, attempt: int) -> JobEvent:
    return JobEvent(
        job_id=job.pk,
        kind=call.endpoint,
        at=datetime.fromtimestamp(call.started, tz=UTC),
        attempt=attempt,
        http_method=call.method,
        endpoint=call.endpoint,
        http_status=call.http_status,
        remote_status=call.remote_status,
        duration_ms=call.duration_ms,
        detail=call.error[:2000],
        answer=bounded(redacting.answer_as_stored(job, call.answer)),
    )


def transition_row(
    job: TranscriptionJob,
    old_status: str,
    new_status: str,
    *,
    remote_status: str,
    error_message: str,
    attempt: int = 1,
) -> JobEvent:
    """The transition's own event, kind ``completed`` for the one into COMPLETED; written with the UPDATE."""
    kind = EventKind.COMPLETED if new_status == JobStatus.COMPLETED else EventKind.TRANSITION
    return JobEvent(
        job_id=job.pk,
        kind=kind,
        at=timezone.now(),
        attempt=attempt,
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
