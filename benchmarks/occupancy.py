"""1. Worker occupancy: N jobs of T seconds on one worker with two slots, against a Celery
task that blocks in the vendor client's loop (the typical hand-written integration)."""

from __future__ import annotations

import time
from typing import Any

from .celery_app import BUSY_KEY, DETECTED_KEY, TASKS_KEY, tally, vendor_transcribe
from .harness import API_KEY, SandboxProcess, WorkerProcess, empty_tables, wait_until
from .pipeline_runs import audio_files, delays, describe, run_jobs
from .report import Section, Target

#: Workers that keep the busy-time tally this section reads (benchmarks/celery_app.py).
TALLY = {"SLASHML_BENCH_TALLY_TASKS": "1"}


def _busy() -> tuple[float, int]:
    return float(tally().get(BUSY_KEY) or 0), int(tally().get(TASKS_KEY) or 0)


def run(bench: Any) -> Section:
    jobs, seconds = bench.options.jobs, bench.options.processing_time
    sandbox = SandboxProcess(bench.workdir, "occupancy", processing_time=seconds)
    # The vendor's execute() loops only on this spelling: give the baseline its best case.
    sandbox.control.set_quirks(in_progress_spelling="IN_PROGRESS")
    # Two-second clips: the first poll waits POLL_INITIAL_DELAY (5 s), the duration does not push it later.
    files = audio_files(bench.workdir / "occupancy-audio", jobs, 2.0, tag="occupancy")
    rows: dict[str, dict[str, Any]] = {}
    try:
        empty_tables()
        bench.flush()
        worker = WorkerProcess(bench.workdir, "occupancy", slashml=bench.slashml(sandbox.url), concurrency=2, env=TALLY)
        try:
            finished = run_jobs(files, timeout=max(120.0, 10 * seconds))
        finally:
            worker.stop()
        busy, tasks = _busy()
        rows["django-slashml"] = {
            "makespan": finished.makespan,
            "busy": busy / jobs,
            "tasks": tasks / jobs,
            "delay": delays(finished.completed_at, sandbox.finish_times()),
            "done": len(finished.completed_at),
        }

        bench.flush()
        sandbox.reset()
        worker = WorkerProcess(bench.workdir, "baseline", slashml=bench.slashml(sandbox.url), concurrency=2, env=TALLY)
        try:
            started = time.time()
            for path in files:
                vendor_transcribe.delay(str(path), sandbox.url, API_KEY)
            # Two at a time, each at least T plus a 5 s-granular wait: allow three times that.
            wait_until(
                lambda: tally().hlen(DETECTED_KEY) >= jobs,
                timeout=3 * jobs / 2 * (seconds + 5) + 60,
                what="the baseline's jobs",
                every=0.5,
            )
        finally:
            worker.stop()
        detected = {key.decode(): float(value) for key, value in tally().hgetall(DETECTED_KEY).items()}
        busy, tasks = _busy()
        rows["vendor execute() in a task"] = {
            "makespan": max(detected.values()) - started,
            "busy": busy / jobs,
            "tasks": tasks / jobs,
            "delay": delays(detected, sandbox.finish_times()),
            "done": len(detected),
        }
    finally:
        sandbox.stop()

    ours, baseline = rows["django-slashml"], rows["vendor execute() in a task"]
    section = Section(
        title="1. Worker occupancy",
        setup=(
            f"{jobs} jobs whose SlashML processing takes {seconds:g} s each, one Celery worker with "
            "concurrency 2 (prefork), Redis broker, PostgreSQL. django-slashml with its default poll "
            "settings; the baseline is a Celery task that uploads with the vendor client (`slashml` 0.1.6) "
            "and blocks in its `execute()` 5-second loop. Detection delay: from the sandbox's completion "
            "time to the moment the integration recorded the transcript."
        ),
        headers=["integration", "jobs done", "makespan", "worker-seconds busy per job", "tasks per job",
                 "detection delay"],
    )  # fmt: skip
    for name, row in rows.items():
        section.rows.append(
            [
                name,
                f"{row['done']}/{jobs}",
                f"{row['makespan']:.1f} s",
                f"{row['busy']:.3f} s",
                f"{row['tasks']:.1f}",
                describe(row["delay"]),
            ]
        )
    ratio = baseline["makespan"] / ours["makespan"]
    section.rows.append(
        [
            "ratio (baseline / ours)",
            "",
            f"{ratio:.0f}x",
            f"{baseline['busy'] / ours['busy']:.0f}x",
            "",
            "",
        ]
    )
    section.targets.append(Target(f"makespan at least 50x better at N=200, T=5 s (here N={jobs}, T={seconds:g} s)",
                                  f"{ratio:.0f}x", ratio >= 50))  # fmt: skip
    return section
