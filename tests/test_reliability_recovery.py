"""A worker SIGKILLed mid-step: its jobs complete within a minute, on PostgreSQL and on MariaDB.

With the shipped lease and sweep (docs/deployment.md), so the bound measured is the one a
deployment gets. One worker with three pool processes holds three jobs, each of which SlashML
keeps waiting in a different call (an upload, a submit, a poll); one SIGKILL takes all three
down, and a supervisor restarts the worker at once; on Django's task framework, three
``db_worker`` processes, one step each. The service tier runs it on PostgreSQL, the
MariaDB tier on MariaDB (``make test-mariadb``): the lease, the claim that counts the dead
worker's attempt, and the sweeper's ``SKIP LOCKED`` are each database's SQL. The workers use a
Redis server of the test's own, since the MariaDB tier has no broker.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from django_slashml.jobs import queues
from django_slashml.models import JobStatus, TranscriptionJob
from django_slashml.sandbox.control import SandboxControl

from .reliability.harness import CELERY, RECOVERY_TIMES, TASKS, PrivateRedis, WorkerProcess, sweeping
from .test_reliability import Run
from .test_reliability_tasks import db_worker

pytestmark = [
    pytest.mark.services,
    pytest.mark.reliability,  # the service and MariaDB tiers run these alone, after their parallel part
    pytest.mark.skipif(
        os.environ.get("SLASHML_TEST_TIER") not in ("services", "mariadb"),
        reason="worker subprocesses share the test database: PostgreSQL or MariaDB",
    ),
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(600),
]

#: The shipped lease and sweep. The read timeouts outlast the stall, so each step is still waiting
#: for SlashML when the worker is killed. The learned poll schedule is on, as shipped: the job whose
#: poll the kill held up must not teach it that SlashML took the whole recovery.
RECOVERY = {
    "LEASE_SECONDS": 30,
    "TASK_TIME_LIMIT": 1800,
    "TASK_SOFT_TIME_LIMIT": 1740,
    "SWEEP_GRACE": 10,
    "READ_TIMEOUT": 60.0,
    "UPLOAD_READ_TIMEOUT": 60.0,
}
RECOVERY_SWEEP_EVERY = 10.0
#: SlashML holds its answer to the first call of each kind for this long.
STALL = 20.0
#: The sandbox's endpoint names, and what the table calls the step.
KILL_POINTS = {"upload": "upload", "submit": "submit", "status": "poll"}
DATABASES = {"postgresql": "PostgreSQL", "mysql": "MariaDB"}


def call_in_flight(job: TranscriptionJob) -> str:
    """The call a leased job's step is making, by its row: a poll once submitted, a submit once counted."""
    if job.status in (JobStatus.QUEUED, JobStatus.IN_PROGRESS):
        return "status"
    return "submit" if job.submit_attempts else "upload"


@pytest.fixture
def run(
    sandbox: Any, sandbox_control: SandboxControl, settings: Any, media_root: Path, tmp_path: Path
) -> Iterator[Run]:
    current = Run(sandbox=sandbox, control=sandbox_control, settings=settings, media_root=media_root, tmp_path=tmp_path)
    current.slashml = {**current.slashml, **RECOVERY}
    settings.SLASHML = current.slashml
    yield current
    current.stop()


class Workers:
    """The workers of one queue, three steps at a time, that a SIGKILL takes down together."""

    def __init__(self, run: Run, queue: str, settings: Any, tmp_path: Path) -> None:
        if queue == TASKS:  # one step at a time each
            run.slashml = {**run.slashml, "QUEUE": "tasks"}
            settings.SLASHML = run.slashml
            run.queue = TASKS
            self.processes: list[WorkerProcess] = [db_worker(run) for _ in KILL_POINTS]
        else:
            redis = PrivateRedis(tmp_path)
            redis.start()
            run.cleanup.callback(redis.stop)  # after the workers stop and publishing switches back
            self.processes = [run.worker(broker=redis.url, concurrency=len(KILL_POINTS))]

    def kill_and_restart(self) -> None:
        """As a supervisor would restart them, at once."""
        for worker in self.processes:
            worker.kill()
        for worker in self.processes:
            worker.start()


@pytest.mark.parametrize(
    "queue",
    [
        CELERY,
        pytest.param(
            TASKS,
            marks=[
                pytest.mark.skipif(queues.framework() is None, reason='needs pip install "django-slashml[tasks]"'),
                pytest.mark.skipif(
                    os.environ.get("SLASHML_TEST_TIER") != "services", reason="the database's part is Celery's"
                ),
            ],
        ),
    ],
    ids=["celery", "db_worker"],
)
def test_jobs_whose_worker_was_killed_mid_upload_submit_and_poll_complete_within_a_minute(
    run: Run, settings: Any, tmp_path: Path, queue: str
) -> None:
    database = DATABASES.get(connection.vendor, connection.vendor)
    script = [{"endpoint": endpoint, "fault": "slow"} for endpoint in KILL_POINTS]
    run.control.set_faults(processing_time=0.5, slow_body_delay=STALL, script=script)
    workers = Workers(run, queue, settings, tmp_path)
    with sweeping(RECOVERY_SWEEP_EVERY):
        ids = run.create(len(KILL_POINTS))
        deadline = time.monotonic() + 60
        while True:  # each step has taken its lease and made its call: SlashML is holding the answers
            stalled = run.control.stats()["faults_by_endpoint"]
            held = {call_in_flight(job): str(job.pk) for job in TranscriptionJob.objects.filter(lease_owner__gt="")}
            if all(stalled.get(f"{endpoint}:slow") for endpoint in KILL_POINTS) and set(held) == set(KILL_POINTS):
                break
            assert time.monotonic() < deadline, f"the steps never reached their calls: {stalled}, {held}"
            time.sleep(0.1)
        time.sleep(1.0)
        killed_at = timezone.now()
        workers.kill_and_restart()
        run.wait_until_all_end(timeout=120)
    completed = {
        str(pk): at for pk, at in TranscriptionJob.objects.filter(pk__in=ids).values_list("pk", "completed_at")
    }
    back_after = {KILL_POINTS[endpoint]: (completed[pk] - killed_at).total_seconds() for endpoint, pk in held.items()}
    for step, seconds in back_after.items():
        RECOVERY_TIMES[(database, queue, step)] = seconds
        print(f"{database}, {queue}: killed mid-{step}, completed {seconds:.1f} s after the kill")
    assert max(back_after.values()) < 60, f"{database}, {queue}: seconds from the kill to COMPLETED: {back_after}"
    times = ", ".join(f"{step} {back_after[step]:.0f} s" for step in KILL_POINTS.values())
    load = "3 jobs, 1 worker x 3 prefork" if queue == CELERY else "3 jobs, 3 db_worker"
    run.verdict(
        f"Worker killed mid-step ({database})",
        f"{load}, lease 30 s, sweep every 10 s",
        "SIGKILL while SlashML holds an upload, a submit and a poll answer",
        killed_in_flight=len(KILL_POINTS),
        note=f"completed after the kill: {times}",
    )
