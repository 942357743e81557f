"""Tables for the terminal and for docs/benchmarks.md, and the machine they were measured on."""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path


@dataclass
class Target:
    goal: str
    measured: str
    met: bool


@dataclass
class Section:
    title: str
    setup: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [f"## {self.title}", "", self.setup, ""]
        lines.append("| " + " | ".join(self.headers) + " |")
        lines.append("|" + "|".join(" --- " for _ in self.headers) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        if self.targets:
            lines += ["", "| target | measured | met |", "| --- | --- | --- |"]
            lines += [f"| {t.goal} | {t.measured} | {'yes' if t.met else '**no**'} |" for t in self.targets]
        if self.notes:
            lines.append("")
            lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"

    def text(self) -> str:
        widths = [max(len(str(cell)) for cell in column) for column in zip(self.headers, *self.rows, strict=False)]
        out = [f"== {self.title}"]
        for row in (self.headers, *self.rows):
            out.append("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)))
        out += [f"  target: {t.goal} -> {t.measured} ({'met' if t.met else 'NOT met'})" for t in self.targets]
        return "\n".join(out)


def _command_version(command: list[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=10).stdout.strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "unknown"


def machine() -> list[str]:
    cpu = "unknown CPU"
    if os.path.exists("/proc/cpuinfo"):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    packages = ", ".join(f"{name} {version(name)}" for name in ("Django", "djangorestframework", "celery", "requests"))
    return [
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), {memory:.0f} GiB",
        f"Python {platform.python_version()}; {packages}; django-slashml {version('django-slashml')}",
        f"{_command_version(['psql', '--version'])} (server on loopback); "
        f"{_command_version(['redis-server', '--version'])}",
        f"measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
    ]


START, END = "<!-- measured: start (written by benchmarks/run.py) -->", "<!-- measured: end -->"


def reproduce_and_machine(command: str) -> list[str]:
    """The lines every measured block opens with: the command that made it and the machine it ran on."""
    machine_lines = [f"- {line}" for line in machine()]
    return ["Reproduce with:", "", "```sh", command, "```", "", "Measured on:", "", *machine_lines]


def write(path: Path, sections: list[Section], command: str) -> None:
    """Replace the measured part of ``path``, keeping the prose around it that explains the figures."""
    measured = [
        START,
        "",
        *reproduce_and_machine(command),
        "",
        *[section.markdown() for section in sections],
        END,
    ]
    block = "\n".join(measured)
    text = path.read_text() if path.exists() else f"# Benchmarks\n\n{START}\n{END}\n"
    if START not in text or END not in text:
        raise SystemExit(f"{path} has no {START!r} ... {END!r} markers to write between")
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    path.write_text(before + block + after)
