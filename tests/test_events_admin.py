"""The job's timeline in the admin and the dashboard's per-provider health (issue 20)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_slashml import transcribe
from django_slashml.admin.health import provider_health
from django_slashml.models import EventKind, JobEvent, JobStatus, TranscriptionJob

from .helpers import drive

pytestmark = pytest.mark.django_db

JOBS = "/admin/django_slashml/transcriptionjob/"


def test_the_job_page_shows_the_timeline_with_errors_opened_on_click(admin_client: Client, slashml, speech_path):
    slashml.set_faults(script=[{"endpoint": "submit", "fault": "500"}])
    job = drive(transcribe(speech_path))
    page = admin_client.get(f"{JOBS}{job.pk}/change/").content.decode()
    assert 'class="slashml-timeline"' in page
    timeline = page[page.index('class="slashml-timeline"') :]
    assert timeline.count('<tr class="slashml-event ') == job.events.count()
    assert "slashml-event-submit slashml-event-error" in timeline
    assert "POST submit → 500" in timeline and "<details" in timeline
    assert "Internal Server Error" in timeline  # SlashML's answer, inside the <details>
    assert "next try in" in timeline  # the back-off
    assert (
        "slashml-event-completed" in timeline
        and f"{job.events.get(kind='completed').old_status} → COMPLETED" in timeline
    )
    first = job.events.order_by("at", "pk").first()
    assert f"+{(first.at - job.created_at).total_seconds():.1f} s" in timeline
    assert "ms</td>" in timeline  # durations


def finished(provider: str, seconds: float, now: Any) -> TranscriptionJob:
    return TranscriptionJob.objects.create(
        service_provider=provider,
        status=JobStatus.COMPLETED,
        audio_url="https://example.com/a.wav",
        created_at=now - timedelta(seconds=seconds),
        completed_at=now,
    )


def calls(job: TranscriptionJob, statuses: list[int | None], now: Any) -> None:
    JobEvent.objects.bulk_create(
        JobEvent(job=job, kind=EventKind.STATUS, at=now - timedelta(minutes=5), http_status=status)
        for status in statuses
    )


def test_health_per_provider_error_rate_and_percentiles_of_the_last_hour() -> None:
    now = timezone.now()
    assembly = [finished("assembly", seconds, now) for seconds in range(1, 101)]  # 1 s .. 100 s
    calls(assembly[0], [200] * 6 + [500, 429, None], now)
    slow = finished("whisper", 30, now)
    calls(slow, [200, 200, 200, 503], now)
    JobEvent.objects.create(job=slow, kind=EventKind.STATUS, at=now - timedelta(hours=2), http_status=500)
    TranscriptionJob.objects.create(  # completed two hours ago: outside the hour
        service_provider="whisper",
        status=JobStatus.COMPLETED,
        created_at=now - timedelta(hours=3),
        completed_at=now - timedelta(hours=2),
    )
    health = {row.provider: row for row in provider_health(TranscriptionJob.objects.all(), now=now)}
    assert set(health) == {"AssemblyAI", "Whisper"}
    a, w = sorted(health.values(), key=lambda row: row.completed, reverse=True)
    assert (a.calls, a.failed_calls, a.completed) == (9, 3, 100)
    assert a.error_rate == pytest.approx(1 / 3)
    assert a.p50_seconds == pytest.approx(50, abs=0.01) and a.p95_seconds == pytest.approx(95, abs=0.01)
    assert (w.calls, w.failed_calls, w.completed) == (4, 1, 1)
    assert w.p50_seconds == pytest.approx(30, abs=0.01) == w.p95_seconds


def test_the_dashboard_shows_health_in_a_constant_number_of_queries(admin_client: Client) -> None:
    now = timezone.now()
    for seconds in range(1, 6):
        calls(finished("assembly", seconds, now), [200, 500], now)
    admin_client.get(JOBS)
    with CaptureQueriesContext(connection) as few:
        page = admin_client.get(JOBS).content.decode()
    assert "Last hour, per provider" in page and "50%" in page  # one failed call in two
    for seconds in range(6, 200):
        calls(finished("assembly", seconds, now), [200, 500], now)
    with CaptureQueriesContext(connection) as many:
        assert admin_client.get(JOBS).status_code == 200
    assert len(many) == len(few)
