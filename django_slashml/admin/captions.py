"""Caption presets in the admin: the export action's choice, the download links and the caption check.

The parameters are read by :func:`django_slashml.transcripts.presets.caption_limits`, the same
parser the REST API uses, so the admin accepts and refuses exactly what the API does.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib.admin import helpers
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from django_slashml.exceptions import InvalidCaptionParameterError
from django_slashml.models import JobStatus, TranscriptionJob
from django_slashml.transcripts.audit import audit_job
from django_slashml.transcripts.presets import CAPTION_PARAMETERS, PRESETS, caption_limits

#: Problems listed on a job's page; the rest are counted (the API lists them all).
LISTED_PROBLEMS = 200


class CaptionActionForm(helpers.ActionForm):
    """The action bar, with the caption preset the export action uses.

    A plain text field under a select, so that the shared parser, not the form, judges the
    value; the other caption parameters may be posted by name as well.
    """

    preset = forms.CharField(
        required=False,
        label=_("Caption preset (export):"),
        widget=forms.Select(choices=[(name if name != "default" else "", name) for name in PRESETS]),
    )


def clock(ms: int) -> str:
    """``h:mm:ss.mmm``: short enough for a table cell."""
    hours, rest = divmod(max(0, int(ms)), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours}:{minutes:02d}:{rest / 1000:06.3f}"


def caption_query(params: Any) -> str:
    """The caption parameters of ``params`` as a query string, to carry onto download links."""
    return urlencode({name: params[name] for name in CAPTION_PARAMETERS if params.get(name)})


def caption_panel(request: HttpRequest, job: TranscriptionJob) -> dict[str, Any]:
    """Context for a job's page: the caption check for the limits in its query string, and the links' query."""
    error = None
    try:
        limits = caption_limits(request.GET)
        query = caption_query(request.GET)
    except InvalidCaptionParameterError as exc:
        error, limits, query = str(exc), PRESETS["default"], ""
    if job.status != JobStatus.COMPLETED:
        return {"caption_query": query, "caption_error": error}
    audit = audit_job(job, limits)
    problems = [
        {**problem, "from": clock(problem["start"]), "to": clock(problem["end"])} for problem in audit["problems"]
    ]
    return {
        "caption_query": query,
        "caption_error": error,
        "caption_presets": list(PRESETS),
        "caption_audit": {
            **audit,
            "problems": problems[:LISTED_PROBLEMS],
            "total": len(problems),
            "unlisted": max(0, len(problems) - LISTED_PROBLEMS),
        },
    }


def bad_request_text(exc: InvalidCaptionParameterError) -> str:
    return f"{exc.parameter}: {exc.message}"
