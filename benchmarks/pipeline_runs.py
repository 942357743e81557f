"""Driving django-slashml's own pipeline from the benchmark process: create jobs, wait for them."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from django_slashml import transcribe
from django_slashml.models import JobStatus, TranscriptionJob

from .harness import wav


@dataclass
class Finished:
    started: float  # epoch seconds when the first message could be taken
    completed_at: dict[str, float]  # remote id -> epoch seconds the app recorded COMPLETED
    failed: int

    @property
    def makespan(self) -> float:
        return max(self.completed_at.values()) - self.started


def audio_files(folder: Path, count: int, seconds: float, *, tag: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [wav(folder / f"{tag}-{index}.wav", seconds, seed=hash((tag, index))) for index in range(count)]


def run_jobs(
    files: list[Path],
    *,
    timeout: float,
    before_commit: Callable[[], None] | None = None,
    while_waiting: Callable[[], None] | None = None,
) -> Finished:
    """Create one job per file in one transaction, so every message goes out at commit, then wait.

    ``before_commit`` runs once the jobs are created, just before the clock starts;
    ``while_waiting`` runs every tenth of a second until they are done (gauges, say).
    """
    with transaction.atomic():
        for path in files:
            transcribe(path, service_provider="assembly")
        if before_commit is not None:
            before_commit()
        started = time.time()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        active = TranscriptionJob.objects.exclude(status__in=[JobStatus.COMPLETED, JobStatus.ERROR]).count()
        if not active:
            break
        if while_waiting is not None:
            while_waiting()
        time.sleep(0.1)
    else:
        raise RuntimeError(f"{active} jobs were still active after {timeout:.0f} s")
    done = TranscriptionJob.objects.filter(status=JobStatus.COMPLETED).values_list("remote_id", "completed_at")
    failed = TranscriptionJob.objects.filter(status=JobStatus.ERROR).count()
    return Finished(started, {remote: at.timestamp() for remote, at in done}, failed)


def delays(detected: dict[str, float], finished: dict[str, float]) -> list[float]:
    """Seconds from SlashML's completion to the moment the integration knew, per job."""
    return [detected[job] - finished[job] for job in detected if job in finished]


def describe(values: list[float], scale: float = 1.0) -> str:
    if not values:
        return "n/a"
    ordered = sorted(value * scale for value in values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"{statistics.mean(ordered):.2f} s (p95 {p95:.2f})"
