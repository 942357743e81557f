"""The README's "Use it in your project", read block by block, to be replayed as written.

Each fenced block of that section is a step. A block whose first line names a file
(``# mysite/settings.py: add at the end``, ``# notes/receivers.py``, ``# pytest.ini``) is
written to that file, appended or whole; an ``sh`` block is run by bash, line by line, in the
folder the earlier blocks ``cd``'d to; an ``sh`` block that starts ``# each in a terminal of
its own`` starts its commands in the background, as a reader starts them in other terminals;
a Python block naming no file is an illustration, not a step.

:class:`ReadmeProject` runs them (tests/install/test_readme.py, with the README's own install
line in a clean virtualenv) and gives tests/install/test_install_lines.py the project the README
describes, for the install lines the README does not use. The departures from the text, each
one checked to still apply:

* the sandbox's port: a free one instead of 8765, in ``SLASHML["API_URL"]`` and the sandbox's
  command (runs on one machine must not collide);
* a Celery queue of the run's own (``CELERY_TASK_DEFAULT_QUEUE``), so that runs sharing the
  Redis broker never take each other's messages;
* the recording step 6 transcribes is the example project's sample, copied to the name the
  README gives it.

On the task framework (``queue="tasks"``) the README's blocks are replayed with the changes
docs/task-framework.md lists, read from its blocks: its install line in step 1, its settings
block in place of Celery's, no Celery files, and its processes (``db_worker``, the sweeper's
loop) in place of Celery's worker and beat. The only departure there is the sandbox's port.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SECTION = "## Use it in your project"
TASK_FRAMEWORK_PAGE = ROOT / "docs" / "task-framework.md"
TASK_FRAMEWORK_SECTION = "## No broker: the database backend"
SAMPLE = ROOT / "example_project" / "samples" / "welcome.wav"
SAMPLE_WORDS = "hello and welcome"
# What the sandbox's whisper hears in it: its deterministic mistakes drop the "and" (docs/sandbox.md).
WHISPER_WORDS = "hello welcome"
README_SANDBOX = "http://127.0.0.1:8765"
BACKGROUND = "# each in a terminal of its own"
FILE_COMMENT = re.compile(r"^# ([\w./-]+\.(?:py|ini|cfg|toml))(: add at the end)?$")


@dataclass(frozen=True)
class Block:
    language: str
    code: str
    #: The file the block is written to, or None for commands and illustrations.
    path: str | None = None
    append: bool = False

    @property
    def commands(self) -> list[str]:
        """The block's command lines, comments and blank lines left out."""
        lines = [line.split("  #", 1)[0].strip() for line in self.code.splitlines()]
        return [line for line in lines if line and not line.startswith("#")]

    @property
    def background(self) -> bool:
        return self.language == "sh" and self.code.startswith(BACKGROUND)

    @property
    def illustration(self) -> bool:
        return self.language != "sh" and self.path is None


def readme_blocks(text: str | None = None) -> list[Block]:
    """Every fenced block of the README's 'Use it in your project', in order."""
    return section_blocks((ROOT / "README.md").read_text() if text is None else text, SECTION)


def task_framework_changes() -> list[Block]:
    """docs/task-framework.md's changes to the README's steps: its section's first three blocks.

    The install line, the settings and the processes; the blocks after them (cron, pruning)
    are for production.
    """
    return section_blocks(TASK_FRAMEWORK_PAGE.read_text(), TASK_FRAMEWORK_SECTION)[:3]


def project_blocks(queue: str = "celery") -> list[Block]:
    """The README's blocks; on the task framework, with docs/task-framework.md's changes made."""
    blocks = readme_blocks()
    if queue == "celery":
        return blocks
    install, settings, processes = task_framework_changes()
    changed: list[Block] = []
    for block in blocks:
        if block is blocks[0]:  # step 1: the page's install line in place of the README's
            first, rest = block.code.split("\n", 1)
            assert first.startswith("pip install "), first
            changed.append(Block("sh", install.code.rstrip("\n") + "\n" + rest))
        elif block.path == "mysite/settings.py" and "CELERY_" in block.code:
            changed.append(settings)  # step 2: Celery's settings left out, the page's instead
        elif block.path in ("mysite/celery.py", "mysite/__init__.py"):
            continue  # step 3: the URLs only
        elif block.background:
            changed.append(processes)  # step 5: db_worker and the sweeper instead of Celery's
        else:
            changed.append(block)
    return changed


def section_blocks(text: str, heading: str) -> list[Block]:
    """Every fenced block of the section under ``heading``, in order."""
    section = text.split(heading + "\n", 1)[1].split("\n## ", 1)[0]
    blocks = []
    for language, code in re.findall(r"^```(\w+)\n(.*?)^```$", section, flags=re.S | re.M):
        match = FILE_COMMENT.match(code.splitlines()[0])
        if match:
            blocks.append(Block(language, code, match.group(1), bool(match.group(2))))
        else:
            blocks.append(Block(language, code))
    return blocks


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


class ReadmeProject:
    """The README's project under ``folder``, run with one virtualenv's interpreter (``bin_dir``).

    ``broker`` replaces the README's Redis URL where an environment has no Redis transport;
    ``queue="tasks"`` is the project docs/task-framework.md makes of it (module docstring).
    """

    def __init__(
        self,
        folder: Path,
        bin_dir: Path,
        *,
        broker: str | None = None,
        find_links: str = "",
        queue: str = "celery",
    ) -> None:
        self.folder = folder
        self.cwd = folder
        self.bin_dir = bin_dir
        self.python = str(bin_dir / "python")
        self.broker = broker
        self.blocks = project_blocks(queue)
        self.env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHONUNBUFFERED": "1"}
        for name in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH", "VIRTUAL_ENV", "SLASHML_API_KEY", "PYTEST_ADDOPTS"):
            self.env.pop(name, None)
        self.env["VIRTUAL_ENV"] = str(bin_dir.parent)
        if find_links:  # pip finds the built wheel there, as it would on PyPI
            self.env["PIP_FIND_LINKS"] = " ".join(filter(None, [os.environ.get("PIP_FIND_LINKS", ""), find_links]))
        self.sandbox_port = free_port()
        self.celery_queue = f"readme-{uuid.uuid4().hex[:12]}"
        self.logs: dict[str, Path] = {}
        self.outputs: list[str] = []
        self.started: list[subprocess.Popen[bytes]] = []

    # -- the departures -------------------------------------------------------------------

    def departed(self, block: Block) -> str:
        """The block's text with this run's departures (module docstring) applied."""
        code = block.code
        if block.path and block.path.endswith("settings.py") and README_SANDBOX in code:
            code = code.replace(README_SANDBOX, f"http://127.0.0.1:{self.sandbox_port}")
        if block.background:
            code = code.replace("manage.py slashml_sandbox", f"manage.py slashml_sandbox --port {self.sandbox_port}")
        return code

    def settings_overrides(self) -> str:
        overrides = f'\nCELERY_TASK_DEFAULT_QUEUE = "{self.celery_queue}"  # runs sharing a broker stay apart\n'
        if self.broker:
            overrides += f"CELERY_BROKER_URL = {self.broker!r}\n"
        if self.broker == "filesystem://":
            queue, done = self.folder / "q", self.folder / "done"
            queue.mkdir(exist_ok=True)
            done.mkdir(exist_ok=True)
            overrides += (
                f'CELERY_BROKER_TRANSPORT_OPTIONS = {{"data_folder_in": "{queue}", "data_folder_out": "{queue}", '
                f'"processed_folder": "{done}"}}\n'
            )
        return overrides

    # -- running blocks ---------------------------------------------------------------------

    def write(self, block: Block) -> None:
        assert block.path is not None
        target = self.cwd / block.path
        assert target.exists() or not block.append, f"{block.path}: 'add at the end' of a file that does not exist"
        before = target.read_text() + "\n" if block.append else ""
        target.write_text(before + self.departed(block))
        if block.path.endswith("settings.py") and "CELERY_" in block.code:
            target.write_text(target.read_text() + self.settings_overrides())

    def run_commands(self, block: Block, timeout: float = 600) -> str:
        """The block run by bash in the current folder, stopping at the first failing line; its output."""
        marker = self.folder / ".readme-cwd"
        script = f"set -e\ncd {shlex.quote(str(self.cwd))}\n{self.departed(block)}\npwd > {shlex.quote(str(marker))}\n"
        result = subprocess.run(
            ["bash", "-c", script], env=self.env, capture_output=True, text=True, timeout=timeout, cwd=self.cwd
        )
        assert result.returncode == 0, f"{block.code}\n{result.stdout[-5000:]}\n{result.stderr[-5000:]}\n{self.tails()}"
        self.cwd = Path(marker.read_text().strip())
        self.outputs.append(result.stdout)
        return result.stdout

    def start(self, block: Block) -> None:
        for command in Block(block.language, self.departed(block)).commands:
            name = process_name(command)
            self.logs[name] = self.folder / f"{name}.log"
            with self.logs[name].open("w") as log:
                # A session of its own: stop() ends the process with its children (a reloader's).
                self.started.append(
                    subprocess.Popen(
                        ["bash", "-c", f"exec {command}"],
                        cwd=self.cwd,
                        env=self.env,
                        stdout=log,
                        stderr=log,
                        start_new_session=True,
                    )
                )
        if "worker" in self.logs:  # Celery's worker, or django-tasks-db's
            self.wait_for(lambda: any(s in self.log("worker") for s in READY), "the worker to start")
        if "sandbox" in self.logs:
            self.wait_for(lambda: answers(self.sandbox_port), "the sandbox to answer")

    def stop(self) -> None:
        for process in self.started:
            signal_group(process, signal.SIGTERM)
        for process in self.started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                signal_group(process, signal.SIGKILL)
                process.wait()
            signal_group(process, signal.SIGKILL)  # what the process left behind, if anything
        self.started.clear()

    # -- the whole section ------------------------------------------------------------------

    @contextmanager
    def replayed(self, blocks: Sequence[Block] | None = None) -> Iterator[ReadmeProject]:
        """Every block in order, as the README says; the processes it started run until the block ends."""
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            for block in self.blocks if blocks is None else blocks:
                if block.illustration:
                    continue
                if block.path:
                    self.write(block)
                elif block.background:
                    assert "python manage.py slashml_sandbox" in block.code, "the README starts the sandbox otherwise"
                    self.start(block)
                else:
                    self.provide_recordings(block)
                    self.run_commands(block)
            yield self
        finally:
            self.stop()

    def provide_recordings(self, block: Block) -> None:
        """The reader's own recording, for a command that transcribes one."""
        for name in re.findall(r"slashml_transcribe (\S+)", block.code):
            shutil.copy(SAMPLE, self.cwd / name)

    # -- the project's files alone, for other install lines -----------------------------------

    def create_files(self) -> None:
        """The README's project, its files as written, without running its commands or processes."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.run(self.python, "-m", "django", "startproject", "mysite", str(self.folder))
        self.manage("startapp", "notes")
        for block in self.blocks:
            if block.path and block.path != "pytest.ini" and not block.path.startswith("notes/test_"):
                self.write(block)

    def run(self, *args: str, timeout: float = 180, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(args, cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=timeout)
        if check:
            assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
        return result

    def manage(self, *args: str, timeout: float = 180, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(self.python, "manage.py", *args, timeout=timeout, check=check)

    def slashml_check_messages(self, *args: str) -> list[str]:
        """Lines of ``manage.py check`` (with ``args``) that come from this app."""
        result = self.manage("check", *args, check=False)
        return [line for line in (result.stdout + result.stderr).splitlines() if "slashml." in line]

    @contextmanager
    def processes(self, sandbox: list[str] | None = None, *, web_port: int | None = None) -> Iterator[None]:
        """The README's processes (``sandbox`` replaces the sandbox's command), and a web server on ``web_port``."""
        (block,) = [block for block in self.blocks if block.background]
        if sandbox is not None:
            command = shlex.join([*sandbox, "--port", str(self.sandbox_port)])
            block = Block("sh", block.code.replace("python manage.py slashml_sandbox", command, 1))
        if web_port:
            block = Block("sh", f"{block.code}{self.python} manage.py runserver 127.0.0.1:{web_port} --noreload\n")
        try:
            self.start(block)
            if web_port:
                self.wait_for(lambda: answers(web_port), "the web server to answer")
            yield
        finally:
            self.stop()

    # -- what the reader sees -------------------------------------------------------------

    def log(self, name: str) -> str:
        return self.logs[name].read_text() if name in self.logs and self.logs[name].exists() else ""

    def tails(self) -> str:
        return "\n".join(f"--- {name}\n{self.log(name)[-3000:]}" for name in self.logs)

    def wait_for(self, predicate: Callable[[], bool], what: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            dead = [process.args for process in self.started if process.poll() is not None]
            assert not dead, f"waiting for {what}, a process ended: {dead}\n{self.tails()}"
            assert time.monotonic() < deadline, f"waiting for {what} for {timeout} s\n{self.tails()}"
            time.sleep(0.2)

    def transcribe_with_the_command(self) -> str:
        """Step 6's command with the sample; returns the job's id."""
        output = self.manage("slashml_transcribe", str(SAMPLE), "--wait", "--timeout", "120", timeout=180).stdout
        assert "COMPLETED" in output and SAMPLE_WORDS in output, output
        return job_id_in(output)

    def transcribe_over_rest(self, web_port: int, username: str = "ann", password: str = "pw") -> str:
        """A user posts the file to the REST API of step 3 and reads the job until it completes."""
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
            job_id = str(json.load(response)["id"])
        job: dict[str, object] = {}

        def completed() -> bool:
            nonlocal job
            detail = urllib.request.Request(f"{base}{job_id}/", headers={"Authorization": auth})
            with urllib.request.urlopen(detail, timeout=30) as response:
                job = json.load(response)
            assert job["status"] not in ("ERROR", "CANCELLED"), job
            return job["status"] == "COMPLETED"

        self.wait_for(completed, f"job {job_id} to complete over REST", timeout=120)
        assert all(word in str(job["text"]).split() for word in ("hello", "welcome", "computer")), job
        return job_id

    def assert_admin_shows_the_transcript(self, job_id: str) -> None:
        """The admin's job page, rendered from the installed templates, holds the player and the words."""
        page = self.manage(
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model; from django.test import Client; "
            "admin = get_user_model().objects.create_superuser('reviewer', 'r@example.com', 'pw'); "
            "client = Client(); client.force_login(admin); "
            f"response = client.get('/admin/django_slashml/transcriptionjob/{job_id}/change/', HTTP_HOST='127.0.0.1'); "
            "print('STATUS', response.status_code); print(response.content.decode())",
        ).stdout
        assert "STATUS 200" in page, page[:3000]
        assert "slashml-audio" in page and SAMPLE_WORDS.split()[-1] in page, page[:3000]

    def assert_receiver_ran_once(self, job_id: str, owner: str = "nobody", words: str = SAMPLE_WORDS) -> None:
        """Step 4's receiver: the transcript line once, and the on_commit line once it committed."""
        notified = f"Notify {owner} about {job_id}"
        self.wait_for(lambda: notified in self.log("worker"), f"the receiver for {job_id}")
        worker = self.log("worker")
        assert worker.count(f"Transcript {job_id} is ready: {words}") == 1, worker[-3000:]
        assert worker.count(notified) == 1, worker[-3000:]


#: What a worker prints once it takes work: Celery's, and django-tasks-db's db_worker.
READY = ("ready.", "Starting worker")


def signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def process_name(command: str) -> str:
    """What a long-running command of the docs runs: sandbox, worker, beat, sweeper or web."""
    markers = (
        ("sandbox", "sandbox"),
        ("worker", " worker"),
        ("worker", " db_worker"),
        ("beat", " beat"),
        ("sweeper", " slashml_sweep"),
        ("web", "runserver"),
    )
    for name, marker in markers:
        if marker in command:
            return name
    raise AssertionError(f"the README starts a process this replay does not know: {command}")


def job_id_in(output: str) -> str:
    match = re.search(r"Created job ([0-9a-f-]{36})", output)
    assert match, output
    return match.group(1)
