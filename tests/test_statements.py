"""SQL statements per job from create to COMPLETED, SlashML answering at once (issue 19).

Counted by :mod:`tests.statements` on whichever database the tier runs (SQLite by default,
PostgreSQL in the services tier), without transaction control; the throughput benchmark
counts the same way.
"""

from __future__ import annotations

from dataclasses import astuple

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_slashml import transcribe
from django_slashml.jobs import pipeline, speed
from django_slashml.jobs.pipeline import Step
from django_slashml.testing import sandbox_settings
from tests.statements import app_statements, count_job_statements

#: Also on PostgreSQL in the services tier, where the counts are the ones the benchmark reports.
pytestmark = [pytest.mark.django_db, pytest.mark.services]


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


def _search_index() -> int:
    """The completing step also indexes the transcript for search (issue 17): any phrases the job
    could still hold are deleted and the new ones written, in one statement on PostgreSQL, in a
    DELETE and an INSERT elsewhere (docs/search.md)."""
    return 1 if _postgresql() else 2


def _closing_write(events: bool = True, companions: int = 0) -> int:
    """A step's closing write: on PostgreSQL the job's UPDATE carries the step's events and the rows it
    deferred in one statement (django_slashml/jobs/closing.py); elsewhere each is a statement of its own."""
    return 1 if _postgresql() else 1 + int(events) + companions


@pytest.mark.parametrize("event_log", [True, False], ids=["event log on", "event log off"])
def test_a_job_from_a_url_costs_a_handful_of_statements(settings, slashml, sandbox, speech_path, event_log) -> None:
    from django_slashml.remote.client import SlashMLClient

    with speech_path.open("rb") as fileobj:  # a URL SlashML can fetch, as test_pipeline makes one
        client = SlashMLClient(sandbox.url, "sandbox-key")
        url = client.upload(fileobj, filename="s.wav", content_type="audio/wav", service_provider="assembly").url
    settings.SLASHML = sandbox_settings(sandbox, EVENT_LOG=event_log)
    slashml.set_faults(processing_time=0.05)
    create, submit, poll = astuple(count_job_statements(url))
    # create: INSERT job; the message at commit is named from the job in hand, with no read.
    # submit: claim (the row comes back with the lease and the submit counted), the closing write.
    # poll: claim, the closing write, the search index. Before issue 19 each claim was followed by a read,
    # each transition read its row back, each poll counted itself apart, the submit count was an UPDATE
    # of its own, the create's message read the job's status and the events were a statement apart.
    closing = _closing_write(events=event_log)
    assert (create, submit, poll) == (1, 1 + closing, 1 + closing + _search_index())
    if event_log and _postgresql():
        assert create + submit + poll == 6, "issue 19's goal: at most 8 statements per job"


def test_a_file_adds_its_upload_row_and_the_upload_to_slashml(settings, slashml, sandbox, speech_path) -> None:
    settings.SLASHML = sandbox_settings(sandbox)
    slashml.set_faults(processing_time=0.05)
    create, submit, poll = astuple(count_job_statements(speech_path))
    # The AudioUpload INSERT; one query for the job's upload row, a twin by the audio's hash and other
    # jobs on the same upload row (none: no claim on the upload is needed); SlashML's URL for the upload
    # is written with the submit's closing write.
    assert (create, submit, poll) == (2, 2 + _closing_write(companions=1), 1 + _closing_write() + _search_index())
    if _postgresql():
        assert create + submit + poll == 8, "issue 19's goal: at most 8 statements per job"


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
        sql for sql in app_statements(submit) if sql.startswith("UPDATE") and "remote_upload_claimed_until" in sql
    ]
    assert len(claims) == 2, "the claim, then its release with SlashML's URL, at once: the other job waits"
    assert len(app_statements(submit)) == 4 + _closing_write()


def test_a_database_without_update_returning_takes_the_lease_in_two_statements(
    settings, slashml, sandbox, speech_path, monkeypatch
) -> None:
    from django_slashml.jobs import rows

    monkeypatch.setattr(rows, "returns_rows", lambda db=None: False)
    settings.SLASHML = sandbox_settings(sandbox)
    slashml.set_faults(processing_time=0.05)
    create, submit, poll = astuple(count_job_statements(speech_path))
    closing = _closing_write(companions=1), _closing_write()
    assert (create, submit, poll) == (2, 3 + closing[0], 2 + closing[1] + _search_index()), "a read in each step"
