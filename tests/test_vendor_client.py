"""Compatibility proof: the vendor's own client, slashml 0.1.6, works against the sandbox.

The package's ``__init__`` imports ``truss`` (a model-deployment toolkit of several
hundred MB that its speech-to-text code never uses), so the test loads the real,
unmodified ``slashml.speech_to_text`` and ``slashml.utils`` modules without running
that ``__init__``. ``make test`` installs ``slashml==0.1.6`` with ``--no-deps``.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from django_slashml.sandbox.control import SandboxControl
from django_slashml.testing import start_sandbox

from .conftest import SPEECH_SCRIPT, SPEECH_WAV
from .extras import require_for_module
from .vendor_client import speech_to_text

require_for_module("slashml", "addict")


@pytest.fixture
def sandbox_control(tmp_path) -> Iterator[SandboxControl]:
    # It uploads every file as "test_audio.mp3": the transcript is found by content hash.
    digest = hashlib.sha256(SPEECH_WAV.read_bytes()).hexdigest()
    (tmp_path / f"{digest}.txt").write_text(" ".join(SPEECH_SCRIPT))
    with start_sandbox(transcripts_dir=tmp_path) as server:
        yield SandboxControl(server.url, "sandbox-key")


@pytest.fixture
def vendor(sandbox_control: SandboxControl) -> Iterator[Any]:
    saved = {name: module for name, module in sys.modules.items() if name == "slashml" or name.startswith("slashml.")}
    try:
        yield speech_to_text(sandbox_control.url)
    finally:
        for name in [n for n in sys.modules if n == "slashml" or n.startswith("slashml.")]:
            del sys.modules[name]
        sys.modules.update(saved)


def test_upload_submit_poll_and_transcript(vendor, sandbox_control) -> None:
    client = vendor(api_key="sandbox-key")
    provider = vendor.ServiceProvider.ASSEMBLY
    uploaded = client.upload_audio(str(SPEECH_WAV))
    assert uploaded.uploaded_url.startswith("http://127.0.0.1:")
    job = client.submit_job(uploaded.uploaded_url, provider)
    assert job.id and job.status in ("QUEUED", "IN_PROGESS")
    for _ in range(100):
        result = client.status(job.id, provider)
        if result.status == "COMPLETED":
            break
        time.sleep(0.05)
    assert result.status == "COMPLETED"
    assert result.text.split() == SPEECH_SCRIPT
    assert result.words[0].text == SPEECH_SCRIPT[0]
    calls = sandbox_control.stats()["calls"]
    assert calls["upload"] == 1 and calls["submit"] == 1


def test_its_blocking_execute_loop_with_the_corrected_spelling(vendor, sandbox_control) -> None:
    # execute() loops only while status == "IN_PROGRESS": with the vendor's IN_PROGESS spelling
    # it returns early, so the sandbox is switched to the corrected spelling here.
    sandbox_control.set_quirks(in_progress_spelling="IN_PROGRESS")
    # whisper's own sandbox mistakes (docs/sandbox.md) off: this asserts the exact words
    sandbox_control.set_faults(processing_time=0, mistakes={"whisper": 0})
    client = vendor(api_key="sandbox-key")
    url = client.upload_audio(str(SPEECH_WAV)).uploaded_url
    result = client.execute(url, vendor.ServiceProvider.WHISPER)
    assert result.status == "COMPLETED" and result.text.split() == SPEECH_SCRIPT


def test_execute_returns_early_on_the_vendor_spelling(vendor, sandbox_control) -> None:
    """The quirk our client normalises: the vendor's own loop stops at IN_PROGESS."""
    sandbox_control.set_faults(processing_time=2.0)
    client = vendor(api_key="sandbox-key")
    url = client.upload_audio(str(SPEECH_WAV)).uploaded_url
    result = client.execute(url, vendor.ServiceProvider.ASSEMBLY)
    assert result.status in ("QUEUED", "IN_PROGESS") and result.text is None


def test_errors_come_back_in_its_error_format(vendor) -> None:
    client = vendor(api_key="wrong")
    result = client.submit_job("https://example.com/a.wav", vendor.ServiceProvider.AWS)
    assert result.status == "ERROR" and "API key" in result.reason.error.message
