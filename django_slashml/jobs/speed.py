"""Each provider's processing speed, learned from its recent completed jobs.

A job completed at a poll tells us only that SlashML finished between the last poll
that found it running and that poll. Bracketed jobs count their bracket's middle;
a job found done at its first poll counts a point well before it, so the estimate
keeps probing down and a provider that got faster is followed too, not only one
that got slower. The median of a provider's last ``POLL_LEARNING_WINDOW``
observations, read with one indexed query and cached briefly per process, is shared
by every worker and host through the database.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.translation import gettext

from django_slashml.conf import DEFAULTS, slashml_settings
from django_slashml.models import TranscriptionJob

#: A job found done at its first poll may have finished long before: it counts this
#: share of the time to that poll, which pulls an estimate that is too slow down.
PROBE_SHRINK = 0.5

_cache: dict[str, tuple[float, float | None]] = {}


def observed_rate(*, done_after: float, running_after: float | None, duration: float | None) -> float | None:
    """Processing seconds per audio second of one job, from when polls saw it running and done."""
    if not duration or duration <= 0 or done_after <= 0:
        return None
    if running_after is None or running_after <= 0 or running_after >= done_after:
        seconds = done_after * PROBE_SHRINK
    else:
        seconds = (running_after + done_after) / 2
    return seconds / duration


def audio_seconds(job: TranscriptionJob, remote_duration: float | None = None) -> float | None:
    """The audio's length for the schedule: the job's (the upload's, from its headers, until SlashML says)."""
    if job.audio_duration or remote_duration:
        return job.audio_duration or remote_duration
    return job.upload.duration if job.upload_id is not None and job.upload is not None else None


def robust_rate(rates: Sequence[float]) -> float | None:
    """The median of ``rates``: one job that sat in SlashML's queue for minutes moves it little."""
    return statistics.median(rates) if rates else None


def learned_rate(service_provider: str) -> float | None:
    """The provider's current estimate, or None (no history yet, or ``POLL_LEARNING`` is off)."""
    s = slashml_settings
    if not s.POLL_LEARNING:
        return None
    now = time.monotonic()
    cached = _cache.get(service_provider)
    if cached is not None and cached[0] > now:
        return cached[1]
    rates = list(
        TranscriptionJob.objects.filter(service_provider=service_provider, processing_rate__isnull=False)
        .order_by("-completed_at")
        .values_list("processing_rate", flat=True)[: max(1, int(s.POLL_LEARNING_WINDOW))]
    )
    rate = robust_rate([r for r in rates if r is not None])
    _cache[service_provider] = (now + float(s.POLL_LEARNING_CACHE_SECONDS), rate)
    return rate


def forget() -> None:
    """Drop the per-process cache (tests, and when settings change)."""
    _cache.clear()


@receiver(setting_changed, dispatch_uid="django_slashml.jobs.speed.forget")
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "SLASHML":
        forget()


def _default_is(name: str) -> str:
    return gettext("The default is %(value)s.") % {"value": repr(DEFAULTS[name])}


def learning_problems() -> list[tuple[str, str, str]]:
    """Problems with this schedule's settings, for :mod:`django_slashml.checks` (``slashml.E070``-``E071``)."""
    found: list[tuple[str, str, str]] = []
    if not isinstance(slashml_settings.POLL_LEARNING, bool):
        found.append(
            (
                "slashml.E070",
                gettext("SLASHML['POLL_LEARNING'] = %(value)s must be True or False.")
                % {"value": repr(slashml_settings.POLL_LEARNING)},
                _default_is("POLL_LEARNING"),
            )
        )
    window = slashml_settings.POLL_LEARNING_WINDOW
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        found.append(
            (
                "slashml.E071",
                gettext("SLASHML['POLL_LEARNING_WINDOW'] = %(value)s must be a whole number of jobs >= 1.")
                % {"value": repr(window)},
                _default_is("POLL_LEARNING_WINDOW"),
            )
        )
    return found
