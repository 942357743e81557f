"""4. Throughput through the whole pipeline with instant SlashML jobs, and where the time goes."""

from __future__ import annotations

import cProfile
import pstats
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.test import override_settings
from django.utils import timezone

from django_slashml import transcribe
from django_slashml.jobs import pipeline
from django_slashml.models import JobStatus, TranscriptionJob
from django_slashml.remote.client import get_client, reset_default_client
from tests.statements import JobStatements, count_job_statements

from . import cpu
from .harness import SandboxProcess, Workers, empty_tables
from .pipeline_runs import audio_files, run_jobs
from .report import Section, Target

#: Polls as soon as SlashML could have finished: the run measures the pipeline, not the schedule.
INSTANT = {"POLL_INITIAL_DELAY": 0.02, "POLL_MIN_INTERVAL": 0.02, "POLL_LEARNED_MIN_DELAY": 0.02, "POLL_JITTER": 0.0}

#: Where a frame's cumulative time goes, by the function that owns it.
BUCKETS = {
    "HTTP to SlashML (requests, incl. waiting for the sandbox)": ("requests/sessions.py", "request"),
    "SQL (PostgreSQL round trips)": ("django/db/backends/utils.py", "_execute"),
    "storage (reading the stored audio)": ("django_slashml/audio/streaming.py", "read"),
    "signals (sending transcription_completed etc.)": ("django_slashml/signals.py", "send_in_transaction"),
}


def _profile_hot_path(bench: Any, sandbox: SandboxProcess, count: int) -> list[str]:
    """Both steps of ``count`` jobs in this process under cProfile: start (upload + submit), then poll."""
    empty_tables()
    files = audio_files(bench.workdir / "profile-audio", count, 0.5, tag="profile")
    with override_settings(SLASHML={**bench.slashml(sandbox.url), **INSTANT}):
        reset_default_client()
        # No worker runs now: this process takes each step itself, and the messages are flushed after.
        ids = [transcribe(path, service_provider="assembly").pk for path in files]
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for job_id in ids:
            pipeline.advance(job_id)
        time.sleep(0.05)  # the sandbox finishes the jobs
        TranscriptionJob.objects.filter(pk__in=ids).update(next_poll_at=timezone.now())
        for job_id in ids:
            pipeline.advance(job_id)
        profiler.disable()
        elapsed = time.perf_counter() - started
        reset_default_client()
    bench.flush()
    done = TranscriptionJob.objects.filter(pk__in=ids, status=JobStatus.COMPLETED).count()
    stats = pstats.Stats(profiler)
    entries = stats.stats  # type: ignore[attr-defined]
    lines = [f"{done}/{count} jobs, both steps, {1000 * elapsed / count:.1f} ms per job in one process"]
    for label, (suffix, function) in BUCKETS.items():
        cumulative = sum(
            entry[3] for (filename, _, name), entry in entries.items() if filename.endswith(suffix) and name == function
        )
        lines.append(f"{label}: {100 * cumulative / elapsed:.1f}%")
    top = sorted(entries.items(), key=lambda item: item[1][2], reverse=True)[:6]
    own = [f"{name} ({'/'.join(filename.rsplit('/', 2)[-2:])}) {100 * entry[2] / elapsed:.0f}%"
           for (filename, _, name), entry in top]  # fmt: skip
    lines.append("largest own time: " + ", ".join(own))
    return lines


@dataclass(frozen=True)
class Run:
    """One row: the pool, how many processes run tasks, the event log, whether Celery keeps connections."""

    pool: str
    processes: int
    log: bool = True
    kept: bool = True

    @property
    def tag(self) -> str:
        return f"{self.pool}{self.processes}{'' if self.log else '-nolog'}{'' if self.kept else '-closed'}"

    @property
    def workers(self) -> str:
        if self.pool == "prefork":
            return f"1 prefork worker, {self.processes} {'child' if self.processes == 1 else 'children'}"
        return f"{self.processes} solo {'worker' if self.processes == 1 else 'workers'}"


#: Two processes that take and run the tasks, one per core, nothing between them and Redis.
SOLO = Run("solo", 2)
#: Celery's default pool: one worker with 2 children, and a third process that routes the messages.
PREFORK = Run("prefork", 2)
#: SOLO with the event log off, and with Celery's default of closing the database connection around every task.
NO_LOG, CLOSED = Run("solo", 2, log=False), Run("solo", 2, kept=False)
RUNS = (Run("solo", 1), SOLO, PREFORK, NO_LOG, CLOSED)


class _Gauges:
    """What a run measures besides its clock: CPU from the commit on, and the machine's speed while it waits."""

    def __init__(self) -> None:
        self.speed = cpu.SpeedGauge()
        self._at_commit: dict[tuple[str, str], float] = {}

    def at_commit(self) -> None:
        self._at_commit = cpu.snapshot()

    def cpu_used(self) -> Counter[str]:
        """CPU seconds by process kind since the commit, without the speed gauge's own."""
        used = cpu.spent(self._at_commit, cpu.snapshot())
        used["driver"] -= self.speed.spent_seconds
        return used

    def speed_text(self) -> str:
        samples = self.speed.samples
        if not samples:
            return "n/a"
        return f"{self.speed.median():.1f} (median of {len(samples)}, {min(samples):.1f} to {max(samples):.1f})"


def _cpu_note(run: Run, used: dict[str, float]) -> str:
    total = sum(used.values())
    split = ", ".join(f"{label} {ms:.1f}" for label, ms in used.items() if ms >= 0.05)
    return (
        f"CPU per job, {run.workers}: {total:.1f} ms on all processes ({split}). "
        f"With 2 cores that allows at most {2000 / total:.0f} jobs/s; 100 jobs/s needs 20 ms."
    )


def _statements_per_job(bench: Any, sandbox: SandboxProcess) -> dict[str, JobStatements]:
    """Statements per job on this PostgreSQL, for an audio URL and for a stored file (tests/statements.py)."""
    empty_tables()
    sandbox.reset()
    path = audio_files(bench.workdir / "statements-audio", 1, 0.5, tag="statements")[0]
    with override_settings(SLASHML={**bench.slashml(sandbox.url), **INSTANT}):
        reset_default_client()
        with path.open("rb") as fileobj:  # a URL SlashML can fetch
            upload = get_client().upload(
                fileobj, filename=path.name, content_type="audio/wav", service_provider="assembly"
            )
        url = upload.url
        counts = {"URL": count_job_statements(url, processing_wait=0.05),
                  "file": count_job_statements(path, processing_wait=0.05)}  # fmt: skip
        reset_default_client()
    bench.flush()
    return counts


def run(bench: Any) -> Section:
    jobs = bench.options.throughput_jobs
    section = Section(
        title="4. Throughput",
        setup=(
            f"{jobs} jobs from create to COMPLETED (each: store the audio, upload it, submit, one status "
            "call, save the transcript and send the signals), SlashML answering at once. The clock starts "
            "when the transaction that created the jobs commits (every message is published then) and stops "
            "at the last `completed_at`. The sandbox, PostgreSQL, Redis and the benchmark process share the "
            "same 2 cores as the workers. Solo workers take their own messages from Redis and run them; a prefork "
            "worker's main process hands each to a child. These workers keep no per-task tally (the occupancy "
            "section's do: a Redis round trip per task), so the figures are not comparable with runs of this page "
            "before that change (60 jobs/s with prefork and 2 children, on the last run before it). CPU per job "
            "counts from the commit, so creating the jobs is not in it, nor the speed gauge's own work."
        ),
        headers=[
            "workers",
            "event log",
            "database connection",
            "jobs done",
            "wall time",
            "jobs per second",
            "machine speed (Python workload, ms)",
        ],
    )
    sandbox = SandboxProcess(bench.workdir, "throughput", processing_time=0)
    rate_at: dict[Run, float] = {}
    reference_before, ticks_before = cpu.reference_ms(), cpu.cpu_ticks()
    try:
        for run in RUNS:
            empty_tables()
            sandbox.reset()
            files = audio_files(bench.workdir / "throughput-audio", jobs, 0.5, tag=run.tag)
            workers = Workers(
                bench.workdir, f"throughput-{run.tag}", pool=run.pool, processes=run.processes,
                slashml={**bench.slashml(sandbox.url), **INSTANT, "EVENT_LOG": run.log},
                env={"SLASHML_BENCH_DB_REUSE_MAX": "1000" if run.kept else "0"},
            )  # fmt: skip
            gauges = _Gauges()
            try:
                finished = run_jobs(files, timeout=600, before_commit=gauges.at_commit, while_waiting=gauges.speed)
                used = gauges.cpu_used()
            finally:
                workers.stop()
            if run in (SOLO, PREFORK):
                per_job = {
                    label: 1000 * sum(used[kind] for kind in kinds) / jobs for label, kinds in cpu.roles(run.pool)
                }
                section.notes.append(_cpu_note(run, per_job))
            rate = rate_at[run] = len(finished.completed_at) / finished.makespan
            connection = "kept (CELERY_DB_REUSE_MAX)" if run.kept else "closed around each task (Celery's default)"
            done = f"{len(finished.completed_at)}/{jobs}"
            section.rows.append(
                [run.workers, "on" if run.log else "off", connection, done, f"{finished.makespan:.1f} s", f"{rate:.0f}",
                 gauges.speed_text()]
            )  # fmt: skip
        stolen, reference_after = cpu.stolen_share(ticks_before, cpu.cpu_ticks()), cpu.reference_ms()
        on, off, closed, prefork = rate_at[SOLO], rate_at[NO_LOG], rate_at[CLOSED], rate_at[PREFORK]
        section.notes.append(
            f"With the event log off, 2 solo workers carried {off:.0f} jobs/s, against {on:.0f} with it on: one run "
            "of each, so this does not establish what the log costs. Closing the database connection around every "
            f"task, as Celery's Django fixup does unless CELERY_DB_REUSE_MAX is set, gives {closed:.0f}. Celery's "
            f"default prefork pool with 2 children gives {prefork:.0f}; it runs a third process, which takes every "
            "message from Redis and hands it to a child."
        )
        section.notes.append(
            "The last column is this machine's speed during each run: the CPU milliseconds of a fixed Python workload "
            "(benchmarks/cpu.py), run once every 2 s while the run waits. The same code carries fewer jobs a second "
            f"when it is higher. Before the runs it took {reference_before:.1f} ms and after them "
            f"{reference_after:.1f} ms (best of 7 each); the hypervisor took {100 * stolen:.1f}% of the CPU time "
            "during the runs. Compare these before comparing two runs of this page."
        )
        statements = _statements_per_job(bench, sandbox)
        section.notes.append(
            "SQL statements per job on PostgreSQL (create + submit step + poll step, event log and search on; "
            "tests/statements.py): "
            + "; ".join(f"{kind} {c.total} ({c.create} + {c.submit} + {c.poll})" for kind, c in statements.items())
        )
        sandbox.reset()
        section.notes += _profile_hot_path(bench, sandbox, min(jobs, 300))
    finally:
        sandbox.stop()
    for run, caveat in ((SOLO, "no task time limits; on Redis"), (PREFORK, "Celery's default pool")):
        rate = rate_at[run]
        section.targets.append(
            Target(
                f"at least 100 jobs/s with 2 worker processes: {run.workers} ({caveat})",
                f"{rate:.0f} jobs/s",
                rate >= 100,
            )
        )
    worst = max(c.total for c in statements.values())
    per_kind = ", ".join(f"{c.total} for a {kind}" for kind, c in statements.items())
    section.targets.append(Target("at most 8 SQL statements per job", per_kind, worst <= 8))
    return section
