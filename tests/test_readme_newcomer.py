"""A newcomer follows only the README's "Use it in your project" in a brand-new project.

The test builds ``django-admin startproject mysite`` (plus an app ``notes``, the "existing
project") in a temporary folder, applies every Python block of that README section exactly
as written (each names its file in its first line), runs the processes step 5 names, and
expects step 7's transcription to complete and step 6's receiver to run in the worker.
The only departures: ports are picked free, and without Redis on 127.0.0.1 the broker is a
folder-based transport (in the service tier, the README's Redis URL is used as written).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .extras import require

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "example_project" / "samples" / "welcome.wav"

pytestmark = [pytest.mark.slow, pytest.mark.services]


def readme_blocks() -> list[tuple[str, bool, str]]:
    """(path, append?, code) for each Python block of the README's 'Use it in your project'."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Use it in your project", 1)[1].split("\n## ", 1)[0]
    blocks = []
    for code in re.findall(r"```python\n(.*?)```", section, flags=re.S):
        first = code.splitlines()[0]
        match = re.match(r"# ([\w/]+\.py)(: add at the end)?$", first)
        if match:
            blocks.append((match.group(1), bool(match.group(2)), code))
    return blocks


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_answers() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return False
    return True


def test_the_readme_section_names_every_file_it_changes() -> None:
    paths = [path for path, _, _ in readme_blocks()]
    assert paths == [
        "mysite/settings.py",
        "mysite/urls.py",
        "mysite/celery.py",
        "mysite/__init__.py",
        "notes/receivers.py",
        "notes/apps.py",
    ]


def test_a_new_project_following_the_readme_gets_a_transcript(tmp_path: Path) -> None:
    require("av")  # step 5's sandbox runs the offline engine
    require("pocketsphinx")
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHONUNBUFFERED": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)

    def run(*args: str, timeout: float = 180) -> str:
        result = subprocess.run(args, cwd=project, env=env, capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    subprocess.run([sys.executable, "-m", "django", "startproject", "mysite", str(tmp_path)], check=True, env=env)
    project = tmp_path
    run(sys.executable, "manage.py", "startapp", "notes")
    settings = project / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + '\nINSTALLED_APPS += ["notes"]  # the existing project\'s app\n')

    for path, append, code in readme_blocks():
        target = project / path
        target.write_text((target.read_text() + "\n" if append and target.exists() else "") + code)

    sandbox_port = free_port()
    overrides = f'\nSLASHML["API_URL"] = "http://127.0.0.1:{sandbox_port}"  # a free port for the test\n'
    if not redis_answers():
        overrides += (
            'CELERY_BROKER_URL = "filesystem://"  # no Redis on this machine\n'
            f'CELERY_BROKER_TRANSPORT_OPTIONS = {{"data_folder_in": "{tmp_path}/q", "data_folder_out": "{tmp_path}/q", '
            f'"processed_folder": "{tmp_path}/done"}}\n'
        )
        (tmp_path / "q").mkdir()
        (tmp_path / "done").mkdir()
    settings.write_text(settings.read_text() + overrides)

    run(sys.executable, "manage.py", "migrate", "-v", "0")
    processes = []
    logs = {name: (tmp_path / f"{name}.log").open("w") for name in ("sandbox", "worker")}
    try:
        processes.append(
            subprocess.Popen(
                [sys.executable, "manage.py", "slashml_sandbox", "--port", str(sandbox_port)],
                cwd=project, env=env, stdout=logs["sandbox"], stderr=subprocess.STDOUT,
            )
        )  # fmt: skip
        processes.append(
            subprocess.Popen(
                ["celery", "-A", "mysite", "worker", "-l", "info"],
                cwd=project, env=env, stdout=logs["worker"], stderr=subprocess.STDOUT,
            )
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while "ready." not in (tmp_path / "worker.log").read_text():
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
            time.sleep(0.3)
        output = run(sys.executable, "manage.py", "slashml_transcribe", str(SAMPLE), "--wait", "--timeout", "120")
        assert "COMPLETED" in output and "hello and welcome" in output, output
        job_id = re.search(r"Created job ([0-9a-f-]{36})", output).group(1)
        deadline = time.monotonic() + 10
        while f"Notify nobody about {job_id}" not in (tmp_path / "worker.log").read_text():
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-3000:]
            time.sleep(0.2)
        assert f"Transcript {job_id} is ready: hello and welcome" in (tmp_path / "worker.log").read_text()
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs.values():
            log.close()
