"""The moving parts every benchmark uses: a sandbox process, worker processes, a fresh
PostgreSQL database, Redis tallies and audio files of a chosen length."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from django_slashml.sandbox.control import SandboxControl
from tests.reliability.harness import free_port

ROOT = Path(__file__).resolve().parents[1]
API_KEY = "sandbox-key"


def wait_until(check: Any, *, timeout: float, what: str, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


class SandboxProcess:
    """``python -m django_slashml.sandbox`` with the deterministic engine, in its own process."""

    def __init__(self, workdir: Path, name: str, **faults: float) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.storage = workdir / f"{name}-storage"
        self.log = workdir / f"{name}.log"
        command = [
            sys.executable, "-m", "django_slashml.sandbox", "--engine", "deterministic",
            "--port", str(self.port), "--api-key", API_KEY, "--storage-dir", str(self.storage),
        ]  # fmt: skip
        self.faults = faults
        for key, value in faults.items():
            command += ["--" + key.replace("_", "-"), str(value)]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        self.control = SandboxControl(self.url, API_KEY, timeout=60)
        wait_until(self._healthy, timeout=30, what=f"the sandbox on port {self.port}")

    def _healthy(self) -> bool:
        try:
            return requests.get(f"{self.url}/_sandbox/health", timeout=1).ok
        except requests.RequestException:
            return False

    def reset(self) -> None:
        """Forget jobs, uploads and counters; the sandbox's reset also clears faults, so restore them."""
        self.control.reset()
        if self.faults:
            self.control.set_faults(**self.faults)

    def finish_times(self) -> dict[str, float]:
        """SlashML's own completion time of every finished job, by remote id (epoch seconds)."""
        jobs = self.control.stats()["jobs"]
        return {job_id: job["finished_at"] for job_id, job in jobs.items() if job["finished_at"]}

    def stop(self) -> None:
        self.control.close()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


class WorkerProcess:
    """``celery worker`` on the benchmark database and broker: ``-P prefork -c N`` (a main process
    that hands each message to one of N children) or ``-P solo`` (one process that takes and runs them)."""

    def __init__(
        self,
        workdir: Path,
        name: str,
        *,
        slashml: dict[str, Any],
        concurrency: int,
        env: dict[str, str] | None = None,
        pool: str = "prefork",
    ) -> None:
        self.log = workdir / f"worker-{name}.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
            "SLASHML_BENCH_SLASHML": json.dumps(slashml),
            **(env or {}),
        }
        command = [
            sys.executable, "-m", "celery", "-A", "benchmarks.celery_app", "worker", "-P", pool,
            "-c", str(concurrency), "-l", "INFO", "-n", f"bench-{name}-{os.getpid()}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        wait_until(self._ready, timeout=60, what=f"worker {name} (see {self.log})", every=0.1)

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"the worker exited with {self.process.returncode}; see {self.log}")
        return b" ready." in self.log.read_bytes()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)


class Workers:
    """The worker processes of one run: ``processes`` children of one prefork worker, or as many solo workers."""

    def __init__(
        self, workdir: Path, name: str, *, pool: str, processes: int, slashml: dict[str, Any], env: dict[str, str]
    ) -> None:
        if pool not in ("prefork", "solo"):
            raise ValueError(f"pool {pool!r}: choose prefork or solo")
        env = {"SLASHML_BENCH_TALLY_TASKS": "0", **env}
        self.running: list[WorkerProcess] = []
        try:
            if pool == "prefork":
                self.running.append(WorkerProcess(workdir, name, slashml=slashml, concurrency=processes, env=env))
            else:
                for index in range(processes):
                    self.running.append(
                        WorkerProcess(workdir, f"{name}-{index}", slashml=slashml, concurrency=1, env=env, pool=pool)
                    )
        except BaseException:
            self.stop()  # the ones that started
            raise

    def stop(self) -> None:
        for worker in self.running:
            with contextlib.suppress(Exception):
                worker.stop()


def fresh_database(name: str) -> None:
    """Drop and create the benchmark database, so every run starts from the same empty tables."""
    import psycopg

    with psycopg.connect(host="127.0.0.1", dbname="postgres", user=os.environ.get("PGUSER", "postgres")) as conn:
        conn.autocommit = True
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def empty_tables() -> None:
    """Forget the previous benchmark's jobs and uploads (TRUNCATE: 100k rows go at once)."""
    from django.db import connection

    from django_slashml.models import AudioUpload, TranscriptionJob

    tables = ", ".join(f'"{model._meta.db_table}"' for model in (TranscriptionJob, AudioUpload))
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} CASCADE")


def flush_redis(*urls: str) -> None:
    import redis

    for url in urls:
        redis.Redis.from_url(url).flushdb()


def wav(path: Path, seconds: float, *, seed: int) -> Path:
    """A WAV file of ``seconds`` (8 kHz, 8-bit mono) whose samples differ by ``seed``.

    Different bytes mean a different sha256, so the app's transcript reuse does not
    turn a benchmark of N jobs into one job and N-1 copies.
    """
    rate = 8000
    size = int(seconds * rate)
    header = b"RIFF" + (36 + size).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little")
    header += (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + rate.to_bytes(4, "little")
    header += rate.to_bytes(4, "little") + (1).to_bytes(2, "little") + (8).to_bytes(2, "little")
    header += b"data" + size.to_bytes(4, "little")
    noise = random.Random(seed).randbytes(min(size, 4096))
    with path.open("wb") as out:
        out.write(header)
        out.write(noise)
        out.write(b"\x80" * (size - len(noise)))
    return path
