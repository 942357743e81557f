"""Helpers for host projects' tests (and the app's own).

Two ways to test code that uses django-slashml:

* Against the sandbox, over real HTTP: the ``slashml_sandbox`` pytest fixture
  starts one on a free port with the deterministic engine, and
  ``slashml_sandbox_settings`` points ``SLASHML`` at it. In ``conftest.py``::

      from django_slashml.testing import slashml_sandbox, slashml_sandbox_settings  # noqa: F401

* Without any server: :func:`simulate_completion` and :func:`simulate_failure`
  move a job through the real state machine, so your signal receivers run
  exactly as they will in production.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django_slashml.sandbox import DEFAULT_API_KEY, SandboxServer, make_sandbox
from django_slashml.sandbox.control import SandboxControl

if TYPE_CHECKING:  # models load only once Django is set up; the sandbox helpers need neither
    from django_slashml.models import TranscriptionJob

__all__ = [
    "SandboxControl",
    "sandbox_settings",
    "simulate_completion",
    "simulate_failure",
    "slashml_sandbox",
    "slashml_sandbox_settings",
    "start_sandbox",
]


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
            "words": words if words is not None else _words(text),
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


try:
    import pytest
except ImportError:  # pragma: no cover - pytest is optional for host projects
    pass
else:

    @pytest.fixture
    def slashml_sandbox() -> Iterator[SandboxServer]:
        """A SlashML sandbox on a free loopback port, stopped after the test."""
        server = start_sandbox(api_keys={DEFAULT_API_KEY})
        try:
            yield server
        finally:
            server.stop()

    @pytest.fixture
    def slashml_sandbox_settings(slashml_sandbox: SandboxServer, settings: Any) -> SandboxServer:
        """``slashml_sandbox`` plus ``settings.SLASHML`` pointing at it (needs pytest-django)."""
        settings.SLASHML = sandbox_settings(slashml_sandbox)
        return slashml_sandbox
