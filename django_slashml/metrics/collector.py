"""The metric families, built from a fixed handful of grouped queries at each scrape.

Jobs are counted as they stand (a gauge by status and provider). SlashML calls and times
to transcript are read over the last ``METRICS_WINDOW_SECONDS`` from the event log and the
job table; since pruning removes old events, they are gauges and gauge histograms of that
window rather than counters that would seem to reset.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.utils import timezone

from django_slashml.conf import slashml_settings
from django_slashml.models import EventKind, JobEvent, JobStatus, RedactedSpan, TranscriptionJob

#: Upper bounds, in seconds, of the latency buckets of SlashML calls.
CALL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
#: Upper bounds, in seconds, of the time-to-transcript buckets.
TRANSCRIPT_BUCKETS = (5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 6 * 3600.0)
CALL_KINDS = (EventKind.UPLOAD, EventKind.SUBMIT, EventKind.STATUS)


def _buckets(rows: Mapping[str, Any], bounds: tuple[float, ...]) -> list[tuple[str, float]]:
    counts = [(format(bound, "g"), float(rows[f"le_{index}"])) for index, bound in enumerate(bounds)]
    return [*counts, ("+Inf", float(rows["total"]))]


class SlashMLCollector:
    """A ``prometheus_client`` collector (it only needs ``collect()``)."""

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily

        window = float(slashml_settings.METRICS_WINDOW_SECONDS)
        since = timezone.now() - timedelta(seconds=window)

        jobs = GaugeMetricFamily(
            "slashml_jobs", "Transcription jobs by status and provider.", labels=["status", "provider"]
        )
        counted = TranscriptionJob.objects.order_by().values_list("status", "service_provider").annotate(n=Count("pk"))
        for status, provider, total in counted:
            jobs.add_metric([status, provider], total)
        yield jobs

        redacted = GaugeMetricFamily(
            "slashml_redacted_spans", "Spans of personal data redacted from transcripts, by kind.", labels=["kind"]
        )
        for kind, total in RedactedSpan.objects.order_by().values_list("kind").annotate(n=Count("pk")):
            redacted.add_metric([kind], total)
        yield redacted

        calls = JobEvent.objects.filter(at__gte=since, kind__in=CALL_KINDS).order_by()
        by_code = GaugeMetricFamily(
            "slashml_api_calls",
            f"SlashML calls in the last {window:g} s by endpoint and HTTP status ('none': no answer).",
            labels=["endpoint", "code"],
        )
        for endpoint, code, total in calls.values_list("endpoint", "http_status").annotate(n=Count("pk")):
            by_code.add_metric([endpoint, str(code) if code is not None else "none"], total)
        yield by_code

        latency = GaugeHistogramMetricFamily(
            "slashml_api_call_duration_seconds",
            f"How long SlashML calls took, over the last {window:g} s.",
            labels=["endpoint"],
        )
        buckets = {f"le_{i}": Count("pk", filter=Q(duration_ms__lte=b * 1000)) for i, b in enumerate(CALL_BUCKETS)}
        for call_row in calls.values("endpoint").annotate(total=Count("pk"), seconds=Sum("duration_ms"), **buckets):
            seconds = (call_row["seconds"] or 0) / 1000
            latency.add_metric([call_row["endpoint"]], _buckets(call_row, CALL_BUCKETS), seconds)
        yield latency

        took = ExpressionWrapper(F("completed_at") - F("created_at"), output_field=DurationField())
        done = (
            TranscriptionJob.objects.filter(
                status=JobStatus.COMPLETED,
                completed_at__gte=since,
                created_at__gte=since - timedelta(seconds=float(slashml_settings.JOB_DEADLINE)),
            )
            .order_by()
            .annotate(took=took)
        )
        transcript = GaugeHistogramMetricFamily(
            "slashml_time_to_transcript_seconds",
            f"From a job's creation to its transcript, for jobs completed in the last {window:g} s.",
            labels=["provider"],
        )
        buckets = {
            f"le_{i}": Count("pk", filter=Q(took__lte=timedelta(seconds=b))) for i, b in enumerate(TRANSCRIPT_BUCKETS)
        }
        for row in done.values("service_provider").annotate(total=Count("pk"), took_sum=Sum("took"), **buckets):
            took_sum = row["took_sum"].total_seconds() if row["took_sum"] is not None else 0.0
            transcript.add_metric([row["service_provider"]], _buckets(row, TRANSCRIPT_BUCKETS), took_sum)
        yield transcript
