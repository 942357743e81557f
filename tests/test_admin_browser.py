"""The admin's transcript viewer in headless Chromium: click a word, the audio seeks to it.

A real job is transcribed through the sandbox, then a staff user signs in to the admin
through the login form. Needs Debian's ``chromium`` (see :mod:`tests.browser`).
"""

from __future__ import annotations

import os
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from django_slashml import transcribe
from django_slashml.jobs.uploads import save_upload
from django_slashml.models import JobStatus, TranscriptionJob

from .browser import CHROMIUM_FLAGS, require_chromium
from .helpers import drive

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
CHANGE = "/admin/django_slashml/transcriptionjob/{}/change/"


@contextmanager
def signed_in_browser(live_server: Any) -> Iterator[Any]:
    """A page signed in to the admin. Create rows before entering: Playwright's event loop
    makes Django refuse database calls in this thread while the browser is open."""
    from django.contrib.auth import get_user_model
    from playwright.sync_api import sync_playwright

    require_chromium()
    get_user_model().objects.create_superuser("reviewer", "reviewer@example.com", "review-password")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=require_chromium(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(f"{live_server.url}/admin/login/")
            page.fill("#id_username", "reviewer")
            page.fill("#id_password", "review-password")
            page.click("input[type=submit]")
            page.wait_for_url(f"{live_server.url}/admin/")
            yield page
        finally:
            browser.close()


def open_viewer(page: Any, live_server: Any, job: TranscriptionJob) -> None:
    page.goto(live_server.url + CHANGE.format(job.pk))
    page.wait_for_selector(".slashml-words .slashml-word")
    page.wait_for_function("document.querySelector('.slashml-audio').readyState >= 1")


def current_time(page: Any) -> float:
    return float(page.evaluate("document.querySelector('.slashml-audio').currentTime"))


def test_clicking_a_word_seeks_the_audio_and_highlights_it(
    slashml: Any, speech_path: Path, live_server: Any, tmp_path: Path
) -> None:
    require_chromium()
    slashml.set_faults(mistakes={"whisper": 0})  # the sandbox's own mistakes (docs/sandbox.md), off here
    job = drive(transcribe(speech_path, service_provider="whisper"))
    assert job.status == JobStatus.COMPLETED and len(job.words) > 8
    doubtful = [{**word, "confidence": 0.42} if index == 3 else word for index, word in enumerate(job.words)]
    TranscriptionJob.objects.filter(pk=job.pk).update(words=doubtful)
    job.refresh_from_db()
    with signed_in_browser(live_server) as page:
        see_a_click_seek(page, live_server, job, tmp_path)


def see_a_click_seek(page: Any, live_server: Any, job: TranscriptionJob, tmp_path: Path) -> None:
    open_viewer(page, live_server, job)
    spans = page.locator(".slashml-words .slashml-word")
    assert spans.count() == len(job.words)
    assert page.locator(".slashml-words .slashml-low").all_inner_texts() == [job.words[3]["text"]]
    target = job.words[6]
    spans.nth(6).click()
    start = target["start"] / 1000
    page.wait_for_function(
        f"Math.abs(document.querySelector('.slashml-audio').currentTime - {start}) < 0.25", timeout=10_000
    )
    assert start - 0.01 <= current_time(page) < start + 0.25
    assert page.locator(".slashml-current").first.inner_text() == target["text"]
    # Seeking the player moves the highlight to the word being spoken there.
    later = job.words[-2]
    page.evaluate(
        "t => { const a = document.querySelector('.slashml-audio'); a.pause(); a.currentTime = t; }",
        later["start"] / 1000 + 0.01,
    )
    page.wait_for_function(f"document.querySelector('.slashml-current').dataset.index === '{len(job.words) - 2}'")
    # SLASHML_UPDATE_SCREENSHOTS=1 refreshes the README's picture; otherwise it goes to a temp folder.
    folder = ROOT / "docs" if os.environ.get("SLASHML_UPDATE_SCREENSHOTS") == "1" else tmp_path
    page.evaluate("['#nav-sidebar', '#toggle-nav-sidebar'].forEach(s => document.querySelector(s)?.remove())")
    page.evaluate(
        "document.querySelector('.slashml-viewer').closest('fieldset').previousElementSibling.scrollIntoView()"
    )
    page.screenshot(path=str(folder / "admin-viewer.png"), full_page=False)


def silent_wav(path: Path, seconds: int) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0" * 16000 * seconds)
    return path


def test_a_20000_word_transcript_renders_and_still_seeks(live_server: Any, tmp_path: Path) -> None:
    require_chromium()
    with silent_wav(tmp_path / "long.wav", 620).open("rb") as fileobj:
        upload = save_upload(fileobj, name="long.wav")
    words = [
        {"text": f"w{index}", "start": index * 30, "end": index * 30 + 25, "confidence": (index % 10) / 10}
        for index in range(20_000)
    ]
    job = TranscriptionJob.objects.create(
        upload=upload, service_provider="assembly", status=JobStatus.COMPLETED, text=" ".join(w["text"] for w in words)
    )
    TranscriptionJob.objects.filter(pk=job.pk).update(words=words)
    with signed_in_browser(live_server) as page:
        open_viewer(page, live_server, job)
        assert page.locator(".slashml-words .slashml-word").count() == 20_000
        assert page.locator(".slashml-words .slashml-low").count() == 12_000  # confidence 0.0 to 0.5
        page.locator(".slashml-words .slashml-word").nth(19_000).click()
        page.wait_for_function("Math.abs(document.querySelector('.slashml-audio').currentTime - 570) < 0.25")
        assert page.locator(".slashml-current").inner_text() == "w19000"


def test_an_error_on_the_timeline_opens_on_click(live_server: Any, sandbox: Any, sandbox_control: Any, settings: Any):
    from django_slashml.testing import sandbox_settings

    require_chromium()
    settings.SLASHML = sandbox_settings(sandbox)
    sandbox_control.set_faults(script=[{"endpoint": "submit", "fault": "500"}])
    job = drive(transcribe(ROOT / "tests" / "fixtures" / "speech.wav"))
    with signed_in_browser(live_server) as page:
        page.goto(live_server.url + CHANGE.format(job.pk))
        # The Timeline fieldset is open; the failed submit's details are closed until clicked.
        error = page.locator(".slashml-event-submit.slashml-event-error details").first
        answer = error.locator("pre")
        assert not answer.is_visible()
        error.locator("summary").click()
        answer.wait_for(state="visible")
        assert "Internal Server Error" in answer.inner_text()


def test_a_search_result_opens_the_viewer_at_its_second_and_plays(live_server: Any, tmp_path: Path) -> None:
    """Issue 17: the admin's transcript search, then ?t= on the job's page."""
    from django_slashml.transcripts.search.segments import index_job

    require_chromium()
    with silent_wav(tmp_path / "meeting.wav", 40).open("rb") as fileobj:
        upload = save_upload(fileobj, name="meeting.wav")
    script = "We opened the meeting. The harbour budget was approved after a long debate about boats."
    words = [
        {"text": text, "start": 2000 + index * 1500, "end": 2000 + index * 1500 + 1200, "confidence": 0.9}
        for index, text in enumerate(script.split())
    ]
    job = TranscriptionJob.objects.create(
        upload=upload, service_provider="assembly", status=JobStatus.COMPLETED, text=script, words=words
    )
    index_job(job)
    second = words[6]["start"] / 1000  # "budget", inside the second phrase ("The harbour budget ...")
    assert job.segments.order_by("position")[1].start_ms < words[6]["start"]
    with signed_in_browser(live_server) as page:
        page.goto(f"{live_server.url}/admin/django_slashml/transcriptionjob/")
        page.fill(".slashml-transcript-search input[type=search]", "budget")
        page.click(".slashml-transcript-search input[type=submit]")
        page.wait_for_selector(".slashml-snippet mark")
        assert page.locator(".slashml-snippet mark").first.inner_text() == "budget"
        folder = ROOT / "docs" if os.environ.get("SLASHML_UPDATE_SCREENSHOTS") == "1" else tmp_path
        page.evaluate("['#nav-sidebar', '#toggle-nav-sidebar'].forEach(s => document.querySelector(s)?.remove())")
        page.screenshot(path=str(folder / "admin-search.png"), full_page=False)
        page.locator("a.slashml-play").first.click()
        page.wait_for_url(f"**/change/?t={second:g}")
        page.wait_for_function(
            f"(a => a.readyState >= 1 && !a.paused && a.currentTime >= {second} - 0.05)"
            "(document.querySelector('.slashml-audio'))",
            timeout=15_000,
        )
        assert page.locator(".slashml-current").first.inner_text() == "budget"
