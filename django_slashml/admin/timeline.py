"""The job page's timeline: every event, timed from the job's creation, errors opened on click."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from django.utils.translation import gettext

from django_slashml.conf import slashml_settings
from django_slashml.models import JobEvent, TranscriptionJob
from django_slashml.remote.key_scrub import scrub_key_from_text

#: Events shown on the page, the latest kept when there are more (a job polled for hours has hundreds).
TIMELINE_SHOWN = 300


@dataclass(frozen=True)
class Row:
    event: JobEvent
    since_created: str
    what: str
    answer: str
    is_error: bool


def _offset(seconds: float) -> str:
    sign = "-" if seconds < 0 else "+"
    seconds = abs(seconds)
    if seconds < 60:
        return f"{sign}{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{sign}{hours}:{minutes:02d}:{rest:02d}" if hours else f"{sign}{minutes}:{rest:02d}"


def _what(event: JobEvent) -> str:
    parts: list[str] = []
    if event.http_method:
        parts.append(f"{event.http_method} {event.endpoint}")
    if event.http_status is not None:
        parts.append(f"→ {event.http_status}")
    elif event.http_method:
        parts.append("→ " + gettext("no answer"))
    if event.new_status:
        parts.append(f"{event.old_status} → {event.new_status}")
    if event.remote_status and not event.new_status:
        parts.append(f"({event.remote_status})")
    return " ".join(parts)


def rows(job: TranscriptionJob) -> tuple[list[Row], int]:
    """The latest :data:`TIMELINE_SHOWN` events of ``job`` in time order, and how many it has in all."""
    events = list(job.events.order_by("-at", "-pk")[:TIMELINE_SHOWN])
    total = len(events) if len(events) < TIMELINE_SHOWN else job.events.count()
    shown = []
    for event in reversed(events):
        answer = ""
        if event.answer is not None:
            answer = scrub_key_from_text(
                json.dumps(event.answer, indent=2, ensure_ascii=False), slashml_settings.API_KEY
            )
        shown.append(
            Row(
                event=event,
                since_created=_offset((event.at - job.created_at).total_seconds()),
                what=_what(event),
                answer=answer,
                is_error=event.is_error,
            )
        )
    return shown, total


def render_timeline(job: TranscriptionJob) -> SafeString:
    shown, total = rows(job)
    context: dict[str, Any] = {"rows": shown, "total": total, "hidden": total - len(shown)}
    return SafeString(render_to_string("django_slashml/admin/timeline.html", context))
