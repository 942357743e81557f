"""The management commands and the sandbox's one-line start."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.core.management import CommandError, call_command

from django_slashml.models import TranscriptionJob

from .conftest import SPEECH_SCRIPT

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_transcribe_waits_and_prints_the_transcript_with_word_timings(slashml, speech_path) -> None:
    slashml.set_faults(mistakes={"rev": 0})  # the sandbox's own mistakes for rev (docs/sandbox.md), off here
    out = io.StringIO()
    call_command(
        "slashml_transcribe",
        str(speech_path),
        "--provider",
        "rev",
        "--wait",
        "--no-worker",
        "--timeout",
        "30",
        stdout=out,
    )
    text = out.getvalue()
    assert "PENDING" in text and "COMPLETED" in text
    assert " ".join(SPEECH_SCRIPT) in text
    assert "    0.00s -" in text and "(0." in text  # start - end and confidence per word
    assert TranscriptionJob.objects.get().service_provider == "rev"


@pytest.mark.django_db
def test_transcribe_reports_a_failed_job(slashml, speech_path) -> None:
    slashml.set_faults(job_error_rate=1.0)
    with pytest.raises(CommandError, match="ended ERROR: SlashML could not transcribe"):
        call_command(
            "slashml_transcribe", str(speech_path), "--wait", "--no-worker", "--timeout", "30", stdout=io.StringIO()
        )


@pytest.mark.django_db
@pytest.mark.parametrize(("audio", "message"), [("/no/such/file.wav", "No file at"), ("ftp://x/a.wav", "http")])
def test_transcribe_refuses_bad_input_without_a_traceback(slashml, audio, message) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("slashml_transcribe", audio, stdout=io.StringIO())
    assert not TranscriptionJob.objects.exists()


@pytest.mark.django_db
def test_transcribe_without_wait_returns_at_once(slashml, speech_path) -> None:
    out = io.StringIO()
    call_command("slashml_transcribe", str(speech_path), stdout=out)
    assert out.getvalue().startswith("Created job ")


@pytest.mark.django_db
def test_sweep_lists_and_dispatches_overdue_jobs(settings, slashml, sandbox, speech_path, monkeypatch) -> None:
    from django_slashml import transcribe
    from django_slashml.jobs import dispatch
    from django_slashml.testing import sandbox_settings

    settings.SLASHML = sandbox_settings(sandbox, SWEEP_GRACE=0)
    job = transcribe(speech_path)
    out = io.StringIO()
    call_command("slashml_sweep", "--dry-run", stdout=out)
    assert str(job.pk) in out.getvalue() and "1 overdue job(s)." in out.getvalue()
    sent = []
    # Patch stays: a spy, not an outage; it records which jobs the command dispatched.
    monkeypatch.setattr(
        dispatch, "dispatch", lambda job_id, status, countdown=None: sent.append((job_id, status)) or True
    )
    from django_slashml.jobs import sweeper

    monkeypatch.setattr(sweeper, "dispatch", dispatch.dispatch)
    out = io.StringIO()
    call_command("slashml_sweep", stdout=out)
    assert sent == [(job.pk, "PENDING")] and "Dispatched 1 message(s)" in out.getvalue()


def start(command: list[str]) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "tests.settings"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    line = process.stdout.readline()
    assert "SlashML sandbox" in line, process.stderr.read() if process.poll() is not None else line
    return process, line.split(" on ", 1)[1].strip()


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "django_slashml.sandbox", "--port", "0", "--engine", "deterministic", "--api-key", "k1"],
        [
            sys.executable,
            "-m",
            "django.core.management" if False else "django",
            "slashml_sandbox",
            "--port",
            "0",
            "--engine",
            "deterministic",
            "--api-key",
            "k1",
        ],
    ],
    ids=["python -m", "manage.py"],
)
def test_the_sandbox_starts_with_one_command_and_stops_on_sigterm(command) -> None:
    process, url = start(command)
    try:
        assert requests.get(f"{url}/_sandbox/health", timeout=5).json() == {"ok": True, "engine": "deterministic"}
        denied = requests.post(f"{url}/speech-to-text/v1/jobs/", headers={"Authorization": "Token k2"}, timeout=5)
        assert denied.status_code == 401
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
