"""Jobs on Django's task framework (SLASHML["QUEUE"] = "tasks"), in this process.

The immediate backend runs each task inside ``enqueue()`` and cannot defer, so a step due
later is sent by the sweeper once due; the database backend stores each task, deferred ones
with their ``run_after``. Real db_worker processes: tests/test_reliability_tasks.py.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.core.checks import run_checks
from django.utils import timezone

from django_slashml import transcribe
from django_slashml.jobs import dispatch, queues, sweeper
from django_slashml.models import JobStatus, TranscriptionJob
from django_slashml.testing import sandbox_settings

from .conftest import SPEECH_SCRIPT

framework = queues.framework()
pytestmark = pytest.mark.skipif(framework is None, reason='needs pip install "django-slashml[tasks]"')
IMMEDIATE = f"{framework.__name__ if framework else ''}.backends.immediate.ImmediateBackend"
DATABASE = "django_tasks_db.DatabaseBackend"


def slashml_ids() -> set[str]:
    return {m.id for m in run_checks() if m.id and m.id.startswith("slashml.")}


@pytest.fixture
def on_tasks(settings: Any, sandbox: Any, sandbox_control: Any, media_root: Any) -> Any:
    settings.SLASHML = sandbox_settings(sandbox, QUEUE="tasks", POLL_LEARNING=False)
    return settings


@pytest.mark.django_db(transaction=True)
def test_a_job_runs_to_its_end_on_the_immediate_backend_with_the_sweeper_sending_later_steps(
    on_tasks: Any, speech_path: Any, signal_log: Any
) -> None:
    on_tasks.TASKS = {"default": {"BACKEND": IMMEDIATE}}
    on_tasks.SLASHML = {**on_tasks.SLASHML, "POLL_INITIAL_DELAY": 0.3, "POLL_DURATION_FACTOR": 0, "POLL_JITTER": 0}
    job = transcribe(speech_path)  # submitted on commit, inline; the first poll is 0.3 s off
    job.refresh_from_db()
    assert job.status != JobStatus.PENDING and not job.is_terminal
    assert sweeper.sweep() == 0, "not due yet: nothing to send"
    deadline = time.monotonic() + 20
    while not job.is_terminal and time.monotonic() < deadline:
        time.sleep(0.3)
        sweeper.sweep()  # the due-time poller: the backend could not hold the poll for later
        job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED, job.error_message
    assert job.text.split() == SPEECH_SCRIPT
    completed = [kw["job"].pk for name, kw in signal_log if name == "transcription_completed"]
    assert completed == [job.pk]
    assert "slashml.W105" in slashml_ids(), "the checks say the backend cannot defer"


@pytest.mark.django_db
def test_a_later_step_is_stored_with_its_run_after_on_the_database_backend(on_tasks: Any) -> None:
    from django_tasks_db.models import DBTaskResult

    on_tasks.TASKS = {"default": {"BACKEND": DATABASE}}
    job = TranscriptionJob.objects.create(service_provider="assembly", status=JobStatus.QUEUED, remote_id="r")
    before = timezone.now()
    assert dispatch.nudge_when_due(job.pk, job.status, before + timedelta(seconds=30))
    (row,) = DBTaskResult.objects.all()
    assert row.task_path == "django_slashml.task_framework.poll_job"
    assert row.args_kwargs == {"args": [str(job.pk)], "kwargs": {}}
    assert before + timedelta(seconds=29) < row.run_after < timezone.now() + timedelta(seconds=31)
    assert "slashml.W105" not in slashml_ids()


@pytest.mark.django_db
def test_the_sweep_fails_our_results_a_killed_worker_left_running_and_no_one_elses(on_tasks: Any) -> None:
    from django_tasks_db.models import DBTaskResult

    on_tasks.TASKS = {"default": {"BACKEND": DATABASE}}
    now = timezone.now()
    long_ago = now - timedelta(seconds=600)
    left = TranscriptionJob.objects.create(audio_url="https://example.com/a.wav", service_provider="whisper")
    renewed = TranscriptionJob.objects.create(  # a long upload: its step renews the lease as it runs
        audio_url="https://example.com/b.wav",
        service_provider="whisper",
        lease_owner="a live worker",
        lease_expires_at=now + timedelta(seconds=20),
    )

    def running(task: str, started_at: Any, *args: Any) -> Any:
        return DBTaskResult.objects.create(
            task_path=task,
            status="RUNNING",
            started_at=started_at,
            args_kwargs={"args": [str(arg) for arg in args], "kwargs": {}},
            backend_name="default",
            run_after=long_ago,
        )

    poll = "django_slashml.task_framework.poll_job"
    ours = running(poll, long_ago, left.pk)
    alive = running(poll, long_ago, renewed.pk)
    recent = running(poll, now, left.pk)
    sweep = running("django_slashml.task_framework.sweep", long_ago)  # no job: dead only past TASK_TIME_LIMIT
    theirs = running("app.tasks.x", long_ago, left.pk)
    sweeper.sweep()
    statuses = dict(DBTaskResult.objects.values_list("pk", "status"))
    assert statuses == {
        ours.pk: "FAILED",
        alive.pk: "RUNNING",
        recent.pk: "RUNNING",
        sweep.pk: "RUNNING",
        theirs.pk: "RUNNING",
    }
    assert DBTaskResult.objects.get(pk=ours.pk).exception_class_path == "django_slashml.jobs.queues.WorkerLost"


def test_the_checks_say_what_is_missing_for_the_queue_chosen(settings: Any, monkeypatch: Any) -> None:
    settings.SLASHML = {**settings.SLASHML, "QUEUE": "rq"}
    assert "slashml.E101" in slashml_ids()
    settings.SLASHML = {**settings.SLASHML, "QUEUE": "tasks", "TASK_BACKEND": "nowhere"}
    assert "slashml.E104" in slashml_ids()
    settings.SLASHML = {**settings.SLASHML, "TASK_BACKEND": "default"}
    settings.TASKS = {"default": {"BACKEND": DATABASE}}
    assert not {"slashml.E104", "slashml.W105", "slashml.W014"} & slashml_ids(), "no Celery check on tasks"
    # Patch stays: what an environment without the packages looks like, which this one cannot be.
    monkeypatch.setattr(queues, "framework", lambda: None)
    assert "slashml.E103" in slashml_ids()
    settings.SLASHML = {**settings.SLASHML, "QUEUE": "celery"}
    monkeypatch.setattr(queues, "celery_installed", lambda: False)
    assert "slashml.E102" in slashml_ids()
    settings.SLASHML = {**settings.SLASHML, "QUEUE": None}
    messages = [m for m in run_checks() if m.id == "slashml.E100"]
    assert len(messages) == 1 and "django-slashml[celery]" in messages[0].hint and "[tasks]" in messages[0].hint


def test_unset_the_queue_is_celery_where_installed_else_the_task_framework(settings: Any, monkeypatch: Any) -> None:
    settings.SLASHML = {**settings.SLASHML, "QUEUE": None}
    assert queues.chosen_queue() == "celery"
    monkeypatch.setattr(queues, "celery_installed", lambda: False)
    assert queues.chosen_queue() == "tasks"
