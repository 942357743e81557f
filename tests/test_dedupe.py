"""The same audio sent to the same provider is not paid for twice, unless the caller asks (``fresh=True``)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from django_slashml import transcribe
from django_slashml.jobs import actions as job_actions
from django_slashml.jobs import pipeline
from django_slashml.jobs.pipeline import Step
from django_slashml.jobs.reuse import earlier_job
from django_slashml.models import JobStatus, TranscriptionJob
from django_slashml.remote.client import SlashMLClient

from .helpers import drive, make_due

pytestmark = [pytest.mark.django_db, pytest.mark.services]


def calls(control, endpoint: str) -> int:  # type: ignore[no-untyped-def]
    return control.stats()["calls"].get(endpoint, 0)


def test_the_same_audio_again_gets_the_finished_transcript_in_a_job_of_its_own(
    slashml, speech_path, signal_log, django_user_model
) -> None:
    owner = django_user_model.objects.create_user("second")
    first = drive(transcribe(speech_path, owner=owner))
    second = transcribe(speech_path, owner=owner, metadata={"ticket": 2})
    assert pipeline.advance(second.pk) == Step.REUSED
    second.refresh_from_db()
    assert second.pk != first.pk and second.owner == owner and second.metadata == {"ticket": 2}
    assert second.status == JobStatus.COMPLETED and second.reused_from == first
    assert (second.text, second.words, second.confidence) == (first.text, first.words, first.confidence)
    assert second.remote_id == first.remote_id and second.completed_at
    assert calls(slashml, "upload") == 1 and calls(slashml, "submit") == 1
    assert (first.submit_attempts, second.submit_attempts) == (1, 0), "a copy sends SlashML nothing"
    completed = [kwargs["job"].pk for name, kwargs in signal_log if name == "transcription_completed"]
    assert completed == [first.pk, second.pk], "the caller's receivers hear about their own job"


def test_another_provider_or_fresh_true_transcribes_again(slashml, speech_path) -> None:
    first = drive(transcribe(speech_path))
    other_provider = drive(transcribe(speech_path, service_provider="whisper"))
    fresh = drive(transcribe(speech_path, fresh=True))
    assert {job.status for job in (first, other_provider, fresh)} == {JobStatus.COMPLETED}
    assert other_provider.reused_from is None and fresh.reused_from is None and fresh.fresh
    assert calls(slashml, "submit") == 3


def test_a_running_job_is_followed_instead_of_submitted_twice(slashml, speech_path) -> None:
    slashml.set_faults(processing_time=1.0)
    first = transcribe(speech_path)
    assert pipeline.advance(first.pk) == Step.SUBMITTED
    second = transcribe(speech_path)
    assert pipeline.advance(second.pk) == Step.FOLLOWING
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.status in (JobStatus.QUEUED, JobStatus.IN_PROGRESS)
    assert second.remote_id == first.remote_id and second.reused_from_id == first.pk and second.submitted_at
    assert second.submit_attempts == 0, "following sends SlashML nothing"
    first, second = drive(first), drive(second)
    assert first.status == second.status == JobStatus.COMPLETED and first.text == second.text
    assert calls(slashml, "submit") == 1 and calls(slashml, "upload") == 1


def test_of_two_jobs_started_together_the_older_submits_and_the_younger_waits_for_it(slashml, speech_path) -> None:
    older, younger = transcribe(speech_path), transcribe(speech_path)
    assert pipeline.advance(younger.pk) == Step.WAITING
    younger.refresh_from_db()
    assert younger.status == JobStatus.PENDING and younger.lease_owner == ""
    assert younger.last_response == {"waiting_for_job": str(older.pk)}
    assert younger.consecutive_failures == 0, "waiting is not a failed attempt"
    assert younger.submit_attempts == 0, "the claim's count is given back: nothing was sent"
    assert pipeline.advance(older.pk) == Step.SUBMITTED, "the older one never waits for the younger"
    make_due(younger)
    assert pipeline.advance(younger.pk) in (Step.FOLLOWING, Step.REUSED)
    assert drive(older).text == drive(younger).text
    assert calls(slashml, "submit") == 1


def test_jobs_created_in_the_same_instant_are_ordered_by_id(slashml, speech_path) -> None:
    one, two = transcribe(speech_path), transcribe(speech_path)
    TranscriptionJob.objects.update(created_at=timezone.now())
    # Ties go by id in the database's order (MariaDB's native UUID type sorts otherwise than Python).
    first, second = TranscriptionJob.objects.filter(pk__in=[one.pk, two.pk]).order_by("pk")
    assert earlier_job(first) is None
    earlier = earlier_job(second)
    assert earlier is not None and earlier.action == "wait" and earlier.job == first


def test_failed_and_cancelled_jobs_are_not_reused(slashml, speech_path) -> None:
    slashml.set_faults(job_error_rate=1.0)
    failed = drive(transcribe(speech_path))
    assert failed.status == JobStatus.ERROR
    cancelled = transcribe(speech_path)
    job_actions.cancel(cancelled)
    slashml.set_faults(job_error_rate=0.0)
    third = drive(transcribe(speech_path))
    assert third.status == JobStatus.COMPLETED and third.reused_from is None
    assert calls(slashml, "submit") == 2


def test_a_waiting_job_goes_ahead_alone_when_the_one_it_waited_for_is_cancelled(slashml, speech_path) -> None:
    older, younger = transcribe(speech_path), transcribe(speech_path)
    assert pipeline.advance(younger.pk) == Step.WAITING
    job_actions.cancel(older)
    make_due(younger)
    assert pipeline.advance(younger.pk) == Step.SUBMITTED
    assert drive(younger).status == JobStatus.COMPLETED


def test_retrying_a_completed_job_asks_slashml_again(slashml, speech_path) -> None:
    drive(transcribe(speech_path))
    reused = drive(transcribe(speech_path))
    assert reused.reused_from is not None
    job_actions.retry(reused)
    reused = drive(reused)
    assert reused.status == JobStatus.COMPLETED and reused.fresh and reused.reused_from is None
    assert calls(slashml, "submit") == 2


def test_retrying_a_failed_job_can_reuse_a_transcript_made_meanwhile(slashml, speech_path) -> None:
    slashml.set_faults(job_error_rate=1.0)
    failed = drive(transcribe(speech_path))
    slashml.set_faults(job_error_rate=0.0)
    done = drive(transcribe(speech_path))
    job_actions.retry(failed)
    failed = drive(failed)
    assert failed.status == JobStatus.COMPLETED and failed.reused_from == done and not failed.fresh
    assert calls(slashml, "submit") == 2


def test_urls_are_not_deduplicated(slashml, sandbox, speech_path) -> None:
    with speech_path.open("rb") as fileobj:
        url = (
            SlashMLClient(sandbox.url, "sandbox-key")
            .upload(fileobj, filename="speech.wav", content_type="audio/wav", service_provider="assembly")
            .url
        )
    drive(transcribe(url))
    again = drive(transcribe(url))
    assert again.status == JobStatus.COMPLETED and again.reused_from is None
    assert calls(slashml, "submit") == 2


def test_another_owners_recording_is_not_reused_unless_the_setting_says_so(
    settings, slashml, speech_path, django_user_model
) -> None:
    from rest_framework.test import APIClient

    ann, bob = (django_user_model.objects.create_user(name) for name in ("ann", "bob"))
    first = drive(transcribe(speech_path, owner=ann))
    separate = drive(transcribe(speech_path, owner=bob))
    assert separate.reused_from is None and calls(slashml, "submit") == 2, "bob's job tells him nothing about ann's"

    settings.SLASHML = {**settings.SLASHML, "REUSE_ACROSS_OWNERS": True}
    shared = drive(transcribe(speech_path, owner=bob))
    assert shared.reused_from in (first, separate) and calls(slashml, "submit") == 2
    shared_from_ann = drive(transcribe(speech_path, owner=bob, fresh=True))
    TranscriptionJob.objects.filter(pk=shared_from_ann.pk).update(reused_from=first)
    client = APIClient()
    client.force_authenticate(bob)
    assert client.get(f"/api/slashml/jobs/{shared_from_ann.pk}/").json()["reused_from"] is None
    listed = {row["id"]: row["reused_from"] for row in client.get("/api/slashml/jobs/").json()["results"]}
    assert listed[str(shared_from_ann.pk)] is None and str(first.pk) not in str(listed)
    own = TranscriptionJob.objects.filter(pk=shared_from_ann.pk).update(reused_from=separate)
    assert own and client.get(f"/api/slashml/jobs/{shared_from_ann.pk}/").json()["reused_from"] == str(separate.pk)
