"""The transcript page for the people who own the transcripts, outside the admin.

Sign-in required. A job is looked up only among those its user may see (their own; staff
with the ``view`` permission, as in the API), so another user's job is a 404 that tells
nothing. Search results link here (:func:`django_slashml.viewer.transcript_url`) unless ``SLASHML["TRANSCRIPT_URL"]``
names a page of the host project's own.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext

from django_slashml.admin.audio import serve_job_audio
from django_slashml.jobs.access import visible_to
from django_slashml.models import TranscriptionJob

__all__ = ["transcript_audio", "transcript_page"]


def _visible_job(request: HttpRequest, pk: Any) -> TranscriptionJob:
    return get_object_or_404(visible_to(request.user, TranscriptionJob.objects.select_related("upload")), pk=pk)


@login_required
def transcript_page(request: HttpRequest, pk: Any) -> HttpResponse:
    """The player and the words; ``?t=12.5`` plays from that second."""
    job = _visible_job(request, pk)
    stored = job.upload.original_name if job.upload_id and job.upload else ""
    name = stored or job.audio_url or str(job.pk)
    context = {"job": job, "audio_name": name, "title": gettext("Transcript of %(name)s") % {"name": name}}
    return render(request, "django_slashml/transcript_page.html", context)


@login_required
def transcript_audio(request: HttpRequest, pk: Any) -> HttpResponseBase:
    """The job's stored audio for the page's player, in ranges so it seeks."""
    return serve_job_audio(request, _visible_job(request, pk))
