"""2. Status calls per job, and the detection delay they buy, for 5 s to 600 s jobs.

django-slashml runs in scaled time: every time setting of the app and the audio's
duration (from which SlashML's processing time follows) are divided by one factor,
so a 600 s job takes 6 s of wall time; the calls it makes are the same, and its
delays are multiplied back. The vendor client sleeps a fixed 5 s in code, so it
runs in real time, in a process of its own, beside the rest of the run.
"""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
from typing import Any

from django.test import override_settings

from tests.reliability.harness import sweeping

from .harness import ROOT, SandboxProcess, WorkerProcess, empty_tables, wav
from .pipeline_runs import audio_files, delays, run_jobs
from .report import Section, Target

#: SlashML's processing seconds per second of audio that the app's POLL_DURATION_FACTOR assumes.
ASSUMED_RATE = 0.3
#: Time settings scaled along with the clock (the sweep, which beat would run, included).
TIME_SETTINGS = (
    "POLL_INITIAL_DELAY", "POLL_MIN_INTERVAL", "POLL_MAX_INTERVAL", "RETRY_BASE_DELAY", "RETRY_MAX_DELAY",
    "MAX_COUNTDOWN", "SWEEP_GRACE", "SWEEP_INTERVAL", "POLL_LEARNED_MIN_DELAY",
)  # fmt: skip


#: SlashML's speed per row: as the app assumes, then twice as slow and twice as fast.
SPEEDS = ((ASSUMED_RATE, "as assumed"), (2 * ASSUMED_RATE, "slower"), (ASSUMED_RATE / 2, "faster"))


class VendorPolling:
    """The vendor client on jobs of each processing time, in real time, in a process of its own
    (:mod:`benchmarks.vendor_polling`) on a sandbox of its own, while the other benchmarks run."""

    def __init__(self, bench: Any, processing_times: list[float], jobs_each: int = 4) -> None:
        self.sandbox = SandboxProcess(
            bench.workdir, "vendor-polling", processing_time=0, processing_time_per_audio_second=ASSUMED_RATE
        )
        self.sandbox.control.set_quirks(in_progress_spelling="IN_PROGRESS")
        self.results_path = bench.workdir / "vendor-polling.json"
        folder = bench.workdir / "vendor-audio"
        folder.mkdir(parents=True, exist_ok=True)
        audio = []
        for seconds in processing_times:
            for index in range(jobs_each):
                # Spread over its 5 s grid, as real processing times fall: a job that ends just before
                # a poll costs it nothing, one that ends just after costs it 5 s; on average 2.5 s.
                took = seconds + 5 * (index + 0.5) / jobs_each
                path = wav(folder / f"v{seconds:g}-{index}.wav", took / ASSUMED_RATE, seed=index)
                audio.append(f"{seconds:g}={path}")
        command = [sys.executable, "-m", "benchmarks.vendor_polling", self.sandbox.url, str(self.results_path), *audio]
        with (bench.workdir / "vendor-polling.log").open("ab") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)

    def results(self) -> tuple[dict[float, tuple[float, list[float]]], list[str]]:
        """Per processing time: status calls per job and detection delays; and any errors."""
        self.process.wait()
        measured = json.loads(self.results_path.read_text())
        stats = self.sandbox.control.stats()
        self.sandbox.stop()
        finished = {job_id: job["finished_at"] for job_id, job in stats["jobs"].items() if job["finished_at"]}
        out = {}
        for seconds, detected in measured["detected"].items():
            polls = [stats["polls_per_job"].get(job_id, 0) for job_id in detected]
            out[float(seconds)] = (statistics.mean(polls) if polls else math.nan, delays(detected, finished))
        return out, measured["errors"]


def _ours(bench: Any, sandbox: SandboxProcess, seconds: float, rate: float, jobs: int) -> tuple[float, list[float]]:
    scale = max(1.0, seconds / 6.0)
    settings = bench.slashml(sandbox.url)
    for name in TIME_SETTINGS:
        settings[name] = bench.defaults[name] / scale
    empty_tables()
    sandbox.reset()
    sandbox.control.set_faults(processing_time=0, processing_time_per_audio_second=rate)
    files = audio_files(bench.workdir / "polling-audio", jobs, seconds / rate / scale, tag=f"p{seconds:g}-{rate:g}")
    worker = WorkerProcess(bench.workdir, f"polling-{seconds:g}-{rate:g}", slashml=settings, concurrency=2)
    try:
        # The sweep as beat would run it, with the scaled settings.
        with override_settings(SLASHML=settings), sweeping(settings["SWEEP_INTERVAL"]):
            finished = run_jobs(files, timeout=60 + 3 * seconds / scale)
    finally:
        worker.stop()
    stats = sandbox.control.stats()
    polls = [stats["polls_per_job"].get(remote, 0) for remote in finished.completed_at]
    finish_times = {job_id: job["finished_at"] for job_id, job in stats["jobs"].items() if job["finished_at"]}
    return statistics.mean(polls), [delay * scale for delay in delays(finished.completed_at, finish_times)]


def _delay_text(values: list[float], seconds: float) -> str:
    if not values:
        return "n/a"
    mean, worst = statistics.mean(values), max(values)
    return f"{mean:.1f} s ({100 * mean / seconds:.0f}%), max {worst:.1f} s ({100 * worst / seconds:.0f}%)"


def run(bench: Any, vendor: VendorPolling) -> Section:
    jobs = bench.options.polling_jobs
    section = Section(
        title="2. Status calls per job",
        setup=(
            f"{jobs} jobs per row. SlashML's processing time is proportional to the audio's length; "
            f"the app assumes {ASSUMED_RATE} s per audio second (`POLL_DURATION_FACTOR`). Rows marked "
            "'slower' / 'faster' have SlashML take twice / half that, so the app's first guess is wrong. "
            "django-slashml runs in scaled time (every time setting, the sweep's included, and the audio "
            "divided by T / 6 s; delays multiplied back), with the sweep running every `SWEEP_INTERVAL` as "
            "beat would; the vendor client runs in real time on its own sandbox, beside the other benchmarks, "
            "its jobs taking T plus 0.6 to 4.4 s, spread over its 5 s poll period as real processing times "
            "fall. Minimum: one status call, made the moment the job finishes."
        ),
        headers=["processing time", "SlashML speed", "integration", "status calls per job", "detection delay"],
    )
    sandbox = SandboxProcess(bench.workdir, "polling")
    measured: dict[tuple[float, float], tuple[float, list[float]]] = {}
    try:
        for seconds in bench.processing_times:
            for rate, _ in SPEEDS:
                if rate == ASSUMED_RATE or seconds >= 60:
                    measured[(seconds, rate)] = _ours(bench, sandbox, seconds, rate, jobs)
    finally:
        sandbox.stop()
    vendor_results, vendor_errors = vendor.results()
    for seconds in bench.processing_times:
        for rate, label in SPEEDS:
            if (seconds, rate) in measured:
                calls, late = measured[(seconds, rate)]
                section.rows.append([f"{seconds:g} s", label, "django-slashml", f"{calls:.1f}",
                                     _delay_text(late, seconds)])  # fmt: skip
        if seconds in vendor_results:
            calls, late = vendor_results[seconds]
            section.rows.append([f"{seconds:g} s", "as assumed", "vendor 5 s loop", f"{calls:.1f}",
                                 _delay_text(late, seconds)])  # fmt: skip
        section.rows.append([f"{seconds:g} s", "", "minimum", "1", "0 s"])
    if vendor_errors:
        section.notes.append(f"vendor client errors: {'; '.join(sorted(set(vendor_errors)))}")

    matched = [(seconds, *measured[(seconds, ASSUMED_RATE)]) for seconds in bench.processing_times]
    worst_calls = max(calls for _, calls, _ in matched)
    within = all(max(late) <= max(0.15 * seconds, 2.0) for seconds, _, late in matched if late)
    section.targets.append(
        Target("at most 4 status calls per job, 5 s to 600 s", f"{worst_calls:.1f}", worst_calls <= 4)
    )
    section.targets.append(
        Target(
            "detection delay within 15% of processing time (at least 2 s allowed)",
            "; ".join(f"{seconds:g} s: max {max(late):.1f} s" for seconds, _, late in matched if late),
            within,
        )
    )
    return section
