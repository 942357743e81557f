"""The summary above the job list: what is where, what was transcribed, what is stuck.

A fixed handful of aggregate queries, each over a bounded set of rows whatever the size of the
table: active jobs (a partial index holds only them), and jobs created in the last day (the
``created_at`` indexes). Jobs finished in the last day were created at most ``JOB_DEADLINE``
before it, which bounds the provider usage the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from django_slashml.admin.health import ProviderHealth, provider_health
from django_slashml.conf import slashml_settings
from django_slashml.models import ACTIVE_STATUSES, TERMINAL_STATUSES, JobStatus, ServiceProvider, TranscriptionJob

STUCK_SHOWN = 10
#: Finished jobs are counted over this recent window, not over the whole table.
RECENT = timedelta(days=1)


@dataclass(frozen=True)
class Dashboard:
    status_counts: list[tuple[str, str, int]]  # (status, label, jobs): all active ones, finished ones over RECENT
    usage: list[tuple[str, float, int]]  # (provider label, audio minutes, jobs) completed over RECENT
    stuck: list[TranscriptionJob]
    stuck_total: int
    stuck_after_seconds: float
    health: list[ProviderHealth] = field(default_factory=list)  # the last hour, per provider
    recent_hours: int = int(RECENT.total_seconds() // 3600)


def stuck_jobs(jobs: QuerySet[TranscriptionJob], *, now: datetime | None = None) -> QuerySet[TranscriptionJob]:
    """Active jobs overdue by more than a sweep should ever let them be."""
    overdue = slashml_settings.SWEEP_GRACE + slashml_settings.SWEEP_INTERVAL
    cutoff = (now or timezone.now()) - timedelta(seconds=overdue)
    return jobs.filter(status__in=ACTIVE_STATUSES).filter(next_poll_at__lt=cutoff).order_by("next_poll_at")


def build(jobs: QuerySet[TranscriptionJob], *, now: datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    since = now - RECENT
    counted = dict(jobs.filter(status__in=ACTIVE_STATUSES).order_by().values_list("status").annotate(total=Count("pk")))
    finished = jobs.filter(status__in=TERMINAL_STATUSES, created_at__gte=since)
    counted.update(finished.order_by().values_list("status").annotate(total=Count("pk")))
    status_counts = [(status.value, str(status.label), counted.get(status.value, 0)) for status in JobStatus]
    recent = jobs.filter(
        status=JobStatus.COMPLETED,
        created_at__gte=since - timedelta(seconds=float(slashml_settings.JOB_DEADLINE)),
        completed_at__gte=since,
    )
    per_provider = (
        recent.order_by().values("service_provider").annotate(seconds=Sum("audio_duration"), total=Count("pk"))
    )
    labels: dict[Any, str] = dict(ServiceProvider.choices)
    usage = sorted(
        (
            (labels.get(row["service_provider"], row["service_provider"]), (row["seconds"] or 0) / 60, row["total"])
            for row in per_provider
        ),
        key=lambda item: -item[1],
    )
    stuck = stuck_jobs(jobs, now=now)
    shown = list(stuck.select_related("owner").defer("words", "last_response", "text")[:STUCK_SHOWN])
    total = len(shown) if len(shown) < STUCK_SHOWN else stuck.count()
    return Dashboard(
        status_counts=status_counts,
        usage=usage,
        stuck=shown,
        stuck_total=total,
        stuck_after_seconds=slashml_settings.SWEEP_GRACE + slashml_settings.SWEEP_INTERVAL,
        health=provider_health(jobs, now=now),
    )
