"""The write that ends a step: the job's row, the step's events and what the step left to write then.

Every step ends with one conditional UPDATE of its job (a transition in
:mod:`~django_slashml.jobs.lifecycle`, or the pipeline letting go of the lease). What the step
did rides along in the same transaction: its events (:mod:`~django_slashml.jobs.events`),
written only if the UPDATE won, and rows it deferred with :func:`defer` (SlashML's URL for an
upload only this job uses), written whatever the UPDATE found. On PostgreSQL all of it is one
statement (:func:`~django_slashml.jobs.rows.update_with_companions`), which is most of what a
job costs in round trips; elsewhere the same writes are separate statements.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db.models import QuerySet

from django_slashml.jobs import events, rows
from django_slashml.logs import job_logger
from django_slashml.models import JobEvent, TranscriptionJob

logger = job_logger("django_slashml.jobs.closing")

_deferred: ContextVar[list[rows.Companion] | None] = ContextVar("slashml_deferred_writes", default=None)


@contextmanager
def step() -> Iterator[None]:
    """Collect the writes a step defers; any the step's end did not take are written on the way out."""
    deferred: list[rows.Companion] = []
    token = _deferred.set(deferred)
    try:
        yield
    finally:
        _deferred.reset(token)
        for companion in deferred:  # the step ended without its closing write (an unexpected error)
            try:
                companion.queryset.update(**companion.fields)
            except Exception:
                logger.exception("Could not write %s after the step ended", companion.queryset.model.__name__)


def defer(queryset: QuerySet[Any], **fields: Any) -> None:
    """Write ``fields`` to ``queryset`` with the step's closing write; at once outside a step.

    Not for the job table: two changes to one row in one PostgreSQL statement keep only one.
    """
    if queryset.model is TranscriptionJob:
        raise ValueError("Write a job's own fields with the closing write itself, not as a deferred write.")
    deferred = _deferred.get()
    if deferred is None:
        queryset.update(**fields)
    else:
        deferred.append(rows.Companion(queryset, fields))


def write(
    job: TranscriptionJob,
    queryset: QuerySet[TranscriptionJob],
    fields: dict[str, Any],
    *,
    also: Iterable[JobEvent] = (),
) -> bool:
    """UPDATE ``queryset`` (``job``'s row, with the caller's conditions) with ``fields``; whether it won.

    The step's events and ``also`` are written only if it won; the deferred writes are written either way
    (an upload SlashML holds stays usable whoever finishes the job) and go with this transaction: if it
    rolls back, so do they, and the next attempt uploads again. Call it inside a transaction.
    """
    logged = events.step_rows(job, also)
    deferred = _deferred.get() or []
    won = rows.update_with_companions(queryset, fields, events=logged, companions=deferred) == 1
    deferred.clear()
    if won:
        events.written()
    return won
