"""The poll schedule and backoff: a long file is not polled every few seconds, a short one not left waiting."""

from __future__ import annotations

import random

import pytest
from django.test import override_settings

from django_slashml.jobs.scheduling import first_poll_delay, jittered, later_poll_delay, retry_delay

SETTINGS = {
    "API_KEY": "k",
    "POLL_INITIAL_DELAY": 5,
    "POLL_DURATION_FACTOR": 0.3,
    "POLL_MIN_INTERVAL": 3,
    "POLL_BACKOFF_FACTOR": 1.5,
    "POLL_MAX_INTERVAL": 300,
    "POLL_JITTER": 0.1,
    "RETRY_BASE_DELAY": 2,
    "RETRY_MAX_DELAY": 60,
}

pytestmark = pytest.mark.usefixtures("schedule_settings")


@pytest.fixture
def schedule_settings():  # type: ignore[no-untyped-def]
    with override_settings(SLASHML=SETTINGS):
        yield


@pytest.mark.parametrize(("duration", "expected"), [(None, 5), (4, 5), (60, 18), (600, 180), (7200, 2160)])
def test_first_poll_follows_the_audio_duration_within_bounds(duration, expected) -> None:
    assert first_poll_delay(duration) == pytest.approx(expected)


def test_later_polls_grow_geometrically_to_the_cap() -> None:
    delays = [later_poll_delay(n) for n in range(1, 16)]
    assert delays[:4] == pytest.approx([3, 4.5, 6.75, 10.125])
    assert delays[-1] == 300 and max(delays) == 300
    assert delays == sorted(delays)


def test_a_job_past_a_long_expected_time_waits_a_share_of_the_time_already_waited() -> None:
    with override_settings(SLASHML={**SETTINGS, "POLL_LATE_FACTOR": 0.15}):
        assert later_poll_delay(1, elapsed=400) == pytest.approx(60), "not 3 s after a 400 s wait"
        assert later_poll_delay(1, elapsed=10) == pytest.approx(3), "short jobs keep the minimum interval"
        assert later_poll_delay(12, elapsed=100) == pytest.approx(3 * 1.5**11), "the backoff still grows"
        assert later_poll_delay(1, elapsed=10_000) == 300, "capped at POLL_MAX_INTERVAL"


def test_jitter_stays_within_its_spread() -> None:
    rng = random.Random(1)
    values = [jittered(100, rng=rng) for _ in range(1000)]
    assert 90 <= min(values) < 92 and 108 < max(values) <= 110


def test_the_first_poll_is_never_jittered_earlier_than_expected() -> None:
    rng = random.Random(2)
    values = [jittered(100, rng=rng, never_early=True) for _ in range(1000)]
    assert min(values) >= 100 and 108 < max(values) <= 110


def test_retry_backoff_doubles_with_jitter_and_respects_retry_after() -> None:
    for failures, ceiling in [(1, 2), (2, 4), (3, 8), (10, 60)]:
        samples = [retry_delay(failures) for _ in range(200)]
        assert ceiling / 2 <= min(samples) and max(samples) <= ceiling
    assert retry_delay(1, retry_after=30) == 30
    assert retry_delay(6, retry_after=1) >= 30, "Retry-After is a floor, not a replacement"
