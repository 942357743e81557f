"""How a hand-written integration waits with the vendor's client (loaded by :mod:`tests.vendor_client`)."""

from __future__ import annotations

from typing import Any

from tests.vendor_client import speech_to_text

__all__ = ["speech_to_text", "wait_like_the_vendor"]


def wait_like_the_vendor(client: Any, upload_url: str, provider: Any) -> Any:
    """``execute()``, then its own 5-second loop for as long as the job is unfinished.

    ``execute`` loops only while the status is exactly ``IN_PROGRESS``, so it returns
    a job that is still ``QUEUED``; a hand-written integration that wants the
    transcript keeps polling the same way.
    """
    import time

    result = client.execute(upload_url, provider)
    while result.status not in ("COMPLETED", "ERROR"):
        time.sleep(5)
        result = client.status(result.id, provider)
    return result
