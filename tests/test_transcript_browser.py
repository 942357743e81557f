"""The owners' transcript page in headless Chromium, under a strict Content-Security-Policy.

A non-staff owner, signed in with a session cookie (the test project has no login page of
its own), opens their job's page: the words lay out, a click or the keyboard plays from a
word, ``?t=`` plays from that second, hostile words stay text, and the browser reports no
policy violation, while an inline script it is handed is refused (so the policy is on).
Needs Debian's ``chromium`` (see :mod:`tests.browser`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from django_slashml.jobs.uploads import save_upload
from django_slashml.models import JobStatus, TranscriptionJob

from .browser import CHROMIUM_FLAGS, require_chromium
from .csp import STRICT_CSP
from .test_admin_browser import silent_wav

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PAGE = "/api/slashml/transcripts/{}/"
HOSTILE = "</script><img src=x onerror=alert(1)>"


@contextmanager
def owners_browser(live_server: Any, owner: Any) -> Iterator[tuple[Any, list[str]]]:
    """A page carrying ``owner``'s session, and the browser's console errors and dialogs as they come."""
    from playwright.sync_api import sync_playwright

    client = Client()
    client.force_login(owner)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=require_chromium(), args=CHROMIUM_FLAGS)
        try:
            context = browser.new_context(viewport={"width": 1000, "height": 800})
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
            page = context.new_page()
            problems: list[str] = []
            # Failed requests are the response hook's to report (Chromium's own favicon.ico
            # request, a 404 here, reaches only the console).
            page.on(
                "console",
                lambda m: (
                    problems.append(m.text)
                    if m.type == "error" and not m.text.startswith("Failed to load resource")
                    else None
                ),
            )
            page.on(
                "response",
                lambda answer: problems.append(f"{answer.status} {answer.url}") if answer.status >= 400 else None,
            )
            page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
            yield page, problems
        finally:
            browser.close()


def owned_job(owner: Any, tmp_path: Path) -> TranscriptionJob:
    with silent_wav(tmp_path / "call.wav", 30).open("rb") as fileobj:
        upload = save_upload(fileobj, name="call.wav", owner=owner)
    texts = ["Thanks", "for", "calling", HOSTILE, "the", "harbour", "office", "how", "can", "we", "help"]
    words = [
        {
            "text": text,
            "start": 1000 + index * 2000,
            "end": 2500 + index * 2000,
            "confidence": 0.3 if index == 2 else 0.9,
        }
        for index, text in enumerate(texts)
    ]
    return TranscriptionJob.objects.create(
        upload=upload,
        owner=owner,
        service_provider="assembly",
        status=JobStatus.COMPLETED,
        text=" ".join(texts),
        words=words,
    )


def audio_time(page: Any) -> float:
    return float(page.evaluate("document.querySelector('.slashml-audio').currentTime"))


def test_the_owners_page_works_under_a_strict_csp_from_the_mouse_and_the_keyboard(
    live_server: Any, django_user_model: Any, tmp_path: Path
) -> None:
    require_chromium()
    owner = django_user_model.objects.create_user("ann", password="pw")  # not staff
    job = owned_job(owner, tmp_path)
    with owners_browser(live_server, owner) as (page, problems):
        response = page.goto(live_server.url + PAGE.format(job.pk))
        assert response.status == 200 and response.headers["content-security-policy"] == STRICT_CSP
        page.wait_for_selector(".slashml-words .slashml-word")
        page.wait_for_function("document.querySelector('.slashml-audio').readyState >= 1")
        spans = page.locator(".slashml-words .slashml-word")
        assert spans.count() == len(job.words)
        assert spans.nth(3).inner_text() == HOSTILE  # text, not markup
        assert page.locator(".slashml-words .slashml-low").all_inner_texts() == ["calling"]

        spans.nth(5).click()  # "harbour", at 11 s
        page.wait_for_function("Math.abs(document.querySelector('.slashml-audio').currentTime - 11) < 0.5")
        assert page.locator(".slashml-current").inner_text() == "harbour"

        # The keyboard: Tab from the player to the words, the arrows to a word, Enter plays from it.
        page.evaluate("document.querySelector('.slashml-audio').pause()")
        for _ in range(20):  # through the player's own controls, then to the words
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.classList.contains('slashml-words')"):
                break
        assert page.evaluate("document.activeElement.classList.contains('slashml-words')")
        page.keyboard.press("Home")
        for _ in range(8):
            page.keyboard.press("ArrowRight")
        assert page.locator(".slashml-active").inner_text() == "can"
        assert (
            page.evaluate(
                "document.getElementById(document.activeElement.getAttribute('aria-activedescendant')).textContent"
            )
            == "can"
        )
        page.keyboard.press("Enter")
        page.wait_for_function("Math.abs(document.querySelector('.slashml-audio').currentTime - 17) < 0.5")
        assert page.locator(".slashml-current").inner_text() == "can"

        assert not problems, problems  # no policy violation, no failed request, no dialog
        # The policy is really on: an inline script handed to the page is refused, and said so.
        with pytest.raises(Exception):  # noqa: B017 - Playwright's error for a refused script
            page.add_script_tag(content="window.inlineRan = true;")
        assert page.evaluate("window.inlineRan === undefined")
        assert any("Content Security Policy" in p for p in problems), problems


def test_t_plays_the_owners_page_from_that_second(live_server: Any, django_user_model: Any, tmp_path: Path) -> None:
    require_chromium()
    owner = django_user_model.objects.create_user("ann", password="pw")
    job = owned_job(owner, tmp_path)
    with owners_browser(live_server, owner) as (page, problems):
        page.goto(f"{live_server.url}{PAGE.format(job.pk)}?t=13")
        page.wait_for_function(
            "(a => a.readyState >= 1 && !a.paused && a.currentTime >= 12.95)(document.querySelector('.slashml-audio'))",
            timeout=15_000,
        )
        assert page.locator(".slashml-current").inner_text() == "office"  # said from 13 s
        assert not problems, problems
