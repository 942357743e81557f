"""The API key, echoed back by a careless SlashML, appears nowhere a person or a log could read it.

The sandbox's ``echo_credentials`` quirk puts the request's ``Authorization`` header into every
answer: error pages, 429s, status bodies that get stored. Then the test reads everything the
app produced (log lines, exception texts, database rows, REST answers, admin pages) and greps
for the key.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.core import serializers
from django.test import Client
from rest_framework.test import APIClient

from django_slashml import transcribe
from django_slashml.exceptions import SlashMLError
from django_slashml.models import AudioUpload, JobStatus, TranscriptionJob
from django_slashml.remote.client import SlashMLClient
from django_slashml.sandbox import SandboxServer
from django_slashml.sandbox.control import SandboxControl
from django_slashml.testing import sandbox_settings, start_sandbox

from .conftest import FIXTURES
from .helpers import drive

pytestmark = pytest.mark.django_db

SECRET = "sk-live-5f1c9a7e3b2d-never-shown"


@pytest.fixture
def echoing() -> Iterator[tuple[SandboxServer, SandboxControl]]:
    server = start_sandbox(transcripts_dir=FIXTURES, api_keys={SECRET}, processing_time=0.2)
    control = SandboxControl(server.url, SECRET)
    control.set_quirks(echo_credentials=True)
    yield server, control
    control.close()
    server.stop()


def test_an_echoed_key_reaches_no_log_exception_row_api_answer_or_admin_page(
    settings: Any,
    echoing: tuple[SandboxServer, SandboxControl],
    speech_path: Path,
    caplog: pytest.LogCaptureFixture,
    django_user_model: Any,
) -> None:
    server, control = echoing
    settings.SLASHML = sandbox_settings(server, RETRY_BASE_DELAY=0.05, RETRY_MAX_DELAY=0.1, STATUS_HTTP_RETRIES=0)
    caplog.set_level(logging.DEBUG)
    ann = django_user_model.objects.create_superuser("ann", password="pw")

    control.set_faults(
        script=[
            {"endpoint": "upload", "fault": "500", "count": 1},
            {"endpoint": "submit", "fault": "429", "count": 1},
            {"endpoint": "status", "fault": "truncated", "count": 1},
        ]
    )
    completed = drive(transcribe(speech_path, owner=ann))
    control.set_faults(script=[], job_error_rate=1.0)
    failed = drive(transcribe(speech_path, owner=ann, fresh=True))
    client = SlashMLClient.from_settings()
    with pytest.raises(SlashMLError) as raised:
        client.status("no-such-job", service_provider="whisper")
    client.close()

    assert completed.status == JobStatus.COMPLETED and failed.status == JobStatus.ERROR
    assert control.stats()["faults"] == {"500": 1, "429": 1, "truncated": 1}, "every echoing fault was served"
    assert "debug" in completed.last_response, "the stored answer is the echoing one"

    api = APIClient()
    api.force_authenticate(ann)
    admin = Client()
    admin.force_login(ann)
    jobs = "/admin/django_slashml/transcriptionjob/"
    seen = {
        "exception": str(raised.value),
        "log": caplog.text,
        "rows": serializers.serialize("json", [*TranscriptionJob.objects.all(), *AudioUpload.objects.all()]),
        "api list": api.get("/api/slashml/jobs/").content.decode(),
        **{
            f"api {job.status}": api.get(f"/api/slashml/jobs/{job.pk}/").content.decode() for job in (completed, failed)
        },
        "admin list": admin.get(jobs).content.decode(),
        **{f"admin {job.status}": admin.get(f"{jobs}{job.pk}/change/").content.decode() for job in (completed, failed)},
    }
    assert all(page for page in seen.values())
    leaked = [where for where, text in seen.items() if piece_of_the_key(text)]
    assert leaked == [], f"the API key leaked into: {leaked}"


def piece_of_the_key(text: str, key: str = SECRET) -> str | None:
    """The first 8-character piece of ``key`` found in ``text``: a cut key is still a leak."""
    return next((key[i : i + 8] for i in range(len(key) - 7) if key[i : i + 8] in text), None)


class CannedAdapter(requests.adapters.BaseAdapter):
    """Answers every request with one status and body, as a hostile or careless SlashML would."""

    def __init__(self, status: int, body: str, content_type: str = "text/html") -> None:
        super().__init__()
        self.status, self.body, self.content_type = status, body.encode(), content_type

    def send(self, request: Any, **kwargs: Any) -> requests.Response:
        response = requests.Response()
        response.status_code, response.request, response.url = self.status, request, request.url
        response.headers["Content-Type"] = self.content_type
        response.headers["Content-Length"] = str(len(self.body))
        response.raw = io.BytesIO(self.body)
        return response

    def close(self) -> None:
        pass


ECHOES = [
    # (what SlashML sent, status): the key straddles the client's 300-character cut, or arrives cut short.
    ("HTML page, key across the cut", 500, "<p>" + "x" * 289 + f"Authorization: Token {SECRET}</p>"),
    ("HTML page, bare key across the cut", 502, "x" * 292 + SECRET),
    ("200 that is not JSON", 200, "<!-- " + "y" * 280 + f" {SECRET} -->"),
    ("400 whose body SlashML cut itself", 400, f"Bad request for key {SECRET[:13]}"),
    ("JSON error quoting part of the key", 403, json.dumps({"error": {"message": f"key {SECRET[3:17]} refused"}})),
]


@pytest.mark.parametrize(("status", "body"), [e[1:] for e in ECHOES], ids=[e[0] for e in ECHOES])
def test_no_piece_of_an_echoed_key_survives_in_errors(status: int, body: str) -> None:
    session = requests.Session()
    session.mount("https://", CannedAdapter(status, body))
    client = SlashMLClient("https://api.slashml.example", SECRET, session=session)
    with pytest.raises(SlashMLError) as raised:
        client.status("job-1", service_provider="whisper")
    shown = f"{raised.value} {getattr(raised.value, 'body', '')!r}"
    assert piece_of_the_key(shown) is None, shown


# -- settings printed by diffsettings, and the sandbox's banner (issue 22) -------------------------


def test_a_key_read_lazily_is_not_in_diffsettings(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.management import call_command

    from django_slashml.conf import slashml_settings

    settings.SLASHML = {"API_URL": "https://api.slashml.com", "API_KEY": lambda: SECRET}
    assert slashml_settings.API_KEY == SECRET
    out = io.StringIO()
    call_command("diffsettings", stdout=out)
    assert "SLASHML" in out.getvalue() and piece_of_the_key(out.getvalue()) is None

    monkeypatch.setenv("SLASHML_API_KEY", SECRET)
    settings.SLASHML = {"API_URL": "https://api.slashml.com"}
    assert slashml_settings.API_KEY == SECRET
    out = io.StringIO()
    call_command("diffsettings", stdout=out)
    assert piece_of_the_key(out.getvalue()) is None


def test_the_example_projects_diffsettings_does_not_print_the_key() -> None:
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "SLASHML_API_KEY": SECRET, "DJANGO_SETTINGS_MODULE": "example_project.settings"}
    env["PYTHONPATH"] = os.pathsep.join([str(root), str(root / "example_project")])
    result = subprocess.run(
        [sys.executable, "-m", "django", "diffsettings"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "SLASHML" in result.stdout and piece_of_the_key(result.stdout) is None


def test_the_sandbox_neither_adopts_nor_prints_the_hosts_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from django_slashml.sandbox.cli import prepare

    options = {"host": "127.0.0.1", "port": 0, "engine": "deterministic", "upload_ttl": 60.0}
    monkeypatch.setenv("SLASHML_API_KEY", SECRET)
    banner = io.StringIO()
    server = prepare(options, banner).start()
    try:
        assert server.state.api_keys == {"sandbox-key"} and "'API_KEY': 'sandbox-key'" in banner.getvalue()
        refused = requests.get(f"{server.url}/speech-to-text/v1/jobs/x/", headers={"Authorization": f"Token {SECRET}"})
        assert refused.status_code == 401
    finally:
        server.stop()
    banner = io.StringIO()
    prepare({**options, "api_keys": [SECRET]}, banner).start().stop()
    assert piece_of_the_key(banner.getvalue()) is None and "sk-l..." in banner.getvalue()


def test_a_key_shorter_than_a_piece_is_still_scrubbed_whole() -> None:
    from django_slashml.remote.key_scrub import SCRUBBED, scrub_key_from_text

    assert scrub_key_from_text("k=ab12", "ab12") == f"k={SCRUBBED}"
    assert scrub_key_from_text("ab12", "ab12") == SCRUBBED
