"""Caption presets and parameters through the REST API and the admin: downloads, 400s, the audit."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from django_slashml.models import JobStatus, TranscriptionJob
from django_slashml.transcripts.exports import to_srt
from django_slashml.transcripts.presets import PRESETS

from .extras import require

pytestmark = pytest.mark.django_db

API = "/api/slashml/jobs/"
ADMIN = "/admin/django_slashml/transcriptionjob/"
TEXT = "Yesterday Mary Ann Evans went to the market in New York with her brother, and they bought apples."
#: Spoken fast (200 ms a word, no pauses): too fast for Netflix's 17 characters a second.
WORDS = [{"text": w, "start": i * 200, "end": i * 200 + 180, "confidence": 0.9} for i, w in enumerate(TEXT.split())]


def completed(owner: Any = None) -> TranscriptionJob:
    return TranscriptionJob.objects.create(
        audio_url="https://example.com/a.wav",
        service_provider="assembly",
        status=JobStatus.COMPLETED,
        owner=owner,
        text=TEXT,
        words=WORDS,
        audio_duration=4.0,
        completed_at=timezone.now(),
    )


@pytest.fixture
def ann(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("ann", password="pw")


@pytest.fixture
def vic(django_user_model: Any) -> Any:
    user = django_user_model.objects.create_user("vic", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_transcriptionjob"))
    client = Client()
    client.force_login(user)
    return client


def api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# -- REST ----------------------------------------------------------------------------------------


def test_rest_downloads_follow_the_preset_and_explicit_parameters(ann: Any) -> None:
    srt = require("srt")
    job = completed(ann)
    default = api(ann).get(f"{API}{job.pk}/transcript.srt").content.decode()
    assert default == to_srt(WORDS), "no parameter: today's export"
    netflix = api(ann).get(f"{API}{job.pk}/transcript.srt?preset=netflix").content.decode()
    assert netflix == to_srt(WORDS, limits=PRESETS["netflix"]) != default
    narrow = api(ann).get(f"{API}{job.pk}/transcript.vtt?preset=netflix&max_line_chars=20&max_lines=1")
    assert narrow.status_code == 200
    cues = list(srt.parse(api(ann).get(f"{API}{job.pk}/transcript.srt?preset=bbc&max_line_chars=20").content.decode()))
    assert all(len(line) <= 20 for cue in cues for line in cue.content.split("\n"))


@pytest.mark.parametrize(
    ("query", "parameter", "says"),
    [
        ("preset=itv", "preset", "use one of: default, netflix, bbc"),
        ("max_line_chars=x", "max_line_chars", "not a whole number"),
        ("max_line_chars=500", "max_line_chars", "from 10 to 200"),
        ("max_lines=0", "max_lines", "from 1 to 10"),
        ("max_cps=-3", "max_cps", "from 1 to 100"),
        ("min_duration_ms=3000&max_duration_ms=1000", "min_duration_ms", "above max_duration_ms (1000)"),
    ],
)
@pytest.mark.parametrize("endpoint", ["transcript.srt", "transcript.txt", "caption-audit/"])
def test_rest_answers_a_bad_parameter_with_a_400_that_names_it(
    ann: Any, endpoint: str, query: str, parameter: str, says: str
) -> None:
    job = completed(ann)
    response = api(ann).get(f"{API}{job.pk}/{endpoint}?{query}")
    assert response.status_code == 400
    assert list(response.json()) == [parameter]
    assert says in response.json()[parameter][0]


def test_rest_caption_audit_lists_the_cues_that_break_the_preset(ann: Any) -> None:
    job = completed(ann)
    audit = api(ann).get(f"{API}{job.pk}/caption-audit/?preset=netflix").json()
    assert audit["preset"] == "netflix" and audit["limits"]["max_cps"] == 17 and audit["cues"] >= 2
    assert audit["problems"] and {p["kind"] for p in audit["problems"]} == {"too_fast"}
    assert set(audit["problems"][0]) == {"cue", "start", "end", "kind", "detail"}
    relaxed = api(ann).get(f"{API}{job.pk}/caption-audit/?preset=netflix&max_cps=40").json()
    assert relaxed["problems"] == []
    assert api(ann).get(f"{API}{job.pk}/caption-audit/").json()["problems"] == [], "the default has no rate rule"


def test_rest_caption_audit_waits_for_a_transcript_like_the_downloads(ann: Any) -> None:
    job = TranscriptionJob.objects.create(audio_url="https://example.com/a.wav", owner=ann, status=JobStatus.QUEUED)
    assert api(ann).get(f"{API}{job.pk}/caption-audit/").status_code == 409


# -- admin ---------------------------------------------------------------------------------------


def test_admin_download_takes_the_parameters_and_refuses_bad_ones_with_a_400(admin_client: Client) -> None:
    job = completed()
    response = admin_client.get(f"{ADMIN}{job.pk}/transcript.srt?preset=bbc")
    assert response.content.decode() == to_srt(WORDS, limits=PRESETS["bbc"])
    bad = admin_client.get(f"{ADMIN}{job.pk}/transcript.srt?preset=netflix&max_duration_ms=500")
    assert bad.status_code == 400
    assert bad.content.decode().startswith("max_duration_ms: 500 is below min_duration_ms (834")


def test_admin_export_uses_the_chosen_preset(vic: Client) -> None:
    job = completed()
    response = vic.post(ADMIN, {"action": "export_transcripts", "_selected_action": [job.pk], "preset": "netflix"})
    bundle = zipfile.ZipFile(io.BytesIO(response.content))
    assert bundle.read(f"transcript-{job.pk}.srt").decode() == to_srt(WORDS, limits=PRESETS["netflix"])
    plain = vic.post(ADMIN, {"action": "export_transcripts", "_selected_action": [job.pk], "preset": ""})
    assert zipfile.ZipFile(io.BytesIO(plain.content)).read(f"transcript-{job.pk}.srt").decode() == to_srt(WORDS)


def test_admin_export_refuses_a_bad_parameter_with_a_message(vic: Client) -> None:
    job = completed()
    response = vic.post(
        ADMIN,
        {"action": "export_transcripts", "_selected_action": [job.pk], "preset": "bbc", "max_lines": "0"},
        follow=True,
    )
    said = [str(message) for message in response.context["messages"]]
    assert said == ["Nothing exported: max_lines: 0 is out of range; use a whole number from 1 to 10."]


def test_the_job_page_shows_the_caption_check_and_carries_the_preset_to_its_links(vic: Client) -> None:
    job = completed()
    page = vic.get(f"{ADMIN}{job.pk}/change/?preset=netflix").content.decode()
    assert "Caption check" in page and 'class="slashml-caption-audit"' in page
    assert "too_fast: " in page and "characters a second; at most 17" in page
    assert f"{ADMIN}{job.pk}/transcript.srt?preset=netflix" in page
    assert f'href="{ADMIN}{job.pk}/transcript.txt"' in page, "text has no cues: no caption parameters"
    calm = vic.get(f"{ADMIN}{job.pk}/change/").content.decode()
    assert "cues meet the default rules." in calm and 'class="slashml-caption-audit"' not in calm
    broken = vic.get(f"{ADMIN}{job.pk}/change/?max_cps=fast").content.decode()
    assert "max_cps: &#x27;fast&#x27; is not a whole number" in broken and "cues meet the default rules" in broken


def test_the_schema_documents_the_caption_parameters_and_the_audit() -> None:
    require("drf_spectacular")
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", stdout=out)
    paths = json.loads(out.getvalue())["paths"]
    for path in ("/api/slashml/jobs/{id}/transcript.{fmt}/", "/api/slashml/jobs/{id}/caption-audit/"):
        names = {p["name"] for p in paths[path]["get"]["parameters"]}
        assert {"preset", "max_line_chars", "max_lines", "max_cps", "min_duration_ms", "max_duration_ms"} <= names
