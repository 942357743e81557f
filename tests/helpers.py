from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.utils import timezone

from django_slashml.audio.formats import sniff
from django_slashml.jobs import pipeline
from django_slashml.models import JobStatus, TranscriptionJob


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


def lose_the_lease_once_claimed(monkeypatch: Any) -> None:
    """Another worker takes each job right after this one claims it, as when a step runs past its lease."""
    real_claim = pipeline.claim

    def claim_then_lose(job_id: Any) -> Any:
        lease = real_claim(job_id)
        TranscriptionJob.objects.filter(pk=job_id).update(lease_owner="another-worker")
        return lease

    monkeypatch.setattr(pipeline, "claim", claim_then_lose)


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


@contextmanager
def refused_port() -> Iterator[int]:
    """A loopback port that refuses every connection: bound but never listening, so nothing else takes it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


@contextmanager
def broker_down() -> Iterator[None]:
    """This process's Celery app publishes to a broker that refuses connections, until the block ends.

    The broker URL becomes a refused loopback port, with no connection retries, so a publish
    fails within a second. The app's connection and producer pools are rebuilt for that URL and
    the previous ones put back afterwards, untouched: closing a ``memory://`` connection would
    empty every in-memory queue of the process. A worker started in this process keeps the
    connection it consumes on; anything sent meanwhile, by it or by the test, fails.
    """
    from celery import current_app

    app: Any = current_app
    conf = app.conf
    names = ("broker_url", "broker_write_url", "broker_connection_timeout", "broker_transport_options")
    saved_conf = {name: conf[name] for name in names}
    saved_pools = app._pool, app.amqp._producer_pool
    with refused_port() as port:
        conf.broker_url = conf.broker_write_url = f"amqp://guest:guest@127.0.0.1:{port}//"
        conf.broker_connection_timeout = 1
        conf.broker_transport_options = {"max_retries": 0, "interval_start": 0, "interval_step": 0, "interval_max": 0}
        app._pool = app.amqp._producer_pool = None
        try:
            yield
        finally:
            broken = app._pool
            conf.update(saved_conf)
            app._pool, app.amqp._producer_pool = saved_pools
            if broken is not None:
                broken.force_close_all()


def polled_job(api_url: str, settings: Any, **overrides: Any) -> TranscriptionJob:
    """A URL job submitted to SlashML as ``hostile-1`` whose next poll is due now (``overrides``: SLASHML)."""
    settings.SLASHML = {"API_KEY": "sandbox-key", "API_URL": api_url, "STATUS_HTTP_RETRIES": 0, **overrides}
    now = timezone.now()
    return TranscriptionJob.objects.create(
        audio_url="https://example.com/a.wav",
        service_provider="whisper",
        status=JobStatus.QUEUED,
        remote_id="hostile-1",
        submitted_at=now,
        next_poll_at=now,
        deadline_at=now + timedelta(hours=1),
    )
