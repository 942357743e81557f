"""Every HTTP call to SlashML, noted for the job event log without touching the database.

The job engine hands the client one :class:`StepCalls` per step (the ``calls=`` keyword of
``upload``, ``submit`` and ``status``); the client notes each call there (endpoint, HTTP status,
time taken, SlashML's answer, the key already scrubbed), and the step writes them as events in
the transaction that ends it (:mod:`django_slashml.jobs.events`). A call made without one
(a shell, a test) is noted nowhere.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Call", "StepCalls"]


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


@dataclass
class StepCalls:
    """The SlashML calls of one job's step, in order; ``job_id`` names the job in the client's log lines."""

    job_id: str = ""
    _calls: list[Call] = field(default_factory=list, init=False, repr=False)

    def __iter__(self) -> Iterator[Call]:
        return iter(self._calls)

    def note(
        self,
        endpoint: str,
        method: str,
        started_monotonic: float,
        *,
        http_status: int | None = None,
        answer: Any = None,
        error: str = "",
    ) -> Call:
        """Note a call that began at ``started_monotonic`` (``time.monotonic()``) and has just ended."""
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
        self._calls.append(call)
        return call

    def note_remote_status(self, status: str) -> None:
        """SlashML's (normalised) status for the last call, once its answer is parsed."""
        if self._calls:
            self._calls[-1].remote_status = status[:40]

    def clear(self) -> None:
        """Forget the calls noted so far: the step's closing write has taken them."""
        self._calls.clear()

    def restore(self, calls: list[Call]) -> None:
        """Hold ``calls`` again: the transaction that wrote them was lost."""
        self._calls[:] = calls


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
