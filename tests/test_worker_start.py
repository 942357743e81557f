"""A starting Celery worker names the project's receivers, or says that none will hear of finished jobs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from celery.signals import worker_ready

from django_slashml.models import TranscriptionJob
from django_slashml.signals import transcription_completed, transcription_status_changed


def transcript_ready(sender: Any, job: TranscriptionJob, **kwargs: Any) -> None:
    pass


def status_changed(sender: Any, job: TranscriptionJob, **kwargs: Any) -> None:
    pass


@pytest.fixture
def connected() -> Iterator[None]:
    transcription_completed.connect(transcript_ready, weak=False, dispatch_uid="worker-start-completed")
    yield
    transcription_completed.disconnect(dispatch_uid="worker-start-completed")


def worker_start_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="django_slashml.worker"):
        worker_ready.send(sender=None)
    return [record.getMessage() for record in caplog.records if record.name == "django_slashml.worker"]


def test_a_worker_without_project_receivers_says_so_and_where_they_must_be_imported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The app's own receiver (search segments follow completed jobs) does not count.
    assert any(
        r.__module__.startswith("django_slashml.")
        for r in transcription_completed.connected_receivers(TranscriptionJob)
    )
    (line,) = worker_start_lines(caplog)
    assert "no receiver of transcription_completed is connected in this worker" in line
    assert "AppConfig.ready()" in line and "INSTALLED_APPS" in line


def test_a_worker_names_the_receivers_it_will_call(connected: None, caplog: pytest.LogCaptureFixture) -> None:
    (line,) = worker_start_lines(caplog)
    assert line == (
        "django-slashml: your receivers in this worker: "
        "transcription_completed: tests.test_worker_start.transcript_ready."
    )


def test_a_receiver_of_every_transition_is_enough(caplog: pytest.LogCaptureFixture) -> None:
    transcription_status_changed.connect(
        status_changed, sender=TranscriptionJob, weak=False, dispatch_uid="worker-start-status"
    )
    try:
        (line,) = worker_start_lines(caplog)
    finally:
        transcription_status_changed.disconnect(sender=TranscriptionJob, dispatch_uid="worker-start-status")
    assert line.endswith("transcription_status_changed: tests.test_worker_start.status_changed.")
