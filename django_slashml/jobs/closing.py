"""The write that ends a step: the job's row and the step's events, in one transaction.

Every step ends with one conditional UPDATE of its job (a transition in
:mod:`~django_slashml.jobs.lifecycle`, or the pipeline letting go of the lease), a
``filter(...).update(...)`` that wins when it returns 1. The step's events
(:class:`~django_slashml.jobs.events.StepLog`) are inserted after it, in the same
transaction, only when it won: a step that lost its lease leaves no trace.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import router
from django.db.models import QuerySet

from django_slashml.jobs.events import StepLog, enabled
from django_slashml.models import JobEvent, TranscriptionJob


def jobs_alias() -> str:
    """The database jobs are written to: claims and the reads that follow them go there (a replica may lag)."""
    return router.db_for_write(TranscriptionJob)


def write(
    queryset: QuerySet[TranscriptionJob],
    fields: dict[str, Any],
    *,
    step: StepLog | None = None,
    also: Iterable[JobEvent] = (),
) -> bool:
    """UPDATE ``queryset`` (one job's row, with the caller's conditions) with ``fields``; whether it won.

    The step's events and ``also`` are written only if it won. Call it inside a transaction.
    """
    won = queryset.update(**fields) == 1
    if won:
        logged = step.rows(also) if step is not None else list(also) if enabled() else []
        if logged:
            JobEvent.objects.bulk_create(logged)
        if step is not None:
            step.clear()
    return won
