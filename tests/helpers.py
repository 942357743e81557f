from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from django.utils import timezone

from django_slashml.audio.formats import sniff
from django_slashml.jobs import pipeline
from django_slashml.models import TranscriptionJob


def drive(job: TranscriptionJob, *, timeout: float = 20.0) -> TranscriptionJob:
    """Run a job's steps in this thread, each when it falls due, until it ends."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.is_terminal:
            return job
        if job.next_poll_at and job.next_poll_at <= timezone.now():
            pipeline.advance(job.pk)
        else:
            time.sleep(0.05)
    raise AssertionError(f"job still {job.status} after {timeout}s")


def make_due(job: TranscriptionJob) -> None:
    TranscriptionJob.objects.filter(pk=job.pk).update(next_poll_at=timezone.now() - timedelta(seconds=1))


def wait_until(predicate, *, timeout: float = 30.0, interval: float = 0.05) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def big_wav(path: Path, size: int) -> Path:
    """A valid WAV header followed by a sparse run of silence: ``size`` bytes that take no disk."""
    header = b"RIFF" + (size - 8).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little")
    header += (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + (16000).to_bytes(4, "little")
    header += (32000).to_bytes(4, "little") + (2).to_bytes(2, "little") + (16).to_bytes(2, "little")
    header += b"data" + (size - 44).to_bytes(4, "little")
    with path.open("wb") as fileobj:
        fileobj.write(header)
        fileobj.truncate(size)
    assert sniff(header) is not None
    return path
