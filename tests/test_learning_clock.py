"""The real-clock benchmark's arithmetic (benchmarks/learning_clock.py): what its table says of each job.

No clock here: jobs are written by hand, as the benchmark reads them from the worker and the server.
"""

from __future__ import annotations

import pytest

from benchmarks.learning_clock import Job, summarise


def _job(*, finished: float = 1.5, first_due: float, due: float, calls: int) -> Job:
    return Job(
        finished=finished,
        first_due=first_due,
        calls=calls,
        due=due,
        started=due + 0.01,
        asked=due + 0.02,
        recorded=due + 0.03,
    )


def test_the_parts_of_a_delay_add_up_to_it() -> None:
    jobs = [_job(first_due=1.3, due=2.1, calls=2), _job(first_due=1.6, due=1.6, calls=1)]
    m = summarise(jobs)
    assert m["schedule"] + m["queue"] + m["to_call"] + m["after_call"] == pytest.approx(m["delay"])
    assert m["queue"] == pytest.approx(0.01)
    assert m["calls"] == 1.5
    assert m["first_early"] == 0.5
    assert m["first_vs_finish"] == pytest.approx((-0.2 + 0.1) / 2)


def test_a_short_job_is_allowed_one_second_and_a_long_one_fifteen_percent() -> None:
    short = [_job(first_due=2.4, due=2.4, calls=1), _job(first_due=2.6, due=2.6, calls=1)]
    assert summarise(short)["within"] == 0.5  # 0.93 s late is within 1 s; 1.13 s is not
    long = [_job(finished=20.0, first_due=22.9, due=22.9, calls=1)]
    assert summarise(long)["within"] == 1.0  # 2.93 s late, within 3 s
