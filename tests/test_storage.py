"""Where audio lives and how it reaches SlashML: presigned S3 URLs, streamed uploads, and their settings.

S3 is django-storages' S3Storage against moto's server on a loopback port; SlashML
is the sandbox, which fetches presigned URLs itself and counts every call.
"""

from __future__ import annotations

import hashlib
import io
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.checks import run_checks
from django.core.files.storage import FileSystemStorage
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from django_slashml import transcribe
from django_slashml.audio.presigned import fetchable_url
from django_slashml.audio.storage import audio_storage
from django_slashml.audio.streaming import StoredAudio, StoredAudioTruncatedError, open_stored
from django_slashml.jobs import actions as job_actions
from django_slashml.jobs import pipeline
from django_slashml.jobs.pipeline import Step
from django_slashml.models import AudioUpload, JobStatus

from .conftest import SPEECH_SCRIPT
from .extras import require
from .helpers import big_wav, drive
from .s3 import BUCKET, CREDENTIALS, SIGNING, keys_under, moto_s3, s3_client, s3_storage_options

#: A public address, so the reachability rule has nothing to object to and no DNS is asked.
PUBLIC_ENDPOINT = "https://52.95.110.1"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with moto_s3() as endpoint:
        yield endpoint


@pytest.fixture
def s3_audio(settings: Any, slashml: Any, s3_endpoint: str) -> str:
    """``SLASHML['STORAGE'] = "audio"``: an S3Storage on moto, in a folder of its own. Returns the folder."""
    location = f"test-{uuid.uuid4().hex[:12]}"
    settings.STORAGES = {
        **settings.STORAGES,
        "audio": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": s3_storage_options(s3_endpoint, location)},
    }
    settings.SLASHML = {**settings.SLASHML, "STORAGE": "audio"}
    return location


def calls(control: Any, endpoint: str) -> int:
    return control.stats()["calls"].get(endpoint, 0)


def submitted_url(sandbox: Any, remote_id: str) -> str:
    return sandbox.state.jobs[remote_id].audio_url


def with_slashml(settings: Any, **values: Any) -> None:
    settings.SLASHML = {**settings.SLASHML, **values}


# -- which storage --------------------------------------------------------------


@pytest.mark.django_db
def test_audio_goes_to_the_storage_named_by_the_setting(settings, slashml, speech_path, tmp_path, stored_files):
    folder = tmp_path / "audio-storage"
    settings.STORAGES = {
        **settings.STORAGES,
        "audio": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(folder)}},
    }
    with_slashml(settings, STORAGE="audio")
    upload = transcribe(speech_path).upload
    assert (folder / upload.file.name).read_bytes() == speech_path.read_bytes()
    assert stored_files() == [], "nothing in the default storage"
    assert isinstance(upload.file.storage, FileSystemStorage) and upload.file.storage.location == str(folder)

    with_slashml(settings, STORAGE=None)  # back to the default storage, without a restart
    other = transcribe(speech_path).upload
    assert stored_files() == [other.file.name]


@pytest.mark.django_db
def test_an_s3_storage_keeps_the_file_in_the_bucket(s3_audio, s3_endpoint, speech_path) -> None:
    upload = transcribe(speech_path).upload
    from storages.backends.s3 import S3Storage

    assert isinstance(audio_storage._wrapped, S3Storage)
    assert keys_under(s3_endpoint, s3_audio) == [f"{s3_audio}/{upload.file.name}"]
    body = s3_client(s3_endpoint).get_object(Bucket=BUCKET, Key=f"{s3_audio}/{upload.file.name}")["Body"].read()
    assert body == speech_path.read_bytes()
    assert upload.sha256 == hashlib.sha256(body).hexdigest()


@pytest.mark.django_db
def test_an_upload_named_like_a_page_is_stored_as_audio_in_s3(s3_audio, s3_endpoint, speech_path) -> None:
    polyglot = speech_path.with_name("page.html")
    polyglot.write_bytes(speech_path.read_bytes() + b"<script>alert(document.domain)</script>")
    upload = transcribe(polyglot).upload
    assert upload.file.name.endswith(".wav") and upload.original_name == "page.html"
    head = s3_client(s3_endpoint).head_object(Bucket=BUCKET, Key=f"{s3_audio}/{upload.file.name}")
    assert (head["ContentType"], head["ContentDisposition"]) == ("audio/wav", "attachment")
    assert "ContentType" not in audio_storage._wrapped.object_parameters, "set on a copy, not the shared storage"


@pytest.mark.django_db
def test_the_admin_player_gets_s3_audio_from_s3_after_the_permission_check(
    s3_audio, s3_endpoint, speech_path, admin_client, django_user_model
) -> None:
    job = transcribe(speech_path)
    page = f"/admin/django_slashml/transcriptionjob/{job.pk}/audio/"
    response = admin_client.get(page)
    assert response.status_code == 302 and "no-store" in response["Cache-Control"]
    url = response["Location"]
    assert url.startswith(f"{s3_endpoint}/{BUCKET}/{s3_audio}/") and "X-Amz-Signature=" in url
    ranged = requests.get(url, headers={"Range": "bytes=100-199"}, timeout=10)
    assert ranged.status_code == 206 and ranged.content == speech_path.read_bytes()[100:200]
    stranger = django_user_model.objects.create_user("sam", password="pw", is_staff=True)
    admin_client.force_login(stranger)
    assert admin_client.get(page).status_code == 403


# -- the presigned path ------------------------------------------------------------


@pytest.mark.django_db
def test_s3_audio_is_submitted_as_a_presigned_url_without_an_upload(
    s3_audio, s3_endpoint, slashml, sandbox, speech_path
) -> None:
    job = drive(transcribe(speech_path))
    assert job.status == JobStatus.COMPLETED
    # The deterministic engine's words depend on the audio's sha256: same words, same bytes.
    name = job.upload.file.name.rsplit("/", 1)[-1]
    expected = sandbox.state.engine.transcribe(str(speech_path), filename=name, sha256=job.upload.sha256)
    assert job.text == expected.text and job.text, "the sandbox fetched our audio from S3 itself"
    assert calls(slashml, "upload") == 0
    url = submitted_url(sandbox, job.remote_id)
    assert url.startswith(f"{s3_endpoint}/{BUCKET}/{s3_audio}/{job.upload.file.name}?")
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["X-Amz-Signature"]
    assert query["X-Amz-Expires"] == ["86400"], "PRESIGNED_URL_EXPIRY's default: 24 hours"
    job.upload.refresh_from_db()
    assert job.upload.remote_url == "" and job.upload.remote_expires_at is None, "SlashML holds no copy to track"


@pytest.mark.django_db
def test_the_presigned_expiry_follows_the_setting_and_each_submit_signs_anew(
    settings, s3_audio, slashml, sandbox, speech_path
) -> None:
    with_slashml(settings, PRESIGNED_URL_EXPIRY=7200, JOB_DEADLINE=3600)
    job = drive(transcribe(speech_path))
    first = submitted_url(sandbox, job.remote_id)
    assert parse_qs(urlsplit(first).query)["X-Amz-Expires"] == ["7200"]
    job_actions.retry(job)
    job = drive(job)
    assert job.status == JobStatus.COMPLETED
    assert parse_qs(urlsplit(submitted_url(sandbox, job.remote_id)).query)["X-Amz-Expires"] == ["7200"]
    assert calls(slashml, "upload") == 0 and calls(slashml, "submit") == 2


@pytest.mark.django_db
def test_with_presigning_off_s3_audio_is_streamed_to_the_upload_endpoint(
    settings, s3_audio, slashml, sandbox, speech_path
) -> None:
    with_slashml(settings, USE_PRESIGNED_URLS=False)
    job = drive(transcribe(speech_path))
    assert job.status == JobStatus.COMPLETED and job.text.split() == SPEECH_SCRIPT
    assert calls(slashml, "upload") == 1
    assert slashml.stats()["bytes_uploaded"] == speech_path.stat().st_size
    job.upload.refresh_from_db()
    assert submitted_url(sandbox, job.remote_id) == job.upload.remote_url
    assert job.upload.remote_expires_at > timezone.now() + timedelta(hours=23)


@pytest.mark.django_db
def test_a_loopback_s3_url_is_streamed_unless_slashml_can_reach_private_hosts(
    settings, s3_audio, slashml, speech_path
) -> None:
    with_slashml(settings, ALLOW_PRIVATE_STORAGE_URLS=False)
    job = drive(transcribe(speech_path))
    assert job.status == JobStatus.COMPLETED
    assert calls(slashml, "upload") == 1, "the real SlashML could not fetch 127.0.0.1"


@pytest.mark.django_db
def test_a_missing_s3_object_is_a_clear_error(s3_audio, s3_endpoint, slashml, speech_path) -> None:
    job = transcribe(speech_path)
    s3_client(s3_endpoint).delete_object(Bucket=BUCKET, Key=f"{s3_audio}/{job.upload.file.name}")
    job = drive(job)
    assert job.status == JobStatus.ERROR
    assert "cannot be read from storage" in job.error_message and "upload it again" in job.error_message
    assert calls(slashml, "submit") == 0


@pytest.mark.django_db
def test_streaming_from_s3_does_not_hold_the_object_in_memory(
    settings, s3_audio, s3_endpoint, slashml, tmp_path
) -> None:
    size = 48 * 1024 * 1024
    with_slashml(settings, USE_PRESIGNED_URLS=False)
    job = transcribe(big_wav(tmp_path / "long.wav", size))
    tracemalloc.start()
    try:
        assert pipeline.advance(job.pk) == Step.SUBMITTED
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"peak traced allocations while streaming {size >> 20} MiB from S3: {peak / 2**20:.1f} MiB")
    assert peak < 12 * 1024 * 1024, "django-storages' S3File would have copied the whole object first"
    assert slashml.stats()["bytes_uploaded"] == size


@pytest.mark.django_db
def test_the_retention_command_deletes_from_the_bucket(s3_audio, s3_endpoint, slashml, speech_path) -> None:
    job = drive(transcribe(speech_path))
    transcript = job.text
    AudioUpload.objects.update(created_at=timezone.now() - timedelta(days=40))
    call_command("slashml_purge_audio", "--older-than", "30", stdout=io.StringIO())
    assert keys_under(s3_endpoint, s3_audio) == []
    job.refresh_from_db()
    assert job.text == transcript and transcript and job.upload.purged_at is not None


# -- the streamed path ------------------------------------------------------------


@pytest.mark.django_db
def test_filesystem_audio_is_streamed_from_the_stored_file(slashml, sandbox, speech_path) -> None:
    job = transcribe(speech_path)
    stored = open_stored(job.upload.file.storage, job.upload.file.name)
    with stored:
        assert isinstance(stored, StoredAudio) and stored.len == job.upload.size
        assert hasattr(stored._raw, "fileno"), "the open file itself, read in place"
    job = drive(job)
    assert job.status == JobStatus.COMPLETED
    assert calls(slashml, "upload") == 1 and slashml.stats()["bytes_uploaded"] == job.upload.size
    assert [upload.sha256 for upload in sandbox.state.uploads.values()] == [job.upload.sha256]


def test_a_stored_file_that_ends_early_is_an_error_not_a_hang() -> None:
    class Short:
        def __init__(self) -> None:
            self.data = [b"RIFF", b""]

        def read(self, size: int) -> bytes:
            return self.data.pop(0)

        def close(self) -> None:
            pass

    stored = StoredAudio(Short(), 10, name="a.wav")
    assert stored.read(8192) == b"RIFF" and stored.len == 6
    with pytest.raises(StoredAudioTruncatedError, match="after 4 of 10 bytes"):
        stored.read(8192)


# -- the rule for "SlashML can fetch it" ------------------------------------------


def s3(**options: Any) -> Any:
    require("boto3")
    from storages.backends.s3 import S3Storage

    return S3Storage(**{"bucket_name": "audio", "endpoint_url": PUBLIC_ENDPOINT, **CREDENTIALS, **SIGNING, **options})


class CdnStorage(FileSystemStorage):
    """A storage that opts in through the documented hook."""

    def slashml_fetchable_url(self, name: str, expire: int) -> str | None:
        return f"https://52.95.110.2/{name}?expires={expire}"


class RelativeUrlStorage(FileSystemStorage):
    def slashml_fetchable_url(self, name: str, expire: int) -> str | None:
        return f"/media/{name}"


@pytest.mark.parametrize(
    ("make_storage", "overrides", "expected"),
    [
        (FileSystemStorage, {}, None),
        (s3, {}, "presigned"),
        (s3, {"USE_PRESIGNED_URLS": False}, None),
        (lambda: s3(signature_version="s3"), {}, "presigned-v2"),
        (lambda: s3(querystring_auth=False), {}, "plain"),
        (lambda: s3(endpoint_url="http://10.1.2.3:9000"), {}, None),
        (lambda: s3(endpoint_url="http://10.1.2.3:9000"), {"ALLOW_PRIVATE_STORAGE_URLS": True}, "presigned"),
        (lambda: s3(endpoint_url="http://10.1.2.3:9000"), {"ALLOW_PRIVATE_AUDIO_URLS": True}, None),
        (CdnStorage, {"PRESIGNED_URL_EXPIRY": 3600}, "https://52.95.110.2/a/b.wav?expires=3600"),
        (RelativeUrlStorage, {}, None),
    ],
    ids=[
        "filesystem",
        "s3",
        "s3-presigning-off",
        "s3-signature-v2",
        "s3-public",
        "s3-private-host",
        "s3-private-host-allowed",
        "s3-private-host-not-allowed-by-the-users-setting",
        "hook",
        "hook-relative",
    ],
)
def test_which_storages_hand_slashml_a_url(make_storage, overrides, expected) -> None:
    with override_settings(SLASHML={"API_KEY": "k", **overrides}):
        url = fetchable_url(make_storage(), "a/b.wav")
    if expected == "presigned":
        assert "X-Amz-Signature=" in url and "X-Amz-Expires=86400" in url and "/audio/a/b.wav?" in url
    elif expected == "presigned-v2":  # an absolute expiry time instead of a duration
        expires = int(parse_qs(urlsplit(url).query)["Expires"][0])
        assert "Signature=" in url and abs(expires - (time.time() + 86400)) < 60
    elif expected == "plain":
        assert url == f"{PUBLIC_ENDPOINT}/audio/a/b.wav"
    else:
        assert url == expected


# -- SlashML's 24-hour copy -------------------------------------------------------


@pytest.mark.django_db
def test_a_submit_that_failed_after_the_upload_reuses_the_uploaded_url(slashml, speech_path) -> None:
    slashml.set_faults(script=[{"endpoint": "submit", "fault": "500"}])
    job = drive(transcribe(speech_path))
    assert job.status == JobStatus.COMPLETED and job.submit_attempts == 2
    assert calls(slashml, "upload") == 1


@pytest.mark.django_db
def test_a_resubmit_after_the_24_hours_uploads_again_and_restarts_the_clock(slashml, speech_path) -> None:
    job = drive(transcribe(speech_path))
    upload = AudioUpload.objects.get()
    first_url = upload.remote_url
    day_ago = timezone.now() - timedelta(hours=24, minutes=1)
    AudioUpload.objects.filter(pk=upload.pk).update(
        remote_uploaded_at=day_ago, remote_expires_at=day_ago + timedelta(hours=24)
    )
    job_actions.retry(job)
    assert drive(job).status == JobStatus.COMPLETED
    upload.refresh_from_db()
    assert calls(slashml, "upload") == 2 and upload.remote_url != first_url
    assert upload.remote_expires_at - upload.remote_uploaded_at == timedelta(hours=24)
    assert upload.remote_uploaded_at > timezone.now() - timedelta(minutes=1)


# -- settings and checks ----------------------------------------------------------


def check_ids() -> set[str]:
    return {message.id for message in run_checks() if message.id and message.id.startswith("slashml.")}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"PRESIGNED_URL_EXPIRY": 8 * 24 * 3600}, "slashml.E015"),
        ({"PRESIGNED_URL_EXPIRY": 0}, "slashml.E015"),
        ({"PRESIGNED_URL_EXPIRY": 3600}, "slashml.W015"),
        ({"AUDIO_RETENTION_DAYS": 0}, "slashml.E016"),
        ({"AUDIO_RETENTION_DAYS": "30"}, "slashml.E016"),
        ({"USE_PRESIGNED_URLS": "yes"}, "slashml.E017"),
    ],
)
def test_storage_settings_have_their_checks(values, expected) -> None:
    with override_settings(SLASHML={"API_KEY": "k", **values}):
        assert expected in check_ids()


def test_good_storage_settings_pass_the_checks() -> None:
    good = {"PRESIGNED_URL_EXPIRY": 7 * 24 * 3600, "JOB_DEADLINE": 3600, "AUDIO_RETENTION_DAYS": 30}
    with override_settings(SLASHML={"API_KEY": "k", **good}):
        assert check_ids() == set()
    with override_settings(SLASHML={"API_KEY": "k", "PRESIGNED_URL_EXPIRY": 60, "USE_PRESIGNED_URLS": False}):
        assert check_ids() == set(), "a short expiry does not matter with presigning off"
