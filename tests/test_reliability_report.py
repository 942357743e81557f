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
    assert "| a run | 1 job | none | 1 | 0 | 0 | 0 | ok |" in written[str(DOCUMENT)]
    assert "SLASHML_RELIABILITY_REPORT=1" in (DOCUMENT.parent.parent / "Makefile").read_text()
