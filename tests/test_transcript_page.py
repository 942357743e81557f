"""The transcript for the people who own it: the app's page, the template tag, search's links.

Owner scoping as the API's (another user's job is a 404, staff need the view permission),
hostile transcript text rendered as text, and the links search gives a non-staff owner open.
The page in a browser, under a strict Content-Security-Policy: tests/test_transcript_browser.py.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.template import Context, Template
from django.test import Client
from rest_framework.test import APIClient

from django_slashml.models import JobStatus, TranscriptionJob
from django_slashml.transcripts.search.segments import index_job

from .test_admin import job, upload_for

pytestmark = [pytest.mark.django_db]

PAGE = "/api/slashml/transcripts/{}/"
AUDIO = "/api/slashml/transcripts/{}/audio/"

#: Transcript words that try to be markup or script; each must reach the reader as text.
HOSTILE = [
    "</script><script>alert(1)</script>",
    '<img src=x onerror="alert(2)">',
    "\"'><svg onload=alert(3)>",
    "{{ secret }}",
    "&lt;b&gt;",
]


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def people(django_user_model: Any) -> dict[str, Any]:
    ann = django_user_model.objects.create_user("ann", password="pw")
    staff = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    return {
        "ann": ann,
        "bob": django_user_model.objects.create_user("bob", password="pw"),
        "staff": staff,
        "job": job(ann, upload=upload_for(ann)),
    }


def test_the_owner_gets_the_player_and_the_words(people: dict[str, Any]) -> None:
    mine = people["job"]
    page = signed_in(people["ann"]).get(PAGE.format(mine.pk))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Transcript of meeting.wav" in html
    assert f'src="{AUDIO.format(mine.pk)}"' in html
    assert '[["hello", 100, 400, 0.98], ["wurld", 450, 900, 0.31]]' in html
    assert "/static/django_slashml/transcript.js" in html and "/static/django_slashml/transcript.css" in html
    # No inline script: every <script> has a src, except the words' JSON data block.
    for tag in re.findall(r"<script[^>]*>", html):
        assert " src=" in tag or 'type="application/json"' in tag, tag
    audio = signed_in(people["ann"]).get(AUDIO.format(mine.pk), HTTP_RANGE="bytes=0-99")
    assert audio.status_code == 206 and len(b"".join(audio.streaming_content)) == 100


def test_anyone_else_gets_a_404_and_a_signed_out_visitor_the_login_page(people: dict[str, Any], settings: Any) -> None:
    mine = people["job"]
    for url in (PAGE.format(mine.pk), AUDIO.format(mine.pk)):
        assert signed_in(people["bob"]).get(url).status_code == 404
        assert signed_in(people["staff"]).get(url).status_code == 404  # staff without the view permission
        signed_out = Client().get(url)
        assert signed_out.status_code == 302 and signed_out["Location"].startswith(settings.LOGIN_URL)
    assert signed_in(people["ann"]).get(PAGE.format("00000000-0000-0000-0000-000000000000")).status_code == 404
    people["staff"].user_permissions.add(Permission.objects.get(codename="view_transcriptionjob"))
    staff = type(people["staff"]).objects.get(pk=people["staff"].pk)
    assert signed_in(staff).get(PAGE.format(mine.pk)).status_code == 200
    assert signed_in(staff).get(AUDIO.format(mine.pk), HTTP_RANGE="bytes=0-9").status_code == 206


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_transcript_text_and_file_names_stay_text(people: dict[str, Any], text: str) -> None:
    upload = upload_for(people["ann"])
    type(upload).objects.filter(pk=upload.pk).update(original_name=text)
    words = [{"text": text, "start": 0, "end": 500, "confidence": 0.2}, {"text": "ok", "start": 600, "end": 900}]
    hostile = job(people["ann"], upload=upload, words=words, text=f"{text} ok")
    html = signed_in(people["ann"]).get(PAGE.format(hostile.pk)).content.decode()
    if "<" in text:
        assert text not in html
    assert "<script>alert" not in html and "<img src=x" not in html and "<svg onload" not in html
    assert "&amp;lt;b&amp;gt;" in html or "&lt;b&gt;" not in text  # escaped once more, shown as typed
    data = re.search(r'<script id="slashml-words-[^"]+" type="application/json">(.*?)</script>', html, re.S)
    assert data and json.loads(data.group(1))[0][0] == text  # the script reads back exactly what was said


def test_the_template_tag_renders_the_transcript_in_a_host_projects_template(people: dict[str, Any]) -> None:
    mine = people["job"]
    html = Template("{% load slashml %}<main>{% slashml_transcript job %}</main>").render(Context({"job": mine}))
    assert html.count('<link rel="stylesheet" href="/static/django_slashml/transcript.css">') == 1
    assert html.count('<script src="/static/django_slashml/transcript.js" defer></script>') == 1
    assert f'src="{AUDIO.format(mine.pk)}"' in html and 'class="slashml-words"' in html
    head = Template("{% load slashml %}{% slashml_transcript_assets %}").render(Context())
    bare = Template("{% load slashml %}{% slashml_transcript job assets=False %}").render(Context({"job": mine}))
    assert "transcript.js" in head and "transcript.js" not in bare and "slashml-viewer" in bare
    # A job made from a caller's URL plays that URL, fetched only on play.
    from_url = job(people["ann"])
    html = Template("{% load slashml %}{% slashml_transcript job %}").render(Context({"job": from_url}))
    assert 'preload="none" src="https://example.com/talk.wav"' in html


def test_search_links_a_non_staff_owner_to_pages_they_can_open_playing_from_the_second(
    people: dict[str, Any],
) -> None:
    words = [
        {"text": w, "start": 1000 + i * 500, "end": 1400 + i * 500, "confidence": 0.9}
        for i, w in enumerate(["We", "opened", "the", "meeting.", "The", "harbour", "budget", "was", "approved."])
    ]
    mine = job(people["ann"], upload=upload_for(people["ann"]), words=words, text=" ".join(w["text"] for w in words))
    theirs = job(people["bob"], upload=upload_for(people["bob"]), words=words, text=mine.text)
    index_job(mine)
    index_job(theirs)
    api = APIClient()
    api.force_authenticate(people["ann"])
    results = api.get("/api/slashml/search/", {"q": "budget"}).data["results"]
    assert [r["job"] for r in results] == [str(mine.pk)]
    browser = signed_in(people["ann"])
    for result in results:
        assert result["url"] == f"http://testserver{PAGE.format(mine.pk)}?t=4"
        assert browser.get(result["url"]).status_code == 200
    assert signed_in(people["bob"]).get(results[0]["url"]).status_code == 404


def test_a_host_page_for_transcripts_takes_search_links(people: dict[str, Any], settings: Any) -> None:
    settings.SLASHML = {**settings.SLASHML, "TRANSCRIPT_URL": "https://calls.example.com/calls/{job}/?tab=words"}
    from django_slashml.viewer import transcript_url

    mine = people["job"]
    assert transcript_url(mine.pk, seconds=12.5) == f"https://calls.example.com/calls/{mine.pk}/?tab=words&t=12.5"
    assert transcript_url(mine.pk) == f"https://calls.example.com/calls/{mine.pk}/?tab=words"


@pytest.mark.parametrize("value", ["/calls/", "/calls/{id}/", 42, "/calls/{job}/{0}/"])
def test_a_transcript_url_without_its_job_placeholder_fails_the_checks(settings: Any, value: Any) -> None:
    settings.SLASHML = {**settings.SLASHML, "TRANSCRIPT_URL": value}
    with pytest.raises(SystemCheckError, match=r"slashml\.E080"):
        call_command("check")


def test_a_job_not_yet_transcribed_says_so(people: dict[str, Any]) -> None:
    waiting = job(people["ann"], status=JobStatus.IN_PROGRESS)
    html = signed_in(people["ann"]).get(PAGE.format(waiting.pk)).content.decode()
    assert "Not transcribed yet: In progress." in html and "No word timings" in html
    assert TranscriptionJob.objects.count() == 2
