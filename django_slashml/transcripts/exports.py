"""Transcripts as plain text, SubRip (SRT), WebVTT and JSON, built from word timings.

Cues follow common subtitle practice: at most ``max_line_chars`` per line and
``max_lines`` per cue, no cue longer than ``max_cue_ms``, and a new cue at a pause of
``pause_ms`` or after a sentence ends. Shared by the REST API and the admin; both export
the reviewed transcript (a reviewer's correction where there is one) unless asked for the original.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext

from django_slashml.transcripts.corrections import reviewed_words

SENTENCE_END = (".", "?", "!", "…")

FORMATS: dict[str, str] = {
    "txt": "text/plain; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
    "json": "application/json",
}


@dataclass(frozen=True)
class CueLimits:
    max_line_chars: int = 42
    max_lines: int = 2
    max_cue_ms: int = 7000
    pause_ms: int = 700
    min_sentence_cue_chars: int = 15  # a sentence end closes a cue only if it holds this much


@dataclass(frozen=True)
class Cue:
    start: int  # ms
    end: int  # ms
    lines: tuple[str, ...]


def _wrap(words: Sequence[str], width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if current and len(candidate) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


def build_cues(words: Iterable[dict[str, Any]], limits: CueLimits = CueLimits()) -> list[Cue]:
    """Group timed words into subtitle cues within ``limits``."""
    cues: list[Cue] = []
    group: list[dict[str, Any]] = []

    def flush() -> None:
        if group:
            texts = [str(word["text"]) for word in group]
            cues.append(Cue(int(group[0]["start"]), int(group[-1]["end"]), tuple(_wrap(texts, limits.max_line_chars))))
            group.clear()

    for word in words:
        # Any whitespace run (a newline, a blank line) becomes one space: a line break inside a
        # word would let it end the cue and forge the next one's number and timings.
        text = " ".join(str(word.get("text", "")).split())
        if not text:
            continue
        word = {**word, "text": text}
        if group:
            previous = group[-1]
            texts = [str(w["text"]) for w in group] + [text]
            too_long = len(_wrap(texts, limits.max_line_chars)) > limits.max_lines
            too_slow = int(word["end"]) - int(group[0]["start"]) > limits.max_cue_ms
            paused = int(word["start"]) - int(previous["end"]) >= limits.pause_ms
            chars = sum(len(str(w["text"])) + 1 for w in group)
            sentence_done = str(previous["text"]).endswith(SENTENCE_END) and chars >= limits.min_sentence_cue_chars
            if too_long or too_slow or paused or sentence_done:
                flush()
        group.append(word)
    flush()
    return cues


def _timestamp(ms: int, separator: str) -> str:
    ms = max(0, int(ms))
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{millis:03d}"


def _cues_for(words: Sequence[dict[str, Any]], text: str, duration: float | None, limits: CueLimits) -> list[Cue]:
    if words:
        return build_cues(words, limits)
    if text.strip():  # no timings: one cue over the whole audio
        end = int((duration or 0) * 1000) or 1000
        return [Cue(0, end, tuple(_wrap(text.split(), limits.max_line_chars)))]
    return []


def _srt_line(line: str) -> str:
    """SubRip has no escapes: an arrow, which would read as a timing line, is rewritten."""
    return line.replace("-->", "→")


def _vtt_line(line: str) -> str:
    """WebVTT cue text is markup: ``&``, ``<`` and ``>`` become entities, an arrow is rewritten."""
    return line.replace("-->", "→").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_srt(
    words: Sequence[dict[str, Any]], *, text: str = "", duration: float | None = None, limits: CueLimits = CueLimits()
) -> str:
    blocks = []
    for index, cue in enumerate(_cues_for(words, text, duration, limits), start=1):
        span = f"{_timestamp(cue.start, ',')} --> {_timestamp(cue.end, ',')}"
        blocks.append(f"{index}\n{span}\n" + "\n".join(_srt_line(line) for line in cue.lines) + "\n")
    return "\n".join(blocks)


def to_vtt(
    words: Sequence[dict[str, Any]], *, text: str = "", duration: float | None = None, limits: CueLimits = CueLimits()
) -> str:
    blocks = ["WEBVTT\n"]
    for cue in _cues_for(words, text, duration, limits):
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


def render(job: Any, fmt: str, *, version: str = "reviewed") -> str:
    """The job's transcript in ``fmt`` (one of :data:`FORMATS`), reviewed or original."""
    if version not in VERSIONS:
        raise ValueError(f"Unknown transcript version {version!r}; use one of: {', '.join(VERSIONS)}.")
    original = version == "original"
    text = job.text if original else job.transcript_text
    if fmt == "txt":
        return to_text(text)
    if fmt in ("srt", "vtt"):
        words = (job.words or []) if original else reviewed_words(job)
        subtitles = to_srt if fmt == "srt" else to_vtt
        return subtitles(words, text=text, duration=job.audio_duration)
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


def download(job: Any, fmt: str, *, version: str = "reviewed") -> HttpResponse:
    """The transcript as a file to save, ``transcript-<id>.<fmt>``: what the admin and the API serve.

    The caller has checked ``fmt``, ``version`` and :func:`unavailable`, each answering in its own way.
    """
    response = HttpResponse(render(job, fmt, version=version), content_type=FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="transcript-{job.pk}.{fmt}"'
    return response
