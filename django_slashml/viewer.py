"""The interactive transcript: an audio player and the timed words, for the admin and for owners.

Words go to the page once, as compact JSON in a ``json_script`` element (never in a script of
its own, so a strict Content-Security-Policy holds); ``transcript.js`` lays them out and
follows the audio, so a 20,000-word transcript costs one text node per word and no per-word
listeners or server-rendered markup. The admin's job page, the owners' page and the
``{% slashml_transcript %}`` tag all render this one template with these static files.
"""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString

from django_slashml.audio.urlcheck import url_problem
from django_slashml.conf import slashml_settings
from django_slashml.models import TranscriptionJob

__all__ = ["SCRIPT", "STYLESHEET", "compact_words", "render_job_viewer", "render_viewer", "transcript_url"]

#: The viewer's static files, relative to STATIC_URL.
SCRIPT = "django_slashml/transcript.js"
STYLESHEET = "django_slashml/transcript.css"


def compact_words(words: list[dict[str, Any]]) -> list[list[Any]]:
    """``[text, start_ms, end_ms, confidence]`` per word: a third of the size of the dicts."""
    return [[str(w.get("text", "")), w.get("start"), w.get("end"), w.get("confidence")] for w in words]


def render_viewer(job: TranscriptionJob, *, audio_src: str | None, external: bool = False) -> SafeString:
    """``external``: a caller's URL, fetched only when the listener presses play, never on opening the page."""
    return render_to_string(
        "django_slashml/transcript.html",
        {
            "job": job,
            "audio_src": audio_src,
            "external_audio": external,
            "words": compact_words(job.words or []),
            "words_id": f"slashml-words-{job.pk}",
            "redacted_spans": list(job.redacted_spans.all()),
            "low_confidence": slashml_settings.REVIEW_LOW_CONFIDENCE,
            "low_confidence_percent": round(float(slashml_settings.REVIEW_LOW_CONFIDENCE) * 100),
        },
    )


def render_job_viewer(job: TranscriptionJob, *, stored_audio_url: str) -> SafeString:
    """The viewer with the job's audio: ``stored_audio_url`` serves its upload to this page's user.

    A job made from a caller's URL plays that URL, only if well-formed, and only on play.
    """
    if job.upload_id:
        return render_viewer(job, audio_src=stored_audio_url)
    usable = job.audio_url and url_problem(job.audio_url, allow_private=True) is None
    return render_viewer(job, audio_src=job.audio_url if usable else None, external=True)


def transcript_url(job_id: Any, *, seconds: float | None = None) -> str:
    """Where a job's owner reads and hears its transcript, playing from ``seconds`` if given (``?t=``)."""
    template = slashml_settings.TRANSCRIPT_URL
    url = template.format(job=job_id) if template else reverse("slashml:transcript", args=[job_id])
    if seconds is not None:
        url += f"{'&' if '?' in url else '?'}t={seconds:g}"
    return url
