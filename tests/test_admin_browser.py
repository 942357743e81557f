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
from django.utils import timezone

from django_slashml import transcribe
from django_slashml.jobs.uploads import save_upload
from django_slashml.models import JobStatus, TranscriptionJob

from .browser import CHROMIUM_FLAGS, require_chromium
from .helpers import drive

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
CHANGE = "/admin/django_slashml/transcriptionjob/{}/change/"


@contextmanager
def signed_in_browser(live_server: Any, *, width: int = 1100) -> Iterator[Any]:
    """A page signed in to the admin. Create rows before entering: Playwright's event loop
    makes Django refuse database calls in this thread while the browser is open."""
    from django.contrib.auth import get_user_model
    from playwright.sync_api import sync_playwright

    require_chromium()
    get_user_model().objects.create_superuser("reviewer", "reviewer@example.com", "review-password")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=require_chromium(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
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
        see_a_click_seek(page, live_server, job)


def see_a_click_seek(page: Any, live_server: Any, job: TranscriptionJob) -> None:
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
        page.fill("#searchbar", "budget")
        page.click("text=Find the moment")
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


def box(page: Any, selector: str) -> dict[str, float]:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, f"{selector} is not shown"
    return dict(found)


def test_the_job_page_opens_on_the_player_beside_the_words_and_stacks_them_when_narrow(
    live_server: Any, tmp_path: Path
) -> None:
    """From 1200 px the player and the words sit side by side in the first screen; the job's facts are folded below."""
    require_chromium()
    with silent_wav(tmp_path / "talk.wav", 90).open("rb") as fileobj:
        upload = save_upload(fileobj, name="talk.wav")
    said = (
        "Good morning and thank you for calling the harbour office. Today we will go through the budget for "
        "the new pier, the schedule for the dredging work, and the questions the fishermen sent us last week. "
        "First the budget: the council approved the extra funds on Tuesday, so the work can start in March. "
    ) * 4
    words = [
        {"text": text, "start": i * 300, "end": i * 300 + 250, "confidence": 0.45 if i % 37 == 5 else 0.93}
        for i, text in enumerate(said.split())
    ]
    job = TranscriptionJob.objects.create(
        upload=upload, service_provider="assembly", status=JobStatus.COMPLETED, text=said.strip(), words=words
    )
    with signed_in_browser(live_server, width=1400) as page:
        open_viewer(page, live_server, job)
        player, text = box(page, ".slashml-audio"), box(page, ".slashml-words")
        assert text["x"] >= player["x"] + player["width"] - 1, (player, text)  # beside it, to its right
        assert text["y"] < player["y"] + player["height"] and player["y"] < text["y"] + text["height"]  # same band
        assert player["y"] + player["height"] <= 900 and text["y"] < 450, (player, text)  # the page opens on them
        assert page.locator("div.form-row.field-remote_id").is_hidden()  # the job's facts, folded
        assert box(page, "fieldset:has(.field-remote_id)")["y"] > text["y"] + text["height"]  # and below
        # SLASHML_UPDATE_SCREENSHOTS=1 refreshes the docs' picture; otherwise it goes to a temp folder.
        folder = ROOT / "docs" if os.environ.get("SLASHML_UPDATE_SCREENSHOTS") == "1" else tmp_path
        page.evaluate("['#nav-sidebar', '#toggle-nav-sidebar'].forEach(s => document.querySelector(s)?.remove())")
        page.screenshot(path=str(folder / "admin-viewer.png"), full_page=False)

        page.reload()  # with the admin's sidebar back
        page.wait_for_selector(".slashml-words .slashml-word")
        page.set_viewport_size({"width": 1000, "height": 900})
        player, text = box(page, ".slashml-audio"), box(page, ".slashml-words")
        assert text["y"] >= player["y"] + player["height"] - 1, (player, text)  # stacked: the words below


def test_the_job_list_fits_1400_px_with_its_owner_column_and_one_search_box(
    live_server: Any, django_user_model: Any, tmp_path: Path
) -> None:
    require_chromium()
    owner = django_user_model.objects.create_user("a.long.owner.name@example.com")
    with silent_wav(tmp_path / "a-rather-long-recording-name-from-the-phone-system.wav", 1).open("rb") as fileobj:
        upload = save_upload(fileobj, name="a-rather-long-recording-name-from-the-phone-system-2026-12-07.wav")
    TranscriptionJob.objects.create(
        upload=upload, owner=owner, service_provider="deepgram", status=JobStatus.IN_PROGRESS, audio_duration=61.0
    )
    TranscriptionJob.objects.create(  # the widest values each column takes
        upload=upload,
        owner=owner,
        service_provider="google",
        status=JobStatus.COMPLETED,
        review_state="needs_correction",
        confidence=0.64,
        audio_duration=3725.0,
        completed_at=timezone.now(),
    )
    with signed_in_browser(live_server, width=1400) as page:
        page.goto(f"{live_server.url}/admin/django_slashml/transcriptionjob/")
        owner_cell = box(page, "#result_list td.field-owner_name")
        assert owner_cell["x"] + owner_cell["width"] <= 1400, owner_cell
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        widths = page.evaluate(
            "[...document.querySelectorAll('#result_list thead th')].map(th => Math.round(th.offsetWidth))"
        )
        assert page.evaluate(
            "(el => el.scrollWidth <= el.clientWidth)(document.querySelector('#changelist .results'))"
        ), f"the table scrolls sideways: columns {widths}"
        assert page.locator("#content input[type=search], #content input[type=text][name=q]").count() == 1
        # The one box does both: filter the list, or find the moment in the transcripts.
        page.fill("#searchbar", "harbour")
        page.click("text=Find the moment")
        page.wait_for_url("**/transcriptionjob/search/?*q=harbour*")
