"""The pytest plugin: declared as a ``pytest11`` entry point, safe to load before Django, usable without a conftest.

Whether an *installed* distribution exposes the entry point is the install tier's to prove
(tests/install/test_install_lines.py builds the wheel); here, the declaration in setup.cfg and
a host project's test run in a subprocess with the plugin loaded as the entry point loads it.
"""

from __future__ import annotations

import configparser
import importlib.metadata
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from django_slashml.testing import pytest_plugin

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = "django_slashml.testing.pytest_plugin"

HOST_SETTINGS = """
SECRET_KEY = "host"
USE_TZ = True
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "rest_framework", "django_slashml"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
MEDIA_ROOT = __import__("os").path.join(__import__("os").path.dirname(__file__), "media")  # as startproject's BASE_DIR
SLASHML = {"API_KEY": "the-hosts-real-key"}  # never sent: the fake answers
"""

HOST_TEST = """
import wave

import django_slashml
from django_slashml.signals import transcription_completed


def test_my_receiver_gets_the_transcript(fake_slashml, db, tmp_path):
    texts = []
    receiver = lambda sender, job, **kwargs: texts.append(job.text)
    transcription_completed.connect(receiver, weak=False)
    audio = tmp_path / "memo.wav"
    with wave.open(str(audio), "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(8000), out.writeframes(bytes(16000))
    fake_slashml.next_result("call me back")
    django_slashml.transcribe(audio)
    fake_slashml.run_jobs()
    transcription_completed.disconnect(receiver)
    assert texts == ["call me back"]
    assert fake_slashml.calls.methods() == ["upload", "submit", "status"]


def test_the_outbox_starts_empty_in_every_test(fake_slashml):
    assert len(fake_slashml.calls) == 0
"""


def entry_point_installed() -> bool:
    return any(ep.value == PLUGIN for ep in importlib.metadata.entry_points(group="pytest11"))


def test_setup_cfg_declares_the_plugin_as_a_pytest11_entry_point() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    declared = [line.strip() for line in config["options.entry_points"]["pytest11"].splitlines() if line.strip()]
    assert declared == [f"django_slashml = {PLUGIN}"]
    assert {"fake_slashml", "slashml_sandbox", "slashml_sandbox_settings"} <= set(pytest_plugin.__all__)


def test_the_plugin_imports_before_django_is_set_up_and_loads_no_models() -> None:
    code = textwrap.dedent(
        f"""
        import sys
        import {PLUGIN}
        from django.conf import settings
        assert not settings.configured, "the plugin read settings"
        loaded = [name for name in sys.modules if name in ("django_slashml.models", "django.contrib.auth.models")
                  or name.startswith(("django_slashml.jobs", "django_slashml.tasks", "pytest_django"))]
        assert not loaded, loaded
        """
    )
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.fixture
def host_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A host project's folder: its settings and a test file, no conftest.py."""
    pytester.makepyfile(host_settings=HOST_SETTINGS, test_host=HOST_TEST)
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(pytester.path), str(ROOT)]))
    return pytester


def _plugin_args() -> list[str]:
    # The entry point loads the plugin in an installed package. This checkout's tests may run on
    # an install made before it was declared; then the module is named as the entry point names it.
    return [] if entry_point_installed() else ["-p", PLUGIN]


def test_a_host_projects_tests_get_the_fixtures_without_a_conftest(host_project: pytest.Pytester) -> None:
    assert not list(host_project.path.glob("conftest.py"))
    result = host_project.runpytest_subprocess(
        "--ds=host_settings", "-p", "no:cacheprovider", *_plugin_args(), timeout=120
    )
    result.assert_outcomes(passed=2)
    # The audio the test transcribed went to a temporary MEDIA_ROOT, not the project's.
    assert not [path for path in (host_project.path / "media").rglob("*") if path.is_file()]


def test_the_plugin_does_not_break_a_project_without_pytest_django(host_project: pytest.Pytester) -> None:
    host_project.makepyfile(test_plain="def test_plain():\n    assert True\n")
    result = host_project.runpytest_subprocess(
        "test_plain.py", "-p", "no:django", "-p", "no:cacheprovider", *_plugin_args(), timeout=120
    )
    result.assert_outcomes(passed=1)
