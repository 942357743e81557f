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


def test_each_reports_step_replaces_its_own_runs_rows_and_keeps_the_others() -> None:
    postgresql = harness.RunSummary("Killed mid-step (PostgreSQL)", "3 jobs", "SIGKILL", 3, 0, 0, 0, "44 s")
    earlier = harness.report_table(
        [postgresql, harness.RunSummary("Killed mid-step (MariaDB)", "3 jobs", "SIGKILL", 3, 0, 0, 0, "45 s")]
    )
    now = harness.report_table(
        [harness.RunSummary("Killed mid-step (PostgreSQL)", "3 jobs", "SIGKILL", 3, 0, 0, 0, "41 s")]
    )
    merged = conftest.merge_rows(earlier, now)
    assert [line.split("|")[1].strip() for line in merged[2:]] == [
        "Killed mid-step (PostgreSQL)",
        "Killed mid-step (MariaDB)",
    ]
    assert "41 s" in merged[2] and "45 s" in merged[3]
    assert conftest.merge_rows(["| run | load | old layout |", "| --- |", "| gone | x | y |"], now) == now
