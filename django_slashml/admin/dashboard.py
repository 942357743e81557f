"""The summary above the job list: what is where, what was transcribed, what is stuck.

A fixed handful of aggregate queries, whatever the size of the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from django_slashml.admin.health import ProviderHealth, provider_health
from django_slashml.conf import slashml_settings
from django_slashml.models import ACTIVE_STATUSES, JobStatus, ServiceProvider, TranscriptionJob

STUCK_SHOWN = 10
USAGE_DAYS = 30


@dataclass(frozen=True)
class Dashboard:
    status_counts: list[tuple[str, str, int]]  # (status, label, jobs)
    usage: list[tuple[str, float, int]]  # (provider label, audio minutes, jobs) over USAGE_DAYS
    stuck: list[TranscriptionJob]
    stuck_total: int
    stuck_after_seconds: float
    health: list[ProviderHealth] = field(default_factory=list)  # the last hour, per provider
    usage_days: int = USAGE_DAYS


def stuck_jobs(jobs: QuerySet[TranscriptionJob], *, now: datetime | None = None) -> QuerySet[TranscriptionJob]:
    """Active jobs overdue by more than a sweep should ever let them be."""
    overdue = slashml_settings.SWEEP_GRACE + slashml_settings.SWEEP_INTERVAL
    cutoff = (now or timezone.now()) - timedelta(seconds=overdue)
    return jobs.filter(status__in=ACTIVE_STATUSES).filter(next_poll_at__lt=cutoff).order_by("next_poll_at")


def build(jobs: QuerySet[TranscriptionJob], *, now: datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    counted = dict(jobs.order_by().values_list("status").annotate(total=Count("pk")))
    status_counts = [(status.value, str(status.label), counted.get(status.value, 0)) for status in JobStatus]
    recent = jobs.filter(status=JobStatus.COMPLETED, completed_at__gte=now - timedelta(days=USAGE_DAYS))
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
