"""The client against the sandbox over real HTTP: every endpoint, quirk and error class."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from django_slashml.exceptions import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    InvalidResponseError,
    MalformedTranscriptError,
    PermanentAPIError,
    RateLimitedError,
    ServerError,
    TransientAPIError,
)
from django_slashml.remote.client import SlashMLClient
from django_slashml.sandbox.control import SandboxControl

from .conftest import SPEECH_SCRIPT, SPEECH_WAV

KEY = "sandbox-key"


@pytest.fixture
def client(sandbox, sandbox_control: SandboxControl) -> SlashMLClient:
    return SlashMLClient(sandbox.url, KEY, read_timeout=1.0, status_retries=2)


def upload_speech(client: SlashMLClient) -> str:
    with SPEECH_WAV.open("rb") as fileobj:
        return client.upload(fileobj, filename="speech.wav", content_type="audio/wav", service_provider="assembly").url


def wait_for_completion(client: SlashMLClient, job_id: str, provider: str = "assembly"):
    import time

    for _ in range(100):
        remote = client.status(job_id, service_provider=provider)
        if remote.is_completed or remote.is_failed:
            return remote
        time.sleep(0.05)
    raise AssertionError("the sandbox job did not finish")


def test_upload_submit_and_poll_to_a_transcript(client: SlashMLClient, sandbox_control: SandboxControl) -> None:
    url = upload_speech(client)
    submitted = client.submit(url, service_provider="assembly")
    assert submitted.status in ("QUEUED", "IN_PROGRESS")
    running = client.status(submitted.id, service_provider="assembly")
    assert running.status in ("QUEUED", "IN_PROGRESS")  # the vendor's IN_PROGESS, normalised
    done = wait_for_completion(client, submitted.id)
    assert done.is_completed
    assert done.text.split() == SPEECH_SCRIPT  # the sidecar transcript
    assert [w.text for w in done.words] == SPEECH_SCRIPT
    assert all(0 <= w.start < w.end for w in done.words)
    assert done.audio_duration == pytest.approx(5.37, abs=0.01)
    stats = sandbox_control.stats()
    assert stats["calls"]["upload"] == 1 and stats["calls"]["submit"] == 1


@pytest.mark.parametrize(
    "quirks",
    [
        {"upload_url_key": "upload_url"},
        {"transcription_data": True},
        {"in_progress_spelling": "IN_PROGRESS"},
    ],
)
def test_documented_quirks_are_read_the_same(client, sandbox_control, quirks) -> None:
    sandbox_control.set_quirks(**quirks)
    sandbox_control.set_faults(mistakes={"whisper": 0})  # the sandbox's own mistakes (docs/sandbox.md), off here
    url = upload_speech(client)
    job = client.submit(url, service_provider="whisper")
    done = wait_for_completion(client, job.id, "whisper")
    assert done.text.split() == SPEECH_SCRIPT


def test_a_job_that_fails_remotely_carries_the_error_message(client, sandbox_control) -> None:
    sandbox_control.set_faults(job_error_rate=1.0)
    job = client.submit(upload_speech(client), service_provider="assembly")
    done = wait_for_completion(client, job.id)
    assert done.is_failed
    assert "could not process this audio" in done.error


def test_400_error_shape_becomes_a_bad_request_with_the_message(client) -> None:
    with pytest.raises(BadRequestError, match="Unknown job id") as info:
        client.status("no-such-job", service_provider="assembly")
    assert info.value.status_code == 400
    assert isinstance(info.value, PermanentAPIError)


def test_wrong_key_is_an_authentication_error_that_never_shows_the_key(sandbox, sandbox_control, caplog) -> None:
    secret = "sk-live-very-secret-123456"
    client = SlashMLClient(sandbox.url, secret)
    caplog.set_level(logging.DEBUG, logger="django_slashml")
    with pytest.raises(AuthenticationError) as info:
        client.submit("https://example.com/a.wav", service_provider="assembly")
    assert secret not in str(info.value)
    assert secret not in repr(info.value.body)
    assert secret not in caplog.text


def test_a_key_echoed_back_by_the_server_is_redacted(sandbox, sandbox_control) -> None:
    # The sandbox answers "Unknown service_provider '<value>'": send the key as the value.
    client = SlashMLClient(sandbox.url, KEY)
    with pytest.raises(BadRequestError) as info:
        client.status("x", service_provider=KEY)
    assert KEY not in str(info.value)
    assert KEY not in repr(info.value.body)
    assert "[redacted]" in str(info.value)


def test_missing_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="SLASHML_API_KEY"):
        SlashMLClient("http://127.0.0.1:9", None)


@pytest.mark.parametrize(
    ("fault", "error", "transient"),
    [
        ("500", ServerError, True),
        ("429", RateLimitedError, True),
        ("drop", APIConnectionError, True),
        ("slow", APITimeoutError, True),
        ("malformed", InvalidResponseError, True),
        ("truncated", InvalidResponseError, True),
    ],
)
def test_submit_faults_map_to_error_classes_and_are_not_retried(
    client, sandbox_control, fault, error, transient
) -> None:
    sandbox_control.set_faults(slow_body_delay=2.0, retry_after=7, script=[{"endpoint": "submit", "fault": fault}])
    with pytest.raises(error) as info:
        client.submit("https://example.com/a.wav", service_provider="assembly")
    assert isinstance(info.value, TransientAPIError) is transient
    if fault == "429":
        assert info.value.retry_after == 7
    if fault == "500":
        assert "500" in str(info.value)
    stats = sandbox_control.stats()
    assert stats["calls"]["submit"] == 1, "a POST must never be repeated by the client"


def test_status_get_is_retried_at_once_after_a_dropped_connection(client, sandbox_control) -> None:
    job = client.submit(upload_speech(client), service_provider="assembly")
    sandbox_control.set_faults(script=[{"endpoint": "status", "fault": "drop", "count": 2}])
    remote = client.status(job.id, service_provider="assembly")
    assert remote.id == job.id
    assert sandbox_control.stats()["calls"]["status"] == 3


def test_status_retries_give_up_after_the_configured_number(client, sandbox_control) -> None:
    job = client.submit(upload_speech(client), service_provider="assembly")
    sandbox_control.set_faults(script=[{"endpoint": "status", "fault": "drop", "count": 5}])
    with pytest.raises(APIConnectionError):
        client.status(job.id, service_provider="assembly")
    assert sandbox_control.stats()["calls"]["status"] == 3


@pytest.mark.parametrize("fault", ["missing_word_fields", "no_words"])
def test_completed_answers_without_usable_words_are_malformed(client, sandbox_control, fault) -> None:
    job = client.submit(upload_speech(client), service_provider="assembly")
    sandbox_control.set_faults(script=[{"endpoint": "status", "fault": fault}])
    with pytest.raises(MalformedTranscriptError):
        client.status(job.id, service_provider="assembly")


def test_unknown_status_is_kept_and_flagged(client, sandbox_control) -> None:
    job = client.submit(upload_speech(client), service_provider="assembly")
    sandbox_control.set_faults(script=[{"endpoint": "status", "fault": "unknown_status"}])
    remote = client.status(job.id, service_provider="assembly")
    assert remote.status == "PAUSED_FOR_REVIEW"
    assert not remote.status_is_known and not remote.is_completed and not remote.is_failed


def test_requests_carry_a_versioned_user_agent_and_token(sandbox, sandbox_control) -> None:
    from django_slashml import __version__

    client = SlashMLClient(sandbox.url, KEY)
    assert client.session.headers["User-Agent"].startswith(f"django-slashml/{__version__} ")
    assert "Authorization" not in client.session.headers  # sent per request, never stored on the session
    assert KEY not in repr(client)


def test_a_netrc_entry_for_the_host_does_not_replace_the_key(sandbox, tmp_path, monkeypatch) -> None:
    # requests swaps a plain Authorization header for netrc's Basic credentials.
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password other-secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    assert upload_speech(SlashMLClient(sandbox.url, KEY)), "a 401 would raise AuthenticationError"


def test_proxy_settings_from_the_environment_are_still_used(monkeypatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    assert SlashMLClient("https://api.slashml.com", KEY).session.proxies.get("https") == "http://proxy.example:3128"
    assert not SlashMLClient("https://internal.example", KEY).session.proxies.get("https")


def test_connection_refused_is_transient() -> None:
    client = SlashMLClient("http://127.0.0.1:9", KEY, connect_timeout=0.5, status_retries=0)
    with pytest.raises(APIConnectionError):
        client.submit("https://example.com/a.wav", service_provider="assembly")


def test_upload_of_a_path_the_sandbox_refuses(client, tmp_path: Path) -> None:
    fake = tmp_path / "notes.wav"
    fake.write_bytes(b"this is plain text pretending to be a wav file")
    with fake.open("rb") as fileobj, pytest.raises(BadRequestError, match="not audio"):
        client.upload(fileobj, filename="notes.wav", content_type="audio/wav", service_provider="assembly")


@contextmanager
def one_answer(headers: dict[str, str], chunks: list[bytes], pause: float = 0.0) -> Iterator[str]:
    """A server on loopback that answers every GET with ``chunks``, ``pause`` seconds apart."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in chunks:
                time.sleep(pause)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_an_answer_with_an_unknown_charset_is_still_read() -> None:
    body = b'{"id": "j1", "status": "IN_PROGRESS"}'
    with one_answer({"Content-Type": "application/json; charset=bogus"}, [body]) as url:
        job = SlashMLClient(url, "k").status("j1", service_provider="assembly")
    assert job.status == "IN_PROGRESS"


def test_an_answer_that_trickles_in_is_abandoned_after_the_read_timeout() -> None:
    chunks = [b'{"id": "j1", "status": "IN_PROGRESS", "pad": "'] + [b"x"] * 40 + [b'"}']
    with one_answer({"Content-Type": "application/json"}, chunks, pause=0.05) as url:
        client = SlashMLClient(url, "k", read_timeout=0.5, status_retries=0)
        # Each piece arrives 0.05 s after the last, well inside the read timeout: only the total counts.
        with pytest.raises(APITimeoutError, match=r"took more than 0\.5 s"):
            client.status("j1", service_provider="assembly")


def test_last_response_keeps_no_large_value_of_an_answer() -> None:
    from django_slashml.remote.responses import RAW_VALUE_CHARS, parse_job

    job = parse_job({"id": "j1", "status": "IN_PROGRESS", "debug": "x" * 10 * RAW_VALUE_CHARS, "note": "short"})
    assert job.stored_raw["note"] == "short"
    assert job.stored_raw["debug"].startswith("[str of") and len(str(job.stored_raw)) < RAW_VALUE_CHARS


def test_an_empty_step_call_log_is_still_a_log_to_note_into() -> None:
    """A custom CLIENT_CLASS may write ``if calls: calls.note(...)``: its first call must be noted."""
    from django_slashml.remote.calls import StepCalls

    calls = StepCalls(job_id="job-1")
    if calls:
        calls.note("status", "GET", time.monotonic(), http_status=200)
    assert [call.endpoint for call in calls] == ["status"]
