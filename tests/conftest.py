from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from django_slashml.sandbox import SandboxServer
from django_slashml.sandbox.control import SandboxControl
from django_slashml.testing import sandbox_settings, start_sandbox

FIXTURES = Path(__file__).parent / "fixtures"
SPEECH_WAV = FIXTURES / "speech.wav"
SPEECH_SCRIPT = (FIXTURES / "speech.txt").read_text().split()


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    """One deterministic sandbox for the session; ``sandbox_control.reset()`` runs before each test using it."""
    server = start_sandbox(transcripts_dir=FIXTURES, processing_time=0.2)
    yield server
    server.stop()


@pytest.fixture
def sandbox_control(sandbox: SandboxServer) -> Iterator[SandboxControl]:
    control = SandboxControl(sandbox.url, "sandbox-key")
    control.reset()
    control.set_quirks(in_progress_spelling="IN_PROGESS", upload_url_key="uploaded_url", transcription_data=False)
    control.set_faults(processing_time=0.2)
    yield control
    control.close()


@pytest.fixture
def slashml(settings: Any, sandbox: SandboxServer, sandbox_control: SandboxControl) -> SandboxControl:
    """SLASHML settings pointing at a freshly reset sandbox; returns its control."""
    settings.SLASHML = sandbox_settings(sandbox)
    return sandbox_control


@pytest.fixture
def speech_path(tmp_path: Path) -> Path:
    target = tmp_path / "speech.wav"
    shutil.copy(SPEECH_WAV, target)
    return target


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh, empty media folder for every test."""
    root = tmp_path_factory.mktemp("media")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root)}},
    }
    return root


@pytest.fixture
def stored_files(media_root: Path) -> Any:
    """A callable listing every file in the media storage, to prove nothing was left behind."""
    root = str(media_root)

    def listing() -> list[str]:
        found = []
        for folder, _dirs, files in os.walk(root):
            found.extend(os.path.relpath(os.path.join(folder, name), root) for name in files)
        return sorted(found)

    return listing


@pytest.fixture
def signal_log() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Records every django-slashml signal sent during the test."""
    from django_slashml import signals

    log: list[tuple[str, dict[str, Any]]] = []
    receivers = {}
    for name in (
        "transcription_status_changed",
        "transcription_completed",
        "transcription_failed",
        "transcription_reviewed",
    ):
        signal = getattr(signals, name)

        def receiver(sender: Any, _name: str = name, **kwargs: Any) -> None:
            kwargs.pop("signal", None)
            log.append((_name, kwargs))

        signal.connect(receiver, weak=False, dispatch_uid=f"test-{name}")
        receivers[name] = signal
    yield log
    for name, signal in receivers.items():
        signal.disconnect(dispatch_uid=f"test-{name}")
