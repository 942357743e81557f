"""``{% load slashml %}``: the interactive transcript in a host project's own templates.

``{% slashml_transcript job %}`` renders the player and the words (click or Enter to play
from a word, the spoken word highlighted, doubtful words marked, ``?t=`` honoured) with
the links to its stylesheet and script; ``{% slashml_transcript_assets %}`` alone puts those
links in a page's ``<head>`` (then pass ``assets=False``). There is no inline script, so a
``script-src 'self'`` Content-Security-Policy holds. The audio is served by the app's URLs
to the job's owner (and staff who may view jobs); see docs/transcript-page.md.
"""

from __future__ import annotations

from django import template
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from django_slashml.models import TranscriptionJob
from django_slashml.viewer import SCRIPT, STYLESHEET, render_job_viewer

register = template.Library()


@register.simple_tag
def slashml_transcript_assets() -> SafeString:
    return format_html(
        '<link rel="stylesheet" href="{}"><script src="{}" defer></script>', static(STYLESHEET), static(SCRIPT)
    )


@register.simple_tag
def slashml_transcript(job: TranscriptionJob, *, assets: bool = True) -> SafeString:
    audio = reverse("slashml:transcript-audio", args=[job.pk])
    viewer = render_job_viewer(job, stored_audio_url=audio)
    return format_html("{}{}", slashml_transcript_assets(), viewer) if assets else viewer
