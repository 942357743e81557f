"""A newcomer's project, built by following only the README's "Use it in your project".

``django-admin startproject mysite`` (plus an app ``notes``, the "existing project") in a
folder of its own, every Python block of that README section applied exactly as written
(each names its file in its first line), then step 5's processes. Used by the suite
(tests/test_readme_newcomer.py, with this checkout) and by the install tier (tests/install/,
with each documented install line in a clean virtualenv, far from this checkout).

The only departures from the README: ports are picked free; the Celery queue gets a name of
its own, so that runs sharing a broker never take each other's messages; and where the
environment has no ``redis`` package, or no Redis answers, another broker is used.
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "example_project" / "samples" / "welcome.wav"
SAMPLE_WORDS = "hello and welcome"
# What the sandbox's whisper hears in it: its deterministic mistakes drop the "and" (docs/sandbox.md).
WHISPER_WORDS = "hello welcome"
README_BROKER = "redis://127.0.0.1:6379/0"


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


def answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


class Newcomer:
    """A new project in ``folder``, run with the interpreter of one virtualenv (``bin_dir``)."""

    def __init__(self, folder: Path, bin_dir: Path, *, broker: str) -> None:
        self.folder = folder
        self.bin_dir = bin_dir
        self.python = str(bin_dir / "python")
        self.broker = broker
        self.env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHONUNBUFFERED": "1"}
        for name in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH", "VIRTUAL_ENV", "SLASHML_API_KEY"):
            self.env.pop(name, None)
        self.sandbox_port = free_port()
        self.logs: dict[str, Path] = {}

    def run(self, *args: str, timeout: float = 180, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(args, cwd=self.folder, env=self.env, capture_output=True, text=True, timeout=timeout)
        if check:
            assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
        return result

    def manage(self, *args: str, timeout: float = 180, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(self.python, "manage.py", *args, timeout=timeout, check=check)

    def create_project(self) -> None:
        """Steps 2 to 4 and 6 of the README, and the settings departures named above."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.run(self.python, "-m", "django", "startproject", "mysite", str(self.folder))
        self.manage("startapp", "notes")
        settings = self.folder / "mysite" / "settings.py"
        settings.write_text(settings.read_text() + '\nINSTALLED_APPS += ["notes"]  # the existing project\'s app\n')
        for path, append, code in readme_blocks():
            target = self.folder / path
            target.write_text((target.read_text() + "\n" if append and target.exists() else "") + code)
        overrides = (
            f'\nSLASHML["API_URL"] = "http://127.0.0.1:{self.sandbox_port}"  # a free port for the test\n'
            f'CELERY_TASK_DEFAULT_QUEUE = "newcomer-{uuid.uuid4().hex[:12]}"  # runs sharing a broker stay apart\n'
        )
        if self.broker != README_BROKER:
            overrides += f"CELERY_BROKER_URL = {self.broker!r}\n"
        if self.broker == "filesystem://":
            queue, done = self.folder / "q", self.folder / "done"
            queue.mkdir()
            done.mkdir()
            overrides += (
                f'CELERY_BROKER_TRANSPORT_OPTIONS = {{"data_folder_in": "{queue}", "data_folder_out": "{queue}", '
                f'"processed_folder": "{done}"}}\n'
            )
        settings.write_text(settings.read_text() + overrides)

    def slashml_check_messages(self, *args: str) -> list[str]:
        """Lines of ``manage.py check`` (with ``args``) that come from this app."""
        result = self.manage("check", *args, check=False)
        return [line for line in (result.stdout + result.stderr).splitlines() if "slashml." in line]

    @contextmanager
    def processes(self, sandbox: list[str] | None = None, *, web_port: int | None = None) -> Iterator[None]:
        """Step 5: the sandbox (``sandbox`` is its command, the README's by default), worker, beat, web."""
        commands = {
            "sandbox": (sandbox or [self.python, "manage.py", "slashml_sandbox"]) + ["--port", str(self.sandbox_port)],
            "worker": [str(self.bin_dir / "celery"), "-A", "mysite", "worker", "-l", "info"],
            "beat": [str(self.bin_dir / "celery"), "-A", "mysite", "beat", "-l", "info"],
        }
        if web_port:
            commands["web"] = [self.python, "manage.py", "runserver", f"127.0.0.1:{web_port}", "--noreload"]
        started: list[subprocess.Popen[bytes]] = []
        try:
            for name, command in commands.items():
                self.logs[name] = self.folder / f"{name}.log"
                with self.logs[name].open("w") as log:
                    started.append(
                        subprocess.Popen(command, cwd=self.folder, env=self.env, stdout=log, stderr=subprocess.STDOUT)
                    )
            self.wait_for(lambda: "ready." in self.log("worker"), "the worker to start", started)
            self.wait_for(lambda: answers(self.sandbox_port), "the sandbox to answer", started)
            if web_port:
                self.wait_for(lambda: answers(web_port), "the web server to answer", started)
            yield
        finally:
            for process in started:
                process.terminate()
            for process in started:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def log(self, name: str) -> str:
        return self.logs[name].read_text() if name in self.logs and self.logs[name].exists() else ""

    def wait_for(self, predicate, what: str, processes=(), timeout: float = 90) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while not predicate():
            dead = [process.args for process in processes if process.poll() is not None]
            logs = "\n".join(f"--- {name}\n{self.log(name)[-3000:]}" for name in self.logs)
            assert not dead, f"waiting for {what}, a process ended: {dead}\n{logs}"
            assert time.monotonic() < deadline, f"waiting for {what} for {timeout} s\n{logs}"
            time.sleep(0.2)

    def transcribe_with_the_command(self) -> str:
        """Step 7 as written (with the sample for ``interview.mp3``); returns the job's id."""
        output = self.manage("slashml_transcribe", str(SAMPLE), "--wait", "--timeout", "120", timeout=180).stdout
        assert "COMPLETED" in output and SAMPLE_WORDS in output, output
        return re.search(r"Created job ([0-9a-f-]{36})", output).group(1)  # type: ignore[union-attr]

    def transcribe_over_rest(self, web_port: int, username: str = "ann", password: str = "pw") -> str:
        """The README's REST section: a user posts the file and reads the job until it completes."""
        self.manage(
            "shell",
            "-c",
            f"from django.contrib.auth import get_user_model; "
            f"get_user_model().objects.create_user({username!r}, password={password!r})",
        )
        auth = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="service_provider"\r\n\r\nwhisper\r\n'
                f'--{boundary}\r\nContent-Disposition: form-data; name="audio"; filename="welcome.wav"\r\n'
                f"Content-Type: audio/wav\r\n\r\n"
            ).encode()
            + SAMPLE.read_bytes()
            + f"\r\n--{boundary}--\r\n".encode()
        )
        base = f"http://127.0.0.1:{web_port}/api/slashml/jobs/"
        request = urllib.request.Request(
            base,
            data=body,
            headers={"Authorization": auth, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 201
            job_id = json.load(response)["id"]
        job: dict[str, object] = {}

        def completed() -> bool:
            nonlocal job
            detail = urllib.request.Request(f"{base}{job_id}/", headers={"Authorization": auth})
            with urllib.request.urlopen(detail, timeout=30) as response:
                job = json.load(response)
            assert job["status"] not in ("ERROR", "CANCELLED"), job
            return job["status"] == "COMPLETED"

        self.wait_for(completed, f"job {job_id} to complete over REST", timeout=120)
        # whisper: the sandbox's deterministic mistakes (docs/sandbox.md) drop an "and" from this sample.
        assert all(word in str(job["text"]).split() for word in ("hello", "welcome", "computer")), job
        return job_id

    def assert_admin_shows_the_transcript(self, job_id: str) -> None:
        """The admin's job page, rendered from the installed templates, holds the viewer and the words."""
        page = self.manage(
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model; from django.test import Client; "
            "admin = get_user_model().objects.create_superuser('reviewer', 'r@example.com', 'pw'); "
            "client = Client(); client.force_login(admin); "
            f"response = client.get('/admin/django_slashml/transcriptionjob/{job_id}/change/', HTTP_HOST='127.0.0.1'); "
            "print('STATUS', response.status_code); print(response.content.decode())",
        ).stdout
        assert "STATUS 200" in page, page[:3000]  # the shell may print its own lines first
        assert "slashml-audio" in page and SAMPLE_WORDS.split()[-1] in page, page[:3000]

    def assert_receiver_ran_once(self, job_id: str, owner: str = "nobody", words: str = SAMPLE_WORDS) -> None:
        """Step 6's receiver: the transcript line once, and the on_commit line once it committed."""
        notified = f"Notify {owner} about {job_id}"
        self.wait_for(lambda: notified in self.log("worker"), f"the receiver for {job_id}")
        worker = self.log("worker")
        assert worker.count(f"Transcript {job_id} is ready: {words}") == 1, worker[-3000:]
        assert worker.count(notified) == 1, worker[-3000:]
