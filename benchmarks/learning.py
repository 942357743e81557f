"""8. Polls that learn: status calls and detection delay on a simulated clock.

The schedule's own functions (:mod:`django_slashml.jobs.scheduling`,
:mod:`django_slashml.jobs.speed`) run against a clock that jumps from poll to poll,
so a hundred jobs of every kind take milliseconds and the numbers do not depend on
how busy the machine is. Each job is a 10 s clip whose processing time varies by
up to 10% around its provider's speed; jobs run one after another, as the issue
measured them, and each sees every earlier job's observation (the per-process
cache is left out). Run alone with ``python -m benchmarks.learning``.
"""

from __future__ import annotations

import math
import random
import re
import statistics
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

#: SlashML's speed the app assumes (POLL_DURATION_FACTOR's default).
ASSUMED_RATE = 0.3
#: The vendor's example client polls every 5 s.
VENDOR_PERIOD = 5.0
#: Jobs before the measured ones, as the issue measured: "after 10 earlier jobs".
WARM_UP = 10


@dataclass(frozen=True)
class Outcome:
    processing: float
    calls: int
    delay: float

    @property
    def allowed(self) -> float:
        """The issue's goal for one job: 15% of its processing time, and at least 1 s."""
        return max(0.15 * self.processing, 1.0)

    @property
    def within_goal(self) -> bool:
        return self.delay <= self.allowed


def _poll_learned(
    processing: float, duration: float, rate: float | None, rng: random.Random
) -> tuple[int, float, float | None]:
    from django_slashml.jobs.scheduling import first_poll_delay, jittered, poll_delay_after

    at = jittered(first_poll_delay(duration, rate), rng=rng, never_early=rate is None)
    calls, running_after = 1, None
    while at < processing:
        running_after = at
        at += jittered(poll_delay_after(calls, elapsed=at, audio_duration=duration, rate=rate), rng=rng)
        calls += 1
    return calls, at, running_after


class Provider:
    """One provider's observations, as the database would hold them."""

    def __init__(self, window: int) -> None:
        self.observations: deque[float] = deque(maxlen=window)

    def rate(self) -> float | None:
        from django_slashml.jobs.speed import robust_rate

        return robust_rate(list(self.observations))


def run_learned(
    speeds: Sequence[tuple[str, float]], *, learn: bool = True, seed: int = 0, duration: float = 10.0
) -> list[Outcome]:
    """Jobs of ``(provider, true speed)`` in order; ``learn=False`` is today's fixed factor."""
    from django_slashml.conf import slashml_settings
    from django_slashml.jobs.speed import observed_rate

    rng = random.Random(seed)
    providers: dict[str, Provider] = {}
    outcomes = []
    for name, speed in speeds:
        provider = providers.setdefault(name, Provider(int(slashml_settings.POLL_LEARNING_WINDOW)))
        processing = duration * speed * rng.uniform(0.9, 1.1)
        calls, done_after, running_after = _poll_learned(processing, duration, provider.rate() if learn else None, rng)
        observation = observed_rate(done_after=done_after, running_after=running_after, duration=duration)
        if observation is not None:
            provider.observations.appendleft(observation)
        outcomes.append(Outcome(processing, calls, done_after - processing))
    return outcomes


def run_vendor(speeds: Sequence[tuple[str, float]], *, seed: int = 0, duration: float = 10.0) -> list[Outcome]:
    """The vendor's loop: a status call every 5 s from submit."""
    rng = random.Random(seed)
    outcomes = []
    for _, speed in speeds:
        processing = duration * speed * rng.uniform(0.9, 1.1)
        calls = max(1, math.ceil(processing / VENDOR_PERIOD))
        outcomes.append(Outcome(processing, calls, calls * VENDOR_PERIOD - processing))
    return outcomes


def _p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def summary(outcomes: Sequence[Outcome]) -> tuple[float, float, float, float]:
    """Mean status calls; mean and p95 detection delay as a share of processing time; p95 of delay / allowed."""
    shares = [o.delay / o.processing for o in outcomes]
    return (
        statistics.mean(o.calls for o in outcomes),
        statistics.mean(shares),
        _p95(shares),
        _p95([o.delay / o.allowed for o in outcomes]),
    )


def jobs_to_follow(outcomes: Sequence[Outcome], change_at: int) -> int | None:
    """Jobs after a change of speed until three jobs in a row meet the goal (calls <= 2, delay in goal)."""
    streak = 0
    for index, outcome in enumerate(outcomes[change_at:], start=1):
        streak = streak + 1 if outcome.within_goal and outcome.calls <= 2 else 0
        if streak == 3:
            return index - 2
    return None


#: name -> jobs of (provider, SlashML speed); 10 warm-up jobs come first in each.
SCENARIOS: dict[str, Callable[[int], list[tuple[str, float]]]] = {
    "3x faster (0.1 s per audio s)": lambda n: [("aws", 0.1)] * n,
    "2x slower (0.6 s per audio s)": lambda n: [("aws", 0.6)] * n,
    "as assumed (0.3 s per audio s)": lambda n: [("aws", 0.3)] * n,
    "two providers interleaved (0.1 and 0.6)": lambda n: [("aws", 0.1), ("rev", 0.6)] * (n // 2),
}
#: A provider that changes speed: (before, after).
CHANGES = ((0.3, 0.1), (0.1, 0.6), (0.6, 0.1))


def measure(jobs: int = 100, seeds: Sequence[int] = (0, 1, 2, 3, 4)) -> dict[str, Any]:
    """Per scenario and schedule: (calls, mean delay share, p95 delay share) over the jobs after warm-up."""
    table: dict[str, dict[str, tuple[float, float, float, float]]] = {}
    for name, make in SCENARIOS.items():
        speeds = make(WARM_UP + jobs)
        warm = WARM_UP if "interleaved" not in name else 2 * WARM_UP
        rows = {}
        for label, runner in (
            ("learned", lambda s, seed: run_learned(s, seed=seed)),
            ("fixed factor", lambda s, seed: run_learned(s, learn=False, seed=seed)),
            ("vendor 5 s loop", lambda s, seed: run_vendor(s, seed=seed)),
        ):
            outcomes = [o for seed in seeds for o in runner(speeds, seed)[warm:]]
            rows[label] = summary(outcomes)
        table[name] = rows
    follow = {}
    for before, after in CHANGES:
        speeds = [("aws", before)] * 40 + [("aws", after)] * 40
        follow[(before, after)] = [jobs_to_follow(run_learned(speeds, seed=seed), 40) for seed in seeds]
    return {"table": table, "follow": follow}


def run(bench: Any = None) -> Any:
    from .report import Section, Target

    measured = measure()
    section = Section(
        title="8. Polls that learn (simulated clock)",
        setup=re.sub(r":mod:`~?([\w.]+)`", r"`\1`", (__doc__ or "").split("\n\n", 1)[1].replace("\n", " "))
        .replace("``", "`")
        .strip()
        + " Figures are over the 100 jobs after the warm-up, five seeds each.",
        headers=[
            "SlashML",
            "schedule",
            "status calls per job",
            "detection delay mean",
            "detection delay p95",
            "p95 of delay / allowed",
        ],
    )
    for scenario, rows in measured["table"].items():
        for label, (calls, mean, p95, used) in rows.items():
            section.rows.append(
                [scenario, label, f"{calls:.2f}", f"{100 * mean:.0f}%", f"{100 * p95:.0f}%", f"{used:.2f}"]
            )
    for scenario, rows in measured["table"].items():
        calls, _, _, used = rows["learned"]
        section.targets.append(Target(f"{scenario}: <= 2 calls per job", f"{calls:.2f}", calls <= 2))
        section.targets.append(
            Target(f"{scenario}: delay p95 <= 15% of processing (at least 1 s allowed)", f"{used:.2f}", used <= 1)
        )
    for (before, after), counts in measured["follow"].items():
        worst = max((c if c is not None else 10**6) for c in counts)
        text = ", ".join(str(c) if c is not None else "never" for c in counts)
        section.targets.append(
            Target(f"speed {before} -> {after} s per audio s followed within about 10 jobs", text, worst <= 12)
        )
    section.notes.append(
        "'allowed' is the issue's goal per job: 15% of its processing time, and at least 1 s; a 3x-faster "
        "10 s clip takes about 1 s, so its percentages are of a small number. A target is met when the "
        "95th percentile of delay / allowed is at most 1."
    )
    return section


if __name__ == "__main__":
    import django
    from django.conf import settings

    settings.configure(INSTALLED_APPS=["django_slashml"], DATABASES={})
    django.setup()
    print(run().text())
