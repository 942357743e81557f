"""CPU seconds per process role on this machine, read from /proc (Linux), to say where a run's time went.

A process that exits during the run (a PostgreSQL backend of a connection closed per task) is
not counted: the figures are a floor where connections come and go.
"""

from __future__ import annotations

import os
import statistics
import time
from collections import Counter
from pathlib import Path

#: The roles every run has, besides the Celery workers' (:func:`roles`).
_OTHER_ROLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("PostgreSQL", ("postgres",)),
    ("benchmark driver (creates jobs, waits)", ("driver",)),
    ("sandbox (SlashML)", ("sandbox",)),
    ("Redis", ("redis",)),
)


def roles(pool: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Each role's label and the process kinds it adds up, for a run of Celery's ``pool`` (``prefork`` or ``solo``).

    A solo worker counts whichever kind :func:`_role` gives it, so none of its CPU drops out.
    """
    if pool == "prefork":
        workers: tuple[tuple[str, tuple[str, ...]], ...] = (
            ("prefork's children (run the tasks)", ("celery-child",)),
            ("prefork's main process (takes the messages, hands them to a child)", ("celery-main",)),
        )
    else:
        workers = (("solo workers (take the messages and run the tasks)", ("celery-main", "celery-child")),)
    return workers + _OTHER_ROLES


def _reference_work() -> int:
    """Python-level work of the app's kind (dicts, strings, comparisons), none of it in a C helper."""
    total = 0
    for index in range(30_000):
        row = {"id": index, "word": f"word{index}", "start": index / 10}
        if row["word"].endswith("7") and row["start"] > 1:
            total += len(row["word"])
        total += row["id"] % 3
    return total


def reference_ms(repeat: int = 7) -> float:
    """CPU milliseconds of a fixed Python workload, best of ``repeat``: how fast this machine runs Python now.

    The same code's throughput moves with the machine's speed (a shared virtual machine, whose
    speed was seen to change by 1.7x within a minute); this puts a number on it. It is CPU
    time, so the other processes of a run barely move it, and neither does time the hypervisor
    gave to other machines: :func:`stolen_share` reports that.
    """
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        _reference_work()
        best = min(best, time.process_time() - started)
    return 1000 * best


class SpeedGauge:
    """:func:`reference_ms` once every ``every`` seconds while a run waits, to tell its machine's speed."""

    def __init__(self, every: float = 2.0) -> None:
        self.every = every
        self.samples: list[float] = []
        self._last = float("-inf")

    def __call__(self) -> None:
        if time.monotonic() - self._last >= self.every:
            self._last = time.monotonic()
            self.samples.append(reference_ms(repeat=1))

    @property
    def spent_seconds(self) -> float:
        """The gauge's own CPU time, to take out of the process that ran it."""
        return sum(self.samples) / 1000

    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else float("nan")


def cpu_ticks() -> tuple[int, int]:
    """This machine's CPU time so far, all of it and the part stolen by the hypervisor, in ticks (/proc/stat)."""
    try:
        fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    return sum(fields[:8]), fields[7] if len(fields) > 7 else 0


def stolen_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    """The share of the machine's CPU time the hypervisor gave elsewhere between two :func:`cpu_ticks`."""
    total = after[0] - before[0]
    return (after[1] - before[1]) / total if total > 0 else 0.0


def _command(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _role(pid: str, command: str, parent: str) -> str | None:
    if int(pid) == os.getpid():
        return "driver"
    if "celery" in command:
        return "celery-child" if "celery" in _command(parent) else "celery-main"
    if "django_slashml.sandbox" in command:
        return "sandbox"
    if "postgres" in command:
        return "postgres"
    if "redis-server" in command:
        return "redis"
    return None


def snapshot() -> dict[tuple[str, str], float]:
    """CPU seconds (user + system) so far of every process with a role, by (role, pid)."""
    if not Path("/proc/self/stat").exists():
        return {}
    tick = os.sysconf("SC_CLK_TCK")
    seen: dict[tuple[str, str], float] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        role = _role(pid, _command(pid), fields[1])
        if role is not None:
            seen[role, pid] = (int(fields[11]) + int(fields[12])) / tick
    return seen


def spent(before: dict[tuple[str, str], float], after: dict[tuple[str, str], float]) -> Counter[str]:
    """CPU seconds each role used between two snapshots."""
    used: Counter[str] = Counter()
    for key, seconds in after.items():
        used[key[0]] += seconds - before.get(key, 0.0)
    return used
