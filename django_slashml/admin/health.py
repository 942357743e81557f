"""Per provider, the last hour: how many SlashML calls failed, and how long transcripts took.

A fixed number of queries whatever the table sizes: one grouped count of the hour's calls
(events, by their ``at`` index), one grouped count of the hour's completions, and for each
provider seen two single-row reads (the p50 and p95 rows by offset). Jobs completed in the
last hour were created at most ``JOB_DEADLINE`` before it, which bounds the scan with the
(status, created_at) index.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet

from django_slashml.conf import slashml_settings
from django_slashml.models import EventKind, JobEvent, JobStatus, ServiceProvider, TranscriptionJob

WINDOW = timedelta(hours=1)
CALL_KINDS = (EventKind.UPLOAD, EventKind.SUBMIT, EventKind.STATUS)


@dataclass(frozen=True)
class ProviderHealth:
    provider: str  # the label
    calls: int
    failed_calls: int
    completed: int
    p50_seconds: float | None
    p95_seconds: float | None

    @property
    def error_rate(self) -> float | None:
        return self.failed_calls / self.calls if self.calls else None


def _nth(completed: QuerySet[TranscriptionJob], provider: str, count: int, share: float) -> float | None:
    """The value at ``share`` of ``provider``'s times to transcript (nearest rank), read as one row."""
    if not count:
        return None
    rank = max(0, min(count - 1, math.ceil(round(share * count, 9)) - 1))
    took = ExpressionWrapper(F("completed_at") - F("created_at"), output_field=DurationField())
    rows = completed.filter(service_provider=provider).annotate(took=took).order_by("took")
    value = next(iter(rows.values_list("took", flat=True)[rank : rank + 1]), None)
    return value.total_seconds() if value is not None else None


def provider_health(jobs: QuerySet[TranscriptionJob], *, now: datetime) -> list[ProviderHealth]:
    since = now - WINDOW
    labels: dict[Any, str] = dict(ServiceProvider.choices)
    calls = (
        JobEvent.objects.filter(at__gte=since, kind__in=CALL_KINDS, job__in=jobs)
        .order_by()
        .values("job__service_provider")
        .annotate(total=Count("pk"), failed=Count("pk", filter=Q(http_status__isnull=True) | Q(http_status__gte=400)))
    )
    per_provider: dict[str, dict[str, int]] = {
        row["job__service_provider"]: {"calls": row["total"], "failed": row["failed"]} for row in calls
    }
    completed = jobs.filter(
        status=JobStatus.COMPLETED,
        created_at__gte=since - timedelta(seconds=float(slashml_settings.JOB_DEADLINE)),
        completed_at__gte=since,
    )
    counts = dict(completed.order_by().values_list("service_provider").annotate(n=Count("pk")))
    health = []
    for provider in sorted(set(per_provider) | set(counts)):
        seen = per_provider.get(provider, {"calls": 0, "failed": 0})
        done = counts.get(provider, 0)
        health.append(
            ProviderHealth(
                provider=labels.get(provider, provider),
                calls=seen["calls"],
                failed_calls=seen["failed"],
                completed=done,
                p50_seconds=_nth(completed, provider, done, 0.50),
                p95_seconds=_nth(completed, provider, done, 0.95),
            )
        )
    return health
