"""Reviewing transcripts: corrections keep the original, exports and the API use them."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from rest_framework.test import APIClient

from django_slashml.exceptions import InvalidTransitionError
from django_slashml.jobs import actions as job_actions
from django_slashml.models import JobStatus, ReviewState, TranscriptionJob
from django_slashml.transcripts import exports, review
from django_slashml.transcripts.corrections import align_words

WORDS = [
    {"text": text, "start": start, "end": end, "confidence": confidence}
    for text, start, end, confidence in [
        ("the", 0, 200, 0.99), ("quick", 250, 500, 0.97), ("brown", 550, 800, 0.4),
        ("fax", 850, 1100, 0.3), ("jumps", 1150, 1500, 0.95), ("over", 1550, 1800, 0.96),
    ]
]  # fmt: skip
ORIGINAL = "the quick brown fax jumps over"


def completed_job(owner: Any = None, **fields: Any) -> TranscriptionJob:
    fields.setdefault("status", JobStatus.COMPLETED)
    return TranscriptionJob.objects.create(
        service_provider="assembly",
        audio_url="https://example.com/a.wav",
        text=ORIGINAL,
        words=WORDS,
        confidence=0.8,
        audio_duration=2.0,
        owner=owner,
        **fields,
    )


# -- aligning a correction with the recognised timings -----------------------------------------


def test_unchanged_words_keep_their_timings_and_punctuation_does_not_break_matching() -> None:
    aligned = align_words(WORDS, "The quick brown fox jumps over.")
    assert [w["text"] for w in aligned] == ["The", "quick", "brown", "fox", "jumps", "over."]
    assert [(w["start"], w["end"]) for w in aligned] == [(w["start"], w["end"]) for w in WORDS]


def test_a_replaced_run_shares_the_time_of_what_it_replaces() -> None:
    aligned = align_words(WORDS, "the quick red fox cub jumps over")
    replaced = aligned[2:5]
    assert [w["text"] for w in replaced] == ["red", "fox", "cub"]
    assert replaced[0]["start"] == 550 and replaced[-1]["end"] == 1100
    assert all(a["end"] <= b["start"] for a, b in itertools.pairwise(replaced))


def test_inserted_words_sit_at_the_boundary_and_deleted_words_go() -> None:
    aligned = align_words(WORDS, "so the quick brown fax jumps")
    assert aligned[0] == {"text": "so", "start": 0, "end": 0, "confidence": None}
    assert [w["text"] for w in aligned] == ["so", "the", "quick", "brown", "fax", "jumps"]
    assert aligned[-1]["end"] == 1500


# -- review(): state, reviewer, correction, and what it refuses ---------------------------------


@pytest.mark.django_db
def test_a_correction_leaves_the_original_and_records_who_and_when(django_user_model, signal_log) -> None:
    reviewer = django_user_model.objects.create_user("rita")
    job = review.review(
        completed_job(),
        reviewer=reviewer,
        state=ReviewState.APPROVED,
        corrected_text=" the quick brown fox jumps over ",
    )
    assert job.text == ORIGINAL and job.words == WORDS
    assert job.corrected_text == "the quick brown fox jumps over"
    assert job.transcript_text == job.corrected_text
    assert (job.review_state, job.reviewed_by, job.reviewed_at is not None) == ("approved", reviewer, True)
    assert [(name, kwargs["review_state"]) for name, kwargs in signal_log if name == "transcription_reviewed"] == [
        ("transcription_reviewed", "approved")
    ]


@pytest.mark.django_db
def test_the_original_text_again_means_no_correction_and_none_keeps_the_last_one(django_user_model) -> None:
    reviewer = django_user_model.objects.create_user("rita")
    job = review.review(completed_job(), reviewer=reviewer, state="needs_correction", corrected_text="a fix")
    job = review.review(job, reviewer=reviewer, state="approved")
    assert job.corrected_text == "a fix"
    job = review.review(job, reviewer=reviewer, state="approved", corrected_text=f"  {ORIGINAL}\n")
    assert job.corrected_text == "" and job.transcript_text == ORIGINAL


@pytest.mark.django_db
def test_only_completed_jobs_can_be_reviewed_and_states_are_checked(django_user_model) -> None:
    reviewer = django_user_model.objects.create_user("rita")
    active = completed_job(status=JobStatus.IN_PROGRESS)
    with pytest.raises(InvalidTransitionError, match="only COMPLETED transcripts"):
        review.review(active, reviewer=reviewer, state="approved", corrected_text="x")
    active.refresh_from_db()
    assert (active.review_state, active.corrected_text) == ("unreviewed", "")
    with pytest.raises(ValueError, match="use one of: unreviewed, approved, needs_correction"):
        review.review(completed_job(), reviewer=reviewer, state="done")


@pytest.mark.django_db
def test_a_review_does_not_overwrite_what_a_worker_wrote_meanwhile(django_user_model) -> None:
    job = completed_job()
    stale = TranscriptionJob.objects.get(pk=job.pk)
    TranscriptionJob.objects.filter(pk=job.pk).update(metadata={"from": "worker"})
    review.review(stale, reviewer=django_user_model.objects.create_user("rita"), state="approved")
    assert TranscriptionJob.objects.get(pk=job.pk).metadata == {"from": "worker"}


@pytest.mark.django_db
def test_resubmitting_clears_the_review_with_the_transcript(django_user_model, settings) -> None:
    settings.SLASHML = {"API_KEY": "k"}
    job = review.review(
        completed_job(), reviewer=django_user_model.objects.create_user("r"), state="approved", corrected_text="x y"
    )
    job_actions.retry(job)
    job.refresh_from_db()
    assert (job.status, job.review_state, job.corrected_text, job.reviewed_by) == ("PENDING", "unreviewed", "", None)


# -- exports and the API prefer the correction, keep the original reachable ---------------------


@pytest.mark.django_db
def test_exports_use_the_correction_unless_asked_for_the_original(django_user_model) -> None:
    job = review.review(
        completed_job(), reviewer=django_user_model.objects.create_user("r"), state="approved",
        corrected_text="The quick brown fox jumps over.",
    )  # fmt: skip
    assert exports.render(job, "txt") == "The quick brown fox jumps over.\n"
    assert "fox" in exports.render(job, "srt") and "fax" not in exports.render(job, "srt")
    assert "fax" in exports.render(job, "vtt", version="original")
    assert exports.render(job, "txt", version="original") == ORIGINAL + "\n"
    with pytest.raises(ValueError, match="use one of: reviewed, original"):
        exports.render(job, "txt", version="latest")


@pytest.mark.django_db
def test_the_api_shows_the_corrected_text_and_the_original(django_user_model) -> None:
    owner = django_user_model.objects.create_user("ann")
    job = review.review(completed_job(owner), reviewer=owner, state="approved", corrected_text="fixed text")
    client = APIClient()
    client.force_authenticate(owner)
    body = client.get(f"/api/slashml/jobs/{job.pk}/").json()
    assert (body["text"], body["original_text"], body["review_state"]) == ("fixed text", ORIGINAL, "approved")
    assert client.get(f"/api/slashml/jobs/{job.pk}/transcript.txt").content == b"fixed text\n"
    assert client.get(f"/api/slashml/jobs/{job.pk}/transcript.txt?version=original").content.decode() == ORIGINAL + "\n"
    assert client.get(f"/api/slashml/jobs/{job.pk}/transcript.txt?version=v2").status_code == 400
    listed = client.get("/api/slashml/jobs/?review_state=approved&search=fixed").json()["results"]
    assert [row["id"] for row in listed] == [str(job.pk)]
    assert client.get("/api/slashml/jobs/?review_state=nope").status_code == 400
