"""`make demo`: the whole pipeline on this machine, with nothing but Python.

Migrates, creates a demo superuser, starts the SlashML sandbox (offline engine), a Celery
worker and beat (on a folder-based transport unless CELERY_BROKER_URL names a broker) and the
development server, transcribes the bundled sample through all of it, prints the transcript
with word timings and a two-provider comparison of the same sample, and keeps serving until
Ctrl-C, then stops everything it started.

``--queue tasks`` (``make demo QUEUE=tasks``) runs the jobs on Django's task framework instead,
as docs/task-framework.md sets it up: django-tasks-db keeps the tasks in the same database,
``manage.py db_worker`` runs them and ``manage.py slashml_sweep --loop`` is the sweeper. No
Celery process, no broker.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
STATE = Path(os.environ.get("EXAMPLE_STATE_DIR", HERE / ".state"))
LOGS = STATE / "logs"
PYTHON = sys.executable
WEB_PORT = int(os.environ.get("DEMO_PORT", "8000"))
SANDBOX_PORT = int(os.environ.get("SANDBOX_PORT", "8765"))
USERNAME, PASSWORD = "demo", "demo-password"
SAMPLE = HERE / "samples" / "welcome.wav"


class StepFailed(Exception):
    pass


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class Demo:
    def __init__(self, queue: str = "celery") -> None:
        self.queue = queue
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.step = 0
        LOGS.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "example_project.settings",
            "SLASHML_QUEUE": queue,  # read by example_project/settings.py
            "EXAMPLE_STATE_DIR": str(STATE),
            "SLASHML_API_URL": os.environ.get("SLASHML_API_URL", f"http://127.0.0.1:{SANDBOX_PORT}"),
            # The local sandbox accepts only its own key (it never adopts SLASHML_API_KEY).
            "SLASHML_API_KEY": os.environ.get("SLASHML_API_KEY", "sandbox-key")
            if "SLASHML_API_URL" in os.environ
            else "sandbox-key",
            "PYTHONUNBUFFERED": "1",
        }

    # -- output ---------------------------------------------------------------------------

    def say(self, title: str) -> None:
        self.step += 1
        print(f"\n[{self.step}] {title}", flush=True)

    @staticmethod
    def detail(text: str) -> None:
        print(f"    {text}", flush=True)

    # -- processes ------------------------------------------------------------------------

    def run(self, *args: str, timeout: float = 300) -> str:
        result = subprocess.run(
            [PYTHON, *args], cwd=HERE, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if result.returncode != 0:
            raise StepFailed((result.stderr or result.stdout).strip()[-2000:])
        return result.stdout

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (LOGS / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [PYTHON, *args], cwd=HERE, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.children.append((name, process))
        return process

    def wait_for(self, name: str, process: subprocess.Popen[bytes], ready: object, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise StepFailed(f"{name} exited with {process.returncode}:\n{self.log_tail(name)}")
            if ready():  # type: ignore[operator]
                return
            time.sleep(0.3)
        raise StepFailed(f"{name} was not ready after {timeout:.0f} s:\n{self.log_tail(name)}")

    @staticmethod
    def log_tail(name: str, lines: int = 15) -> str:
        path = LOGS / f"{name}.log"
        if not path.exists():
            return "(no output)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    @staticmethod
    def answers(url: str) -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own loopback services
                return True
        except OSError as exc:
            return getattr(exc, "code", None) is not None  # an HTTP error still means it is up

    @staticmethod
    def port_free(port: int) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) != 0

    def stop(self) -> None:
        for _name, process in reversed(self.children):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for name, process in reversed(self.children):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
            print(f"    stopped {name}", flush=True)
        self.children.clear()

    # -- the steps ------------------------------------------------------------------------

    def main(self) -> int:
        # Installed explicitly: a shell that starts us in the background leaves SIGINT ignored.
        signal.signal(signal.SIGINT, _interrupt)
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            self.steps()
        except StepFailed as exc:
            print(f"\nStep {self.step} failed: {exc}\nLogs: {LOGS}", file=sys.stderr, flush=True)
            self.stop()
            return 1
        except KeyboardInterrupt:
            pass
        print("\nStopping everything the demo started...", flush=True)
        self.stop()
        return 0

    def steps(self) -> None:
        for port, what in ((WEB_PORT, "DEMO_PORT"), (SANDBOX_PORT, "SANDBOX_PORT")):
            if not self.port_free(port):
                raise StepFailed(f"port {port} is taken; stop what uses it or set {what}=<another port>")

        self.say("Migrating the database")
        self.run("manage.py", "migrate", "--noinput", "-v", "0")
        database = self.run("manage.py", "shell", "-c", "from django.db import connection; print(connection.vendor)")
        self.detail(f"database: {database.strip().splitlines()[-1]}")

        self.say("Creating the demo superuser")
        self.run(
            "manage.py",
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model; U = get_user_model(); "
            f"u = U.objects.filter(username='{USERNAME}').first() "
            f"or U.objects.create_superuser('{USERNAME}', 'demo@example.com', '{PASSWORD}'); "
            f"u.set_password('{PASSWORD}'); u.save()",
        )
        self.detail(f"username {USERNAME}, password {PASSWORD}")

        self.say(f"Starting the SlashML sandbox (offline engine) on port {SANDBOX_PORT}")
        sandbox = self.start(
            "sandbox", "-m", "django_slashml.sandbox", "--engine", "offline", "--port", str(SANDBOX_PORT)
        )
        self.wait_for("sandbox", sandbox, lambda: self.answers(f"http://127.0.0.1:{SANDBOX_PORT}/_sandbox/health"))
        self.detail(f"http://127.0.0.1:{SANDBOX_PORT}")

        if self.queue == "tasks":
            self.start_task_framework()
        else:
            self.start_celery()

        self.say(f"Starting the development server on port {WEB_PORT}")
        web = self.start("web", "manage.py", "runserver", f"127.0.0.1:{WEB_PORT}", "--noreload")
        self.wait_for("web", web, lambda: self.answers(f"http://127.0.0.1:{WEB_PORT}/admin/login/"))

        self.say(f"Transcribing {SAMPLE.relative_to(HERE)} through the whole pipeline")
        started = time.monotonic()
        output = self.run("manage.py", "slashml_transcribe", str(SAMPLE), "--wait", "--timeout", "180", timeout=240)
        print("\n".join("    " + line for line in output.rstrip().splitlines()), flush=True)
        match = re.search(r"Created job ([0-9a-f-]{36})", output)
        job_id = match.group(1) if match else ""
        self.detail(f"done in {time.monotonic() - started:.1f} s")

        self.say("Comparing two providers on the same sample (docs/compare.md)")
        output = self.run(
            "manage.py", "slashml_compare", str(SAMPLE), "--providers", "assembly,google",
            "--reference-file", str(SAMPLE.with_suffix(".txt")), "--wait", "--timeout", "120", timeout=180,
        )  # fmt: skip
        print("\n".join("    " + line for line in output.rstrip().splitlines()), flush=True)
        match = re.search(r"Created comparison ([0-9a-f-]{36})", output)
        comparison_id = match.group(1) if match else ""

        base = f"http://127.0.0.1:{WEB_PORT}"
        print(
            f"\nReady. Sign in as {USERNAME} / {PASSWORD}:\n"
            f"    the job in the admin:  {base}/admin/django_slashml/transcriptionjob/{job_id}/change/\n"
            f"    the job over the API:  {base}/api/slashml/jobs/{job_id}/\n"
            f"    the comparison:        {base}/admin/django_slashml/comparison/{comparison_id}/change/\n"
            f"    the provider report:   {base}/admin/django_slashml/comparison/report/\n"
            f"    transcribe your own:   {base}/\n"
            "Press Ctrl-C to stop.",
            flush=True,
        )
        while True:
            for name, process in self.children:
                if process.poll() is not None:
                    raise StepFailed(f"{name} stopped unexpectedly:\n{self.log_tail(name)}")
            time.sleep(1)

    def start_celery(self) -> None:
        broker = os.environ.get("CELERY_BROKER_URL", "a folder-based transport (no server)")
        self.say(f"Starting a Celery worker and beat on {broker}")
        worker = self.start(
            "worker",
            "-m",
            "celery",
            "-A",
            "example_project",
            "worker",
            "-l",
            "info",
            "--pool",
            "threads",
            "--concurrency",
            "2",
        )
        self.wait_for("worker", worker, lambda: "ready." in self.log_tail("worker", 200))
        self.start(
            "beat",
            "-m",
            "celery",
            "-A",
            "example_project",
            "beat",
            "-l",
            "info",
            "--schedule",
            str(STATE / "celerybeat-schedule"),
        )
        self.detail(f"logs in {LOGS}")

    def start_task_framework(self) -> None:
        self.say("Starting db_worker and the sweeper on Django's task framework (tasks in the database, no broker)")
        # No reloader: it would only watch files, a second process polling every second.
        worker = self.start("db_worker", "manage.py", "db_worker", "--no-reload")
        self.wait_for("db_worker", worker, lambda: "Starting worker" in self.log_tail("db_worker", 200))
        sweeper = self.start("sweeper", "manage.py", "slashml_sweep", "--loop")
        self.wait_for("sweeper", sweeper, lambda: "Sweeping every" in self.log_tail("sweeper", 50))
        self.detail(f"logs in {LOGS}")


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="The whole pipeline on this machine, and a first transcript.")
    parser.add_argument(
        "--queue",
        choices=("celery", "tasks"),
        default="celery",
        help="celery: a Celery worker and beat (the default); tasks: Django's task framework, db_worker and "
        "the sweeper's loop, no broker (docs/task-framework.md)",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(Demo(parse_arguments(sys.argv[1:]).queue).main())
