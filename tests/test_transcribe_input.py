"""transcribe(): every kind of audio it accepts, and clear refusals that leave nothing behind."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.db import DatabaseError, connection

from django_slashml import transcribe
from django_slashml.exceptions import ConfigurationError, InvalidAudioError, InvalidProviderError
from django_slashml.models import AudioUpload, JobStatus, TranscriptionJob

from .conftest import SPEECH_WAV

pytestmark = pytest.mark.django_db


def nothing_saved(stored_files) -> bool:  # type: ignore[no-untyped-def]
    return not AudioUpload.objects.exists() and not TranscriptionJob.objects.exists() and stored_files() == []


def test_a_path_becomes_an_upload_with_its_facts(slashml, speech_path) -> None:
    import hashlib

    job = transcribe(speech_path, service_provider="whisper", metadata={"a": 1})
    upload = job.upload
    assert job.status == JobStatus.PENDING and job.service_provider == "whisper"
    assert upload.original_name == "speech.wav" and upload.content_type == "audio/wav"
    assert upload.size == speech_path.stat().st_size
    assert upload.sha256 == hashlib.sha256(speech_path.read_bytes()).hexdigest()
    assert upload.duration == pytest.approx(5.37, abs=0.01)
    assert upload.file.name.endswith(".wav") and upload.file.read() == speech_path.read_bytes()
    assert job.deadline_at > job.created_at and job.next_poll_at is not None


@pytest.mark.parametrize("suffix", ["mp3", "ogg", "flac"])
def test_other_formats_are_recognised_and_timed(slashml, suffix) -> None:
    path = SPEECH_WAV.with_suffix(f".{suffix}")
    job = transcribe(str(path))
    assert job.upload.content_type.startswith("audio/")
    # mutagen reads every one, with or without the sandbox extra (issue 19); MP3 encoders pad a frame or so.
    assert job.upload.duration == pytest.approx(5.37, abs=0.15)


def test_open_files_uploaded_files_and_uploads_are_accepted(slashml, django_user_model) -> None:
    owner = django_user_model.objects.create(username="ann")
    data = SPEECH_WAV.read_bytes()
    with SPEECH_WAV.open("rb") as fileobj:
        from_open_file = transcribe(fileobj, owner=owner)
    from_uploaded = transcribe(SimpleUploadedFile("call.wav", data, content_type="application/octet-stream"))
    temporary = TemporaryUploadedFile("big.wav", "audio/wav", len(data), None)
    temporary.write(data)
    from_temporary = transcribe(temporary)
    assert temporary.file.closed is False and Path(temporary.temporary_file_path()).exists(), (
        "the caller's file is left alone"
    )
    again = transcribe(from_open_file.upload)
    assert from_open_file.owner == owner and from_open_file.upload.owner == owner
    assert from_uploaded.upload.content_type == "audio/wav", "magic bytes win over the client's content type"
    assert from_temporary.upload.sha256 == from_uploaded.upload.sha256 == from_open_file.upload.sha256
    assert again.upload_id == from_open_file.upload_id
    assert AudioUpload.objects.count() == 3


def test_an_https_url_needs_no_upload(slashml) -> None:
    job = transcribe("https://example.com/audio/interview.mp3")
    assert job.upload is None and job.audio_url == "https://example.com/audio/interview.mp3"


@pytest.mark.parametrize(
    ("make_audio", "message"),
    [
        (lambda tmp: str(tmp / "missing.wav"), "No file at"),
        (lambda tmp: tmp, "is not a file"),
        (lambda tmp: io.BytesIO(b""), "is empty"),
        (lambda tmp: io.BytesIO(b"GIF89a not audio at all"), "does not look like audio"),
        (lambda tmp: SimpleUploadedFile("song.mp3", b"%PDF-1.7 a pdf with an mp3 name"), "does not look like audio"),
        (lambda tmp: 12345, "Cannot transcribe a int"),
        (lambda tmp: "ftp://example.com/a.wav", "only http:// and https://"),
        (lambda tmp: "file:///etc/passwd", "only http:// and https://"),
        (lambda tmp: AudioUpload(size=1), "has not been saved"),
    ],
)
def test_bad_audio_is_refused_with_a_clear_message(slashml, tmp_path, stored_files, make_audio, message) -> None:
    with pytest.raises(InvalidAudioError, match=message):
        transcribe(make_audio(tmp_path))
    assert nothing_saved(stored_files)


def test_a_text_mode_file_is_refused(slashml, tmp_path, stored_files) -> None:
    path = tmp_path / "a.wav"
    path.write_bytes(SPEECH_WAV.read_bytes()[:100])
    with path.open("r", encoding="latin-1") as fileobj, pytest.raises(InvalidAudioError, match="text mode"):
        transcribe(fileobj)
    assert nothing_saved(stored_files)


def test_a_file_over_the_size_limit_is_refused_before_storing(settings, slashml, speech_path, stored_files) -> None:
    settings.SLASHML = {**settings.SLASHML, "MAX_UPLOAD_SIZE": 1000}
    with pytest.raises(InvalidAudioError, match=r"over the 1000 bytes limit \(SLASHML\['MAX_UPLOAD_SIZE'\]\)"):
        transcribe(speech_path)
    assert nothing_saved(stored_files)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/a.wav",
        "http://169.254.169.254/latest",
        "http://10.0.0.5/a.mp3",
        "http://[::1]/a.wav",
        "http://localhost/a.wav",
    ],
)
def test_private_network_urls_are_refused_unless_allowed(settings, slashml, stored_files, url) -> None:
    settings.SLASHML = {**settings.SLASHML, "ALLOW_PRIVATE_AUDIO_URLS": False}
    with pytest.raises(InvalidAudioError, match="private, loopback or link-local"):
        transcribe(url)
    assert nothing_saved(stored_files)
    settings.SLASHML = {**settings.SLASHML, "ALLOW_PRIVATE_AUDIO_URLS": True}
    assert transcribe(url).audio_url == url


def test_unknown_provider_lists_the_valid_ones(slashml, speech_path, stored_files) -> None:
    with pytest.raises(InvalidProviderError, match="assembly, aws, whisper, deepgram, google, rev"):
        transcribe(speech_path, service_provider="openai")
    assert nothing_saved(stored_files)


def test_a_missing_api_key_is_a_configuration_error_at_call_time(
    settings, speech_path, stored_files, monkeypatch
) -> None:
    monkeypatch.delenv("SLASHML_API_KEY", raising=False)
    settings.SLASHML = {"API_URL": "http://127.0.0.1:9"}
    with pytest.raises(ConfigurationError, match="No SlashML API key"):
        transcribe(speech_path)
    assert nothing_saved(stored_files)


def test_a_missing_api_key_is_told_in_the_same_words_everywhere(settings, monkeypatch) -> None:
    from django.core.checks import run_checks

    from django_slashml.remote.client import SlashMLClient
    from django_slashml.remote.protocol import NO_API_KEY, NO_API_KEY_HINT, NO_API_KEY_MESSAGE

    monkeypatch.delenv("SLASHML_API_KEY", raising=False)
    settings.SLASHML = {"API_URL": "http://127.0.0.1:9"}
    with pytest.raises(ConfigurationError) as from_client:
        SlashMLClient("http://127.0.0.1:9", None)
    with pytest.raises(ConfigurationError) as from_transcribe:
        transcribe("https://example.com/a.wav")
    assert str(from_client.value) == str(from_transcribe.value) == NO_API_KEY_MESSAGE
    [check] = [message for message in run_checks() if message.id == "slashml.E001"]
    assert (check.msg, check.hint) == (NO_API_KEY, NO_API_KEY_HINT)


@pytest.fixture
def jobs_refused() -> Iterator[None]:
    """The database itself refuses new job rows (a trigger), after the upload row and file are stored."""
    table = TranscriptionJob._meta.db_table
    if connection.vendor == "sqlite":
        create = [f"CREATE TRIGGER refuse_jobs BEFORE INSERT ON {table} BEGIN SELECT RAISE(ABORT, 'no new jobs'); END"]
        drop = ["DROP TRIGGER refuse_jobs"]
    elif connection.vendor == "postgresql":
        create = [
            "CREATE FUNCTION refuse_jobs() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'no new jobs'; END $$ "
            "LANGUAGE plpgsql",
            f"CREATE TRIGGER refuse_jobs BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION refuse_jobs()",
        ]
        drop = [f"DROP TRIGGER refuse_jobs ON {table}", "DROP FUNCTION refuse_jobs()"]
    else:
        pytest.skip(f"no trigger written for {connection.vendor}")
    with connection.cursor() as cursor:
        for statement in create:
            cursor.execute(statement)
    yield
    with connection.cursor() as cursor:
        for statement in drop:
            cursor.execute(statement)


def test_a_failure_after_storing_removes_the_stored_file(slashml, speech_path, stored_files, jobs_refused) -> None:
    with pytest.raises(DatabaseError, match="no new jobs"):
        transcribe(speech_path)
    assert nothing_saved(stored_files)
