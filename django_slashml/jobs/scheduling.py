"""When to poll next and how long to back off: pure functions of settings and counts.

The first poll waits for a share of the audio's duration, so a two-hour file is
not polled every few seconds; later polls start short and grow geometrically to a
cap, so a short file is not left waiting a minute. Jitter spreads many jobs
submitted together; the first poll's only ever later, since polling before SlashML
can be done costs a call and, on average, a longer wait.
"""

from __future__ import annotations

import random

from django_slashml.conf import slashml_settings


def jittered(seconds: float, *, rng: random.Random | None = None, never_early: bool = False) -> float:
    """``seconds`` spread by ``POLL_JITTER``; ``never_early`` spreads only later, not sooner."""
    spread = float(slashml_settings.POLL_JITTER)
    factor = 1.0 + (rng or random).uniform(0.0 if never_early else -spread, spread)
    return max(0.0, seconds * factor)


def first_poll_delay(audio_duration: float | None, rate: float | None = None) -> float:
    """Seconds from submit to the first status call: when SlashML can be expected to be done.

    Not capped by ``POLL_MAX_INTERVAL``: a two-hour file polled after five minutes only
    buys status calls that find it unfinished. Polls due beyond ``MAX_COUNTDOWN`` are
    sent by the sweeper, which schedules them ahead (:mod:`~django_slashml.jobs.sweeper`).
    """
    s = slashml_settings
    if rate is not None and audio_duration:
        # A learned speed is trusted down to POLL_LEARNED_MIN_DELAY: a fast provider's
        # one-second job is not held to the five seconds a guess needs.
        return max(float(s.POLL_LEARNED_MIN_DELAY), audio_duration * rate)
    expected = (audio_duration or 0.0) * float(s.POLL_DURATION_FACTOR)
    return max(float(s.POLL_INITIAL_DELAY), expected)


#: Polls after the first that keep the learned step before it starts to grow.
LEARNED_EVEN_STEPS = 3


def learned_later_delay(polls_made: int, expected: float) -> float:
    """The wait after ``polls_made`` (>= 1) polls found a job running that was ``expected`` to take that long.

    Small steps (``POLL_LEARNED_STEP`` of the expected time) around the expected finish
    keep a transcript at most about that share late; after ``LEARNED_EVEN_STEPS`` they grow
    by ``POLL_BACKOFF_FACTOR``, so a provider that got much slower costs only a few calls.
    """
    s = slashml_settings
    step = max(float(s.POLL_LEARNED_MIN_DELAY), float(s.POLL_LEARNED_STEP) * expected)
    growth = float(s.POLL_BACKOFF_FACTOR) ** max(0, polls_made - LEARNED_EVEN_STEPS)
    return min(step * growth, float(s.POLL_MAX_INTERVAL))


def later_poll_delay(polls_made: int, elapsed: float = 0.0) -> float:
    """Seconds until the next status call once ``polls_made`` (>= 1) have found the job unfinished.

    ``elapsed`` is the time since submit: the wait is at least ``POLL_LATE_FACTOR`` of
    it, so a ten-minute job that outlasts its expected time is polled every minute or
    so, not every few seconds, and its transcript is still at most that fraction late.
    """
    s = slashml_settings
    growth = float(s.POLL_BACKOFF_FACTOR) ** max(0, polls_made - 1)
    wait = max(float(s.POLL_MIN_INTERVAL) * growth, float(s.POLL_LATE_FACTOR) * max(0.0, elapsed))
    return min(wait, float(s.POLL_MAX_INTERVAL))


def poll_delay_after(polls_made: int, *, elapsed: float, audio_duration: float | None, rate: float | None) -> float:
    """The wait after a poll that found the job running: learned steps where a speed is known, else the backoff."""
    if rate is not None and audio_duration:
        return learned_later_delay(polls_made, audio_duration * rate)
    return later_poll_delay(polls_made, elapsed)


def retry_delay(failures: int, *, retry_after: float | None = None) -> float:
    """Exponential backoff for the ``failures``-th transient failure in a row (>= 1).

    A Retry-After from SlashML is a floor: we never come back sooner than asked.
    """
    s = slashml_settings
    delay = min(float(s.RETRY_BASE_DELAY) * (2 ** max(0, failures - 1)), float(s.RETRY_MAX_DELAY))
    delay = random.uniform(delay / 2, delay)  # "equal jitter": never less than half the backoff
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay
