"""Transcripts as plain text, SubRip (SRT), WebVTT and JSON, built from word timings.

This module writes the formats; the cues come from :mod:`.captions` within the limits of a
preset (:mod:`.presets`; docs/captions.md). Shared by the REST API and the admin; both export
the reviewed transcript (a reviewer's correction where there is one) unless asked for the original.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext

from django_slashml.transcripts.captions import Cue, build_cues, cues_for
from django_slashml.transcripts.corrections import reviewed_words
from django_slashml.transcripts.presets import DEFAULT_LIMITS, CueLimits

__all__ = [
    "FORMATS",
    "VERSIONS",
    "Cue",
    "CueLimits",
    "build_cues",
    "download",
    "render",
    "to_json",
    "to_srt",
    "to_text",
    "to_vtt",
    "unavailable",
]

FORMATS: dict[str, str] = {
    "txt": "text/plain; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
    "json": "application/json",
}


def _timestamp(ms: int, separator: str) -> str:
    ms = max(0, int(ms))
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{millis:03d}"


def _srt_line(line: str) -> str:
    """SubRip has no escapes: an arrow, which would read as a timing line, is rewritten."""
    return line.replace("-->", "→")


def _vtt_line(line: str) -> str:
    """WebVTT cue text is markup: ``&``, ``<`` and ``>`` become entities, an arrow is rewritten."""
    return line.replace("-->", "→").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_srt(
    words: Sequence[dict[str, Any]],
    *,
    text: str = "",
    duration: float | None = None,
    limits: CueLimits = DEFAULT_LIMITS,
) -> str:
    blocks = []
    for index, cue in enumerate(cues_for(words, text, duration, limits), start=1):
        span = f"{_timestamp(cue.start, ',')} --> {_timestamp(cue.end, ',')}"
        blocks.append(f"{index}\n{span}\n" + "\n".join(_srt_line(line) for line in cue.lines) + "\n")
    return "\n".join(blocks)


def to_vtt(
    words: Sequence[dict[str, Any]],
    *,
    text: str = "",
    duration: float | None = None,
    limits: CueLimits = DEFAULT_LIMITS,
) -> str:
    blocks = ["WEBVTT\n"]
    for cue in cues_for(words, text, duration, limits):
        lines = [_vtt_line(line) for line in cue.lines]
        blocks.append(f"{_timestamp(cue.start, '.')} --> {_timestamp(cue.end, '.')}\n" + "\n".join(lines) + "\n")
    return "\n".join(blocks)


def to_text(text: str) -> str:
    return text.strip() + "\n" if text.strip() else ""


def to_json(job: Any, *, original: bool = False) -> str:
    corrected = bool(job.corrected_text) and not original
    return json.dumps(
        {
            "id": str(job.id),
            "service_provider": job.service_provider,
            "text": job.text if original else job.transcript_text,
            "original_text": job.text,
            "corrected": corrected,
            "review_state": job.review_state,
            "confidence": job.confidence,
            "audio_duration": job.audio_duration,
            "words": reviewed_words(job) if corrected else job.words,
        },
        ensure_ascii=False,
        indent=2,
    )


#: Which transcript an export holds: the reviewed one (a correction where there is
#: one) or what SlashML returned.
VERSIONS = ("reviewed", "original")


def render(job: Any, fmt: str, *, version: str = "reviewed", limits: CueLimits = DEFAULT_LIMITS) -> str:
    """The job's transcript in ``fmt`` (one of :data:`FORMATS`), reviewed or original; ``limits`` shape subtitles."""
    if version not in VERSIONS:
        raise ValueError(f"Unknown transcript version {version!r}; use one of: {', '.join(VERSIONS)}.")
    original = version == "original"
    text = job.text if original else job.transcript_text
    if fmt == "txt":
        return to_text(text)
    if fmt in ("srt", "vtt"):
        words = (job.words or []) if original else reviewed_words(job)
        subtitles = to_srt if fmt == "srt" else to_vtt
        return subtitles(words, text=text, duration=job.audio_duration, limits=limits)
    if fmt == "json":
        return to_json(job, original=original)
    raise ValueError(f"Unknown transcript format {fmt!r}; use one of: {', '.join(FORMATS)}.")


def unavailable(job: Any) -> str | None:
    """Why ``job`` has no transcript to download yet, or None if it has one."""
    from django_slashml.models import JobStatus  # exports stays importable before Django is set up

    if job.status != JobStatus.COMPLETED:
        return gettext("Job %(job)s is %(status)s; transcripts exist only for COMPLETED jobs.") % {
            "job": job.pk,
            "status": job.status,
        }
    return None


def download(job: Any, fmt: str, *, version: str = "reviewed", limits: CueLimits = DEFAULT_LIMITS) -> HttpResponse:
    """The transcript as a file to save, ``transcript-<id>.<fmt>``: what the admin and the API serve.

    The caller has checked ``fmt``, ``version``, the limits and :func:`unavailable`, each answering in its own way.
    """
    response = HttpResponse(render(job, fmt, version=version, limits=limits), content_type=FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="transcript-{job.pk}.{fmt}"'
    return response
