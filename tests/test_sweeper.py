"""The sweeper sends lost messages, and the messages that were never sent because a step was far off."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from django_slashml.jobs import sweeper
from django_slashml.models import JobStatus, TranscriptionJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch, settings) -> list[tuple[str, str, float | None]]:
    settings.SLASHML = {**settings.SLASHML, "MAX_COUNTDOWN": 300, "SWEEP_INTERVAL": 60, "SWEEP_GRACE": 10}
    published: list[tuple[str, str, float | None]] = []
    # Patch stays: a spy, not an outage; it records each message's countdown, which a broker only holds as an ETA.
    monkeypatch.setattr(
        sweeper,
        "dispatch",
        lambda job_id, status, countdown=None: published.append((str(job_id), status, countdown)) or True,
    )
    return published


def job_due(in_seconds: float, *, set_seconds_ago: float) -> TranscriptionJob:
    """An active job whose next poll is due ``in_seconds`` from now, scheduled ``set_seconds_ago``."""
    now = timezone.now()
    job = TranscriptionJob.objects.create(service_provider="assembly", status=JobStatus.QUEUED, remote_id="r")
    TranscriptionJob.objects.filter(pk=job.pk).update(
        next_poll_at=now + timedelta(seconds=in_seconds), updated_at=now - timedelta(seconds=set_seconds_ago)
    )
    return job


def test_a_far_off_step_gets_its_message_from_the_sweep_before_it_falls_due(sent) -> None:
    long_file = job_due(30, set_seconds_ago=570)  # set 600 s ahead: no countdown message was sent
    assert sweeper.sweep() == 1
    ((job_id, status, countdown),) = sent
    assert job_id == str(long_file.pk) and status == JobStatus.QUEUED
    assert 28 < countdown <= 30, "the message runs when the poll is due, not when the sweep ran"


def test_steps_that_had_a_countdown_or_are_beyond_the_next_sweep_are_left_alone(sent) -> None:
    job_due(30, set_seconds_ago=100)  # set 130 s ahead: its countdown message is on its way
    job_due(120, set_seconds_ago=600)  # far off, but the next sweep comes first
    assert sweeper.sweep() == 0 and sent == []


def test_overdue_jobs_are_still_sent_at_once(sent) -> None:
    late = job_due(-30, set_seconds_ago=60)
    assert sweeper.sweep() == 1
    assert sent == [(str(late.pk), JobStatus.QUEUED, None)]
