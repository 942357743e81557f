"""CPU seconds per process role on this machine, read from /proc (Linux), to say where a run's time went.

A process that exits during the run (a PostgreSQL backend of a connection closed per task) is
not counted: the figures are a floor where connections come and go.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path

#: The roles every run has, besides the Celery workers' (:func:`roles`).
_OTHER_ROLES = (
    ("PostgreSQL", "postgres"),
    ("benchmark driver (creates jobs, waits)", "driver"),
    ("sandbox (SlashML)", "sandbox"),
    ("Redis", "redis"),
)


def roles(pool: str) -> tuple[tuple[str, str], ...]:
    """Each role's label and key for a run of Celery's ``pool`` (``prefork`` or ``solo``)."""
    if pool == "prefork":
        workers = (
            ("prefork's children (run the tasks)", "celery-child"),
            ("prefork's main process (takes the messages, hands them to a child)", "celery-main"),
        )
    else:
        workers = (("solo workers (take the messages and run the tasks)", "celery-main"),)
    return workers + _OTHER_ROLES


def _reference_work() -> None:
    answer = {
        "id": "0" * 36,
        "status": "COMPLETED",
        "words": [{"word": f"word{index}", "start": index / 10, "end": index / 10 + 0.05} for index in range(50)],
    }
    for _ in range(200):
        json.loads(json.dumps(answer))


def reference_ms() -> float:
    """CPU milliseconds of a fixed pure-Python workload, best of 5: how fast this machine is right now.

    The same code's throughput moves with the machine's speed (a shared virtual machine); this
    puts a number on it, to compare one run of the page with another.
    """
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        _reference_work()
        best = min(best, time.process_time() - started)
    return 1000 * best


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
