from __future__ import annotations

import functools
import os
import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from django_slashml.audio.urlcheck import resolve_host as real_resolve_host  # noqa: F401 - for tests of the guard
from django_slashml.sandbox import SandboxServer
from django_slashml.sandbox.control import SandboxControl
from django_slashml.testing import sandbox_settings, start_sandbox

FIXTURES = Path(__file__).parent / "fixtures"
#: The install tier builds wheels and virtualenvs: only ``make test-install`` collects it.
collect_ignore = [] if os.environ.get("SLASHML_TEST_TIER") == "install" else ["install"]
SPEECH_WAV = FIXTURES / "speech.wav"
SPEECH_SCRIPT = (FIXTURES / "speech.txt").read_text().split()


#: What the fake resolver answers: there is no DNS in CI, and tests must not depend on it.
FAKE_DNS = {
    "localhost": ["127.0.0.1", "::1"],
    "intranet.example": ["10.0.0.5"],
    "rebind.example": ["93.184.215.14", "169.254.169.254"],
}
PUBLIC_ADDRESS = "93.184.215.14"


def pytest_configure(config: pytest.Config) -> None:
    """Register the package's pytest plugin when its ``pytest11`` entry point did not.

    An install of the package (the install tier, tox) loads it through the entry point; a checkout
    run from an install made before the entry point existed, or with plugin autoloading off, does
    not. Registering the module once either way keeps each fixture defined once.
    """
    from django_slashml.testing import pytest_plugin

    if not config.pluginmanager.is_registered(pytest_plugin):
        config.pluginmanager.register(pytest_plugin, "django_slashml")


def guard_checks(registry: Any, blocker: Any) -> Callable[[], None]:
    """Run this app's system checks where the database is refused, everyone else's where it is allowed.

    The app promises checks that never touch the database (``manage.py check`` runs in image
    builds and CI jobs where no database answers). Django's own model checks may read it: from
    Django 6.1 a JSONField's check asks the database's features, which on SQLite and MySQL is a
    query. ``blocker`` is pytest-django's ``django_db_blocker``; returns the function that undoes it.
    """

    def guarded(check: Any) -> Any:
        ours = check.__module__.startswith("django_slashml.")

        @functools.wraps(check)  # keeps the check's tags, which the registry filters on
        def run(*args: Any, **kwargs: Any) -> Any:
            with blocker.block() if ours else blocker.unblock():
                return check(*args, **kwargs)

        return run

    saved = registry.registered_checks, registry.deployment_checks
    registry.registered_checks = {guarded(check) for check in saved[0]}
    registry.deployment_checks = {guarded(check) for check in saved[1]}

    def undo() -> None:
        registry.registered_checks, registry.deployment_checks = saved

    return undo


@pytest.fixture(scope="session", autouse=True)
def app_checks_refuse_the_database(django_db_blocker: Any) -> Iterator[None]:
    """Every test that runs the system checks also proves that this app's never touch the database."""
    from django.core.checks.registry import registry

    undo = guard_checks(registry, django_db_blocker)
    yield
    undo()


def fake_resolve_host(host: str) -> list[str]:
    """Names under .invalid do not resolve, FAKE_DNS's as listed, any other to one public address."""
    if host.endswith(".invalid"):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return FAKE_DNS.get(host, [PUBLIC_ADDRESS])


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Patch the URL guard's one resolver, so public-looking test URLs resolve without a network."""
    # Patch stays: public names need DNS, which tests must not depend on.
    monkeypatch.setattr("django_slashml.audio.urlcheck.resolve_host", fake_resolve_host)


@pytest.fixture(autouse=True)
def fresh_throttles() -> Iterator[None]:
    """DRF throttles count in the cache; user ids repeat across tests, so each test starts at zero."""
    from django.core.cache import cache

    cache.clear()
    yield


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
    control.set_quirks(
        in_progress_spelling="IN_PROGESS",
        upload_url_key="uploaded_url",
        transcription_data=False,
        echo_credentials=False,
        finished_at_submit=False,
    )
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
def fresh_speeds() -> None:
    """The learned poll schedule caches providers' speeds per process; each test starts from its own rows."""
    from django_slashml.jobs import speed

    speed.forget()


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh, empty media folder for every test."""
    root = tmp_path_factory.mktemp("media")
    settings.MEDIA_ROOT = str(root)
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


REPORT_START = "<!-- reliability-table: generated by `make reliability-report`; do not edit by hand -->"
REPORT_END = "<!-- /reliability-table -->"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With SLASHML_RELIABILITY_REPORT=1, write the reliability runs' table into docs/reliability.md."""
    if os.environ.get("SLASHML_RELIABILITY_REPORT") != "1":
        return
    from .reliability.harness import RESULTS, report_table

    if not RESULTS:
        return
    document = Path(__file__).resolve().parent.parent / "docs" / "reliability.md"
    text = document.read_text()
    if REPORT_START in text:
        before, rest = text.split(REPORT_START, 1)
        earlier, after = rest.split(REPORT_END, 1)
        table = "\n".join([REPORT_START, *report_table(RESULTS, earlier.strip().splitlines()), REPORT_END])
        text = before + table + after
    else:
        table = "\n".join([REPORT_START, *report_table(RESULTS), REPORT_END])
        text = text.rstrip() + "\n\n## Measured\n\n" + table + "\n"
    document.write_text(text)
