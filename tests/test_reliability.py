"""Breaking things for real: faults from SlashML, killed workers, a broker outage, a database outage,
racing workers.

Service tier only: PostgreSQL, Redis (and RabbitMQ for one run), prefork workers started as
subprocesses, the sandbox as SlashML. Every run checks the same promise: every job ends,
``transcription_completed`` is committed exactly once per completed job, and SlashML got no
submit that was not needed. Each run adds a row to docs/reliability.md's table
(``make reliability-report`` rewrites it).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db.models import Count
from django.utils import timezone

from django_slashml import transcribe
from django_slashml.models import ACTIVE_STATUSES, JobEvent, JobStatus, TranscriptionJob
from django_slashml.sandbox.control import SandboxControl
from django_slashml.testing import sandbox_settings

from .conftest import SPEECH_WAV
from .reliability import recorder
from .reliability.harness import (
    CELERY,
    RESULTS,
    DatabaseProxy,
    PrivateRedis,
    RunSummary,
    SweepLoopProcess,
    WorkerProcess,
    publishing_to,
    sweeping,
)

pytestmark = [
    pytest.mark.services,
    pytest.mark.reliability,  # make test-services runs these alone, after its parallel part
    pytest.mark.skipif(
        os.environ.get("SLASHML_TEST_TIER") != "services",
        reason="worker subprocesses share the test database: PostgreSQL, the service tier",
    ),
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(600),
]

RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"
#: A fast schedule, so a run of hundreds of jobs takes a minute, with the same rules as production.
FAST = {
    "POLL_INITIAL_DELAY": 0.3,
    "POLL_DURATION_FACTOR": 0.0,
    "POLL_MIN_INTERVAL": 0.3,
    "POLL_BACKOFF_FACTOR": 1.3,
    "POLL_MAX_INTERVAL": 1.0,
    "RETRY_BASE_DELAY": 0.2,
    "RETRY_MAX_DELAY": 1.0,
    "MAX_TRANSIENT_FAILURES": 25,
    "CONNECT_TIMEOUT": 1.0,
    "READ_TIMEOUT": 1.0,
    "UPLOAD_READ_TIMEOUT": 2.0,
    "STATUS_HTTP_RETRIES": 0,
    "LEASE_SECONDS": 6,
    "TASK_TIME_LIMIT": 5,
    "TASK_SOFT_TIME_LIMIT": 4,
    "MAX_COUNTDOWN": 5,
    "SWEEP_GRACE": 1,
    "SWEEP_INTERVAL": 1,
}
SWEEP_EVERY = 1.0


def reachable(url: str) -> bool:
    host, port = url.split("@")[-1].split("/")[0].split(":")
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError:
        return False
    return True


def unique_wavs(folder: Path, count: int) -> list[Path]:
    """``count`` valid WAV files with different bytes: SlashML counts submits per audio hash."""
    data = bytearray(SPEECH_WAV.read_bytes())
    paths = []
    for index in range(count):
        data[-4:] = index.to_bytes(4, "little")  # the last two samples, inaudibly
        path = folder / f"{index:04d}" / "speech.wav"
        path.parent.mkdir()
        path.write_bytes(bytes(data))
        paths.append(path)
    return paths


class Run:
    """One reliability run: workers, the sweeper, the jobs, and the verdict."""

    def __init__(self, *, sandbox: Any, control: SandboxControl, settings: Any, media_root: Path, tmp_path: Path):
        self.control, self.tmp_path, self.media_root = control, tmp_path, media_root
        self.slashml = sandbox_settings(sandbox, **FAST)
        settings.SLASHML = self.slashml
        self.workers: list[WorkerProcess] = []
        self.cleanup = ExitStack()
        self.queue = CELERY

    def worker(
        self, broker: str | None = None, concurrency: int = 2, *, database_port: int | None = None
    ) -> WorkerProcess:
        """A prefork worker on ``broker``, by default the tier's Redis (a database number of this run's own).

        ``database_port``: reach PostgreSQL there (a :class:`DatabaseProxy`) instead of directly.
        """
        from django.conf import settings

        broker = broker or settings.CELERY_BROKER_URL
        log = self.tmp_path / f"worker-{len(self.workers)}.log"
        worker = WorkerProcess(
            broker=broker,
            slashml=self.slashml,
            media_root=str(self.media_root),
            log=log,
            concurrency=concurrency,
            database_port=database_port,
        )
        if not self.workers:
            if broker != settings.CELERY_BROKER_URL:
                self.cleanup.enter_context(publishing_to(broker))
            from tests.celery_app import app

            app.control.purge()  # messages an earlier, interrupted run left on the broker
        self.workers.append(worker.start())
        return worker

    def create(self, count: int, *, before_each: Callable[[int], None] | None = None) -> list[str]:
        ids = []
        for index, path in enumerate(unique_wavs(self.tmp_path, count)):
            if before_each:
                before_each(index)
            ids.append(str(transcribe(path, service_provider="whisper").pk))
        return ids

    def wait_until_all_end(self, timeout: float, *, during: Callable[[float], None] | None = None) -> None:
        started = time.monotonic()
        while TranscriptionJob.objects.filter(status__in=ACTIVE_STATUSES).exists():
            elapsed = time.monotonic() - started
            if elapsed > timeout:
                counts = dict(TranscriptionJob.objects.values_list("status").annotate(n=Count("pk")))
                fields = ("status", "next_poll_at", "lease_expires_at", "consecutive_failures", "error_message")
                sample = list(TranscriptionJob.objects.filter(status__in=ACTIVE_STATUSES).values(*fields)[:3])
                pytest.fail(
                    f"Jobs still active after {timeout:.0f}s: {counts}; at {timezone.now()}: {sample}\n"
                    f"{self.worker_logs()}"
                )
            if during:
                during(elapsed)
            time.sleep(0.25)

    def worker_logs(self) -> str:
        return "\n".join(w.log.read_text(errors="replace")[-3000:] for w in self.workers if w.log.exists())

    def verdict(
        self,
        name: str,
        load: str,
        faults: str,
        *,
        expect: str = JobStatus.COMPLETED,
        killed_in_flight: int = 0,
        note: str = "",
    ) -> RunSummary:
        """Check the promise and record the run. ``killed_in_flight``: steps a test killed mid-way;
        a submit among them may have reached SlashML with its answer lost, like a slow body."""
        jobs = {str(pk): status for pk, status in TranscriptionJob.objects.values_list("pk", "status")}
        completions = recorder.completions_per_job()
        stats = self.control.stats()
        lost_answers = stats["faults_by_endpoint"].get("submit:slow", 0)
        extra_submits = sum(count - 1 for count in stats["submits_per_audio"].values() if count > 1)
        lost = sum(1 for status in jobs.values() if status != expect)
        duplicates = sum(count - 1 for count in completions.values() if count > 1) + recorder.duplicate_transitions()
        summary = RunSummary(
            run=name,
            load=load,
            faults=faults,
            jobs=len(jobs),
            lost=lost,
            duplicate_signals=duplicates,
            extra_submits=max(0, extra_submits - lost_answers - killed_in_flight),
            outcome=(f"all {expect}" if lost == 0 else f"{lost} not {expect}")
            + (
                f"; {extra_submits} resubmit{'s' if extra_submits > 1 else ''} after a lost answer"
                if extra_submits
                else ""
            )
            + (f"; {note}" if note else ""),
            queue=self.queue,
        )
        RESULTS.append(summary)
        self.assert_key_never_shown()
        assert lost == 0, (Counter(jobs.values()), self.worker_logs())
        if expect == JobStatus.COMPLETED:
            assert set(completions) == set(jobs), "a completed job without its transcription_completed"
        assert duplicates == 0, "a signal or transition was committed twice"
        assert extra_submits <= lost_answers + killed_in_flight, (
            f"{extra_submits} repeated submits, but only {lost_answers} submit answers were lost "
            f"and {killed_in_flight} steps were killed mid-way"
        )
        self.assert_the_event_log_tells_the_same_story(jobs, stats, killed_in_flight=killed_in_flight)
        return summary

    def assert_the_event_log_tells_the_same_story(
        self, jobs: dict[str, str], stats: dict[str, Any], *, killed_in_flight: int
    ) -> None:
        """One ``completed`` event per completed job; a status-call event for each status call SlashML answered.

        The sandbox counts a status call once it passed the injected faults (500s, 429s and dropped
        connections never reach it); those answered 200, slow bodies included. A step killed mid-way
        loses its events with its change, so each kill may leave one call unlogged.
        """
        completed = Counter(
            str(pk) for pk in JobEvent.objects.filter(kind="completed").values_list("job_id", flat=True)
        )
        assert all(completed[pk] == (1 if status == JobStatus.COMPLETED else 0) for pk, status in jobs.items()), (
            "a completed job without exactly one completed event"
        )
        logged = JobEvent.objects.filter(kind="status", http_status=200).count()
        counted = sum(stats["polls_per_job"].values())
        assert counted - killed_in_flight <= logged <= counted, (
            f"{logged} status calls logged, the sandbox answered {counted} ({killed_in_flight} steps killed)"
        )

    def assert_key_never_shown(self) -> None:
        """Worker logs hold every failure of the run; neither they nor stored answers may hold the key."""
        key = self.slashml["API_KEY"]
        logs = [w.log.read_text(errors="replace") for w in self.workers if w.log.exists()]
        assert all(key not in log for log in logs), "the API key is in a worker's log"
        stored = TranscriptionJob.objects.values_list("last_response", "error_message")
        assert all(key not in json.dumps(response) + message for response, message in stored), "a row holds the key"

    def stop(self) -> None:
        """After the verdict nothing is in flight worth a warm shutdown's seconds."""
        for worker in self.workers:
            worker.kill()
        self.cleanup.close()


@pytest.fixture
def run(
    sandbox: Any, sandbox_control: SandboxControl, settings: Any, media_root: Path, tmp_path: Path
) -> Iterator[Run]:
    current = Run(sandbox=sandbox, control=sandbox_control, settings=settings, media_root=media_root, tmp_path=tmp_path)
    yield current
    current.stop()


# -- faults from SlashML -------------------------------------------------------------------------

SLASHML_FAULTS = {
    "error_rate": 0.2,
    "rate_limit_rate": 0.1,
    "retry_after": 0.3,
    "slow_body_rate": 0.03,
    "slow_body_delay": 1.6,  # past READ_TIMEOUT (1 s) and UPLOAD_READ_TIMEOUT... for reads only
    "drop_rate": 0.02,
    "processing_time": 0.5,
    "seed": 8,
}
FAULTS_LABEL = "20% 500, 10% 429 (Retry-After), 3% slow bodies past the read timeout, 2% dropped connections"


def test_300_jobs_through_500s_429s_slow_bodies_and_dropped_connections(run: Run) -> None:
    run.control.set_faults(**SLASHML_FAULTS)
    run.control.set_quirks(echo_credentials=True)  # every answer carries the key: the logs must not
    run.worker()
    with sweeping(SWEEP_EVERY):
        run.create(300)
        run.wait_until_all_end(timeout=300)
    run.verdict("SlashML faults", "300 jobs, 1 worker x 2 prefork, Redis", FAULTS_LABEL)


def test_killing_the_worker_on_rabbitmq_loses_nothing(run: Run) -> None:
    """The one RabbitMQ run: what differs from Redis is the broker, so the broker's part is broken.

    A worker killed mid-run leaves RabbitMQ unacknowledged messages (steps started, countdowns
    held for later), which it hands back when the connection drops, where Redis waits for its
    visibility timeout. Publishing at commit, acks_late and one prefetched task per process run
    here on RabbitMQ too; the fault mix itself is the broker-independent Redis run above.
    """
    if not reachable(RABBITMQ):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("RabbitMQ is required in CI (127.0.0.1:5672).")
        pytest.skip("RabbitMQ not reachable on 127.0.0.1:5672.")
    run.control.set_faults(processing_time=0.5, latency=0.02, seed=4)
    worker = run.worker(broker=RABBITMQ)
    kills = {"main": 0}

    def crash(elapsed: float) -> None:
        # By progress, not the clock, so both kills land while jobs are active: at 25% and 60% ended.
        progress = TranscriptionJob.objects.exclude(status__in=ACTIVE_STATUSES).count() / 80
        if kills["main"] < 2 and progress >= 0.25 + 0.35 * kills["main"]:
            worker.kill()
            kills["main"] += 1
            worker.start()

    with sweeping(SWEEP_EVERY):
        run.create(80)
        run.wait_until_all_end(timeout=240, during=crash)
    assert kills == {"main": 2}, kills
    run.verdict(
        "Worker killed (RabbitMQ)",
        "80 jobs, 1 worker x 2 prefork",
        "SIGKILL the worker 2x",
        killed_in_flight=kills["main"] * worker.concurrency,
    )


# -- worker crashes --------------------------------------------------------------------------------


def test_killing_pool_processes_and_the_worker_loses_nothing(run: Run) -> None:
    run.control.set_faults(processing_time=0.5, latency=0.02, seed=3)
    worker = run.worker()
    kills = {"child": 0, "main": 0}

    def crash(elapsed: float) -> None:
        # Kills follow the run's progress, not the clock, so all of them land while jobs are active:
        # pool processes at 4%, 8% ... 24% of jobs ended, the worker itself at 30%, 45% and 60%.
        if worker.process and worker.process.poll() is not None:
            return
        progress = TranscriptionJob.objects.exclude(status__in=ACTIVE_STATUSES).count() / 200
        if kills["child"] < 6 and progress >= 0.04 * (kills["child"] + 1) and worker.kill_child():
            kills["child"] += 1
        elif kills["child"] >= 6 and kills["main"] < 3 and progress >= 0.30 + 0.15 * kills["main"]:
            worker.kill()
            kills["main"] += 1
            worker.start()

    with sweeping(SWEEP_EVERY):
        run.create(200)
        run.wait_until_all_end(timeout=300, during=crash)
    assert kills == {"child": 6, "main": 3}, kills
    run.verdict(
        "Worker crashes",
        "200 jobs, 1 worker x 2 prefork",
        "SIGKILL a pool process 6x, the worker 3x",
        killed_in_flight=kills["child"] + kills["main"] * worker.concurrency,
    )


def test_a_hung_pool_process_holds_its_job_no_longer_than_the_time_limit_and_the_lease(run: Run) -> None:
    """SIGSTOP the worker's one pool process mid-step: Celery's hard time limit ends it, the lease frees the job."""
    run.control.set_faults(processing_time=1.0, latency=0.3, seed=9)
    worker = run.worker(concurrency=1)
    paused: dict[str, Any] = {}

    def hang(elapsed: float) -> None:
        if paused or elapsed < 1:
            return
        held = TranscriptionJob.objects.filter(lease_owner__gt="").values_list("pk", flat=True).first()
        (child,) = worker.pool_children() or (None,)
        if held is not None and child is not None:
            os.kill(child, signal.SIGSTOP)
            paused.update(at=timezone.now(), job=held, pid=child)

    with sweeping(SWEEP_EVERY):
        run.create(6)
        run.wait_until_all_end(timeout=120, during=hang)
    assert paused, "the pool process was never paused mid-step"
    assert paused["pid"] not in worker.pool_children(), "the hung pool process was not replaced"
    held_job = TranscriptionJob.objects.get(pk=paused["job"])
    assert held_job.completed_at is not None
    assert (held_job.completed_at - paused["at"]).total_seconds() < 60
    run.verdict("Hung worker", "6 jobs, 1 worker x 1 prefork", "SIGSTOP a worker mid-step", killed_in_flight=1)


# -- broker outage -----------------------------------------------------------------------------------


def test_a_broker_outage_is_recovered_by_the_sweeper(run: Run, tmp_path: Path) -> None:
    redis = PrivateRedis(tmp_path)
    redis.start()
    try:
        run.control.set_faults(processing_time=1.0, seed=5)
        run.worker(broker=redis.url)
        back_at: dict[str, float] = {}

        def outage_during_creation(index: int) -> None:
            if index == 20:
                redis.stop()  # jobs 20..39 are created while the broker is down

        with sweeping(SWEEP_EVERY):
            run.create(40, before_each=outage_during_creation)
            time.sleep(2)  # polls fall due with no broker
            redis.start()
            back_at["t"] = time.monotonic()
            run.wait_until_all_end(timeout=180)
        recovered_in = time.monotonic() - back_at["t"]
        # After the broker returns, a job waits at most for the next sweep, its grace, and its steps.
        assert recovered_in < 60, recovered_in
        stuck = TranscriptionJob.objects.filter(status__in=ACTIVE_STATUSES).count()
        assert stuck == 0
    finally:
        redis.stop()
    run.verdict("Broker outage", "40 jobs, 1 worker x 2 prefork", "Redis stopped during creation and due polls")


# -- database outage -------------------------------------------------------------------------------------

#: How long the database is gone: about a PostgreSQL restart, or a managed database's failover.
OUTAGE_SECONDS = 5.0
OUTAGE_LABEL = "every PostgreSQL connection cut, new ones refused, for 5 s, mid-step"
#: A longer lease than FAST's, as in production (30 s) longer than the outage, so a step that holds
#: a submit's answer still holds the job when the database returns; the time limits above it.
OUTAGE_SETTINGS = {"LEASE_SECONDS": 10, "TASK_SOFT_TIME_LIMIT": 9, "TASK_TIME_LIMIT": 10}
#: How long a supervisor waits before starting an exited process again (systemd's RestartSec).
RESTART_AFTER = 1.0


@dataclass
class Outage:
    """What a database outage did: steps cut mid-way, processes that exited, how long recovery took."""

    in_flight: dict[str, str]  # job id -> its status when the step holding it was cut off
    connections_cut: int
    restarts: Counter[str]  # "worker" or "sweeper" -> how often the supervisor started it again
    back_in_work: float  # seconds from the restore until the last cut-off job was written or claimed again
    all_ended: float  # seconds from the restore until every job ended

    def steps(self) -> str:
        kinds = Counter(
            "submit or upload" if status == JobStatus.PENDING else "poll" for status in self.in_flight.values()
        )
        return ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))


def database_outage(run: Run, settings: Any, start_workers: Callable[[int], list[WorkerProcess]], jobs: int) -> Outage:
    """``jobs`` jobs; the database cut for ``OUTAGE_SECONDS`` while steps are in flight, then restored.

    The workers and the sweeper (``slashml_sweep --loop``, a process of its own) reach PostgreSQL
    through a :class:`DatabaseProxy`; this process creates the jobs and checks them directly.
    Like systemd with ``Restart=always``, the test starts again, after ``RESTART_AFTER``, any of
    them that exits.
    """
    from django.conf import settings as django_settings

    run.slashml = {**run.slashml, **OUTAGE_SETTINGS}
    settings.SLASHML = run.slashml
    run.control.set_faults(processing_time=1.0, latency=0.2, seed=12)
    proxy = DatabaseProxy().start()
    run.cleanup.callback(proxy.stop)
    start_workers(proxy.port)
    sweeper = SweepLoopProcess(
        broker=django_settings.CELERY_BROKER_URL,
        slashml=run.slashml,
        media_root=str(run.media_root),
        log=run.tmp_path / "sweeper.log",
        database_port=proxy.port,
    )
    run.workers.append(sweeper.start())
    exited: dict[int, float] = {}
    restarts: Counter[str] = Counter()

    def supervise(elapsed: float) -> None:
        for index, process in enumerate(run.workers):
            if process.process is None or process.process.poll() is None:
                continue
            since = exited.setdefault(index, time.monotonic())
            if time.monotonic() - since >= RESTART_AFTER:
                del exited[index]
                restarts["sweeper" if process is sweeper else "worker"] += 1
                process.start()

    run.create(jobs)
    # Cut once steps are in flight: some jobs submitted, others still to upload and submit.
    wait_for(lambda: TranscriptionJob.objects.exclude(remote_id="").count() >= jobs // 8, timeout=30, during=supervise)
    leased = TranscriptionJob.objects.filter(lease_owner__gt="")
    # At least one of them uploading or submitting: the steps whose answer the outage must not lose.
    wait_for(
        lambda: leased.count() >= 2 and leased.filter(status=JobStatus.PENDING).exists(), timeout=10, during=supervise
    )
    connections_cut = proxy.cut()
    time.sleep(0.3)  # a commit already on its way when the relay closed lands or not
    held = dict(TranscriptionJob.objects.filter(lease_owner__gt="").values_list("pk", "lease_owner"))
    in_flight = {
        str(pk): status for pk, status in TranscriptionJob.objects.filter(pk__in=held).values_list("pk", "status")
    }
    assert JobStatus.PENDING in in_flight.values(), f"no upload or submit was cut: {in_flight}"
    back_at = time.monotonic() + OUTAGE_SECONDS - 0.3
    while time.monotonic() < back_at:
        supervise(0)
        time.sleep(0.1)
    proxy.restore()
    restored = time.monotonic()
    back: dict[str, float] = {}

    def watch(elapsed: float) -> None:
        supervise(elapsed)
        owners = TranscriptionJob.objects.filter(pk__in=held).values_list("pk", "lease_owner")
        for pk, owner in owners:
            if owner != held[pk]:  # its step's write landed, or the job was claimed again
                back.setdefault(str(pk), time.monotonic() - restored)

    run.wait_until_all_end(timeout=60, during=watch)
    all_ended = time.monotonic() - restored
    watch(0)
    assert set(back) == set(in_flight), "a job cut off mid-step was never taken up again"
    uploads = run.control.stats()["calls"].get("upload", 0)
    assert uploads == jobs, f"{uploads} uploads for {jobs} files: an upload's URL was lost with the database"
    return Outage(
        in_flight=in_flight,
        connections_cut=connections_cut,
        restarts=restarts,
        back_in_work=max(back.values(), default=0.0),
        all_ended=all_ended,
    )


def wait_for(predicate: Callable[[], bool], *, timeout: float, during: Callable[[float], None]) -> None:
    """Wait until ``predicate`` holds, calling ``during`` meanwhile; fail after ``timeout``."""
    started = time.monotonic()
    while not predicate():
        elapsed = time.monotonic() - started
        assert elapsed < timeout, "the run never reached the state the fault needs"
        during(elapsed)
        time.sleep(0.1)


def test_a_database_outage_mid_step_loses_and_repeats_nothing(run: Run, settings: Any) -> None:
    """The database goes away under a running Celery worker: its steps fail, its tasks end, the worker stays."""
    outage = database_outage(run, settings, lambda port: [run.worker(database_port=port)], jobs=40)
    assert outage.restarts == Counter(), f"a process exited and was restarted: {outage.restarts}"
    assert outage.all_ended < 60, outage
    summary = run.verdict(
        "Database outage",
        "40 jobs, 1 worker x 2 prefork, lease 10 s",
        OUTAGE_LABEL,
        killed_in_flight=len(outage.in_flight),
        note=outage_note(outage, "no process exited"),
    )
    assert "resubmit" not in summary.outcome, "a submit's answer was lost with the database"


def outage_note(outage: Outage, processes: str) -> str:
    return (
        f"{outage.connections_cut} connections cut, steps in flight: {outage.steps()}; "
        f"{processes}; those jobs back {outage.back_in_work:.0f} s after the restore, "
        f"all ended {outage.all_ended:.0f} s after it"
    )


# -- racing workers on the database --------------------------------------------------------------------


def test_two_workers_racing_on_the_same_due_jobs_never_double_poll_or_transition(run: Run) -> None:
    run.control.set_faults(**RACING_FAULTS)
    run.worker(concurrency=2)
    run.worker(concurrency=2)
    race(run, 60)
    run.verdict("Racing workers", "60 jobs, 2 workers x 2 prefork, 0.3 s per request", RACING_LABEL)


#: Every request takes 0.3 s, so a claimed step holds its lease while the job still looks due.
RACING_FAULTS = {"processing_time": 2.0, "latency": 0.3, "seed": 11}
RACING_LABEL = "every due job, leased or not, sent twice more each half second"


def race(run: Run, jobs: int) -> None:
    """Create ``jobs`` and, like a redelivery storm, send every due job's step twice more each half
    second, leased or not, one for each worker: only the lease holder may act."""
    from django_slashml.jobs import dispatch

    last = {"at": 0.0}

    def duplicate_messages(elapsed: float) -> None:
        if elapsed - last["at"] < 0.5:
            return
        last["at"] = elapsed
        due = TranscriptionJob.objects.active().filter(next_poll_at__lte=timezone.now())
        for pk, status in due.values_list("pk", "status"):
            dispatch.dispatch(pk, status)
            dispatch.dispatch(pk, status)

    with sweeping(0.5):
        run.create(jobs)
        run.wait_until_all_end(timeout=150, during=duplicate_messages)
    polls = run.control.stats()["polls_per_job"]
    # processing 2 s, first poll after 0.3 s, then every 0.3 s growing x1.3 to 1 s, each poll
    # taking 0.3 s: at most 6 polls when each due step is run once.
    assert max(polls.values()) <= 6, sorted(polls.values())


# -- the deadline --------------------------------------------------------------------------------------------


def test_a_job_slashml_never_finishes_ends_in_error_at_its_deadline(run: Run, settings: Any) -> None:
    with_deadline(run, settings)
    run.worker()
    never_finish(run)
    run.verdict("Deadline", "5 jobs SlashML never finishes", "never_finish_rate 1.0", expect=JobStatus.ERROR)


def with_deadline(run: Run, settings: Any) -> None:
    """A 4 s deadline, for this process and the workers started after."""
    run.slashml = {**run.slashml, "JOB_DEADLINE": 4}
    settings.SLASHML = run.slashml


def never_finish(run: Run) -> None:
    """Five jobs SlashML never finishes: each ends in ERROR at its deadline."""
    run.control.set_faults(never_finish_rate=1.0, seed=1)
    with sweeping(SWEEP_EVERY):
        ids = run.create(5)
        run.wait_until_all_end(timeout=60)
    for job in TranscriptionJob.objects.filter(pk__in=ids):
        assert job.status == JobStatus.ERROR
        assert job.error_message.startswith("Timed out: SlashML did not finish within"), job.error_message
        assert job.completed_at is None or job.completed_at >= job.deadline_at
