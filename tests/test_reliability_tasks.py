"""The reliability promise on Django's task framework: django-tasks-db's ``db_worker`` processes.

The same runs' bookkeeping as tests/test_reliability.py (its ``Run`` and verdict), with the
jobs on ``SLASHML["QUEUE"] = "tasks"``: the framework neither retries nor recovers a task
whose worker died, and has no time limit, so the job row's lease and the sweeper are all
that bring a killed or hung worker's job back. Service tier only (workers share PostgreSQL).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from django_slashml.jobs import queues, sweeper
from django_slashml.models import ACTIVE_STATUSES, JobStatus, TranscriptionJob
from django_slashml.sandbox.control import SandboxControl

from .reliability.harness import TASKS, DbWorkerProcess, sweeping
from .test_reliability import (
    FAULTS_LABEL,
    OUTAGE_LABEL,
    RACING_FAULTS,
    RACING_LABEL,
    SLASHML_FAULTS,
    SWEEP_EVERY,
    Run,
    database_outage,
    never_finish,
    outage_note,
    race,
    wait_for,
    with_deadline,
)
from .test_reliability import pytestmark as reliability_marks

pytestmark = [
    *reliability_marks,
    pytest.mark.skipif(queues.framework() is None, reason='needs pip install "django-slashml[tasks]"'),
]


@pytest.fixture
def run(
    sandbox: Any, sandbox_control: SandboxControl, settings: Any, media_root: Path, tmp_path: Path
) -> Iterator[Run]:
    current = Run(sandbox=sandbox, control=sandbox_control, settings=settings, media_root=media_root, tmp_path=tmp_path)
    current.slashml = {**current.slashml, "QUEUE": "tasks"}
    settings.SLASHML = current.slashml
    current.queue = TASKS
    yield current
    current.stop()


def db_worker(run: Run, *, database_port: int | None = None) -> DbWorkerProcess:
    log = run.tmp_path / f"db-worker-{len(run.workers)}.log"
    worker = DbWorkerProcess(
        broker="", slashml=run.slashml, media_root=str(run.media_root), log=log, database_port=database_port
    )
    run.workers.append(worker.start())
    return worker


def our_results(status: str, *, worker: DbWorkerProcess | None = None) -> int:
    from django_tasks_db.models import DBTaskResult

    rows = DBTaskResult.objects.filter(status=status, task_path__startswith="django_slashml.")
    if worker is not None:
        rows = rows.filter(worker_ids__contains=[worker.worker_id])
    return rows.count()


def test_jobs_on_db_workers_through_500s_429s_slow_bodies_and_dropped_connections(run: Run) -> None:
    run.control.set_faults(**SLASHML_FAULTS)
    run.control.set_quirks(echo_credentials=True)  # every answer carries the key: the logs must not
    db_worker(run)
    db_worker(run)
    with sweeping(SWEEP_EVERY):
        run.create(JOBS_THROUGH_FAULTS)
        run.wait_until_all_end(timeout=300)
    run.verdict("SlashML faults", f"{JOBS_THROUGH_FAULTS} jobs, 2 db_worker", FAULTS_LABEL)


#: Fewer than on Celery: a db_worker runs one step at a time and looks for the next in the table.
JOBS_THROUGH_FAULTS = 100


def test_killing_db_workers_loses_nothing_and_their_running_rows_are_failed(run: Run) -> None:
    run.control.set_faults(processing_time=0.5, latency=0.02, seed=6)
    workers = [db_worker(run), db_worker(run)]
    kills: list[int] = []

    def crash(elapsed: float) -> None:
        progress = TranscriptionJob.objects.exclude(status__in=ACTIVE_STATUSES).count() / 60
        victim = workers[len(kills) % 2]
        # Mid-step, so the kill leaves a RUNNING row behind as well as a leased job.
        if len(kills) < 2 and progress >= 0.25 + 0.35 * len(kills) and our_results("RUNNING", worker=victim):
            victim.kill()
            kills.append(victim.process.pid if victim.process else 0)
            victim.start()

    with sweeping(SWEEP_EVERY):
        run.create(60)
        run.wait_until_all_end(timeout=180, during=crash)
    assert len(kills) == 2, kills
    run.verdict(
        "Worker crashes",
        "60 jobs, 2 db_worker",
        "SIGKILL a db_worker 2x",
        killed_in_flight=len(kills),
    )
    # A killed worker's row stays RUNNING; once it is older than the lease, the sweep fails it.
    for worker in workers:
        worker.stop()  # a SIGTERM between claiming a task and starting it leaves a RUNNING row too
    time.sleep(float(run.slashml["LEASE_SECONDS"]) + 0.5)
    sweeper.sweep()
    assert our_results("RUNNING") == 0
    assert our_results("FAILED") >= 1, "no killed worker's row was marked failed"


def test_a_hung_db_worker_holds_its_job_no_longer_than_the_lease(run: Run) -> None:
    """SIGSTOP one worker mid-step: the task framework has no time limit, the lease is the only bound."""
    run.control.set_faults(processing_time=1.0, latency=0.3, seed=9)
    from django_tasks_db.models import DBTaskResult

    hung, _ = db_worker(run), db_worker(run)
    paused: dict[str, Any] = {}

    def hang(elapsed: float) -> None:
        if paused or elapsed < 1:
            return
        held = DBTaskResult.objects.filter(status="RUNNING", worker_ids__contains=[hung.worker_id]).first()
        if held is not None:
            hung.pause()
            paused.update(at=timezone.now(), job=held.args_kwargs["args"][0])

    with sweeping(SWEEP_EVERY):
        run.create(12)
        run.wait_until_all_end(timeout=120, during=hang)
    assert paused, "the worker was never paused mid-run"
    # The held job waited for its lease to end, the sweep to see it overdue, then its remaining steps
    # behind the other jobs queued for the one worker left: within the 60 s the docs promise.
    s = run.slashml
    bound = max(60.0, s["LEASE_SECONDS"] + s["SWEEP_GRACE"] + SWEEP_EVERY + 10)
    held_job = TranscriptionJob.objects.get(pk=paused["job"])
    assert held_job.completed_at is not None
    assert (held_job.completed_at - paused["at"]).total_seconds() < bound
    hung.kill()  # SIGKILL ends a stopped process too; the verdict is taken without it
    run.verdict("Hung worker", "12 jobs, 2 db_worker", "SIGSTOP a worker mid-step", killed_in_flight=1)


def test_a_database_outage_mid_step_on_db_workers_loses_and_repeats_nothing(run: Run, settings: Any) -> None:
    """The database goes away under two db_workers: a worker that meets it gone exits; its supervisor restarts it.

    django-tasks-db's worker loop re-raises a database error other than "locked", so a
    ``db_worker`` ends at its next look for work, or when it cannot record a task's end (a worker
    writing SlashML's answer waits for the database instead). The test starts an exited worker
    again as systemd's ``Restart=always`` would (docs/deployment.md).
    """
    outage = database_outage(
        run, settings, lambda port: [db_worker(run, database_port=port), db_worker(run, database_port=port)], jobs=40
    )
    assert outage.restarts["sweeper"] == 0, "slashml_sweep --loop exited with the database"
    assert outage.all_ended < 60, outage
    restarted = outage.restarts["worker"]
    summary = run.verdict(
        "Database outage",
        "40 jobs, 2 db_worker, lease 10 s, restarted 1 s after they exit (as Restart=always)",
        OUTAGE_LABEL,
        killed_in_flight=len(outage.in_flight),
        note=outage_note(
            outage, f"db_worker exited and was restarted {restarted}x" if restarted else "no db_worker exited"
        ),
    )
    assert "resubmit" not in summary.outcome, "a submit's answer was lost with the database"
    # The rows of the tasks the exits cut short stayed RUNNING; the sweep has failed them since.
    wait_for(lambda: our_results("RUNNING") == 0, timeout=float(run.slashml["LEASE_SECONDS"]), during=lambda _: None)


def test_two_db_workers_racing_on_the_same_due_jobs_never_double_poll_or_transition(run: Run) -> None:
    run.control.set_faults(**RACING_FAULTS)
    db_worker(run)
    db_worker(run)
    race(run, 20)
    run.verdict("Racing workers", "20 jobs, 2 db_worker, 0.3 s per request", RACING_LABEL)


def test_a_job_slashml_never_finishes_ends_in_error_at_its_deadline_on_db_workers(run: Run, settings: Any) -> None:
    with_deadline(run, settings)
    db_worker(run)
    never_finish(run)
    run.verdict("Deadline", "5 jobs SlashML never finishes", "never_finish_rate 1.0", expect=JobStatus.ERROR)
