"""Every HTTP call to SlashML, noted for the job event log without touching the database.

The client notes each call (endpoint, HTTP status, time taken, SlashML's answer, the key
already scrubbed) into the current step's buffer, a context variable; the job engine opens the
buffer when a step starts and writes its calls as events in the transaction that ends the
step (:mod:`django_slashml.jobs.events`). With no buffer open, noting costs nothing.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

__all__ = ["Call", "calls_made", "note_call", "note_remote_status", "recording", "taking"]


@dataclass
class Call:
    """One HTTP call: ``endpoint`` is ``upload``, ``submit`` or ``status``; ``http_status`` None if no answer came."""

    endpoint: str
    method: str
    started: float  # time.time() when it began
    duration_ms: float
    http_status: int | None = None
    answer: Any = None
    error: str = ""
    remote_status: str = ""


_buffer: ContextVar[list[Call] | None] = ContextVar("slashml_calls", default=None)


@contextmanager
def recording() -> Iterator[list[Call]]:
    """Open a fresh buffer for one step; calls noted inside land in the yielded list."""
    calls: list[Call] = []
    token = _buffer.set(calls)
    try:
        yield calls
    finally:
        _buffer.reset(token)


def calls_made() -> list[Call]:
    """The open buffer's calls (an empty list when none is open)."""
    return _buffer.get() or []


def taking() -> list[Call]:
    """Take the calls noted so far out of the open buffer (they are written once)."""
    calls = _buffer.get()
    if not calls:
        return []
    taken = list(calls)
    calls.clear()
    return taken


def note_call(
    endpoint: str,
    method: str,
    started_monotonic: float,
    *,
    http_status: int | None = None,
    answer: Any = None,
    error: str = "",
) -> Call | None:
    """Note a call that began at ``started_monotonic`` (``time.monotonic()``) and has just ended."""
    calls = _buffer.get()
    if calls is None:
        return None
    elapsed = time.monotonic() - started_monotonic
    call = Call(
        endpoint=endpoint,
        method=method,
        started=time.time() - elapsed,
        duration_ms=round(elapsed * 1000, 3),
        http_status=http_status,
        answer=unsigned(answer),
        error=error,
    )
    calls.append(call)
    return call


_SIGNED_URL = re.compile(r"^(https?://[^?#\s]*)[?#]\S*$", re.IGNORECASE)
#: What stands for a URL's query in an event: a presigned URL's signature is a credential.
QUERY_NOT_KEPT = "?[query not kept]"


def unsigned(answer: Any) -> Any:
    """``answer`` with each top-level URL's query cut off (an upload's ``uploaded_url`` is presigned).

    Events are shown to staff and kept for weeks; the upload row keeps the URL for its sibling
    jobs until it expires.
    """
    if not isinstance(answer, dict):
        return answer
    return {
        key: _SIGNED_URL.sub(lambda m: m.group(1) + QUERY_NOT_KEPT, value) if isinstance(value, str) else value
        for key, value in answer.items()
    }


def note_remote_status(status: str) -> None:
    """SlashML's (normalised) status for the last call, once its answer is parsed."""
    calls = _buffer.get()
    if calls:
        calls[-1].remote_status = status[:40]
