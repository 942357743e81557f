"""Issue 18: one audio, several providers, side by side."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

import django_slashml
from django_slashml.exceptions import InvalidComparisonError
from django_slashml.jobs import pipeline
from django_slashml.jobs.pipeline import Step
from django_slashml.models import AudioUpload, Comparison, JobStatus, ReviewState, TranscriptionJob
from django_slashml.remote.client import get_client
from django_slashml.testing import sandbox_settings
from django_slashml.transcripts.comparisons import ProviderScore

from .conftest import SPEECH_SCRIPT, SPEECH_WAV
from .helpers import drive

pytestmark = [pytest.mark.django_db, pytest.mark.services]

COMPARISONS = "/api/slashml/comparisons/"
JOBS = "/api/slashml/jobs/"
REFERENCE = " ".join(SPEECH_SCRIPT)


def calls(control: Any, endpoint: str) -> int:
    return int(control.stats()["calls"].get(endpoint, 0))


def run(comparison: Comparison) -> list[TranscriptionJob]:
    return [drive(job) for job in comparison.jobs.order_by("created_at", "pk")]


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def by_provider(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["service_provider"]: row for row in body["providers"]}


def test_three_providers_share_one_stored_file_and_one_upload_to_slashml(
    slashml, speech_path, django_user_model
) -> None:
    ann = django_user_model.objects.create_user("ann")
    comparison = django_slashml.compare(
        speech_path, providers=["assembly", "whisper", "google"], reference_text=REFERENCE, owner=ann
    )
    jobs = run(comparison)
    assert [job.service_provider for job in jobs] == ["assembly", "whisper", "google"]
    assert {job.status for job in jobs} == {JobStatus.COMPLETED}
    assert AudioUpload.objects.count() == 1 and {job.upload_id for job in jobs} == {comparison.upload_id}
    assert calls(slashml, "upload") == 1 and calls(slashml, "submit") == 3
    scores = comparison.scores()
    assert [row.service_provider for row in scores.providers] == ["assembly", "whisper", "google"]
    assert all(isinstance(row, ProviderScore) for row in scores.providers)
    assert scores.reference_source == "given" and scores.agreement is None
    assert scores["assembly"].wer == 0.0 and scores["assembly"].substitutions == 0
    assert 0 < (scores["whisper"].wer or 0) < (scores["google"].wer or 0), scores
    assert scores.best() == scores["assembly"]
    for row in scores.providers:
        assert row.audio_seconds and row.seconds_to_transcript is not None
        errors = (row.substitutions or 0) + (row.deletions or 0) + (row.insertions or 0)
        assert row.wer == pytest.approx(errors / len(SPEECH_SCRIPT))
    # The API answers the same scores, rounded to four places.
    body = client_for(comparison.owner).get(f"{COMPARISONS}{comparison.pk}/").json()
    assert body["reference"] == {"source": "given", "job": None} and body["agreement"] is None
    for provider, row in by_provider(body).items():
        assert row["wer"] == round(scores[provider].wer or 0, 4) and row["job"] == str(scores[provider].job.pk)
        heard = len(SPEECH_SCRIPT) - (scores[provider].deletions or 0) + (scores[provider].insertions or 0)
        assert row["words"] == scores[provider].words == heard


@pytest.mark.django_db(transaction=True)
def test_three_workers_at_once_upload_the_shared_file_once(slashml, speech_path) -> None:
    """Three threads each run one job of a comparison at the same moment (PostgreSQL: real row locks)."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent workers need the service tier's PostgreSQL (SLASHML_TEST_TIER=services)")
    slashml.set_faults(latency=0.3)  # every call slow, so the three jobs overlap
    comparison = django_slashml.compare(speech_path, providers=["assembly", "rev", "aws"])
    jobs = list(comparison.jobs.all())
    barrier = threading.Barrier(len(jobs))
    steps: list[Step] = []

    def work(job: TranscriptionJob) -> None:
        try:
            barrier.wait()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                job.refresh_from_db()
                if job.is_terminal:
                    return
                if job.next_poll_at and job.next_poll_at <= timezone.now():
                    steps.append(pipeline.advance(job.pk))
                else:
                    time.sleep(0.05)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {job.status for job in comparison.jobs.all()} == {JobStatus.COMPLETED}
    assert Step.WAITING in steps, f"the jobs did not overlap: {steps}"
    assert calls(slashml, "upload") == 1 and calls(slashml, "submit") == 3


def test_a_job_waits_while_another_uploads_the_shared_file_then_uses_its_url(slashml, speech_path) -> None:
    comparison = django_slashml.compare(speech_path, providers=["rev", "aws"])
    first, second = comparison.jobs.order_by("created_at", "pk")
    AudioUpload.objects.filter(pk=comparison.upload_id).update(
        remote_upload_claimed_until=timezone.now() + timedelta(minutes=5)
    )
    assert pipeline.advance(second.pk) == Step.WAITING
    assert calls(slashml, "upload") == 0
    AudioUpload.objects.filter(pk=comparison.upload_id).update(remote_upload_claimed_until=None)
    assert drive(first).status == JobStatus.COMPLETED
    TranscriptionJob.objects.filter(pk=second.pk).update(next_poll_at=timezone.now())
    assert drive(second).status == JobStatus.COMPLETED
    assert calls(slashml, "upload") == 1 and calls(slashml, "submit") == 2


@pytest.mark.django_db(transaction=True)  # the renewals come from a thread, on a connection of its own
def test_a_slow_shared_upload_keeps_its_claim_while_it_runs(settings, slashml, sandbox, speech_path, monkeypatch):
    """The claim lasts a lease and is renewed with it, so no sibling uploads the file again meanwhile."""
    settings.SLASHML = sandbox_settings(sandbox, LEASE_SECONDS=0.6)
    comparison = django_slashml.compare(speech_path, providers=["rev", "aws"])
    first, _second = comparison.jobs.order_by("created_at", "pk")
    client = get_client()
    real_upload = client.upload
    claim_held: list[bool] = []

    def slow_upload(*args: Any, **kwargs: Any) -> Any:
        for _ in range(3):
            time.sleep(0.5)  # 1.5 s in all, over twice the lease
            claimed_until = AudioUpload.objects.get(pk=comparison.upload_id).remote_upload_claimed_until
            claim_held.append(claimed_until is not None and claimed_until > timezone.now())
        return real_upload(*args, **kwargs)

    monkeypatch.setattr(client, "upload", slow_upload)
    assert pipeline.advance(first.pk) == Step.SUBMITTED
    assert claim_held == [True, True, True]
    assert AudioUpload.objects.get(pk=comparison.upload_id).remote_upload_claimed_until is None  # let go once done


def test_a_step_that_loaded_the_upload_before_another_job_uploaded_it_uses_that_upload(slashml, speech_path) -> None:
    comparison = django_slashml.compare(speech_path, providers=["rev", "aws"])
    first, second = comparison.jobs.order_by("created_at", "pk")
    as_loaded = TranscriptionJob.objects.select_related("upload").get(pk=second.pk)  # no remote URL yet
    assert drive(first).status == JobStatus.COMPLETED and calls(slashml, "upload") == 1
    assert (
        pipeline._audio_url_for(as_loaded, pipeline.Lease(job_id=as_loaded.pk, owner="a worker"), upload_shared=True)
        == AudioUpload.objects.get(pk=comparison.upload_id).remote_url
    )
    assert calls(slashml, "upload") == 1


def test_a_review_becomes_the_reference_and_the_scores_follow_it(slashml, speech_path, django_user_model) -> None:
    comparison = django_slashml.compare(speech_path, providers=["assembly", "aws"])
    assembly, _aws = run(comparison)
    before = comparison.scores()
    assert before.reference_source is None and {row.wer for row in before.providers} == {None}
    assert before.agreement is not None and before.agreement.pairwise_wer["assembly"]["aws"] > 0
    assert before.agreement.disagreements, "where they disagree, for a reviewer to start there"
    assert all(span.start_ms is not None for span in before.agreement.disagreements)

    TranscriptionJob.objects.filter(pk=assembly.pk).update(
        review_state=ReviewState.APPROVED, reviewed_at=timezone.now()
    )
    after = comparison.scores()
    assert after.reference_source == "review" and after.reference_job == assembly
    assert after["assembly"].wer == 0.0 and after["assembly"].is_reference
    assert (after["aws"].wer or 0) > 0 and after.agreement is None

    corrected = REFERENCE.replace("lazy dog", "lazy old dog")
    TranscriptionJob.objects.filter(pk=assembly.pk).update(corrected_text=corrected)
    assert comparison.scores()["assembly"].wer == pytest.approx(1 / (len(SPEECH_SCRIPT) + 1))


def test_the_api_creates_lists_and_scopes_comparisons_to_their_owner(slashml, django_user_model) -> None:
    ann = django_user_model.objects.create_user("ann")
    bob = django_user_model.objects.create_user("bob")
    audio = SimpleUploadedFile("speech.wav", SPEECH_WAV.read_bytes(), content_type="audio/wav")
    created = client_for(ann).post(
        COMPARISONS,
        {"audio": audio, "providers": ["assembly", "deepgram"], "reference_text": REFERENCE},
        format="multipart",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert [row["service_provider"] for row in body["providers"]] == ["assembly", "deepgram"]
    assert {row["status"] for row in body["providers"]} == {JobStatus.PENDING}
    for job in TranscriptionJob.objects.all():
        drive(job)
    detail = client_for(ann).get(f"{COMPARISONS}{body['id']}/").json()
    rows = by_provider(detail)
    assert rows["assembly"]["wer"] == 0.0 and rows["deepgram"]["wer"] > 0
    assert set(rows["deepgram"]) >= {"job", "status", "cer", "substitutions", "deletions", "insertions"}
    job = client_for(ann).get(f"{JOBS}{rows['deepgram']['job']}/").json()
    assert job["comparison"] == body["id"]  # a job leads back to its comparison
    assert client_for(ann).get(COMPARISONS).json()["count"] == 1
    assert client_for(bob).get(COMPARISONS).json()["count"] == 0
    assert client_for(bob).get(f"{COMPARISONS}{body['id']}/").status_code == 404
    assert client_for(bob).get(f"{JOBS}{rows['deepgram']['job']}/").status_code == 404  # nor the job's text
    assert {job.owner_id for job in TranscriptionJob.objects.all()} == {ann.pk}  # a comparison holds its owner's jobs
    staff = django_user_model.objects.create_user("sam", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_comparison"))
    assert client_for(staff).get(COMPARISONS).json()["count"] == 0, "transcripts need view_transcriptionjob too"
    assert client_for(staff).get(f"{COMPARISONS}{body['id']}/").status_code == 404
    staff.user_permissions.add(Permission.objects.get(codename="view_transcriptionjob"))
    staff = django_user_model.objects.get(pk=staff.pk)  # drop the cached permissions
    assert client_for(staff).get(f"{COMPARISONS}{body['id']}/").status_code == 200
    assert APIClient().get(COMPARISONS).status_code in (401, 403)


def test_the_providers_help_text_is_translated_when_read_not_at_import() -> None:
    from django.utils.functional import Promise

    from django_slashml.api.comparisons import ComparisonCreateSerializer

    help_text = ComparisonCreateSerializer().fields["providers"].help_text
    assert isinstance(help_text, Promise)
    assert str(help_text).startswith("2 to 6 distinct providers of: assembly")


def test_json_audio_url_is_accepted(slashml, django_user_model) -> None:
    ann = django_user_model.objects.create_user("ann")
    response = client_for(ann).post(
        COMPARISONS, {"audio_url": "https://93.184.216.34/a.wav", "providers": "aws,rev"}, format="json"
    )
    assert response.status_code == 201, response.content
    comparison = Comparison.objects.get()
    assert comparison.upload is None and comparison.jobs.count() == 2


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"providers": ["aws"]}, "providers", "needs 2 to 6 providers; got 1"),
        ({"providers": ["aws", "ibm"]}, "providers", "Unknown provider(s) 'ibm'"),
        ({"providers": ["aws", "aws"]}, "providers", "aws is repeated"),
        ({"providers": ["aws", "rev", "google", "assembly", "whisper", "deepgram", "aws"]}, "providers", "got 7"),
        ({"providers": ["aws", "rev"], "reference_text": "  "}, "reference_text", "reference_text is empty"),
        ({"providers": ["aws", "rev"], "reference_text": ""}, "reference_text", "reference_text is empty"),
    ],
)
def test_bad_input_is_a_400_naming_what_to_fix_and_nothing_is_saved(
    slashml, django_user_model, stored_files, payload, field, message
) -> None:
    ann = django_user_model.objects.create_user("ann")
    audio = SimpleUploadedFile("speech.wav", SPEECH_WAV.read_bytes(), content_type="audio/wav")
    response = client_for(ann).post(COMPARISONS, {"audio": audio, **payload}, format="multipart")
    assert response.status_code == 400
    assert message in " ".join(response.json()[field])
    assert not Comparison.objects.exists() and not TranscriptionJob.objects.exists()
    assert not AudioUpload.objects.exists() and stored_files() == []
    assert calls(slashml, "upload") == 0


def test_more_than_six_providers_is_refused_by_the_python_api(slashml, speech_path, stored_files) -> None:
    with pytest.raises(InvalidComparisonError, match="2 to 6 providers; got 7"):
        django_slashml.compare(speech_path, providers=["aws"] * 7)
    with pytest.raises(InvalidComparisonError, match="a list"):
        django_slashml.compare(speech_path, providers="aws,rev")
    assert not AudioUpload.objects.exists() and stored_files() == []


def test_the_command_prints_the_scores_best_first(slashml, speech_path) -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command(
        "slashml_compare", str(speech_path), "--providers", "google,assembly", "--reference", REFERENCE,
        "--wait", "--no-worker", "--timeout", "30", stdout=out,
    )  # fmt: skip
    lines = out.getvalue().split("Comparison:", 1)[1].strip().splitlines()
    assert lines[1].split()[:3] == ["assembly", "COMPLETED", "0.0%"]
    assert lines[2].split()[:2] == ["google", "COMPLETED"] and lines[2].split()[2] != "0.0%"
