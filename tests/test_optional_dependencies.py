"""Each optional package, missing: the feature steps aside with a message that names the extra.

What each library really raises when it (or what it needs) is missing, and what the app
does about it (docs/install.md has the table):

* django-storages' S3 backend without boto3: ``ImproperlyConfigured``, not ``ImportError``.
  The app never imports that backend; a storage is S3 only if its module is already loaded.
* PyAV: ``ImportError``, or ``OSError`` when a source build's FFmpeg libraries are gone.
* PocketSphinx, PyAV, multipart for the sandbox: checked when the sandbox starts.
* drf-spectacular: ``ImportError``; the API works, with a less detailed schema.
* redis, and packaging, for a ``redis://`` broker: kombu fails only when a message is sent (its Redis
  transport imports packaging, which only ``celery[redis]`` declares); a check warns first.

Here the packages are hidden in this process (``sys.modules[name] = None`` makes an import
raise ``ImportError``, as a missing package does); ``make test-no-extras`` runs the whole
suite where they are really absent.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import FileSystemStorage

from django_slashml import transcribe
from django_slashml.audio.presigned import is_s3_storage
from django_slashml.jobs.uploads import save_upload
from django_slashml.models import JobStatus
from django_slashml.sandbox import SandboxSetupError, make_sandbox
from django_slashml.sandbox.cli import main as sandbox_main

from .conftest import FIXTURES, SPEECH_SCRIPT
from .helpers import drive

ROOT = Path(__file__).resolve().parent.parent


def hide(monkeypatch: pytest.MonkeyPatch, *packages: str) -> None:
    """Make ``import package`` (and its submodules, and modules built on it) fail as if it were not installed."""
    dependants = {
        "boto3": ("storages.backends.s3", "storages.backends.s3boto3"),
        "packaging.version": ("kombu.transport.redis",),
    }
    for package in packages:
        for name in list(sys.modules):
            if name == package or name.startswith(package + ".") or name in dependants.get(package, ()):
                monkeypatch.delitem(sys.modules, name)
        monkeypatch.setitem(sys.modules, package, None)


@pytest.mark.django_db
def test_without_boto3_a_job_on_the_default_storage_completes(monkeypatch, slashml, speech_path) -> None:
    hide(monkeypatch, "boto3")
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="boto3"):  # what django-storages raises: not an ImportError
        importlib.import_module("storages.backends.s3")
    job = drive(transcribe(speech_path))
    assert job.status == JobStatus.COMPLETED, job.error_message
    assert job.text.split() == SPEECH_SCRIPT


def test_a_storage_is_s3_only_when_the_s3_backend_is_loaded(monkeypatch) -> None:
    hide(monkeypatch, "boto3")
    assert is_s3_storage(FileSystemStorage()) is False
    assert "storages.backends.s3" not in sys.modules  # it was not even tried


@pytest.mark.django_db
@pytest.mark.parametrize("error", [ImportError, OSError])
def test_without_pyav_compressed_audio_gets_its_duration_from_mutagen(monkeypatch, error) -> None:
    class Unloadable:
        def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
            if name == "av":
                raise error("libavformat.so.61: cannot open shared object file")

    monkeypatch.delitem(sys.modules, "av", raising=False)
    # Patch stays: an installed package with a missing shared library cannot be had in a running process.
    monkeypatch.setattr(sys, "meta_path", [Unloadable(), *sys.meta_path])
    with (FIXTURES / "speech.mp3").open("rb") as fileobj:
        upload = save_upload(fileobj, name="speech.mp3")
    # mutagen (installed always) reads it; a PyAV that cannot load is not even needed (issue 19).
    assert upload.duration == pytest.approx(5.37, abs=0.15) and upload.content_type == "audio/mpeg"
    with (FIXTURES / "speech.wav").open("rb") as fileobj:  # WAV headers need no PyAV
        assert save_upload(fileobj, name="speech.wav").duration == pytest.approx(5.37, abs=0.01)


@pytest.mark.parametrize(
    ("package", "engine", "message"),
    [
        ("multipart", "deterministic", "needs 'multipart' for reading SlashML's multipart forms"),
        ("pocketsphinx", "offline", "--engine deterministic"),
        ("av", "offline", "needs 'av' for decoding audio"),
    ],
)
def test_the_sandbox_names_the_missing_package_when_it_starts(monkeypatch, capsys, package, engine, message) -> None:
    hide(monkeypatch, package)
    with pytest.raises(SandboxSetupError, match=message) as raised:
        make_sandbox(engine=engine)
    assert "pip install 'django-slashml[sandbox]'" in str(raised.value)
    # The command line says it in one line, without a traceback.
    with pytest.raises(SystemExit) as exited:
        sandbox_main(["--port", "0", "--engine", engine])
    assert message in str(exited.value.code) and "Traceback" not in capsys.readouterr().err


def test_without_drf_spectacular_the_schema_helpers_fall_back(monkeypatch) -> None:
    from django_slashml.api import schema

    hide(monkeypatch, "drf_spectacular")
    try:
        fallback = importlib.reload(schema)
        assert fallback.query_parameters({"status": "by status"}) == []
        assert fallback.described("a job") == "a job"

        def view() -> None: ...

        assert fallback.extend_schema(summary="x")(view) is view
    finally:
        monkeypatch.undo()
        importlib.reload(schema)


@pytest.mark.parametrize("package", ["redis", "packaging.version"])
def test_a_redis_broker_without_its_transport_packages_is_a_check_warning(monkeypatch, package) -> None:
    from django.core.checks import run_checks

    from tests.celery_app import app

    saved = app.conf.broker_url, app.conf.broker_transport_options
    app.conf.broker_url, app.conf.broker_transport_options = "redis://127.0.0.1:6379/0", {"visibility_timeout": 7200}
    try:
        with monkeypatch.context() as hidden:
            hide(hidden, package)
            warnings = [message for message in run_checks() if message.id == "slashml.W020"]
        assert len(warnings) == 1 and warnings[0].hint == 'pip install "django-slashml[redis]"'
        if importlib.util.find_spec("redis") is not None:
            assert "slashml.W020" not in {message.id for message in run_checks()}
    finally:
        app.conf.broker_url, app.conf.broker_transport_options = saved


NO_DRIVER = """
import importlib, pkgutil, sys
sys.modules.update(dict.fromkeys(["psycopg", "psycopg2"]))  # None: no PostgreSQL driver installed
import django
django.setup()
import django_slashml
from django.core.management import call_command
from tests.extras import import_failures_not_explained
failed = {}
for module in pkgutil.walk_packages(django_slashml.__path__, "django_slashml."):
    try:
        importlib.import_module(module.name)
    except Exception as exc:
        failed[module.name] = f"{type(exc).__name__}: {exc}"
assert import_failures_not_explained(failed) == {}, failed
call_command("migrate", verbosity=0)
call_command("check", fail_level="ERROR")
print("loaded without a PostgreSQL driver")
"""


def test_without_a_postgresql_driver_the_app_loads_and_migrates_on_sqlite(tmp_path) -> None:
    """A project on SQLite or MariaDB has no psycopg, and from Django 6.0 ``django.contrib.postgres.search``
    needs one: the app imports that module only where PostgreSQL is the database."""
    (tmp_path / "no_driver_settings.py").write_text(
        f"from tests.settings import *\nDATABASES['default']['NAME'] = {str(tmp_path / 'db.sqlite3')!r}\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "SLASHML_TEST_TIER"}
    env.update(DJANGO_SETTINGS_MODULE="no_driver_settings", PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]))
    result = subprocess.run([sys.executable, "-c", NO_DRIVER], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "loaded without a PostgreSQL driver" in result.stdout
