"""`make demo` and the example project's page, driven in headless Chromium.

Runs the real ``example_project/demo.py`` (sandbox with the offline engine, Celery worker and
beat, development server) on free ports in a temporary folder, then signs in, uploads the
sample on the page, waits for COMPLETED, checks the transcript and that clicking a word
seeks the audio. Needs Debian's ``chromium``; without it the test is skipped with the reason,
except under CI=true, where it is required.

``make demo QUEUE=tasks`` (``demo.py --queue tasks``: db_worker and the sweeper's loop, no
Celery) runs once more, for its first transcript only: the pages are the same on either queue.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .browser import CHROMIUM_FLAGS, require_chromium
from .extras import require

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "example_project"
SAMPLE = EXAMPLE / "samples" / "welcome.wav"

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def running_demo(
    tmp_path_factory: pytest.TempPathFactory, *arguments: str, processes: tuple[str, ...]
) -> Iterator[dict[str, str]]:
    """``demo.py`` with ``arguments`` until it is ready; then Ctrl-C, which must stop ``processes``."""
    require("av")  # the demo runs the sandbox's offline engine
    require("pocketsphinx")
    state = tmp_path_factory.mktemp("demo-state")
    web, sandbox = free_port(), free_port()
    env = {**os.environ, "EXAMPLE_STATE_DIR": str(state), "DEMO_PORT": str(web), "SANDBOX_PORT": str(sandbox)}
    for name in (
        "DJANGO_SETTINGS_MODULE", "CELERY_BROKER_URL", "DATABASE_URL", "SLASHML_API_URL", "SLASHML_API_KEY",
        "SLASHML_QUEUE",
    ):  # fmt: skip
        env.pop(name, None)
    log = (state / "demo.out").open("w")
    process = subprocess.Popen(
        [sys.executable, "demo.py", *arguments], cwd=EXAMPLE, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    output = state / "demo.out"
    deadline = time.monotonic() + 240
    while "Press Ctrl-C to stop." not in output.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"make demo did not come up:\n{output.read_text()}")
        time.sleep(0.5)
    yield {"url": f"http://127.0.0.1:{web}", "output": output.read_text(), "state": str(state)}
    process.send_signal(signal.SIGINT)
    try:
        assert process.wait(timeout=30) == 0, output.read_text()
    finally:
        if process.poll() is None:
            process.kill()
        log.close()
    final = output.read_text()
    for name in processes:
        assert f"stopped {name}" in final


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    require_chromium()
    yield from running_demo(tmp_path_factory, processes=("web", "beat", "worker", "sandbox"))


@pytest.fixture(scope="module")
def demo_on_tasks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    require("django_tasks_db")
    yield from running_demo(tmp_path_factory, "--queue", "tasks", processes=("web", "sweeper", "db_worker", "sandbox"))


def assert_first_transcript(output: str) -> None:
    """The sample's transcript, its words with timings, and where to see the job."""
    assert "username demo, password demo-password" in output
    transcript = output.split("Transcript:", 1)[1].splitlines()[1]
    script = (SAMPLE.with_suffix(".txt")).read_text().split()
    assert sum(word in transcript.split() for word in script) / len(script) >= 0.8, transcript
    assert re.search(r"\d+\.\d\ds -\s+\d+\.\d\ds  hello", output)
    assert re.search(r"/admin/django_slashml/transcriptionjob/[0-9a-f-]{36}/change/", output)


def test_demo_prints_the_transcript_with_timings_and_the_admin_url(demo: dict[str, str]) -> None:
    assert_first_transcript(demo["output"])


def test_demo_on_the_task_framework_runs_the_same_first_transcript_through_db_worker(
    demo_on_tasks: dict[str, str],
) -> None:
    output = demo_on_tasks["output"]
    assert_first_transcript(output)
    assert "Starting db_worker and the sweeper on Django's task framework" in output
    assert "Celery" not in output
    state = Path(demo_on_tasks["state"])
    assert not (state / "broker").exists(), "no Celery transport was set up"
    # Each step was a task in the database backend's table, and db_worker ran it.
    with sqlite3.connect(state / "db.sqlite3") as database:
        rows = set(database.execute("SELECT task_path, status FROM django_tasks_database_dbtaskresult"))
    assert ("django_slashml.task_framework.start_job", "SUCCESSFUL") in rows
    assert ("django_slashml.task_framework.poll_job", "SUCCESSFUL") in rows
    assert not {status for _, status in rows} & {"FAILED", "RUNNING"}, rows


def test_the_page_uploads_follows_the_job_and_plays_along(demo: dict[str, str]) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=require_chromium(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.goto(demo["url"] + "/")
            page.fill("#id_username", "demo")
            page.fill("#id_password", "demo-password")
            page.click("input[type=submit]")
            page.wait_for_url(demo["url"] + "/")
            page.set_input_files("#audio-file", str(SAMPLE))
            page.select_option("#provider", "whisper")
            page.click("#submit")
            page.wait_for_selector("#status[data-status=COMPLETED]", timeout=90_000)
            states = page.locator("#states li").all_inner_texts()
            assert states[-1] == "COMPLETED" and states[0] in ("PENDING", "QUEUED", "IN_PROGRESS")
            # The status shows COMPLETED first; the words come with a second request.
            page.wait_for_selector("#transcript span", timeout=30_000)
            words = page.locator("#transcript span").all_inner_texts()
            assert "welcome" in words and "computer" in words
            word = page.locator("#transcript span", has_text="computer").first
            start = int(word.get_attribute("data-start")) / 1000
            page.wait_for_function("document.getElementById('player').readyState >= 1")
            word.click()
            page.wait_for_function(f"Math.abs(document.getElementById('player').currentTime - {start}) < 0.3")
            assert page.locator("#dl-srt").get_attribute("href").endswith("/transcript.srt")
            # SLASHML_UPDATE_SCREENSHOTS=1 refreshes the README's picture; otherwise it goes to a temp folder.
            folder = ROOT / "docs" if os.environ.get("SLASHML_UPDATE_SCREENSHOTS") == "1" else Path(demo["state"])
            page.screenshot(path=str(folder / "example-page.png"), full_page=True)
        finally:
            browser.close()


def test_demo_prints_a_two_provider_comparison_and_its_page_plays_from_a_word(demo: dict[str, str]) -> None:
    """Issue 18: the comparison the demo prints, and its admin page (the screenshot in docs/compare.md)."""
    from playwright.sync_api import sync_playwright

    output = demo["output"]
    table = output.split("Comparison:", 1)[1].splitlines()
    assembly = next(line.split() for line in table if line.split()[:1] == ["assembly"])
    google = next(line.split() for line in table if line.split()[:1] == ["google"])
    assert assembly[1] == google[1] == "COMPLETED"
    assert float(google[2].rstrip("%")) > float(assembly[2].rstrip("%")), "the sandbox's google makes more mistakes"
    match = re.search(r"(/admin/django_slashml/comparison/[0-9a-f-]{36}/change/)", output)
    assert match, output
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=require_chromium(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(demo["url"] + "/admin/login/?next=" + match.group(1))
            page.fill("#id_username", "demo")
            page.fill("#id_password", "demo-password")
            page.click("input[type=submit]")
            page.wait_for_selector(".slashml-aligned")
            marked = page.locator(".slashml-aligned").nth(1).locator(".sub, ins, del")
            assert marked.count() >= 1, "google's mistakes are marked"
            word = page.locator(".slashml-aligned-words [data-start]").nth(5)
            start = int(word.get_attribute("data-start") or 0) / 1000
            page.wait_for_function("document.querySelector('.slashml-compare-audio') !== null")
            page.evaluate("document.querySelector('.slashml-compare-audio').load()")
            page.wait_for_function("document.querySelector('.slashml-compare-audio').readyState >= 1")
            word.click()
            page.wait_for_function(
                f"Math.abs(document.querySelector('.slashml-compare-audio').currentTime - {start}) < 0.3"
            )
            folder = ROOT / "docs" if os.environ.get("SLASHML_UPDATE_SCREENSHOTS") == "1" else Path(demo["state"])
            page.screenshot(path=str(folder / "compare-page.png"), full_page=True)
        finally:
            browser.close()


def test_searching_a_word_of_the_sample_lists_the_job_and_its_link_plays_from_there(demo: dict[str, str]) -> None:
    """Issue 17's "done when": runs after the upload above has completed a job on the demo."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=require_chromium(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.goto(demo["url"] + "/")
            page.fill("#id_username", "demo")
            page.fill("#id_password", "demo-password")
            page.click("input[type=submit]")
            page.wait_for_url(demo["url"] + "/")
            page.fill("#search-q", "computer")
            page.click("#search")
            hit = page.locator("#search-results li", has=page.locator("mark", has_text="computer")).first
            hit.wait_for(timeout=30_000)
            href = hit.locator("a.search-hit").get_attribute("href")
            start = float(re.search(r"[?&]t=([0-9.]+)", href).group(1))
            folder = ROOT / "docs" if os.environ.get("SLASHML_UPDATE_SCREENSHOTS") == "1" else Path(demo["state"])
            page.screenshot(path=str(folder / "search.png"), full_page=True)
            hit.locator("a.search-hit").click()
            page.wait_for_url(re.compile(r".*\?job=[0-9a-f-]{36}&t="))
            page.wait_for_function(
                f"(p => p.readyState >= 1 && p.currentTime >= {start} - 0.05)(document.getElementById('player'))",
                timeout=30_000,
            )
            page.wait_for_function("!document.getElementById('player').paused", timeout=10_000)
            assert "computer" in page.locator("#transcript").inner_text()
        finally:
            browser.close()
