"""Receivers that write a :class:`SignalRecord` per signal, and the counts the tests read."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

from django_slashml import signals

SIGNALS = ("transcription_status_changed", "transcription_completed", "transcription_failed")


def _record(sender: Any, signal: Any, job: Any, **kwargs: Any) -> None:
    from .models import SignalRecord

    SignalRecord.objects.create(
        job_id=job.pk, signal=signal.name, new_status=kwargs.get("new_status", ""), pid=os.getpid()
    )


def connect() -> None:
    for name in SIGNALS:
        getattr(signals, name).connect(_record, weak=False, dispatch_uid=f"reliability-{name}")


def completions_per_job() -> Counter[str]:
    from .models import SignalRecord

    rows = SignalRecord.objects.filter(signal="transcription_completed").values_list("job_id", flat=True)
    return Counter(str(job_id) for job_id in rows)


def duplicate_transitions() -> int:
    """Transitions into the same status recorded more than once for one job (retries excepted)."""
    from .models import SignalRecord

    seen = Counter(
        (str(job_id), status)
        for job_id, status in SignalRecord.objects.filter(signal="transcription_status_changed").values_list(
            "job_id", "new_status"
        )
    )
    return sum(count - 1 for count in seen.values() if count > 1)
