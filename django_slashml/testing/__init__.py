"""Helpers for host projects' tests (and the app's own). docs/testing.md shows them in use.

Three ways to test code that uses django-slashml, with no SlashML account:

* The fake client: the ``fake_slashml`` pytest fixture (or ``fake_slashml.active()``) sets
  ``SLASHML["CLIENT_CLASS"]`` to :class:`FakeSlashMLClient`, which answers in-process and
  records every call in :data:`calls`; jobs run through the real pipeline and signals.
* Against the sandbox, over real HTTP: the ``slashml_sandbox`` pytest fixture starts one on
  a free port with the deterministic engine, and ``slashml_sandbox_settings`` points
  ``SLASHML`` at it.
* Without any client: :func:`simulate_completion` and :func:`simulate_failure` move a job
  through the real state machine, so your signal receivers run as they will in production.

The fixtures come with the package through pytest's ``pytest11`` entry point
(:mod:`django_slashml.testing.pytest_plugin`); nothing needs importing in ``conftest.py``.
Importing this package loads no models and reads no settings.
"""

from __future__ import annotations

import wave
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django_slashml.sandbox import SandboxServer, make_sandbox
from django_slashml.sandbox.control import SandboxControl
from django_slashml.testing.fake import (
    Call,
    CallLog,
    FakeSlashML,
    FakeSlashMLClient,
    calls,
    fake_settings,
    fake_slashml,
    words_for,
)

if TYPE_CHECKING:  # models load only once Django is set up; the sandbox helpers need neither
    from django_slashml.models import TranscriptionJob

__all__ = [
    "Call",
    "CallLog",
    "FakeSlashML",
    "FakeSlashMLClient",
    "SandboxControl",
    "calls",
    "fake_settings",
    "fake_slashml",
    "sandbox_settings",
    "simulate_completion",
    "simulate_failure",
    "slashml_sandbox",
    "slashml_sandbox_settings",
    "start_sandbox",
    "write_silent_wav",
]


def write_silent_wav(path: str | Path, *, seconds: float = 1.0) -> Path:
    """Write ``seconds`` of silence as a WAV file (16 kHz, mono) at ``path``; return the path.

    ``transcribe()`` refuses a file that is not audio, and the fake client does not listen to
    it, so a test needs a real audio file of any content: this one, made with the standard library.
    """
    path = Path(path)
    rate = 16000
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes(2 * int(rate * seconds)))
    return path


def start_sandbox(**options: Any) -> SandboxServer:
    """A started sandbox (deterministic engine, 0.2 s per job unless told otherwise)."""
    options.setdefault("engine", "deterministic")
    options.setdefault("processing_time", 0.2)
    return make_sandbox(**options).start()


def sandbox_settings(server: SandboxServer, **overrides: Any) -> dict[str, Any]:
    """A ``SLASHML`` dict that talks to ``server``, with fast polls for tests."""
    return {
        "API_URL": server.url,
        "API_KEY": sorted(server.state.api_keys)[0],
        "ALLOW_PRIVATE_AUDIO_URLS": True,
        "ALLOW_PRIVATE_STORAGE_URLS": True,
        "POLL_INITIAL_DELAY": 0.2,
        "POLL_MIN_INTERVAL": 0.2,
        "POLL_MAX_INTERVAL": 1.0,
        "RETRY_BASE_DELAY": 0.1,
        "RETRY_MAX_DELAY": 1.0,
        **overrides,
    }


def _words(text: str) -> list[dict[str, Any]]:
    return [
        {"text": token, "start": index * 400, "end": index * 400 + 350, "confidence": 0.95}
        for index, token in enumerate(text.split())
    ]


def simulate_completion(
    job: TranscriptionJob, *, text: str = "hello world", words: list[dict[str, Any]] | None = None
) -> TranscriptionJob:
    """Complete an active job as SlashML would, sending the real signals. Returns the job."""
    from django_slashml.jobs import lifecycle
    from django_slashml.remote.responses import parse_job

    remote = parse_job(
        {
            "id": job.remote_id or f"simulated-{job.pk}",
            "status": "COMPLETED",
            "text": text,
            "words": words if words is not None else words_for(text),
            "confidence": 0.95,
            "audio_duration": (job.audio_duration or 0.0),
        }
    )
    lifecycle.complete(job, remote)
    return job


def simulate_failure(
    job: TranscriptionJob, *, message: str = "SlashML could not transcribe the audio (simulated)."
) -> TranscriptionJob:
    """End an active job in ERROR, sending the real signals. Returns the job."""
    from django_slashml.jobs import lifecycle

    lifecycle.fail(job, message)
    return job


def __getattr__(name: str) -> Any:
    # The fixtures live in the pytest plugin; ``from django_slashml.testing import slashml_sandbox``
    # in a conftest.py, as documented before the entry point, still works (and is not needed).
    if name in ("slashml_sandbox", "slashml_sandbox_settings"):
        from django_slashml.testing import pytest_plugin

        return getattr(pytest_plugin, name)
    raise AttributeError(f"module 'django_slashml.testing' has no attribute {name!r}")
