"""A worker whose settings cannot work leaves its jobs due and says what to set; fixed, the same jobs finish."""

from __future__ import annotations

import logging

import pytest
from django.core.checks import run_checks
from django.utils import timezone

from django_slashml import transcribe
from django_slashml.jobs import pipeline, sweeper
from django_slashml.jobs.pipeline import Step
from django_slashml.models import JobStatus, TranscriptionJob
from django_slashml.remote.client import SlashMLClient
from django_slashml.remote.responses import RemoteJob
from django_slashml.testing import sandbox_settings

from .helpers import drive, make_due

pytestmark = pytest.mark.django_db


def _untouched_and_due(job: TranscriptionJob, status: str) -> TranscriptionJob:
    job.refresh_from_db()
    assert job.status == status and job.error_message == ""
    assert job.next_poll_at is not None and job.next_poll_at <= timezone.now()
    assert job.lease_owner == "" and job.consecutive_failures == 0
    return job


def test_a_worker_without_its_api_key_leaves_the_job_due_and_names_the_setting(
    settings, sandbox, slashml, speech_path, monkeypatch, caplog
) -> None:
    job = transcribe(speech_path)  # the web process has the key
    monkeypatch.delenv("SLASHML_API_KEY", raising=False)
    settings.SLASHML = sandbox_settings(sandbox, API_KEY=None, MAX_TRANSIENT_FAILURES=2)
    with caplog.at_level(logging.ERROR, logger="django_slashml.jobs.pipeline"):
        steps = [pipeline.advance(job.pk) for _ in range(4)]  # more than MAX_TRANSIENT_FAILURES
    assert steps == [Step.MISCONFIGURED] * 4
    job = _untouched_and_due(job, JobStatus.PENDING)
    assert job.submit_attempts == 0 and slashml.stats()["calls"].get("submit", 0) == 0
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 4 and all("API_KEY" in message and str(job.pk) in message for message in errors)

    settings.SLASHML = sandbox_settings(sandbox)
    job = drive(job)
    assert job.status == JobStatus.COMPLETED and job.submit_attempts == 1


class ClientWithoutCalls(SlashMLClient):
    """A custom client written before the pipeline passed ``calls=``: its status call cannot take it."""

    def status(self, remote_id: str, *, service_provider: str) -> RemoteJob:  # type: ignore[override]
        return super().status(remote_id, service_provider=service_provider)


def test_a_client_class_that_cannot_take_calls_is_a_configuration_error(
    settings, sandbox, slashml, speech_path, caplog
) -> None:
    job = transcribe(speech_path)
    assert pipeline.advance(job.pk) == Step.SUBMITTED
    make_due(job)
    old_client = f"{__name__}.ClientWithoutCalls"
    settings.SLASHML = sandbox_settings(sandbox, CLIENT_CLASS=old_client, MAX_TRANSIENT_FAILURES=2)
    (problem,) = [message for message in run_checks() if message.id == "slashml.E021"]
    assert "status must accept the keyword argument calls=" in problem.msg
    with caplog.at_level(logging.ERROR, logger="django_slashml.jobs.pipeline"):
        steps = [pipeline.advance(job.pk) for _ in range(3)]  # more than MAX_TRANSIENT_FAILURES
    assert steps == [Step.MISCONFIGURED] * 3, "no attempt counted, the job is not failed"
    job = _untouched_and_due(job, JobStatus.QUEUED)
    assert any("calls=" in record.getMessage() for record in caplog.records)

    settings.SLASHML = sandbox_settings(sandbox)
    assert drive(job).status == JobStatus.COMPLETED


def test_a_bad_client_class_leaves_a_running_job_due(settings, sandbox, slashml, speech_path, caplog) -> None:
    job = transcribe(speech_path)
    assert pipeline.advance(job.pk) == Step.SUBMITTED
    make_due(job)
    settings.SLASHML = sandbox_settings(sandbox, CLIENT_CLASS="no.such.Client")
    with caplog.at_level(logging.ERROR, logger="django_slashml.jobs.pipeline"):
        assert pipeline.advance(job.pk) == Step.MISCONFIGURED
    job = _untouched_and_due(job, JobStatus.QUEUED)
    assert job.poll_count == 0
    assert any("CLIENT_CLASS" in record.getMessage() for record in caplog.records)

    settings.SLASHML = sandbox_settings(sandbox)
    assert drive(job).status == JobStatus.COMPLETED


def test_each_sweep_that_meets_a_job_left_due_logs_what_to_set(
    settings, sandbox, slashml, speech_path, monkeypatch, caplog
) -> None:
    job = transcribe(speech_path)
    monkeypatch.delenv("SLASHML_API_KEY", raising=False)
    settings.SLASHML = sandbox_settings(sandbox, API_KEY=None, SWEEP_GRACE=0)
    assert pipeline.advance(job.pk) == Step.MISCONFIGURED
    # Patch stays: a spy, not an outage; the worker that would take the message is this test.
    monkeypatch.setattr(sweeper, "dispatch", lambda job_id, status, countdown=None: True)
    with caplog.at_level(logging.ERROR, logger="django_slashml.jobs.sweeper"):
        assert sweeper.sweep() == 1
        assert sweeper.sweep() == 1
    errors = [r.getMessage() for r in caplog.records if r.name == "django_slashml.jobs.sweeper"]
    assert len(errors) == 2 and all("API_KEY" in message for message in errors)
    _untouched_and_due(job, JobStatus.PENDING)
