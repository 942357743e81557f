"""SQL statements per job from create to COMPLETED, SlashML answering at once (issue 19).

Counted with CaptureQueriesContext on whichever database the tier runs (SQLite by
default, PostgreSQL in the services tier), without transaction control (BEGIN,
COMMIT, savepoints), which SQLite logs and PostgreSQL's driver does not. The learned
speed is read once per provider per POLL_LEARNING_CACHE_SECONDS per process, so
the steady state is counted: the cache is warmed before the measured job.
"""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_slashml import transcribe
from django_slashml.jobs import pipeline, speed
from django_slashml.jobs.pipeline import Step
from django_slashml.models import JobStatus, TranscriptionJob
from django_slashml.testing import sandbox_settings
from django_slashml.transcripts.search.engines import require_search_config

pytestmark = pytest.mark.django_db


def _search_index() -> int:
    """The completing step also indexes the transcript for search (issue 17): any phrases the job
    could still hold are deleted and the new ones written, in one statement on PostgreSQL, in a
    DELETE and an INSERT elsewhere (docs/search.md)."""
    return 1 if connection.vendor == "postgresql" else 2


CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


def _statements(captured: CaptureQueriesContext) -> list[str]:
    """The app's own statements: the services tier's signal recorder writes rows of its own."""
    return [
        q["sql"]
        for q in captured.captured_queries
        if not q["sql"].upper().startswith(CONTROL) and "slashml_reliability" not in q["sql"]
    ]


def _count(audio: object) -> tuple[int, int, int]:
    """Statements to create the job, for its first step (submit) and for its second (the poll that completes it)."""
    speed.learned_rate("assembly")  # the steady state: the provider's speed is cached,
    require_search_config("default")  # and PostgreSQL's search configuration confirmed
    with CaptureQueriesContext(connection) as create:
        job = transcribe(audio, service_provider="assembly")
    with CaptureQueriesContext(connection) as submit:
        assert pipeline.advance(job.pk) == Step.SUBMITTED
    time.sleep(0.15)  # the sandbox has finished
    TranscriptionJob.objects.filter(pk=job.pk).update(next_poll_at=timezone.now())
    with CaptureQueriesContext(connection) as poll:
        assert pipeline.advance(job.pk) == Step.COMPLETED
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED and job.poll_count == 1
    return len(_statements(create)), len(_statements(submit)), len(_statements(poll))


@pytest.mark.parametrize(("event_log", "per_step"), [(True, 1), (False, 0)], ids=["event log on", "event log off"])
def test_a_job_from_a_url_costs_a_handful_of_statements(
    settings, slashml, sandbox, speech_path, event_log, per_step
) -> None:
    from django_slashml.remote.client import SlashMLClient

    with speech_path.open("rb") as fileobj:  # a URL SlashML can fetch, as test_pipeline makes one
        client = SlashMLClient(sandbox.url, "sandbox-key")
        url = client.upload(fileobj, filename="s.wav", content_type="audio/wav", service_provider="assembly").url
    settings.SLASHML = sandbox_settings(sandbox, EVENT_LOG=event_log)
    slashml.set_faults(processing_time=0.05)
    create, submit, poll = _count(url)
    # create: INSERT job; the message at commit is named from the job in hand, with no read.
    # submit: claim (the row comes back with the lease and the submit counted), transition (+ its events).
    # poll: claim, transition (+ its events). Before issue 19 each claim was followed by a read, each
    # transition read its row back, each poll counted itself apart, the submit count was an UPDATE of
    # its own and the create's message read the job's status: 7 more.
    assert (create, submit, poll) == (1, 2 + per_step, 2 + per_step + _search_index())
    if event_log and connection.vendor == "postgresql":
        assert create + submit + poll == 8, "issue 19's goal: at most 8 statements per job"


def test_a_file_adds_its_upload_row_and_the_upload_to_slashml(settings, slashml, sandbox, speech_path) -> None:
    settings.SLASHML = sandbox_settings(sandbox)
    slashml.set_faults(processing_time=0.05)
    create, submit, poll = _count(speech_path)
    # The AudioUpload INSERT; one query for the job's upload row, a twin by the audio's hash and other
    # jobs on the same upload row (none: no claim on the upload is needed), and recording SlashML's URL.
    assert (create, submit, poll) == (2, 5, 3 + _search_index())


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
    claims = [sql for sql in _statements(submit) if sql.startswith("UPDATE") and "remote_upload_claimed_until" in sql]
    assert len(claims) == 2, "the claim, then its release with SlashML's URL"
    assert len(_statements(submit)) == 6


def test_a_database_without_update_returning_takes_the_lease_in_two_statements(
    settings, slashml, sandbox, speech_path, monkeypatch
) -> None:
    from django_slashml.jobs import rows

    monkeypatch.setattr(rows, "returns_rows", lambda: False)
    settings.SLASHML = sandbox_settings(sandbox)
    slashml.set_faults(processing_time=0.05)
    create, submit, poll = _count(speech_path)
    assert (create, submit, poll) == (2, 6, 4 + _search_index()), "the claim and a read in each step"
