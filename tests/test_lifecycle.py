"""The state machine: one transition and one signal per race, receivers that misbehave."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from django_slashml import signals
from django_slashml.exceptions import InvalidTransitionError
from django_slashml.jobs import actions as job_actions
from django_slashml.jobs import lifecycle
from django_slashml.models import JobStatus, TranscriptionJob
from django_slashml.remote.responses import parse_job

pytestmark = pytest.mark.services

COMPLETED = parse_job(
    {
        "id": "r-1",
        "status": "COMPLETED",
        "text": "hi there",
        "words": [
            {"text": "hi", "start": 0, "end": 200},
            {"text": "there", "start": 250, "end": 600, "confidence": 0.9},
        ],
    }
)


def make_job(status: str = JobStatus.IN_PROGRESS) -> TranscriptionJob:
    return TranscriptionJob.objects.create(
        audio_url="https://example.com/a.wav", service_provider="assembly", status=status, remote_id="r-1"
    )


@pytest.mark.django_db(transaction=True)
def test_two_workers_completing_one_job_make_one_transition_and_one_signal(signal_log) -> None:
    job = make_job()
    start = threading.Barrier(2)
    results: list[bool] = []

    def worker() -> None:
        mine = TranscriptionJob.objects.get(pk=job.pk)  # each worker has its own stale copy
        start.wait()
        try:
            results.append(lifecycle.complete(mine, COMPLETED))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True]
    assert [name for name, _ in signal_log].count("transcription_completed") == 1
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED and job.text == "hi there"


@pytest.mark.django_db
def test_complete_then_fail_race_keeps_the_first(signal_log) -> None:
    job = make_job()
    stale = TranscriptionJob.objects.get(pk=job.pk)
    assert lifecycle.complete(job, COMPLETED)
    assert not lifecycle.fail(stale, "too late")
    stale.refresh_from_db()
    assert stale.status == JobStatus.COMPLETED and stale.error_message == ""
    assert [name for name, _ in signal_log] == ["transcription_status_changed", "transcription_completed"]


@pytest.mark.django_db
def test_status_changed_carries_the_old_and_new_status(signal_log) -> None:
    job = make_job(JobStatus.QUEUED)
    lifecycle.fail(job, "no audio")
    (name, kwargs), (failed_name, failed) = signal_log
    assert (name, kwargs["old_status"], kwargs["new_status"]) == ("transcription_status_changed", "QUEUED", "ERROR")
    assert failed_name == "transcription_failed" and failed["error"] == "no audio" and failed["job"].pk == job.pk


@pytest.mark.django_db
def test_a_receiver_that_raises_is_logged_and_the_transition_stands(caplog) -> None:
    def broken(sender: Any, job: TranscriptionJob, **kwargs: Any) -> None:
        Group.objects.create(name="written by the broken receiver")
        raise RuntimeError("receiver bug")

    def good(sender: Any, job: TranscriptionJob, **kwargs: Any) -> None:
        Group.objects.create(name=f"done {job.pk}")

    signals.transcription_completed.connect(broken, weak=False, dispatch_uid="broken")
    signals.transcription_completed.connect(good, weak=False, dispatch_uid="good")
    try:
        job = make_job()
        assert lifecycle.complete(job, COMPLETED)
    finally:
        signals.transcription_completed.disconnect(dispatch_uid="broken")
        signals.transcription_completed.disconnect(dispatch_uid="good")
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED
    assert "receiver bug" in caplog.text
    assert list(Group.objects.values_list("name", flat=True)) == [f"done {job.pk}"], (
        "the broken receiver's write rolled back"
    )


@pytest.mark.django_db(transaction=True)
def test_a_receiver_only_for_some_transitions_is_skipped_without_a_savepoint() -> None:
    from django.test.utils import CaptureQueriesContext

    seen: list[tuple[str, str]] = []

    @signals.only_when(lambda old_status, **kwargs: old_status == JobStatus.COMPLETED)
    def left_completed(sender: Any, job: TranscriptionJob, old_status: str, new_status: str, **kwargs: Any) -> None:
        seen.append((old_status, new_status))

    def savepoints_to_complete(job: TranscriptionJob) -> int:
        with CaptureQueriesContext(connection) as completing:
            assert lifecycle.complete(job, COMPLETED)
        return sum(q["sql"].startswith("SAVEPOINT") for q in completing.captured_queries)

    without = savepoints_to_complete(make_job())
    signals.transcription_status_changed.connect(left_completed, weak=False, dispatch_uid="left_completed")
    try:
        job = make_job()
        assert savepoints_to_complete(job) == without, "the skipped receiver opened no savepoint"
        job_actions.retry(job)
    finally:
        signals.transcription_status_changed.disconnect(dispatch_uid="left_completed")
    assert seen == [(JobStatus.COMPLETED, JobStatus.PENDING)], "called for the retry, not for the completion"


@pytest.mark.django_db(transaction=True)
def test_a_condition_that_raises_is_logged_like_its_receiver_and_the_transition_stands(caplog) -> None:
    @signals.only_when(lambda old_status, **kwargs: old_status == JobStatus.COMPLETED)
    def needs_old_status(sender: Any, job: TranscriptionJob, **kwargs: Any) -> None:
        raise AssertionError("not called: transcription_completed has no old_status")

    signals.transcription_completed.connect(needs_old_status, weak=False, dispatch_uid="needs_old_status")
    try:
        job = make_job()
        assert lifecycle.complete(job, COMPLETED)
    finally:
        signals.transcription_completed.disconnect(dispatch_uid="needs_old_status")
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED
    assert "A receiver of transcription_completed raised" in caplog.text and "old_status" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_an_async_receiver_keeps_its_condition() -> None:
    seen: list[str] = []

    @signals.only_when(lambda new_status, **kwargs: new_status == JobStatus.CANCELLED)
    async def on_cancel(sender: Any, job: TranscriptionJob, new_status: str, **kwargs: Any) -> None:
        seen.append(new_status)

    signals.transcription_status_changed.connect(on_cancel, weak=False, dispatch_uid="on_cancel")
    try:
        assert lifecycle.complete(make_job(), COMPLETED)
        job_actions.cancel(make_job())
    finally:
        signals.transcription_status_changed.disconnect(dispatch_uid="on_cancel")
    assert seen == [JobStatus.CANCELLED]


@pytest.mark.django_db(transaction=True)
def test_receiver_writes_commit_or_roll_back_with_the_transition() -> None:
    from django.db import transaction

    def record(sender: Any, job: TranscriptionJob, **kwargs: Any) -> None:
        Group.objects.create(name=f"notified {job.pk}")

    signals.transcription_completed.connect(record, weak=False, dispatch_uid="record")
    try:
        job = make_job()
        with pytest.raises(RuntimeError), transaction.atomic():
            lifecycle.complete(job, COMPLETED)
            raise RuntimeError("the caller's transaction fails after the transition")
        job.refresh_from_db()
        assert job.status == JobStatus.IN_PROGRESS and not Group.objects.exists()
        lifecycle.complete(job, COMPLETED)
        assert Group.objects.filter(name=f"notified {job.pk}").exists()
    finally:
        signals.transcription_completed.disconnect(dispatch_uid="record")


@pytest.mark.django_db
def test_cancel_and_retry_refuse_states_that_do_not_allow_them() -> None:
    job = make_job(JobStatus.COMPLETED)
    with pytest.raises(InvalidTransitionError, match="cannot be cancelled"):
        job_actions.cancel(job)
    running = make_job(JobStatus.QUEUED)
    with pytest.raises(InvalidTransitionError, match="only finished jobs can be retried"):
        job_actions.retry(running)
    job_actions.cancel(running)
    assert running.status == JobStatus.CANCELLED and running.next_poll_at is None


@pytest.mark.django_db
def test_retry_resets_the_remote_state_and_makes_the_job_due() -> None:
    job = make_job()
    lifecycle.fail(job, "boom")
    job_actions.retry(job)
    assert job.status == JobStatus.PENDING
    assert job.remote_id == "" and job.error_message == "" and job.completed_at is None
    assert job.next_poll_at is not None and job.deadline_at > job.next_poll_at


@pytest.mark.django_db
def test_poll_now_only_touches_active_jobs() -> None:
    done = make_job(JobStatus.COMPLETED)
    assert job_actions.poll_now(done) is False
    running = make_job()
    assert job_actions.poll_now(running) is True
    running.refresh_from_db()
    assert running.next_poll_at is not None


def test_every_status_has_a_rule() -> None:
    assert set(lifecycle.ALLOWED_TRANSITIONS) == set(JobStatus.values)
