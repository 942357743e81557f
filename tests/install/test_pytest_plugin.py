"""The installed distribution brings its pytest fixtures: a host project's tests use them with no conftest.py.

In the repo's own runs the plugin may be registered by tests/conftest.py (an editable install
made before the entry point existed lacks it); here only the built wheel's metadata counts.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from ..test_testing_plugin import HOST_SETTINGS, HOST_TEST, PLUGIN
from .conftest import HOST_TEST_LINE, CleanEnv

#: Each test takes the line as a parameter, so that the session installs it with the others.
pytestmark = [pytest.mark.install, pytest.mark.parametrize("line", [HOST_TEST_LINE])]

ENTRY_POINTS = """
import importlib.metadata as metadata, json
print(json.dumps([[ep.name, ep.value] for ep in metadata.distribution("django-slashml").entry_points
                  if ep.group == "pytest11"]))
"""


def test_the_wheel_declares_the_pytest_plugin(line: str, clean_env, tmp_path: Path) -> None:
    env: CleanEnv = clean_env(line)
    assert json.loads(env.run_python(ENTRY_POINTS, cwd=tmp_path)) == [["django_slashml", PLUGIN]]


def test_a_host_projects_test_uses_fake_slashml_without_a_conftest(line: str, clean_env, tmp_path: Path) -> None:
    env: CleanEnv = clean_env(line)
    (tmp_path / "host_settings.py").write_text(HOST_SETTINGS)
    (tmp_path / "test_host.py").write_text(HOST_TEST)
    environ = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")}
    result = subprocess.run(
        [env.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--ds=host_settings", "test_host.py"],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    assert "2 passed" in result.stdout
