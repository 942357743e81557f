"""Polls that learn each provider's speed (issue 19).

The goals are asserted on the simulated clock of benchmarks/learning.py, which runs the
schedule's own functions: counts of status calls and delays as shares of processing time,
not wall time. The database side (what a completion records, what the next job reads)
runs against the sandbox.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from benchmarks import learning
from django_slashml import transcribe
from django_slashml.jobs import pipeline, speed
from django_slashml.models import JobStatus, TranscriptionJob
from django_slashml.testing import sandbox_settings

from .helpers import drive

JOBS = 100
SEEDS = (0, 1, 2)


def _after_warm_up(outcomes: list[learning.Outcome], warm_up: int = learning.WARM_UP) -> list[learning.Outcome]:
    return outcomes[warm_up:]


@pytest.mark.parametrize("true_speed", [0.1, 0.6], ids=["3x faster", "2x slower"])
def test_once_learned_a_provider_costs_at_most_two_calls_and_is_detected_within_its_goal(true_speed) -> None:
    outcomes = []
    for seed in SEEDS:
        outcomes += _after_warm_up(learning.run_learned([("aws", true_speed)] * (learning.WARM_UP + JOBS), seed=seed))
    calls, _, _, used = learning.summary(outcomes)
    assert calls <= 2, f"{calls:.2f} status calls per job"
    assert used <= 1, f"p95 delay is {used:.2f}x the allowed 15% (at least 1 s)"


def test_the_fixed_factor_misses_the_goal_that_learning_meets() -> None:
    """The same jobs under today's schedule: the comparison the benchmark shows, as a check it can fail."""
    jobs = [("aws", 0.1)] * (learning.WARM_UP + JOBS)
    fixed = learning.summary(_after_warm_up(learning.run_learned(jobs, learn=False)))
    learned = learning.summary(_after_warm_up(learning.run_learned(jobs)))
    assert fixed[3] > 2 and learned[3] <= 1


def test_providers_of_different_speeds_each_learn_their_own() -> None:
    jobs = [("aws", 0.1), ("rev", 0.6)] * (learning.WARM_UP + JOBS // 2)
    for seed in SEEDS:
        outcomes = _after_warm_up(learning.run_learned(jobs, seed=seed), 2 * learning.WARM_UP)
        calls, _, _, used = learning.summary(outcomes)
        assert calls <= 2 and used <= 1, (seed, calls, used)


@pytest.mark.parametrize(("before", "after"), [(0.3, 0.1), (0.1, 0.6), (0.6, 0.1)])
def test_a_provider_that_changes_speed_is_followed_within_about_ten_jobs(before, after) -> None:
    for seed in SEEDS:
        outcomes = learning.run_learned([("aws", before)] * 40 + [("aws", after)] * 40, seed=seed)
        followed = learning.jobs_to_follow(outcomes, 40)
        assert followed is not None and followed <= 12, (seed, followed)


def test_an_observation_brackets_the_finish_between_polls() -> None:
    assert speed.observed_rate(done_after=6.0, running_after=4.0, duration=10.0) == pytest.approx(0.5)
    # Found done at the first poll: it may have finished long before, so it counts earlier.
    assert speed.observed_rate(done_after=6.0, running_after=None, duration=10.0) == pytest.approx(0.3)
    assert speed.observed_rate(done_after=6.0, running_after=4.0, duration=None) is None


def _completed(provider: str, rate: float, *, minutes_ago: float) -> None:
    TranscriptionJob.objects.create(
        audio_url="https://example.com/a.wav",
        service_provider=provider,
        status=JobStatus.COMPLETED,
        completed_at=timezone.now() - timedelta(minutes=minutes_ago),
        processing_rate=rate,
    )


@pytest.mark.django_db
def test_the_learned_speed_is_the_median_of_the_providers_latest_jobs(settings) -> None:
    settings.SLASHML = {"POLL_LEARNING_WINDOW": 5}
    for index, rate in enumerate([0.1, 0.12, 5.0, 0.11, 0.1]):  # one job stuck in a queue
        _completed("aws", rate, minutes_ago=index)
    for index in range(5):
        _completed("aws", 9.0, minutes_ago=100 + index)  # older than the window
    _completed("rev", 0.9, minutes_ago=0)
    assert speed.learned_rate("aws") == pytest.approx(0.11)
    assert speed.learned_rate("rev") == pytest.approx(0.9)
    assert speed.learned_rate("google") is None
    settings.SLASHML = {"POLL_LEARNING": False}
    assert speed.learned_rate("aws") is None


@pytest.mark.django_db
def test_a_completed_job_records_its_speed_and_the_next_one_polls_by_it(
    settings, slashml, sandbox, speech_path
) -> None:
    settings.SLASHML = sandbox_settings(sandbox, POLL_JITTER=0, POLL_LEARNED_MIN_DELAY=0.05, POLL_MIN_INTERVAL=0.2)
    slashml.set_faults(processing_time=0.0, processing_time_per_audio_second=0.1)  # 5.37 s of audio: 0.54 s
    first = drive(transcribe(speech_path, service_provider="aws", fresh=True))
    assert first.status == JobStatus.COMPLETED
    assert first.processing_rate is not None and 0.05 < first.processing_rate < 1.0
    speed.forget()
    second = transcribe(speech_path, service_provider="aws", fresh=True)
    assert pipeline.advance(second.pk) == pipeline.Step.SUBMITTED
    second.refresh_from_db()
    wait = (second.next_poll_at - second.submitted_at).total_seconds()
    # Today's schedule would wait POLL_INITIAL_DELAY (5 s); the learned one waits the first job's speed.
    assert wait == pytest.approx(5.37 * first.processing_rate, abs=0.05)
    assert drive(second).status == JobStatus.COMPLETED


@pytest.mark.django_db
def test_a_distant_slashml_is_polled_from_when_the_submit_was_sent(settings, slashml, sandbox, speech_path) -> None:
    """Every answer takes 0.4 s: the first poll is planned from the submit's sending, not its answer,
    and the speed learned from the sendings of the submit and of the polls is SlashML's own."""
    settings.SLASHML = sandbox_settings(
        sandbox,
        POLL_JITTER=0,
        POLL_INITIAL_DELAY=0.5,
        POLL_DURATION_FACTOR=0,
        POLL_MIN_INTERVAL=0.2,
        POLL_MAX_INTERVAL=0.3,
    )
    slashml.set_faults(processing_time=1.0, latency=0.4)
    job = transcribe(speech_path, service_provider="aws", fresh=True)
    assert pipeline.advance(job.pk) == pipeline.Step.SUBMITTED
    answered = timezone.now()
    job.refresh_from_db()
    assert (answered - job.submitted_at).total_seconds() >= 0.4  # the time it was sent
    assert (job.next_poll_at - job.submitted_at).total_seconds() == pytest.approx(0.5, abs=0.01)
    done = drive(job)
    assert done.status == JobStatus.COMPLETED and done.processing_rate is not None
    # The middle of the sendings of the last poll that found it running (the first at 0.5 s may be it)
    # and of the first that found it done (at 1 s or later; polls go out every half second or so).
    assert 0.6 < done.processing_rate * done.audio_duration < 2.0


@pytest.mark.django_db
def test_a_job_whose_poll_was_held_up_by_a_dead_worker_teaches_nothing(slashml, speech_path) -> None:
    job = transcribe(speech_path, fresh=True)
    assert pipeline.advance(job.pk) == pipeline.Step.SUBMITTED
    # The worker that took the next poll died: its lease ran out long after SlashML finished.
    TranscriptionJob.objects.filter(pk=job.pk).update(
        lease_owner="killed-worker", lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    done = drive(job)
    assert done.status == JobStatus.COMPLETED
    assert done.processing_rate is None
    speed.forget()
    assert speed.learned_rate(done.service_provider) is None


@pytest.mark.django_db
def test_a_job_whose_poll_came_late_teaches_nothing(slashml, speech_path) -> None:
    slashml.set_faults(processing_time=0.0)  # done by the time of the first poll
    job = transcribe(speech_path, fresh=True)
    assert pipeline.advance(job.pk) == pipeline.Step.SUBMITTED
    # Submitted 30 s ago with its poll due 5 s later, whose message was lost: the sweeper sends
    # it again now, long after SlashML finished.
    now = timezone.now()
    TranscriptionJob.objects.filter(pk=job.pk).update(
        submitted_at=now - timedelta(seconds=30), next_poll_at=now - timedelta(seconds=25)
    )
    done = drive(job)
    assert done.status == JobStatus.COMPLETED
    assert done.processing_rate is None


@pytest.mark.django_db
def test_a_retried_job_forgets_what_it_taught(slashml, speech_path) -> None:
    from django_slashml import retry

    job = drive(transcribe(speech_path, fresh=True))
    assert job.processing_rate is not None
    retry(job)
    job.refresh_from_db()
    assert job.processing_rate is None and job.running_after is None


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ({"POLL_LEARNING": "yes"}, "slashml.E070"),
        ({"POLL_LEARNING_WINDOW": 0}, "slashml.E071"),
        ({"POLL_LEARNING_WINDOW": 2.5}, "slashml.E071"),
        ({"POLL_LEARNED_STEP": -0.1}, "slashml.E004"),
    ],
)
def test_each_bad_learning_setting_has_its_check(setting, expected) -> None:
    from django.core import checks
    from django.test import override_settings

    with override_settings(SLASHML={"API_KEY": "k", **setting}):
        assert expected in {message.id for message in checks.run_checks()}
    with override_settings(SLASHML={"API_KEY": "k"}):
        assert not {message.id for message in checks.run_checks()} & {"slashml.E070", "slashml.E071"}


@pytest.mark.django_db
def test_after_a_retried_status_call_the_next_poll_counts_from_the_try_that_answered(
    settings, slashml, sandbox, speech_path, monkeypatch
) -> None:
    from django_slashml.exceptions import APITimeoutError
    from django_slashml.models import JobEvent
    from django_slashml.remote.client import SlashMLClient

    settings.SLASHML = sandbox_settings(
        sandbox, POLL_JITTER=0, POLL_MIN_INTERVAL=1.0, POLL_MAX_INTERVAL=1.0, STATUS_HTTP_RETRIES=1, POLL_LEARNING=False
    )
    slashml.set_faults(processing_time=30.0)
    real = SlashMLClient._call
    timed_out: list[bool] = []

    def first_status_times_out(self, method, path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if method == "GET" and not timed_out:
            timed_out.append(True)
            time.sleep(0.4)
            raise APITimeoutError("SlashML did not answer within 0.4 s")
        return real(self, method, path, *args, **kwargs)

    job = transcribe(speech_path, fresh=True)
    assert pipeline.advance(job.pk) == pipeline.Step.SUBMITTED
    TranscriptionJob.objects.filter(pk=job.pk).update(next_poll_at=timezone.now())
    monkeypatch.setattr(SlashMLClient, "_call", first_status_times_out)
    assert pipeline.advance(job.pk) == pipeline.Step.POLLED
    job.refresh_from_db()
    first, answered = JobEvent.objects.filter(job_id=job.pk, kind="status").order_by("at")
    assert (answered.at - first.at).total_seconds() >= 0.4
    assert (job.next_poll_at - answered.at).total_seconds() == pytest.approx(1.0, abs=0.02)
