"""A short lease that a running step extends, so a killed worker's job is free again soon.

A step takes its job's lease for ``LEASE_SECONDS``. While it runs, a thread beside it extends
the lease every third of that, with a conditional UPDATE on the step's own lease; a killed
worker stops extending it, and the sweeper hands the job on once it has run out. A step that
runs long (a large upload) keeps its job, up to ``TASK_TIME_LIMIT``: past that the renewals
stop, as the task's time limit would have stopped the step. The thread touches the database
only when a step outlives a renewal period (most end in well under a second), on a connection
of its own that it closes when the step ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.db import connections
from django.utils import timezone

from django_slashml.conf import slashml_settings
from django_slashml.jobs.closing import jobs_alias
from django_slashml.logs import job_logger
from django_slashml.models import TranscriptionJob

logger = job_logger("django_slashml.jobs.heartbeat")


@contextmanager
def renewing(job_id: Any, owner: str, renewed: Callable[[datetime], None]) -> Iterator[None]:
    """Extend the lease ``owner`` holds on the job until the block ends; ``renewed`` is told each new expiry."""
    lease = float(slashml_settings.LEASE_SECONDS)
    period = lease / 3
    last_renewal = timezone.now() + timedelta(seconds=float(slashml_settings.TASK_TIME_LIMIT))
    alias = jobs_alias()
    stop = threading.Event()
    log = logger.about(job_id)

    def renew() -> None:
        try:
            while not stop.wait(period) and timezone.now() < last_renewal:
                until = timezone.now() + timedelta(seconds=lease)
                try:
                    held = TranscriptionJob.objects.using(alias).filter(pk=job_id, lease_owner=owner)
                    if held.update(lease_expires_at=until) != 1:
                        return  # the step let go of the lease, or another worker holds it now
                    renewed(until)
                except Exception:  # a locked database or a dropped connection: try again next period
                    log.warning("Could not extend the lease of job %s; trying again", job_id, exc_info=True)
                    connections.close_all()
        finally:
            connections.close_all()  # this thread's own connections only

    thread = threading.Thread(target=renew, name=f"slashml-lease-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
