"""docs/reliability.md's measured table is written by ``make reliability-report`` only, never by a test run."""

from __future__ import annotations

from pathlib import Path

import pytest

from . import conftest
from .reliability import harness

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "reliability.md"


@pytest.mark.parametrize("value", [None, "", "0", "true", "yes"])
def test_a_test_session_leaves_the_reliability_page_alone(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv("SLASHML_RELIABILITY_REPORT", raising=False)
    else:
        monkeypatch.setenv("SLASHML_RELIABILITY_REPORT", value)
    row = harness.RunSummary("a run", "1 job", "none", 1, 0, 0, 0, "ok")
    # Patches stay: canned results, and no rewrite of the real docs/reliability.md.
    monkeypatch.setattr(harness, "RESULTS", [row])
    written: list[str] = []
    monkeypatch.setattr(Path, "write_text", lambda self, *args, **kwargs: written.append(str(self)))
    conftest.pytest_sessionfinish(None, 0)  # type: ignore[arg-type]
    assert written == []


def test_make_reliability_report_is_what_writes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLASHML_RELIABILITY_REPORT", "1")
    # Patches stay: canned results, and no rewrite of the real docs/reliability.md.
    monkeypatch.setattr(harness, "RESULTS", [harness.RunSummary("a run", "1 job", "none", 1, 0, 0, 0, "ok")])
    written: dict[str, str] = {}
    monkeypatch.setattr(Path, "write_text", lambda self, text, *args, **kwargs: written.update({str(self): text}))
    conftest.pytest_sessionfinish(None, 0)  # type: ignore[arg-type]
    assert list(written) == [str(DOCUMENT)]
    assert (
        "| a run | none | 1 job: 0 lost, 0 duplicate signals, 0 extra submits; ok | not run |" in written[str(DOCUMENT)]
    )
    assert "SLASHML_RELIABILITY_REPORT=1" in (DOCUMENT.parent.parent / "Makefile").read_text()


def test_the_table_has_a_column_per_queue_with_the_same_rows() -> None:
    celery = harness.RunSummary("Racing workers", "60 jobs", "storm", 60, 0, 0, 0, "all COMPLETED")
    tasks = harness.RunSummary("Racing workers", "30 jobs", "storm", 30, 0, 0, 0, "all COMPLETED", queue=harness.TASKS)
    outage = harness.RunSummary("Broker outage", "40 jobs", "Redis stopped", 40, 0, 0, 0, "all COMPLETED")
    header, _, racing, broker = harness.report_table([celery, outage, tasks])
    assert header == "| run | faults injected | Celery | Django tasks (db_worker) |"
    assert racing == (
        "| Racing workers | storm | 60 jobs: 0 lost, 0 duplicate signals, 0 extra submits; all COMPLETED "
        "| 30 jobs: 0 lost, 0 duplicate signals, 0 extra submits; all COMPLETED |"
    )
    assert broker.endswith("| no broker: the queue is the database |")


def test_each_step_of_the_report_replaces_its_own_cells_and_keeps_the_others() -> None:
    def killed(database: str, seconds: str, queue: str = harness.CELERY) -> harness.RunSummary:
        return harness.RunSummary(f"Killed mid-step ({database})", "3 jobs", "SIGKILL", 3, 0, 0, 0, seconds, queue)

    earlier = harness.report_table([killed("PostgreSQL", "44 s"), killed("PostgreSQL", "46 s", harness.TASKS)])
    earlier = harness.report_table([killed("MariaDB", "45 s")], earlier)  # the MariaDB tier's step
    now = harness.report_table([killed("PostgreSQL", "41 s")], earlier)  # one process of the service tier's
    assert [line.split("|")[1].strip() for line in now[2:]] == [
        "Killed mid-step (PostgreSQL)",
        "Killed mid-step (MariaDB)",
    ]
    assert "41 s |" in now[2] and "46 s |" in now[2] and "44 s" not in now[2]
    assert "45 s |" in now[3]
    assert harness.report_table([], ["| run | load | old layout |", "| --- |", "| gone | x | y |"]) == now[:2]
