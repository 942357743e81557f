"""Typed results of SlashML calls, and the one place its quirks are normalised.

The tolerant reader: ``IN_PROGESS`` is ``IN_PROGRESS``; the upload URL may come as
``uploaded_url`` or ``upload_url``; the text as ``text`` or
``transcription_data.transcription``; the failure reason under ``ERROR``,
``error.message`` or ``reason``. An unknown status is kept as sent and treated as
still running by callers. Nothing outside this module looks at raw bodies.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from django_slashml.exceptions import InvalidResponseError, MalformedTranscriptError, TranscriptTooLargeError
from django_slashml.remote.protocol import RemoteStatus

#: Keys of a status body that hold the transcript: stored in ``words`` and ``text``, not twice.
TRANSCRIPT_KEYS = ("words", "text", "transcription_data")

_STATUS_ALIASES = {
    RemoteStatus.IN_PROGRESS_VENDOR_TYPO: RemoteStatus.IN_PROGRESS,
    "IN PROGRESS": RemoteStatus.IN_PROGRESS,
    "IN-PROGRESS": RemoteStatus.IN_PROGRESS,
    "PROCESSING": RemoteStatus.IN_PROGRESS,
    "COMPLETE": RemoteStatus.COMPLETED,
    "FAILED": RemoteStatus.ERROR,
}


@dataclass(frozen=True)
class Word:
    text: str
    start: int  # milliseconds
    end: int  # milliseconds
    confidence: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "start": self.start, "end": self.end, "confidence": self.confidence}


@dataclass(frozen=True)
class Limits:
    """The most words and characters a transcript may have (None: no limit)."""

    max_words: int | None = None
    max_text_chars: int | None = None


@dataclass(frozen=True)
class RemoteUpload:
    url: str


#: What ``last_response`` keeps of an answer: this many keys, each value this long as JSON.
RAW_KEYS = 50
RAW_VALUE_CHARS = 2000


def _bounded(value: Any) -> Any:
    size = len(json.dumps(value, default=str))
    if size <= RAW_VALUE_CHARS:
        return value
    return f"[{type(value).__name__} of {size} characters as JSON, not kept]"


@dataclass(frozen=True)
class RemoteJob:
    id: str
    status: str
    text: str | None = None
    confidence: float | None = None
    audio_duration: float | None = None
    audio_url: str | None = None
    words: list[Word] | None = None
    error: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def stored_raw(self) -> dict[str, Any]:
        """The answer as kept in ``last_response``: without the transcript, which has its own fields.

        Any other value of more than ``RAW_VALUE_CHARS`` characters (as JSON) is replaced by a note
        of its size: a hostile answer must not put megabytes into the row and the admin page.
        """
        kept = {key: _bounded(value) for key, value in list(self.raw.items())[:RAW_KEYS] if key not in TRANSCRIPT_KEYS}
        if isinstance(self.raw.get("words"), list):
            kept["words_count"] = len(self.raw["words"])
        return kept

    @property
    def status_is_known(self) -> bool:
        return self.status in RemoteStatus.ALL

    @property
    def is_completed(self) -> bool:
        return self.status == RemoteStatus.COMPLETED

    @property
    def is_failed(self) -> bool:
        return self.status == RemoteStatus.ERROR


def normalise_status(value: Any) -> str:
    text = str(value or "").strip().upper()
    return _STATUS_ALIASES.get(text, text)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def error_message(body: Any) -> str | None:
    """The human message in any of SlashML's error shapes."""
    if not isinstance(body, dict):
        return None
    for key in ("ERROR", "error", "reason", "detail", "message"):
        value = body.get(key)
        if isinstance(value, dict):
            inner = value.get("message") or value.get("detail")
            if inner:
                return str(inner)
        if value:
            return value if isinstance(value, str) else str(value)
    return None


def _transcript_text(body: dict[str, Any]) -> str | None:
    text = body.get("text")
    if text is None and isinstance(body.get("transcription_data"), dict):
        text = body["transcription_data"].get("transcription")
    return None if text is None else str(text)


#: The latest a word may be said, in ms (2**31 - 1: about 24.8 days, past any audio, and the most a
#: segment's timings can hold on every database).
MAX_WORD_MS = 2**31 - 1


def _words(raw_words: Any, limits: Limits, audio_duration: float | None = None) -> list[Word] | None:
    """The words, each timing clamped to the audio's end (``audio_duration`` s, if SlashML gave it)."""
    if raw_words is None:
        return None
    if not isinstance(raw_words, list):
        raise MalformedTranscriptError(f"SlashML sent 'words' as {type(raw_words).__name__}, not a list.")
    if limits.max_words is not None and len(raw_words) > limits.max_words:
        raise TranscriptTooLargeError(
            f"SlashML sent {len(raw_words):,} words, more than SLASHML['MAX_WORDS'] ({limits.max_words:,}); "
            "nothing was stored. Raise MAX_WORDS if transcripts this long are expected, then retry the job."
        )
    last = MAX_WORD_MS
    if audio_duration is not None and 0 < audio_duration * 1000 < MAX_WORD_MS:
        last = math.ceil(audio_duration * 1000)
    words = []
    for index, item in enumerate(raw_words):
        if not isinstance(item, dict):
            raise MalformedTranscriptError(f"Word {index} of the transcript is not an object: {item!r:.80}.")
        missing = [key for key in ("text", "start", "end") if item.get(key) is None]
        if missing:
            raise MalformedTranscriptError(
                f"Word {index} of the transcript has no {', '.join(repr(m) for m in missing)}: {item!r:.120}."
            )
        start, end = _number(item["start"]), _number(item["end"])
        if start is None or end is None or start < 0 or end < start:
            raise MalformedTranscriptError(f"Word {index} of the transcript has unusable timings: {item!r:.120}.")
        words.append(
            Word(
                str(item["text"])[:_WORD_CHARS],
                min(round(start), last),
                min(round(end), last),
                _number(item.get("confidence")),
            )
        )
    return words


#: The longest failure reason kept from SlashML (it becomes the job's error_message).
_ERROR_CHARS = 1000

#: A single "word" longer than this is cut: no real word is, and a hostile one would bloat every page.
_WORD_CHARS = 200


def _check_text_size(text: str | None, limits: Limits) -> None:
    if text is not None and limits.max_text_chars is not None and len(text) > limits.max_text_chars:
        raise TranscriptTooLargeError(
            f"SlashML sent a transcript of {len(text):,} characters, more than SLASHML['MAX_TRANSCRIPT_CHARS'] "
            f"({limits.max_text_chars:,}); nothing was stored. Raise MAX_TRANSCRIPT_CHARS if transcripts this "
            "long are expected, then retry the job."
        )


def parse_job(body: Any, limits: Limits = Limits()) -> RemoteJob:
    """A :class:`RemoteJob` from a submit or status body (the key already scrubbed), within ``limits``."""
    if not isinstance(body, dict):
        raise InvalidResponseError(f"SlashML sent a {type(body).__name__} where a job object was expected.", body=body)
    job_id = body.get("id")
    status = normalise_status(body.get("status"))
    if not status and "ERROR" in body:
        status = RemoteStatus.ERROR
    if not job_id and status != RemoteStatus.ERROR:
        raise InvalidResponseError("SlashML's job answer has no 'id'.", body=body)
    words = None
    text = _transcript_text(body)
    if status == RemoteStatus.COMPLETED:
        words = _words(body.get("words"), limits, _number(body.get("audio_duration")))
        if text is None and words is None:
            raise MalformedTranscriptError("SlashML reported the job COMPLETED but sent neither text nor words.")
        if text is None and words is not None:
            text = " ".join(word.text for word in words)
        _check_text_size(text, limits)
    error = None
    if status == RemoteStatus.ERROR:
        error = (error_message(body) or "SlashML reported the job as failed without a reason.")[:_ERROR_CHARS]
    return RemoteJob(
        id=str(job_id or ""),
        status=status,
        text=text,
        confidence=_number(body.get("confidence")),
        audio_duration=_number(body.get("audio_duration")),
        audio_url=body.get("audio_url") if isinstance(body.get("audio_url"), str) else None,
        words=words,
        error=error,
        raw=body,
    )


def parse_upload(body: Any) -> RemoteUpload:
    url = None
    if isinstance(body, dict):
        url = body.get("uploaded_url") or body.get("upload_url")
    if not isinstance(url, str) or not url:
        raise InvalidResponseError("SlashML's upload answer has no 'uploaded_url'.", body=body)
    return RemoteUpload(url=url)
