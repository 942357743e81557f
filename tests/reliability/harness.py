"""Real moving parts for the reliability suite: prefork workers as subprocesses, a Redis
server of the suite's own that it can stop and start, a cuttable path to PostgreSQL, and the
run's bookkeeping."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as listing:
            return [int(child) for child in listing.read().split()]
    except FileNotFoundError:
        return []


class WorkerProcess:
    """``celery worker -P prefork`` in its own process, on the test database and broker."""

    def __init__(
        self,
        *,
        broker: str,
        slashml: dict[str, Any],
        media_root: str,
        log: Path,
        concurrency: int = 2,
        database_port: int | None = None,
    ):
        self.broker, self.slashml, self.media_root, self.log = broker, slashml, media_root, log
        self.concurrency = concurrency
        #: Where the process reaches PostgreSQL (a :class:`DatabaseProxy`'s port); None: the server itself.
        self.database_port = database_port
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> WorkerProcess:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "SLASHML_TEST_TIER": os.environ.get("SLASHML_TEST_TIER", "services"),
            "SLASHML_TEST_BROKER": self.broker,
            "SLASHML_TEST_DATABASE": connection.settings_dict["NAME"],
            "SLASHML_TEST_MEDIA_ROOT": self.media_root,
            "SLASHML_TEST_SLASHML": json.dumps(self.slashml),
        }
        if self.database_port is not None:
            env["SLASHML_TEST_DATABASE_PORT"] = str(self.database_port)
        self.starts += 1
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.command(), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        return self

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "celery", "-A", "tests.celery_app", "worker", "-P", "prefork",
            "-c", str(self.concurrency), "-l", "INFO", "-n", f"reliability-{os.getpid()}-{self.starts}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip

    def pool_children(self) -> list[int]:
        return _children(self.process.pid) if self.process else []

    def kill_child(self) -> bool:
        """SIGKILL one pool process, as the kernel's OOM killer would; the main process replaces it."""
        children = self.pool_children()
        if not children:
            return False
        os.kill(children[0], signal.SIGKILL)
        return True

    def kill(self) -> None:
        """SIGKILL the main process and its pool: nothing gets to clean up."""
        if self.process and self.process.poll() is None:
            children = self.pool_children()
            self.process.kill()
            for child in children:
                with suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """A warm shutdown (a step ends within its hard time limit, a few seconds here), then SIGKILL."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


class DbWorkerProcess(WorkerProcess):
    """django-tasks-db's ``db_worker`` in its own process: one task at a time, no time limit.

    ``slashml`` must choose the task framework (``"QUEUE": "tasks"``); ``broker`` is unused.
    """

    #: Seconds between looks for work when none is ready (the command's default is 1).
    interval = 0.2

    @property
    def worker_id(self) -> str:
        """Unique among the run's workers, as django-tasks-db requires: its log's name tells them apart."""
        return f"reliability-{os.getpid()}-{self.log.stem}-{self.starts}"

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "django", "db_worker", "--no-reload", "--no-startup-delay",
            "--interval", str(self.interval), "--worker-id", self.worker_id,
        ]  # fmt: skip

    def pause(self) -> None:
        """SIGSTOP: the worker hangs mid-step, holding whatever it held, as a stuck call would."""
        if self.process:
            os.kill(self.process.pid, signal.SIGSTOP)


class SweepLoopProcess(WorkerProcess):
    """``manage.py slashml_sweep --loop`` in its own process: the sweeper where it must lose the database too."""

    #: Seconds between sweeps.
    every = 1.0

    def command(self) -> list[str]:
        return [sys.executable, "-m", "django", "slashml_sweep", "--loop", "--interval", str(self.every)]


class DatabaseProxy:
    """A TCP relay on loopback to PostgreSQL that can be cut, as a database restart or failover cuts it.

    Processes given its port reach the database only through it. :meth:`cut` closes every open
    connection and turns new ones away (accepted, then closed at once: the client reads "server
    closed the connection unexpectedly", as from a server that is shutting down); :meth:`restore`
    lets new connections through again.
    """

    def __init__(self, upstream: tuple[str, int] = ("127.0.0.1", 5432)) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.open = True
        #: Connections closed by :meth:`cut`, and those turned away while cut.
        self.cut_connections = 0
        self.refused = 0
        self._lock = threading.Lock()
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._threads: list[threading.Thread] = []
        self._stopping = False

    def start(self) -> DatabaseProxy:
        self._spawn(self._accept, "db-proxy-accept")
        return self

    def _spawn(self, target: Any, name: str, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # the listener was closed: stop
                return
            with self._lock:
                turned_away = not self.open
                if turned_away:
                    self.refused += 1
            if turned_away:
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            pair = (client, server)
            with self._lock:
                if not self.open or self._stopping:  # cut while the upstream connection was being made
                    self.refused += 1
                    client.close()
                    server.close()
                    continue
                self._pairs.add(pair)
            self._spawn(self._pump, "db-proxy-up", client, server, pair)
            self._spawn(self._pump, "db-proxy-down", server, client, pair)

    def _pump(self, source: socket.socket, target: socket.socket, pair: tuple[socket.socket, socket.socket]) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            self._close(pair)

    def _close(self, pair: tuple[socket.socket, socket.socket]) -> None:
        with self._lock:
            if pair not in self._pairs:
                return
            self._pairs.discard(pair)
        for sock in pair:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes the other direction's recv
            sock.close()

    def cut(self) -> int:
        """Close every connection and turn new ones away until :meth:`restore`; returns how many were closed."""
        with self._lock:
            self.open = False
            pairs = list(self._pairs)
        for pair in pairs:
            self._close(pair)
        self.cut_connections += len(pairs)
        return len(pairs)

    def restore(self) -> None:
        with self._lock:
            self.open = True

    def stop(self) -> None:
        """Close the listener and every connection, and wait for the relay's threads."""
        with self._lock:
            self._stopping = True
        self.cut()
        with suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes accept()
        self.listener.close()
        for thread in list(self._threads):
            thread.join(timeout=5)


class PrivateRedis:
    """A redis-server on a free port that this suite alone uses, so stopping it harms no one else."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        with (self.folder / "redis.log").open("ab") as out:
            self.process = subprocess.Popen(command, cwd=self.folder, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@contextmanager
def publishing_to(url: str) -> Iterator[None]:
    """Point this process's Celery app (``transcribe()``'s messages, the sweeper) at ``url``."""
    from kombu import pools

    from tests.celery_app import app

    def switch(target: str) -> None:
        pools.reset()  # closes and forgets kombu's shared connection and producer pools
        app.conf.broker_url = target
        app._pool = None  # the app's own references are rebuilt for the new URL on the next publish
        app.amqp._producer_pool = None

    previous = app.conf.broker_url
    switch(url)
    try:
        yield
    finally:
        switch(previous)


@contextmanager
def sweeping(every: float) -> Iterator[None]:
    """Run the sweeper in a thread every ``every`` seconds, as beat would."""
    from django.db import close_old_connections

    from django_slashml.jobs import sweeper

    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every):
            try:
                sweeper.sweep()
            except Exception:  # the broker may be down; beat would try again next time too
                logging.getLogger(__name__).warning("sweep failed", exc_info=True)
            finally:
                close_old_connections()

    thread = threading.Thread(target=loop, name="sweeper", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)


#: The queues, in the table's column order.
CELERY, TASKS = "Celery", "Django tasks (db_worker)"


@dataclass
class RunSummary:
    """One run on one queue: a cell of docs/reliability.md's table."""

    run: str
    load: str
    faults: str
    jobs: int
    lost: int
    duplicate_signals: int
    extra_submits: int
    outcome: str
    queue: str = CELERY

    def as_cell(self, *, with_faults: bool = False) -> str:
        load = f"{self.load}; {self.faults}" if with_faults else self.load
        counts = f"{self.lost} lost, {self.duplicate_signals} duplicate signals, {self.extra_submits} extra submits"
        return f"{load}: {counts}; {self.outcome}"


#: Cells where a run has nothing to break on a queue, and why.
NOT_ON = {
    ("Worker killed (RabbitMQ)", TASKS): "no broker: the queue is the database",
    ("Broker outage", TASKS): "no broker: the queue is the database",
    ("Worker killed mid-step (MariaDB)", TASKS): "not run: the database's part is the same as on Celery",
}


def report_table(results: list[RunSummary], earlier: list[str] | None = None) -> list[str]:
    """A row per run, a column per queue. ``earlier``, the table as it was: its cells for a run and
    queue that ``results`` lack stay (each step of ``make reliability-report`` runs a part)."""
    queues = [CELERY, TASKS]
    header = [
        "| run | faults injected | " + " | ".join(queues) + " |",
        "| --- | --- | " + " | ".join("---" for _ in queues) + " |",
    ]
    rows: dict[str, dict[str, str]] = {}
    if earlier and earlier[0] == header[0]:  # another layout's rows do not fit
        for line in earlier[2:]:
            name, faults, *cells = (cell.strip() for cell in line.strip().strip("|").split("|"))
            rows[name] = {"faults": faults, **dict(zip(queues, cells, strict=False))}
    for summary in sorted(results, key=lambda summary: summary.queue != CELERY):  # Celery's faults name the row
        row = rows.setdefault(summary.run, {"faults": summary.faults})
        if summary.queue == CELERY:
            row["faults"] = summary.faults
        row[summary.queue] = summary.as_cell(with_faults=summary.faults != row["faults"])
    lines = [
        "| "
        + " | ".join([name, row["faults"], *(row.get(q) or NOT_ON.get((name, q), "not run") for q in queues)])
        + " |"
        for name, row in rows.items()
    ]
    return [*header, *lines]


RESULTS: list[RunSummary] = []
#: Seconds from the SIGKILL to COMPLETED, by (database, queue, step killed).
RECOVERY_TIMES: dict[tuple[str, str, str], float] = {}
