"""What a job's statements do, on whichever database the tier runs (SQLite, PostgreSQL, MariaDB).

Counted by :mod:`tests.statements` without transaction control; the throughput benchmark counts
the same way and reports the figures. The counts here are a regression guard per database, not a goal:
a change that adds a statement to every job should be a decision, seen in review.
"""

from __future__ import annotations

from dataclasses import astuple

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_slashml import transcribe
from django_slashml.jobs import pipeline, speed
from django_slashml.jobs.pipeline import Step
from django_slashml.models import TranscriptionJob
from django_slashml.testing import sandbox_settings
from tests.statements import app_statements, count_job_statements

pytestmark = [pytest.mark.django_db, pytest.mark.services]

#: (create, submit, poll) for a job from a URL with the event log on, by database. The poll also
#: indexes the transcript for search (PostgreSQL computes the search vectors in the same INSERT).
URL_JOB = {"sqlite": (1, 5, 6), "postgresql": (1, 5, 6), "mysql": (1, 5, 6)}


def _url(sandbox, speech_path) -> str:  # type: ignore[no-untyped-def]
    from django_slashml.remote.client import SlashMLClient

    with speech_path.open("rb") as fileobj:  # a URL SlashML can fetch, as test_pipeline makes one
        client = SlashMLClient(sandbox.url, "sandbox-key")
        return client.upload(fileobj, filename="s.wav", content_type="audio/wav", service_provider="assembly").url


def test_a_job_from_a_url_costs_what_it_did(settings, slashml, sandbox, speech_path) -> None:
    url = _url(sandbox, speech_path)
    settings.SLASHML = sandbox_settings(sandbox)
    slashml.set_faults(processing_time=0.05)
    counts = astuple(count_job_statements(url))
    # create: INSERT job, nothing read back. submit: the claim's UPDATE and its read, the submit counted,
    # the transition's UPDATE, its events' INSERT. poll: the claim and its read, the transition, its
    # events, the search index (DELETE, INSERT).
    assert counts == URL_JOB[connection.vendor]


def test_creating_a_job_reads_nothing_back(settings, slashml, sandbox, speech_path) -> None:
    settings.SLASHML = sandbox_settings(sandbox)
    slashml.set_faults(processing_time=0.05)
    statements = count_job_statements(_url(sandbox, speech_path))
    assert statements.create == 1, "the message at commit is named from the job in hand"


def test_the_submit_is_counted_before_the_post_whatever_comes_of_it(settings, slashml, sandbox, speech_path) -> None:
    """SlashML has no idempotency key: a worker killed mid-POST must still leave its count."""
    settings.SLASHML = sandbox_settings(sandbox)
    slashml.set_faults(script=[{"endpoint": "submit", "fault": "500"}])
    job = transcribe(_url(sandbox, speech_path), service_provider="assembly")
    assert pipeline.advance(job.pk) == Step.RETRYING
    job.refresh_from_db()
    assert job.submit_attempts == 1


def test_a_job_that_shares_an_earlier_jobs_work_counts_no_submit(settings, slashml, sandbox, speech_path) -> None:
    settings.SLASHML = sandbox_settings(sandbox)
    slashml.set_faults(processing_time=0.05)
    first = transcribe(speech_path, service_provider="assembly")
    second = transcribe(speech_path, service_provider="assembly")
    assert pipeline.advance(first.pk) == Step.SUBMITTED
    assert pipeline.advance(second.pk) == Step.FOLLOWING
    counted = dict(TranscriptionJob.objects.values_list("pk", "submit_attempts"))
    assert (counted[first.pk], counted[second.pk]) == (1, 0)


def test_a_shared_upload_takes_its_claim_before_uploading(settings, slashml, sandbox, speech_path) -> None:
    from django_slashml.jobs.actions import store_audio

    settings.SLASHML = sandbox_settings(sandbox)
    slashml.set_faults(processing_time=0.05)
    speed.learned_rate("assembly")
    upload = store_audio(speech_path, None)
    first = transcribe(upload, service_provider="assembly")
    transcribe(upload, service_provider="whisper")  # a comparison's two jobs share one upload row
    with CaptureQueriesContext(connection) as submit:
        assert pipeline.advance(first.pk) == Step.SUBMITTED
    claims = [
        sql
        for sql in app_statements(submit)
        if sql.upper().startswith("UPDATE") and "remote_upload_claimed_until" in sql
    ]
    assert len(claims) == 2, "the claim, then its release with SlashML's URL, at once: the other job waits"
