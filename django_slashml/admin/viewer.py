"""The transcript viewer on a job's admin page: an audio player and the timed words.

Words go to the page once, as compact JSON; the script lays them out and follows the
audio, so a 20,000-word transcript costs one text node per word and no per-word
listeners or server-rendered markup.
"""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from django_slashml.conf import slashml_settings
from django_slashml.models import TranscriptionJob


def compact_words(words: list[dict[str, Any]]) -> list[list[Any]]:
    """``[text, start_ms, end_ms, confidence]`` per word: a third of the size of the dicts."""
    return [[str(w.get("text", "")), w.get("start"), w.get("end"), w.get("confidence")] for w in words]


def render_viewer(job: TranscriptionJob, *, audio_src: str | None, external: bool = False) -> SafeString:
    """``external``: a caller's URL, fetched only when the reviewer presses play, never on opening the page."""
    return render_to_string(
        "django_slashml/admin/transcript_viewer.html",
        {
            "job": job,
            "audio_src": audio_src,
            "external_audio": external,
            "words": compact_words(job.words or []),
            "words_id": f"slashml-words-{job.pk}",
            "low_confidence": slashml_settings.REVIEW_LOW_CONFIDENCE,
            "low_confidence_percent": round(float(slashml_settings.REVIEW_LOW_CONFIDENCE) * 100),
        },
    )
