"""Changelist actions. Each goes through :mod:`django_slashml.jobs.lifecycle` (or ``review``)
and tells the user, job by job, what happened."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from django_slashml.exceptions import InvalidCaptionParameterError, InvalidTransitionError
from django_slashml.jobs import actions as job_actions
from django_slashml.models import JobStatus, ReviewState, TranscriptionJob
from django_slashml.transcripts import exports, review
from django_slashml.transcripts.presets import caption_limits

#: Per-job lines shown in one message before the rest are summed up.
LISTED = 20
EXPORT_FORMATS = ("srt", "vtt", "txt")


def _listing(jobs: list[str]) -> str:
    shown = ", ".join(jobs[:LISTED])
    if len(jobs) <= LISTED:
        return shown
    return gettext("%(shown)s and %(more)d more") % {"shown": shown, "more": len(jobs) - LISTED}


def _each(
    request: HttpRequest,
    queryset: QuerySet[TranscriptionJob],
    change: Callable[[TranscriptionJob], object],
    done: str | Promise,
) -> None:
    succeeded: list[str] = []
    refused: list[str] = []
    for job in queryset.defer("words", "last_response").order_by("created_at"):
        try:
            change(job)
        except InvalidTransitionError as exc:
            refused.append(str(exc))
        else:
            succeeded.append(str(job.pk))
    if succeeded:
        count = len(succeeded)
        message = ngettext("%(done)s: %(count)d job (%(jobs)s).", "%(done)s: %(count)d jobs (%(jobs)s).", count)
        messages.success(request, message % {"done": done, "count": count, "jobs": _listing(succeeded)})
    for reason in refused[:LISTED]:
        messages.warning(request, reason)
    if len(refused) > LISTED:
        more = len(refused) - LISTED
        message = ngettext(
            "%(count)d more job was left as it was, for the same reasons.",
            "%(count)d more jobs were left as they were, for the same reasons.",
            more,
        )
        messages.warning(request, message % {"count": more})


def _poll(job: TranscriptionJob) -> None:
    if not job_actions.poll_now(job):
        job.refresh_from_db(fields=["status"])
        raise InvalidTransitionError(
            gettext("Job %(job)s is %(status)s; only active jobs can be polled.")
            % {"job": job.pk, "status": job.status}
        )


@admin.action(description=_("Resubmit to SlashML (clears the transcript's review)"), permissions=["change"])
def resubmit(modeladmin: Any, request: HttpRequest, queryset: QuerySet[TranscriptionJob]) -> None:
    _each(request, queryset, job_actions.retry, _("Resubmitted"))


@admin.action(description=_("Ask SlashML for the status now"), permissions=["change"])
def poll_now(modeladmin: Any, request: HttpRequest, queryset: QuerySet[TranscriptionJob]) -> None:
    _each(request, queryset, _poll, _("Polling now"))


@admin.action(description=_("Cancel (stop following on our side)"), permissions=["change"])
def cancel(modeladmin: Any, request: HttpRequest, queryset: QuerySet[TranscriptionJob]) -> None:
    _each(request, queryset, job_actions.cancel, _("Cancelled"))


def _review_each(request: HttpRequest, queryset: QuerySet[TranscriptionJob], state: str, done: str | Promise) -> None:
    _each(request, queryset, lambda job: review.review(job, reviewer=request.user, state=state), done)


@admin.action(description=_("Approve transcripts"), permissions=["change"])
def approve(modeladmin: Any, request: HttpRequest, queryset: QuerySet[TranscriptionJob]) -> None:
    _review_each(request, queryset, ReviewState.APPROVED, _("Approved"))


@admin.action(description=_("Mark transcripts as needing correction"), permissions=["change"])
def needs_correction(modeladmin: Any, request: HttpRequest, queryset: QuerySet[TranscriptionJob]) -> None:
    _review_each(request, queryset, ReviewState.NEEDS_CORRECTION, _("Marked as needing correction"))


@admin.action(description=_("Export transcripts (zip of SRT, VTT and TXT)"), permissions=["view"])
def export_transcripts(
    modeladmin: Any, request: HttpRequest, queryset: QuerySet[TranscriptionJob]
) -> HttpResponse | None:
    """Subtitles follow the caption preset chosen in the action bar (and any caption parameter posted)."""
    try:
        limits = caption_limits(request.POST)
    except InvalidCaptionParameterError as exc:
        messages.error(request, f"Nothing exported: {exc.parameter}: {exc.message}")
        return None
    archive = io.BytesIO()
    exported = 0
    skipped: list[str] = []
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for job in queryset.defer("last_response").order_by("created_at").iterator(chunk_size=100):
            if job.status != JobStatus.COMPLETED:
                skipped.append(f"{job.pk} ({job.status})")
                continue
            for fmt in EXPORT_FORMATS:
                bundle.writestr(f"transcript-{job.pk}.{fmt}", exports.render(job, fmt, limits=limits))
            exported += 1
    if skipped:
        messages.warning(request, gettext("Not exported, no transcript yet: %(jobs)s.") % {"jobs": _listing(skipped)})
    if not exported:
        messages.error(
            request, gettext("None of the selected jobs has a transcript to export; only COMPLETED jobs do.")
        )
        return None
    response = HttpResponse(archive.getvalue(), content_type="application/zip")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="transcripts-{stamp}.zip"'
    return response
