"""The admin: read-only job data, review, actions, the audio view and a constant query count."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_slashml.jobs.uploads import save_upload
from django_slashml.models import AudioUpload, JobStatus, TranscriptionJob
from django_slashml.transcripts import review

from .conftest import SPEECH_WAV

pytestmark = pytest.mark.django_db

JOBS = "/admin/django_slashml/transcriptionjob/"
UPLOADS = "/admin/django_slashml/audioupload/"
SECRET = "sk-live-0123456789abcdef"
WORDS = [
    {"text": "hello", "start": 100, "end": 400, "confidence": 0.98},
    {"text": "wurld", "start": 450, "end": 900, "confidence": 0.31},
]


def staff(django_user_model: Any, name: str, *perms: str) -> Any:
    user = django_user_model.objects.create_user(name, password="pw", is_staff=True)
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def upload_for(owner: Any = None) -> AudioUpload:
    with SPEECH_WAV.open("rb") as fileobj:
        return save_upload(fileobj, name="meeting.wav", owner=owner)


def job(owner: Any = None, *, status: str = JobStatus.COMPLETED, upload: AudioUpload | None = None, **fields: Any):
    completed = status == JobStatus.COMPLETED
    values: dict[str, Any] = {
        "audio_url": "" if upload else "https://example.com/talk.wav",
        "service_provider": "assembly",
        "text": "hello wurld" if completed else "",
        "words": WORDS if completed else [],
        "confidence": 0.64 if completed else None,
        "audio_duration": 1.0,
        "completed_at": timezone.now() if completed else None,
        "next_poll_at": None if completed else timezone.now(),
    }
    return TranscriptionJob.objects.create(upload=upload, status=status, owner=owner, **{**values, **fields})


@pytest.fixture
def reviewer(django_user_model: Any) -> Any:
    return staff(django_user_model, "rita", "view_transcriptionjob", "change_transcriptionjob", "view_audioupload")


@pytest.fixture
def viewer(django_user_model: Any) -> Any:
    return staff(django_user_model, "vic", "view_transcriptionjob", "view_audioupload")


# -- permissions -------------------------------------------------------------------------------


def test_staff_without_the_model_permission_get_403_everywhere(django_user_model: Any) -> None:
    someone = staff(django_user_model, "sam")
    other = job(staff(django_user_model, "owner"), upload=upload_for())
    client = client_for(someone)
    for url in (JOBS, f"{JOBS}{other.pk}/change/", f"{JOBS}{other.pk}/audio/", f"{JOBS}{other.pk}/transcript.srt"):
        assert client.get(url).status_code == 403, url
    assert client.get(f"{UPLOADS}{other.upload_id}/audio/").status_code == 403


def test_the_audio_view_plays_your_own_audio_and_refuses_other_users(django_user_model: Any) -> None:
    ann, bob = staff(django_user_model, "ann"), staff(django_user_model, "bob")
    mine = job(ann, upload=upload_for(ann))
    client = client_for(ann)
    assert client.get(f"{JOBS}{mine.pk}/audio/").status_code == 200
    assert client_for(bob).get(f"{JOBS}{mine.pk}/audio/").status_code == 403
    assert client_for(bob).get(f"{UPLOADS}{mine.upload_id}/audio/").status_code == 403
    anonymous = Client().get(f"{JOBS}{mine.pk}/audio/")
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]


def test_nobody_adds_jobs_and_viewers_cannot_change_them(viewer: Any) -> None:
    done = job()
    client = client_for(viewer)
    assert client.get(f"{JOBS}add/").status_code == 403
    page = client.get(f"{JOBS}{done.pk}/change/")
    assert page.status_code == 200 and b'name="corrected_text"' not in page.content
    assert client.post(f"{JOBS}{done.pk}/change/", {"review_state": "approved"}).status_code == 403
    assert TranscriptionJob.objects.get(pk=done.pk).review_state == "unreviewed"


# -- the audio view serves ranges so the player can seek ---------------------------------------


def test_audio_is_served_whole_or_in_ranges(admin_client: Client) -> None:
    played = job(upload=upload_for())
    data = SPEECH_WAV.read_bytes()
    url = f"{JOBS}{played.pk}/audio/"
    whole = admin_client.get(url)
    assert whole.status_code == 200 and whole["Accept-Ranges"] == "bytes" and whole["Content-Type"] == "audio/wav"
    assert b"".join(whole.streaming_content) == data
    part = admin_client.get(url, HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206 and part["Content-Range"] == f"bytes 100-199/{len(data)}"
    assert b"".join(part.streaming_content) == data[100:200]
    tail = admin_client.get(url, HTTP_RANGE="bytes=-10")
    assert b"".join(tail.streaming_content) == data[-10:]
    open_ended = admin_client.get(url, HTTP_RANGE=f"bytes={len(data) - 5}-")
    assert b"".join(open_ended.streaming_content) == data[-5:]
    beyond = admin_client.get(url, HTTP_RANGE=f"bytes={len(data)}-")
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{len(data)}"


def test_audio_that_is_gone_or_was_never_stored_is_404(admin_client: Client) -> None:
    external = job()
    assert admin_client.get(f"{JOBS}{external.pk}/audio/").status_code == 404
    stored = job(upload=upload_for())
    stored.upload.file.delete(save=False)
    assert admin_client.get(f"{JOBS}{stored.pk}/audio/").status_code == 404


# -- the change page: viewer, read-only data, scrubbed diagnostics, review ---------------------


def test_the_change_page_shows_the_viewer_and_never_the_key(admin_client: Client, settings: Any) -> None:
    settings.SLASHML = {"API_KEY": SECRET}
    shown = job(upload=upload_for(), last_response={"status": "COMPLETED", "echo": f"Token {SECRET}"})
    page = admin_client.get(f"{JOBS}{shown.pk}/change/").content.decode()
    assert f'src="{JOBS}{shown.pk}/audio/"' in page
    assert 'data-low-confidence="0.6"' in page
    assert '[["hello", 100, 400, 0.98], ["wurld", 450, 900, 0.31]]' in page
    assert "django_slashml/transcript.js" in page and "transcript.css" in page and "slashml.css" in page
    assert SECRET not in page and "[redacted]" in page
    assert 'name="status"' not in page and 'name="text"' not in page


def test_a_reviewer_corrects_and_approves_while_the_original_stays(admin_client: Client, reviewer: Any) -> None:
    done = job()
    client = client_for(reviewer)
    form = client.get(f"{JOBS}{done.pk}/change/").content.decode()
    assert "\nhello wurld</textarea>" in form  # the correction starts from the original
    response = client.post(
        f"{JOBS}{done.pk}/change/",
        {"review_state": "approved", "corrected_text": "hello world", "status": "ERROR", "text": "hacked"},
    )
    assert response.status_code == 302
    done.refresh_from_db()
    assert (done.review_state, done.corrected_text, done.reviewed_by) == ("approved", "hello world", reviewer)
    assert (done.status, done.text) == ("COMPLETED", "hello wurld")
    srt = client.get(f"{JOBS}{done.pk}/transcript.srt").content.decode()
    assert "hello world" in srt
    assert "wurld" in client.get(f"{JOBS}{done.pk}/transcript.txt?version=original").content.decode()


def test_an_unfinished_job_cannot_be_reviewed_or_exported(reviewer: Any) -> None:
    running = job(status=JobStatus.IN_PROGRESS)
    client = client_for(reviewer)
    assert b'name="corrected_text"' not in client.get(f"{JOBS}{running.pk}/change/").content
    client.post(f"{JOBS}{running.pk}/change/", {"review_state": "approved", "corrected_text": "x"})
    running.refresh_from_db()
    assert (running.review_state, running.corrected_text) == ("unreviewed", "")
    assert client.get(f"{JOBS}{running.pk}/transcript.srt").status_code == 409


# -- actions go through lifecycle and report per job -------------------------------------------


def act(client: Client, action: str, jobs: list[TranscriptionJob]) -> Any:
    return client.post(JOBS, {"action": action, "_selected_action": [str(j.pk) for j in jobs]}, follow=True)


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_resubmit_restarts_finished_jobs_and_says_which_it_left(reviewer: Any, settings: Any) -> None:
    settings.SLASHML = {"API_KEY": "k"}
    done, failed, running = job(), job(status=JobStatus.ERROR), job(status=JobStatus.IN_PROGRESS)
    said = messages_of(act(client_for(reviewer), "resubmit", [done, failed, running]))
    assert any(text.startswith("Resubmitted: 2 jobs") for text in said), said
    assert any(str(running.pk) in text and "only finished jobs can be retried" in text for text in said), said
    statuses = {j.pk: j.status for j in TranscriptionJob.objects.all()}
    assert statuses == {done.pk: "PENDING", failed.pk: "PENDING", running.pk: "IN_PROGRESS"}


def test_poll_now_and_cancel_act_on_active_jobs_only(reviewer: Any, settings: Any) -> None:
    settings.SLASHML = {"API_KEY": "k"}
    later = timezone.now() + timedelta(hours=1)
    running, done = job(status=JobStatus.IN_PROGRESS, next_poll_at=later), job()
    said = messages_of(act(client_for(reviewer), "poll_now", [running, done]))
    running.refresh_from_db()
    assert running.next_poll_at <= timezone.now()
    assert any("only active jobs can be polled" in text for text in said)
    act(client_for(reviewer), "cancel", [running, done])
    assert TranscriptionJob.objects.get(pk=running.pk).status == "CANCELLED"
    assert TranscriptionJob.objects.get(pk=done.pk).status == "COMPLETED"


def test_viewers_cannot_run_changing_actions(viewer: Any, settings: Any) -> None:
    settings.SLASHML = {"API_KEY": "k"}
    done = job()
    act(client_for(viewer), "resubmit", [done])
    act(client_for(viewer), "approve", [done])
    done.refresh_from_db()
    assert (done.status, done.review_state) == ("COMPLETED", "unreviewed")


def test_approve_and_needs_correction_record_the_reviewer(reviewer: Any) -> None:
    first, second = job(), job()
    act(client_for(reviewer), "approve", [first])
    act(client_for(reviewer), "needs_correction", [second])
    assert TranscriptionJob.objects.get(pk=first.pk).reviewed_by == reviewer
    assert TranscriptionJob.objects.get(pk=second.pk).review_state == "needs_correction"


def test_export_zips_srt_vtt_and_txt_of_completed_jobs(viewer: Any) -> None:
    done, running = job(), job(status=JobStatus.QUEUED)
    response = client_for(viewer).post(
        JOBS, {"action": "export_transcripts", "_selected_action": [done.pk, running.pk]}
    )
    assert response["Content-Type"] == "application/zip"
    bundle = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(bundle.namelist()) == [f"transcript-{done.pk}.{fmt}" for fmt in ("srt", "txt", "vtt")]
    assert bundle.read(f"transcript-{done.pk}.txt") == b"hello wurld\n"
    assert "00:00:00,100 --> 00:00:00,900" in bundle.read(f"transcript-{done.pk}.srt").decode()
    nothing = act(client_for(viewer), "export_transcripts", [running])
    assert any("only COMPLETED jobs do" in text for text in messages_of(nothing))


# -- the change list: badges, dashboard, constant queries --------------------------------------


def test_the_dashboard_counts_statuses_minutes_and_stuck_jobs(admin_client: Client) -> None:
    job(audio_duration=90.0, service_provider="whisper")
    job(audio_duration=30.0, service_provider="whisper")
    stuck = job(status=JobStatus.QUEUED, next_poll_at=timezone.now() - timedelta(minutes=5))
    job(status=JobStatus.IN_PROGRESS, next_poll_at=timezone.now() + timedelta(seconds=30))
    response = admin_client.get(JOBS)
    board = response.context["slashml_dashboard"]
    counts = {status: total for status, _label, total in board.status_counts}
    assert (counts["COMPLETED"], counts["QUEUED"], counts["IN_PROGRESS"], counts["ERROR"]) == (2, 1, 1, 0)
    assert board.usage == [("Whisper", 2.0, 2)]
    assert [j.pk for j in board.stuck] == [stuck.pk] and board.stuck_total == 1
    page = response.content.decode()
    assert 'class="slashml-status slashml-status-COMPLETED"' in page
    assert f"/admin/django_slashml/transcriptionjob/{stuck.pk}/change/" in page


def many_jobs(django_user_model: Any, count: int, start: int) -> None:
    for index in range(start, start + count):
        owner = django_user_model.objects.create_user(f"user{index}")
        job(
            owner, upload=AudioUpload.objects.create(size=1, sha256="0" * 64, original_name=f"{index}.wav", owner=owner)
        )


def test_a_page_of_100_jobs_costs_as_many_queries_as_a_page_of_5(admin_client: Client, django_user_model: Any) -> None:
    many_jobs(django_user_model, 5, 0)
    admin_client.get(JOBS)  # warm caches (content types, session)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(JOBS).status_code == 200
    many_jobs(django_user_model, 95, 5)
    with CaptureQueriesContext(connection) as hundred:
        response = admin_client.get(JOBS)
    assert len(response.context["cl"].result_list) == 100
    assert len(hundred) == len(few), [q["sql"] for q in hundred]
    uploads = admin_client.get(UPLOADS)
    assert uploads.status_code == 200 and len(uploads.context["cl"].result_list) == 100


def test_the_job_page_reads_the_transcript_once(admin_client: Client) -> None:
    """The words are a page's heaviest column: the viewer, the caption check and the form share one read."""
    shown = job()
    table = connection.ops.quote_name(TranscriptionJob._meta.db_table)
    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(f"{JOBS}{shown.pk}/change/")
    assert page.status_code == 200 and b"Caption check" in page.content
    reads = [q["sql"] for q in queries if q["sql"].startswith("SELECT") and f"FROM {table} " in q["sql"]]
    assert len(reads) == 1, reads


def test_the_list_searches_transcripts_and_filters_by_review_state(admin_client: Client, reviewer: Any) -> None:
    match, other = job(), job(status=JobStatus.ERROR)
    # The review reindexes the transcript, which the list's search finds by words.
    review.review(match, reviewer=reviewer, state="approved", corrected_text="hello world")
    found = admin_client.get(JOBS, {"q": "hello world"}).context["cl"].result_list
    assert [j.pk for j in found] == [match.pk]
    approved = admin_client.get(JOBS, {"review_state__exact": "approved"}).context["cl"].result_list
    assert [j.pk for j in approved] == [match.pk] and other.pk != match.pk


def test_the_upload_admin_is_read_only_with_a_player(admin_client: Client) -> None:
    stored = upload_for()
    job(upload=stored)
    listing = admin_client.get(UPLOADS)
    assert listing.context["cl"].result_list[0].job_total == 1
    page = admin_client.get(f"{UPLOADS}{stored.pk}/change/").content.decode()
    assert f'src="{UPLOADS}{stored.pk}/audio/"' in page and 'name="original_name"' not in page
    assert admin_client.get(f"{UPLOADS}add/").status_code == 403


def test_an_external_audio_url_is_fetched_only_when_the_reviewer_presses_play(admin_client: Client) -> None:
    page = admin_client.get(f"{JOBS}{job().pk}/change/").content.decode()
    assert 'preload="none"' in page and 'src="https://example.com/talk.wav"' in page
    assert 'preload="metadata"' not in page


def test_staff_with_only_the_change_permission_see_what_they_may_resubmit(django_user_model: Any) -> None:
    from django.contrib.auth.models import Permission
    from rest_framework.test import APIClient

    editor = django_user_model.objects.create_user("eddie", is_staff=True)
    editor.user_permissions.add(Permission.objects.get(codename="change_transcriptionjob"))
    shown = job(upload=upload_for())
    client = client_for(editor)
    assert client.get(f"{JOBS}{shown.pk}/change/").status_code == 200
    assert client.get(f"{JOBS}{shown.pk}/audio/").status_code == 200
    api = APIClient()
    api.force_authenticate(editor)
    assert api.get(f"/api/slashml/jobs/{shown.pk}/").status_code == 200
    assert api.post(f"/api/slashml/jobs/{shown.pk}/retry/").status_code == 200


@pytest.mark.parametrize("fmt", ["txt", "srt", "vtt", "json"])
@pytest.mark.parametrize("version", ["reviewed", "original"])
def test_the_admin_and_the_api_serve_the_same_transcript_download(admin_user: Any, fmt: str, version: str) -> None:
    from rest_framework.test import APIClient

    done = job(admin_user, corrected_text="hello world", review_state="approved")
    api = APIClient()
    api.force_authenticate(admin_user)
    from_admin = client_for(admin_user).get(f"{JOBS}{done.pk}/transcript.{fmt}?version={version}")
    from_api = api.get(f"/api/slashml/jobs/{done.pk}/transcript.{fmt}?version={version}")
    assert from_admin.status_code == from_api.status_code == 200
    assert from_admin.content == from_api.content
    for header in ("Content-Type", "Content-Disposition"):
        assert from_admin[header] == from_api[header]
    assert from_api["Content-Disposition"] == f'attachment; filename="transcript-{done.pk}.{fmt}"'
    running = job(admin_user, status=JobStatus.IN_PROGRESS)
    from_admin = client_for(admin_user).get(f"{JOBS}{running.pk}/transcript.{fmt}")
    from_api = api.get(f"/api/slashml/jobs/{running.pk}/transcript.{fmt}")
    assert from_admin.status_code == from_api.status_code == 409
    assert from_admin.content.decode() in from_api.content.decode()


def test_each_row_of_the_list_has_a_labelled_checkbox_that_selects_its_job(reviewer: Any, settings: Any) -> None:
    settings.SLASHML = {"API_KEY": "k"}
    failed = job(status=JobStatus.ERROR, service_provider="aws")
    page = client_for(reviewer).get(JOBS).content.decode()
    checkbox = (
        f'<input type="checkbox" name="_selected_action" value="{failed.pk}" class="action-select" '
        f'aria-label="Select this object for an action - AWS Transcribe job {failed.pk} (ERROR)">'
    )
    assert checkbox in page
    assert '<input type="checkbox" id="action-toggle"' in page  # the column's select-all box
    act(client_for(reviewer), "resubmit", [failed])
    assert TranscriptionJob.objects.get(pk=failed.pk).status == "PENDING"
