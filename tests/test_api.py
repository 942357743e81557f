"""The REST API: every endpoint, permission boundary and bad input, against the sandbox."""

from __future__ import annotations

import io
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from django_slashml import transcribe
from django_slashml.jobs import actions as job_actions
from django_slashml.models import AudioUpload, JobStatus, TranscriptionJob
from django_slashml.testing import simulate_completion

from .conftest import SPEECH_SCRIPT, SPEECH_WAV
from .extras import require
from .helpers import drive

pytestmark = pytest.mark.django_db

JOBS = "/api/slashml/jobs/"
UPLOADS = "/api/slashml/uploads/"


@pytest.fixture
def ann(django_user_model) -> Any:
    return django_user_model.objects.create_user("ann", password="pw")


@pytest.fixture
def bob(django_user_model) -> Any:
    return django_user_model.objects.create_user("bob", password="pw")


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def wav(name: str = "speech.wav", data: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, SPEECH_WAV.read_bytes() if data is None else data, content_type="audio/wav")


def job_for(user: Any, **fields: Any) -> TranscriptionJob:
    fields.setdefault("service_provider", "assembly")
    return TranscriptionJob.objects.create(audio_url="https://example.com/a.wav", owner=user, **fields)


def nothing_saved(stored_files: Any) -> bool:
    return not AudioUpload.objects.exists() and not TranscriptionJob.objects.exists() and stored_files() == []


# -- authentication and visibility ----------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [("get", JOBS), ("post", JOBS), ("get", UPLOADS), ("post", UPLOADS)])
def test_everything_needs_authentication(method, path) -> None:
    response = getattr(APIClient(), method)(path)
    assert response.status_code in (401, 403)


def test_status_of_a_job_needs_authentication(ann) -> None:
    job = job_for(ann)
    assert APIClient().get(f"{JOBS}{job.pk}/").status_code in (401, 403)


def test_users_see_only_their_own_jobs_and_others_are_404(ann, bob) -> None:
    mine, theirs = job_for(ann), job_for(bob)
    client = client_for(ann)
    listed = client.get(JOBS).json()["results"]
    assert [row["id"] for row in listed] == [str(mine.pk)]
    for path in (f"{JOBS}{theirs.pk}/", f"{JOBS}{theirs.pk}/transcript.txt"):
        assert client.get(path).status_code == 404
    for verb in ("retry", "cancel"):
        assert client.post(f"{JOBS}{theirs.pk}/{verb}/").status_code == 404
    # The owners' transcript page and its audio, under the same URLs, follow the same rule.
    signed_in = Client()
    signed_in.force_login(ann)
    for path in (f"/api/slashml/transcripts/{theirs.pk}/", f"/api/slashml/transcripts/{theirs.pk}/audio/"):
        assert signed_in.get(path).status_code == 404
    assert signed_in.get(f"/api/slashml/transcripts/{mine.pk}/").status_code == 200


def test_staff_with_the_view_permission_see_all_and_need_change_to_act(ann, bob, django_user_model) -> None:
    mine, theirs = job_for(ann), job_for(bob)
    staff = django_user_model.objects.create_user("sue", password="pw", is_staff=True)
    assert len(client_for(staff).get(JOBS).json()["results"]) == 0, "staff alone is not enough"
    staff.user_permissions.add(Permission.objects.get(codename="view_transcriptionjob"))
    staff = django_user_model.objects.get(pk=staff.pk)
    client = client_for(staff)
    assert {row["id"] for row in client.get(JOBS).json()["results"]} == {str(mine.pk), str(theirs.pk)}
    assert client.post(f"{JOBS}{theirs.pk}/cancel/").status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="change_transcriptionjob"))
    staff = django_user_model.objects.get(pk=staff.pk)
    assert client_for(staff).post(f"{JOBS}{theirs.pk}/cancel/").status_code == 200


def test_session_writes_keep_csrf_protection(ann) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.login(username="ann", password="pw")
    response = client.post(JOBS, {"audio_url": "https://example.com/a.wav"}, format="json")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    assert not TranscriptionJob.objects.exists()


# -- creating jobs and uploads --------------------------------------------------------------------


@pytest.mark.services
def test_create_from_a_file_then_follow_it_to_the_transcript(slashml, ann) -> None:
    slashml.set_faults(mistakes={"whisper": 0})  # the sandbox's own mistakes for whisper (docs/sandbox.md), off here
    client = client_for(ann)
    response = client.post(
        JOBS, {"audio": wav(), "service_provider": "whisper", "metadata": '{"ticket": 7}'}, format="multipart"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "PENDING" and body["service_provider"] == "whisper"
    assert body["owner"] == "ann" and body["metadata"] == {"ticket": 7}
    drive(TranscriptionJob.objects.get(pk=body["id"]))
    detail = client.get(f"{JOBS}{body['id']}/").json()
    assert detail["status"] == "COMPLETED" and detail["text"].split() == SPEECH_SCRIPT
    assert [word["text"] for word in detail["words"]] == SPEECH_SCRIPT
    assert "words" not in client.get(JOBS).json()["results"][0], "lists leave out the word arrays"
    assert "words" not in client.get(f"{JOBS}{body['id']}/?words=false").json()
    assert set(client.get(f"{JOBS}{body['id']}/?fields=status,text").json()) == {"id", "status", "text"}
    assert client.get(f"{JOBS}{body['id']}/?fields=nope").status_code == 400


def test_create_from_a_url_and_from_an_upload(slashml, ann, bob) -> None:
    client = client_for(ann)
    by_url = client.post(JOBS, {"audio_url": "https://example.com/talk.mp3"}, format="json")
    assert by_url.status_code == 201 and by_url.json()["audio_url"] == "https://example.com/talk.mp3"
    upload = client.post(UPLOADS, {"audio": wav()}, format="multipart")
    assert upload.status_code == 201
    assert upload.json()["content_type"] == "audio/wav" and upload.json()["duration"] == pytest.approx(5.37, abs=0.01)
    by_upload = client.post(JOBS, {"upload": upload.json()["id"]}, format="json")
    assert by_upload.status_code == 201 and by_upload.json()["upload"] == upload.json()["id"]
    stolen = client_for(bob).post(JOBS, {"upload": upload.json()["id"]}, format="json")
    assert stolen.status_code == 400 and "You have no audio upload" in stolen.json()["upload"][0]
    assert client.get(UPLOADS).json()["results"][0]["id"] == upload.json()["id"]
    assert client_for(bob).get(f"{UPLOADS}{upload.json()['id']}/").status_code == 404


def test_a_purged_upload_is_a_400_and_fresh_reaches_transcribe(slashml, ann) -> None:
    client = client_for(ann)
    upload = client.post(UPLOADS, {"audio": wav()}, format="multipart").json()
    first = client.post(JOBS, {"upload": upload["id"]}, format="json").json()
    again = client.post(JOBS, {"upload": upload["id"], "fresh": True}, format="json").json()
    fresh = TranscriptionJob.objects.get(pk=again["id"])
    assert fresh.fresh and not TranscriptionJob.objects.get(pk=first["id"]).fresh
    AudioUpload.objects.filter(pk=upload["id"]).update(purged_at=timezone.now())
    refused = client.post(JOBS, {"upload": upload["id"]}, format="json")
    assert refused.status_code == 400 and "deleted on" in refused.json()["upload"][0]
    assert TranscriptionJob.objects.count() == 2


@pytest.mark.parametrize(
    ("payload", "fmt", "field", "message"),
    [
        (
            {"audio_url": "https://x.example/a.wav", "service_provider": "openai"},
            "json",
            "service_provider",
            "assembly, aws, whisper",
        ),
        ({"audio_url": "ftp://x.example/a.wav"}, "json", "audio_url", "only http:// and https://"),
        ({"audio_url": "file:///etc/passwd"}, "json", "audio_url", "only http:// and https://"),
        (
            {"audio_url": "http://169.254.169.254/latest/meta-data"},
            "json",
            "audio_url",
            "private, loopback or link-local",
        ),
        ({}, "json", "non_field_errors", "got none of them"),
        (
            {"audio_url": "https://x.example/a.wav", "upload": str(uuid.uuid4())},
            "json",
            "upload",
            "You have no audio upload",
        ),
        (
            {"audio": "FILE", "audio_url": "https://x.example/a.wav"},
            "multipart",
            "non_field_errors",
            "audio and audio_url",
        ),
        ({"audio_url": "https://x.example/a.wav", "metadata": "[1, 2]"}, "multipart", "metadata", "JSON object"),
        ({"audio_url": "https://x.example/a.wav", "metadata": "{nope"}, "multipart", "metadata", "JSON object"),
        ({"audio": "EMPTY"}, "multipart", "audio", "empty"),
        ({"audio": "TEXT"}, "multipart", "audio", "does not look like audio"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(settings, ann, stored_files, payload, fmt, field, message) -> None:
    settings.SLASHML = {**settings.SLASHML, "ALLOW_PRIVATE_AUDIO_URLS": False}
    files = {"FILE": wav(), "EMPTY": wav("e.wav", b""), "TEXT": wav("t.wav", b"plain text, not audio")}
    data = {key: files.get(value, value) if isinstance(value, str) else value for key, value in payload.items()}
    response = client_for(ann).post(JOBS, data, format=fmt)
    assert response.status_code == 400, response.content
    errors = response.json()
    assert message in " ".join(errors[field]), errors
    assert nothing_saved(stored_files)


def test_malformed_json_is_a_400(ann, stored_files) -> None:
    response = client_for(ann).post(JOBS, data='{"audio_url": "https://x', content_type="application/json")
    assert response.status_code == 400 and "JSON parse error" in response.json()["detail"]
    assert nothing_saved(stored_files)


def test_an_oversized_file_is_a_413_and_nothing_is_stored(settings, ann, stored_files) -> None:
    settings.SLASHML = {**settings.SLASHML, "MAX_UPLOAD_SIZE": 1024}
    for path, field in ((UPLOADS, "audio"), (JOBS, "audio")):
        response = client_for(ann).post(path, {field: wav()}, format="multipart")
        assert response.status_code == 413
        assert "MAX_UPLOAD_SIZE" in response.json()["audio"][0]
    assert nothing_saved(stored_files)


def test_a_non_uuid_id_is_a_400_that_names_it(ann) -> None:
    response = client_for(ann).get(f"{JOBS}not-a-uuid/")
    assert response.status_code == 400 and "is not a valid id" in response.json()["id"][0]


# -- actions and exports --------------------------------------------------------------------------


def test_retry_and_cancel_follow_the_state_machine(ann) -> None:
    job = job_for(ann, status=JobStatus.QUEUED)
    client = client_for(ann)
    assert client.post(f"{JOBS}{job.pk}/retry/").status_code == 409
    cancelled = client.post(f"{JOBS}{job.pk}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELLED"
    again = client.post(f"{JOBS}{job.pk}/cancel/")
    assert again.status_code == 409 and "cannot be cancelled" in again.json()["detail"]
    retried = client.post(f"{JOBS}{job.pk}/retry/")
    assert retried.status_code == 200 and retried.json()["status"] == "PENDING"


def test_the_owner_cannot_wipe_a_review_by_retrying_but_a_reviewer_can(ann, django_user_model) -> None:
    reviewer = django_user_model.objects.create_user("rita", is_staff=True)
    reviewer.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_transcriptionjob", "change_transcriptionjob"])
    )
    job = job_for(
        ann,
        status=JobStatus.COMPLETED,
        text="hello",
        review_state="approved",
        corrected_text="Hello.",
        reviewed_by=reviewer,
    )
    refused = client_for(ann).post(f"{JOBS}{job.pk}/retry/")
    assert refused.status_code == 403 and "would discard the review" in refused.json()["detail"]
    job.refresh_from_db()
    assert (job.status, job.review_state, job.corrected_text) == (JobStatus.COMPLETED, "approved", "Hello.")
    retried = client_for(reviewer).post(f"{JOBS}{job.pk}/retry/")
    assert retried.status_code == 200 and retried.json()["review_state"] == "unreviewed"


@pytest.mark.parametrize(
    ("slashml_rates", "drf_rates", "allowed"),
    [
        ({}, {}, 30),  # the documented default, 30/hour
        ({"slashml_retry": "2/hour"}, {}, 2),
        ({"slashml_retry": "2/hour"}, {"slashml_retry": "1/hour"}, 1),  # the host's DRF setting wins
        ({"slashml_retry": None}, {}, None),
    ],
    ids=["default", "slashml-setting", "drf-setting-wins", "off"],
)
def test_retries_are_throttled_per_user(settings, ann, bob, slashml_rates, drf_rates, allowed) -> None:
    settings.SLASHML = {**settings.SLASHML, "THROTTLE_RATES": slashml_rates}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": drf_rates}
    job = job_for(ann, status=JobStatus.ERROR)
    client = client_for(ann)
    answers = []
    for _ in range(32):
        answers.append(client.post(f"{JOBS}{job.pk}/retry/").status_code)
        TranscriptionJob.objects.filter(pk=job.pk).update(status=JobStatus.ERROR)
    assert answers.count(200) == (allowed or 32) and answers.count(429) == (32 - allowed if allowed else 0)
    assert client_for(bob).post(f"{JOBS}{job_for(bob, status=JobStatus.ERROR).pk}/retry/").status_code == 200


def test_creating_jobs_is_throttled_with_a_clear_answer(settings, ann) -> None:
    settings.SLASHML = {**settings.SLASHML, "THROTTLE_RATES": {"slashml_submit": "2/minute"}}
    client = client_for(ann)
    answers = [client.post(JOBS, {"audio_url": "https://example.com/a.wav"}, format="json") for _ in range(3)]
    assert [answer.status_code for answer in answers] == [201, 201, 429]
    assert "Expected available in" in answers[-1].json()["detail"] and answers[-1]["Retry-After"]
    assert TranscriptionJob.objects.count() == 2


def test_a_comparison_is_throttled_per_job_it_creates(settings, ann) -> None:
    from django_slashml.models import Comparison

    settings.SLASHML = {**settings.SLASHML, "THROTTLE_RATES": {"slashml_submit": "5/minute"}}
    client = client_for(ann)
    url = "https://93.184.216.34/a.wav"

    def compare(providers: list[str]) -> Any:
        return client.post("/api/slashml/comparisons/", {"audio_url": url, "providers": providers}, format="json")

    assert compare(["aws", "rev", "google"]).status_code == 201  # three jobs: three of the five tokens
    refused = compare(["aws", "rev", "google"])
    assert refused.status_code == 429 and refused["Retry-After"], "three more jobs do not fit in the two left"
    assert [client.post(JOBS, {"audio_url": url}, format="json").status_code for _ in range(3)] == [201, 201, 429]
    assert Comparison.objects.count() == 1 and TranscriptionJob.objects.count() == 5


@pytest.mark.parametrize(
    ("fmt", "content_type", "starts"),
    [
        ("txt", "text/plain; charset=utf-8", "hello brave new world"),
        ("srt", "application/x-subrip; charset=utf-8", "1\n00:00:00,000 --> "),
        ("vtt", "text/vtt; charset=utf-8", "WEBVTT\n\n00:00:00.000 --> "),
        ("json", "application/json", "{"),
    ],
)
def test_transcript_downloads(ann, fmt, content_type, starts) -> None:
    job = simulate_completion(job_for(ann, status=JobStatus.IN_PROGRESS), text="hello brave new world")
    response = client_for(ann).get(f"{JOBS}{job.pk}/transcript.{fmt}")
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f'attachment; filename="transcript-{job.pk}.{fmt}"'
    assert response.content.decode().startswith(starts)
    if fmt == "json":
        assert [w["text"] for w in json.loads(response.content)["words"]] == ["hello", "brave", "new", "world"]


def test_no_transcript_before_completion(ann) -> None:
    job = job_for(ann, status=JobStatus.IN_PROGRESS)
    response = client_for(ann).get(f"{JOBS}{job.pk}/transcript.srt")
    assert response.status_code == 409 and "only for COMPLETED jobs" in response.json()["detail"]


# -- listing --------------------------------------------------------------------------------------


def test_filters_search_and_ordering(ann) -> None:
    old = job_for(ann, status=JobStatus.ERROR, service_provider="aws")
    TranscriptionJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    done = simulate_completion(job_for(ann, status=JobStatus.IN_PROGRESS), text="the quarterly numbers")
    running = job_for(ann, status=JobStatus.QUEUED, service_provider="rev")
    client = client_for(ann)

    def ids(query: str) -> list[str]:
        response = client.get(f"{JOBS}?{query}")
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert ids("status=COMPLETED,QUEUED") == [str(running.pk), str(done.pk)]
    assert ids("service_provider=aws") == [str(old.pk)]
    since = (timezone.now() - timedelta(days=1)).date().isoformat()
    assert str(old.pk) not in ids(f"created_after={since}") and ids(f"created_before={since}") == [str(old.pk)]
    assert ids("has_words=true") == [str(done.pk)] and str(done.pk) not in ids("has_words=false")
    assert ids("search=quarterly") == [str(done.pk)]
    assert ids("ordering=created_at")[0] == str(old.pk)
    for bad in (
        "status=DONE",
        "service_provider=openai",
        "created_after=yesterday",
        "has_words=maybe",
        "ordering=text",
    ):
        response = client.get(f"{JOBS}?{bad}")
        assert response.status_code == 400 and bad.split("=")[0] in response.json(), bad


def test_pagination(ann) -> None:
    for _ in range(7):
        job_for(ann)
    page = client_for(ann).get(f"{JOBS}?page_size=3&page=2").json()
    assert page["count"] == 7 and len(page["results"]) == 3 and page["next"] and page["previous"]


@pytest.mark.services
def test_job_list_queries_do_not_grow_with_the_page_size(ann) -> None:
    def queries_for(count: int) -> int:
        TranscriptionJob.objects.all().delete()
        for _ in range(count):
            simulate_completion(job_for(ann, status=JobStatus.IN_PROGRESS), text="a b c")
        client = client_for(ann)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert len(client.get(f"{JOBS}?page_size=100").json()["results"]) == count
        return len(captured)

    small, large = queries_for(3), queries_for(60)
    assert small == large <= 6


# -- schema ---------------------------------------------------------------------------------------


def test_the_openapi_schema_documents_every_endpoint_and_validates() -> None:
    require("drf_spectacular")
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", stdout=out)
    schema = json.loads(out.getvalue())
    paths = set(schema["paths"])
    assert {
        "/api/slashml/jobs/",
        "/api/slashml/jobs/{id}/",
        "/api/slashml/jobs/{id}/retry/",
        "/api/slashml/jobs/{id}/cancel/",
        "/api/slashml/jobs/{id}/transcript.{fmt}/",
        "/api/slashml/uploads/",
        "/api/slashml/uploads/{id}/",
    } <= paths
    list_parameters = {p["name"] for p in schema["paths"]["/api/slashml/jobs/"]["get"]["parameters"]}
    assert {"status", "service_provider", "created_after", "has_words", "search", "page"} <= list_parameters


def test_an_upload_listed_by_its_owner_after_transcribe(slashml, ann) -> None:
    job = transcribe(io.BytesIO(SPEECH_WAV.read_bytes()), owner=ann)
    job_actions.cancel(job)
    assert client_for(ann).get(UPLOADS).json()["count"] == 1
