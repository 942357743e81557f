"""Hostile input, one test per row of the table in docs/security.md.

Each test tries what a hostile user (or a hostile SlashML) sent and asserts what they get back
instead of the harm. ``HOSTILE`` is the table; ``python -m tests.hostile_table`` prints it as
docs/security.md shows it, and :func:`test_the_security_page_lists_every_hostile_input` keeps
the page and the tests from drifting apart.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from django.core.files.base import ContentFile
from django.utils import timezone
from rest_framework.test import APIClient

from django_slashml.exceptions import InvalidComparisonError
from django_slashml.jobs import pipeline
from django_slashml.jobs.comparisons import validate_providers
from django_slashml.jobs.pipeline import Step
from django_slashml.jobs.pruning import prune_events
from django_slashml.jobs.uploads import save_upload
from django_slashml.models import AudioUpload, Comparison, JobEvent, JobStatus, TranscriptionJob, TranscriptSegment
from django_slashml.remote.calls import StepCalls
from django_slashml.remote.client import SlashMLClient
from django_slashml.remote.key_scrub import scrub_key_from_text
from django_slashml.transcripts.search.engines import CLOSE, OPEN, marked
from django_slashml.transcripts.search.query import parse

from .conftest import SPEECH_WAV
from .helpers import polled_job

pytestmark = [pytest.mark.django_db, pytest.mark.services]  # also on PostgreSQL, where NUL and offsets broke

COMPARISONS = "/api/slashml/comparisons/"
JOBS = "/api/slashml/jobs/"


@dataclass(frozen=True)
class Hostile:
    """One row of the table: who sends what, and what the app answers."""

    test: str
    severity: str
    who: str
    what: str
    answer: str


HOSTILE: list[Hostile] = []


def row(severity: str, who: str, what: str, answer: str) -> Any:
    """Register the decorated test as a row of the table."""

    def register(test: Any) -> Any:
        HOSTILE.append(Hostile(test.__name__, severity, who, what, answer))
        return test

    return register


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# -- the request that cost minutes ---------------------------------------------------------------


@row(
    "high",
    "user",
    "`POST comparisons/` with 400,000 entries in `providers`",
    "400 naming the allowed count; the count is checked before anything looks at the entries",
)
def test_a_huge_providers_list_is_refused_by_its_count(django_user_model) -> None:
    huge = ["assembly"] * 100_000
    with pytest.raises(InvalidComparisonError, match="2 to 6 providers; got 100000"):
        validate_providers(huge)
    ann = django_user_model.objects.create_user("ann")
    body = {"audio_url": "https://93.184.216.34/a.wav", "providers": huge}
    response = client_for(ann).post(COMPARISONS, body, format="json")
    assert response.status_code == 400
    assert response.json()["providers"] == ["A comparison needs 2 to 6 providers; got 100000."]
    assert not Comparison.objects.exists() and not TranscriptionJob.objects.exists()


@row(
    "low",
    "user",
    "a 100 kB provider name (`service_provider` of a job, or in `providers`)",
    "400 that quotes about 40 characters of it",
)
def test_a_long_provider_name_is_not_echoed_whole(django_user_model) -> None:
    name = "x" * 100_000
    client = client_for(django_user_model.objects.create_user("ann"))
    job = client.post(JOBS, {"audio_url": "https://93.184.216.34/a.wav", "service_provider": name}, format="json")
    comparison = client.post(
        COMPARISONS, {"audio_url": "https://93.184.216.34/a.wav", "providers": [name, "aws"]}, format="json"
    )
    for response in (job, comparison):
        assert response.status_code == 400
        assert "x" * 30 in response.content.decode() and len(response.content) < 1000
    assert not TranscriptionJob.objects.exists()


@row(
    "medium",
    "user",
    "`reference_text` of 2.4 MB on a comparison",
    "400 naming `SLASHML['MAX_REFERENCE_CHARS']` (100,000 characters by default); nothing saved",
)
def test_a_huge_reference_text_is_refused(django_user_model, settings) -> None:
    settings.SLASHML = {**settings.SLASHML, "MAX_REFERENCE_CHARS": 1000}
    ann = django_user_model.objects.create_user("ann")
    body = {"audio_url": "https://93.184.216.34/a.wav", "providers": ["aws", "rev"], "reference_text": "word " * 300}
    response = client_for(ann).post(COMPARISONS, body, format="json")
    assert response.status_code == 400
    assert "MAX_REFERENCE_CHARS" in response.json()["reference_text"][0]
    assert not Comparison.objects.exists() and not TranscriptionJob.objects.exists()


# -- answers that crashed a worker -----------------------------------------------------------------


@contextmanager
def answering(body: str, *, upload: str = "") -> Iterator[str]:
    """A SlashML stand-in on loopback answering every GET with ``body`` (and POST /upload/ with ``upload``)."""

    class Handler(BaseHTTPRequestHandler):
        def _send(self, text: str) -> None:
            data = text.encode("utf-8", "surrogatepass")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._send(body)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._send(upload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def completed(text: str, words: list[dict[str, Any]], **extra: Any) -> str:
    return json.dumps({"id": "hostile-1", "status": "COMPLETED", "text": text, "words": words, **extra})


@row(
    "medium",
    "SlashML",
    "an answer whose text, words, keys or error hold NUL or a lone surrogate (`\\u0000`, `\\ud800`)",
    "NUL dropped, a lone surrogate (or a 4-byte character where MySQL/MariaDB is not utf8mb4) "
    "replaced with U+FFFD as the answer is read; the job completes and is searchable",
)
def test_characters_a_database_cannot_store_never_reach_it(settings) -> None:
    word = {"text": "bad\x00\ud800word", "start": 0, "end": 500, "confidence": 0.9}
    body = completed("bad\x00\ud800word tail", [word, {"text": "tail", "start": 500, "end": 900}], **{"n\x00te": "x"})
    with answering(body) as url:
        job = polled_job(url, settings)
        assert pipeline.advance(job.pk) == Step.COMPLETED
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED
    assert job.text == "bad\ufffdword tail" and job.words[0]["text"] == "bad\ufffdword"
    assert "n\x00te" not in job.last_response and job.last_response["nte"] == "x"
    assert JobEvent.objects.filter(job=job).exists()
    assert TranscriptSegment.objects.filter(job=job).exists()


def test_four_byte_characters_are_replaced_only_where_the_database_cannot_hold_them(monkeypatch) -> None:
    from django.db import connection

    from django_slashml.remote import characters

    assert characters.storable_text("ok \U0001f600", four_byte=False) == "ok \ufffd"
    assert characters.storable_text("ok \U0001f600", four_byte=True) == "ok \U0001f600"
    monkeypatch.setattr(connection, "vendor", "mysql")
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", {"charset": "utf8mb4"})
    assert characters.storable({"t": "\U0001f600"}) == {"t": "\U0001f600"}
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", {})  # Django's default: utf8, three bytes at most
    assert characters.storable({"t": "\U0001f600"}) == {"t": "\ufffd"}


@row(
    "low",
    "SlashML",
    "a word timing of 3,000,000,000 ms",
    "timings are clamped to the audio's end (`audio_duration`, when SlashML sends it) and to 2^31-1 ms; "
    "the job completes and is searchable",
)
def test_a_word_timing_past_the_audio_is_clamped_and_the_job_is_searchable(settings) -> None:
    words = [{"text": "hello", "start": 0, "end": 400}, {"text": "later", "start": 3_000_000_000, "end": 3_000_000_400}]
    for extra, last in (({"audio_duration": 2.5}, 2500), ({}, 2**31 - 1)):
        TranscriptionJob.objects.all().delete()
        with answering(completed("hello later", words, **extra)) as url:
            job = polled_job(url, settings)
            assert pipeline.advance(job.pk) == Step.COMPLETED
        job.refresh_from_db()
        assert job.status == JobStatus.COMPLETED
        assert job.words[1]["start"] == job.words[1]["end"] == last
        assert TranscriptSegment.objects.filter(job=job, text__contains="later").exists()


# -- the API-key scrub -----------------------------------------------------------------------------


@row(
    "low",
    "SlashML",
    'a transcript saying "the token holders approve sandbox-keyring" (API key `sandbox-key`)',
    "transcript fields are never scrubbed; elsewhere only whole key-shaped tokens are",
)
def test_the_key_scrub_leaves_words_that_merely_look_like_it(settings) -> None:
    said = "the token holders approve sandbox-keyring"
    assert scrub_key_from_text(said, "sandbox-key") == said
    assert scrub_key_from_text("Authorization: Token sandbox-key", "sandbox-key") == "Authorization: Token [redacted]"
    assert "sandbox-key" not in scrub_key_from_text("refused sandbox-key, sorry", "sandbox-key")
    words = [{"text": word, "start": 100 * i, "end": 100 * i + 90} for i, word in enumerate(said.split())]
    with answering(completed(said, words, note="key sandbox-key refused")) as url:
        job = polled_job(url, settings)
        assert pipeline.advance(job.pk) == Step.COMPLETED
    job.refresh_from_db()
    assert job.text == said and " ".join(w["text"] for w in job.words) == said
    assert job.last_response["note"] == "key [redacted] refused"


# -- search ----------------------------------------------------------------------------------------


@row("medium", "user", "`GET jobs/?search=` holding a NUL (`%00`)", "400 saying to remove it, on every database")
def test_a_nul_in_the_job_search_is_a_400(django_user_model) -> None:
    ann = django_user_model.objects.create_user("ann")
    response = client_for(ann).get(JOBS, {"search": "a\x00b"})
    assert response.status_code == 400 and "NUL" in response.json()["search"][0]
    assert client_for(ann).get(JOBS, {"search": "x" * 501}).status_code == 400


@row(
    "medium", "staff", "the admin job list's search box holding a NUL, or 1,000 characters", "the list, finding nothing"
)
def test_a_nul_in_the_admin_job_search_finds_nothing(admin_client) -> None:
    for term in ("a\x00b", "x" * 1_000):
        response = admin_client.get("/admin/django_slashml/transcriptionjob/", {"q": term})
        assert response.status_code == 200


@row(
    "low",
    "user",
    "`created_before=3121-02-01T16:28:02-18:35` (an ISO 8601 offset PostgreSQL refuses; found by schemathesis)",
    "the moment is read in UTC, on every database; a date out of range is a 400",
)
def test_a_date_with_a_far_offset_is_read_in_utc(django_user_model) -> None:
    client = client_for(django_user_model.objects.create_user("ann"))
    for url, query in ((JOBS, {}), ("/api/slashml/search/", {"q": "word"})):
        response = client.get(url, {"created_before": "3121-02-01T16:28:02-18:35", **query})
        assert response.status_code == 200, response.content
    response = client.get(JOBS, {"created_after": "9999-12-31T23:59:59-23:00"})
    assert response.status_code == 400 and "out of the range" in response.json()["created_after"][0]


@row(
    "low",
    "SlashML",
    "a private-use character (U+E000, U+E001) in a transcript shown in a search snippet",
    "every `<mark>` closed, in the API and the admin search page",
)
def test_every_mark_in_a_snippet_is_closed(settings, django_user_model) -> None:
    assert marked(f"a {OPEN}b c") == "a <mark>b c</mark>"
    assert marked(f"{CLOSE}a {OPEN}b{OPEN} c{CLOSE}{CLOSE}") == "a <mark>b c</mark>"
    ann = django_user_model.objects.create_user("ann")
    text = f"welcome {OPEN} to the chart {CLOSE}{OPEN} room {CLOSE}"
    words = [{"text": w, "start": 100 * i, "end": 100 * i + 90} for i, w in enumerate(text.split())]
    with answering(completed(text, words)) as url:
        job = polled_job(url, settings)
        job.owner = ann
        job.save(update_fields=["owner"])
        assert pipeline.advance(job.pk) == Step.COMPLETED
    for query in ("welcome", "chart", "room"):
        response = client_for(ann).get("/api/slashml/search/", {"q": query})
        assert response.status_code == 200, response.content
        snippet = response.json()["results"][0]["snippet"]
        assert snippet.count("<mark>") == snippet.count("</mark>") >= 1, snippet
        assert OPEN not in snippet and CLOSE not in snippet


@row(
    "low",
    "user",
    "search `q=welcome or chart`",
    "lowercase `or` is a word to find on every database; only `OR` joins alternatives",
)
def test_lowercase_or_is_a_word_on_every_database() -> None:
    parsed = parse("welcome or chart")
    assert len(parsed.groups) == 1 and [t.text for t in parsed.groups[0]] == ["welcome", "or", "chart"]
    assert parsed.websearch() == 'welcome "or" chart'
    assert parse("welcome OR chart").websearch() == "welcome OR chart"


# -- the admin's audio -----------------------------------------------------------------------------


@row("low", "staff", "`Range: bytes=<5000 digits>-` on the admin's audio", "416, as for any range past the end")
def test_a_range_of_thousands_of_digits_is_416(admin_client) -> None:
    with SPEECH_WAV.open("rb") as fileobj:
        upload = save_upload(fileobj, name="meeting.wav")
    url = f"/admin/django_slashml/audioupload/{upload.pk}/audio/"
    assert admin_client.get(url, HTTP_RANGE="bytes=" + "9" * 5000 + "-").status_code == 416
    tail = admin_client.get(url, HTTP_RANGE="bytes=-" + "9" * 5000)
    assert tail.status_code == 206 and b"".join(tail.streaming_content) == SPEECH_WAV.read_bytes()


# -- presigned URLs --------------------------------------------------------------------------------


@row(
    "info",
    "SlashML",
    "a presigned upload URL (`uploaded_url` with its signature)",
    "kept on the upload for its sibling jobs until it expires, then emptied by the retention task "
    "(`purge_audio`, `slashml_purge_audio`); events keep the URL without its query",
)
def test_presigned_urls_are_kept_out_of_events_and_cleared_when_they_expire() -> None:
    signed = "https://bucket.example/a.wav?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA"

    class Canned(requests.adapters.BaseAdapter):
        def send(self, request: Any, **kwargs: Any) -> requests.Response:
            response = requests.Response()
            response.status_code, response.request, response.url = 200, request, request.url
            response.headers["Content-Type"] = "application/json"
            response.raw = io.BytesIO(json.dumps({"uploaded_url": signed}).encode())
            return response

        def close(self) -> None:
            pass

    session = requests.Session()
    session.mount("https://", Canned())
    client = SlashMLClient("https://api.slashml.example", "k" * 20, session=session)
    calls = StepCalls()
    remote = client.upload(
        ContentFile(b"RIFF"), filename="a.wav", content_type="audio/wav", service_provider="whisper", calls=calls
    )
    assert remote.url == signed
    (call,) = calls
    assert call.answer == {"uploaded_url": "https://bucket.example/a.wav?[query not kept]"}

    now = timezone.now()
    uploads = []
    for expires in (now - timedelta(minutes=1), now + timedelta(hours=1)):
        with SPEECH_WAV.open("rb") as fileobj:
            upload = save_upload(fileobj, name="a.wav")
        AudioUpload.objects.filter(pk=upload.pk).update(remote_url=signed, remote_expires_at=expires)
        uploads.append(upload)
    assert prune_events(timedelta(days=30), now=now).urls_cleared == 1
    expired, fresh = (AudioUpload.objects.get(pk=upload.pk) for upload in uploads)
    assert (expired.remote_url, expired.remote_expires_at) == ("", None)
    assert fresh.remote_url == signed


# -- the table in docs/security.md ----------------------------------------------------------------


def table() -> str:
    """``HOSTILE`` as the Markdown table docs/security.md shows."""
    lines = ["| severity | from | what is sent | what the app answers | test |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {h.severity} | {h.who} | {h.what} | {h.answer} | `{h.test}` |" for h in HOSTILE]
    return "\n".join(lines) + "\n"


def test_the_security_page_lists_every_hostile_input() -> None:
    from pathlib import Path

    page = (Path(__file__).resolve().parent.parent / "docs" / "security.md").read_text()
    assert table() in page, "docs/security.md's table is stale: python -m tests.hostile_table prints it"
