"""The transcription job admin: review transcripts, listen while reading, act on jobs.

Job data is read-only here: statuses change only through the actions, which call
:mod:`django_slashml.jobs.lifecycle`. The one thing a reviewer edits is the review (state and
corrected text), saved by :func:`django_slashml.transcripts.review.review` as its own UPDATE.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from django_slashml.admin import actions, dashboard
from django_slashml.admin.audio import SEES_UNREDACTED, serve_job_audio
from django_slashml.admin.captions import CaptionActionForm, bad_request_text, caption_panel
from django_slashml.admin.counts import EstimatedCountPaginator
from django_slashml.admin.search import search_view
from django_slashml.admin.timeline import render_timeline
from django_slashml.conf import slashml_settings
from django_slashml.exceptions import InvalidCaptionParameterError
from django_slashml.jobs.access import is_allowed
from django_slashml.models import JobStatus, ReviewState, ServiceProvider, TranscriptionJob, choice_label
from django_slashml.remote.key_scrub import scrub_key_from_text
from django_slashml.transcripts import exports, review
from django_slashml.transcripts.presets import caption_limits
from django_slashml.transcripts.search import find_jobs
from django_slashml.viewer import SCRIPT, STYLESHEET, render_job_viewer

#: Columns the change list never shows; left unloaded so a page of 100 long transcripts stays light.
HEAVY_FIELDS = ("words", "last_response", "text", "corrected_text", "metadata", "unredacted")
REVIEW_FIELDS = ("review_state", "corrected_text")
#: The request attribute holding the job this request read (get_object).
READ_JOB = "_slashml_job"


def cut(text: str) -> str:
    """A long name in a narrow column: cut with an ellipsis by the stylesheet, whole on hover."""
    return format_html('<span class="slashml-cut" title="{}">{}</span>', text, text)


def two_lines(moment: datetime) -> str:
    """Date over time, in the active locale's short formats: the narrowest a date column gets."""
    local = timezone.localtime(moment) if timezone.is_aware(moment) else moment
    return format_html("{}<br>{}", date_format(local, "SHORT_DATE_FORMAT"), time_format(local, "TIME_FORMAT"))


class JobChangeList(ChangeList):
    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        #: "about 1.2 million" or an exact count, for the change list's pagination line.
        self.row_count = self.paginator.row_count

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> Any:
        if exclude_parameters is None:  # Django < 5.0 has no exclude_parameters
            return super().get_queryset(request).defer(*HEAVY_FIELDS)
        return super().get_queryset(request, exclude_parameters).defer(*HEAVY_FIELDS)


if TYPE_CHECKING:
    _ReviewFormBase = forms.ModelForm[TranscriptionJob]
    _JobAdminBase = admin.ModelAdmin[TranscriptionJob]
else:  # neither is subscriptable at runtime
    _ReviewFormBase = forms.ModelForm
    _JobAdminBase = admin.ModelAdmin


class ReviewForm(_ReviewFormBase):
    class Meta:
        model = TranscriptionJob
        fields = REVIEW_FIELDS
        widgets = {"corrected_text": forms.Textarea(attrs={"rows": 8, "cols": 100})}
        help_texts = {
            "corrected_text": _(
                "Edit the transcript here; SlashML's original stays as it was. Exports and the API "
                "use this text. Leave it equal to the original (or empty) for no correction."
            )
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "corrected_text" in self.fields and self.instance.pk and not self.instance.corrected_text:
            self.initial["corrected_text"] = self.instance.text

    def clean(self) -> dict[str, Any]:
        if self.instance.status != JobStatus.COMPLETED:
            raise forms.ValidationError(
                _("Only COMPLETED transcripts can be reviewed; this job is %(status)s.")
                % {"status": self.instance.status}
            )
        return super().clean() or {}


@admin.register(TranscriptionJob)
class TranscriptionJobAdmin(_JobAdminBase):
    form = ReviewForm
    change_list_template = "admin/django_slashml/transcriptionjob/change_list.html"
    change_form_template = "admin/django_slashml/transcriptionjob/change_form.html"
    list_display = (
        "short_id",
        "status_and_review",
        "provider",
        "duration",
        "confidence_percent",
        "audio_name",
        "owner_name",
        "created",
    )
    list_display_links = ("short_id",)
    list_filter = ("status", "service_provider", "review_state", "created_at", "completed_at")
    list_select_related = ("owner", "upload")
    list_per_page = 100
    # Searched by words through the transcript search index (get_search_results), not icontains.
    search_fields = ("text",)
    search_help_text = _("Words the transcript says, or a SlashML job id.")
    # Neither a full count nor facet counts: each would read every row on every page.
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = EstimatedCountPaginator
    raw_id_fields = ("owner", "upload", "reviewed_by", "reused_from")
    action_form = CaptionActionForm
    actions = (
        actions.poll_now,
        actions.resubmit,
        actions.cancel,
        actions.approve,
        actions.needs_correction,
        actions.export_transcripts,
    )
    # The page opens on the player beside the words (change_form.html, above these); the review
    # follows, then the job's facts, folded until asked for.
    fieldsets = (
        (
            _("Transcript"),
            {
                "fields": (
                    "original_text",
                    "confidence_percent",
                    "review_state",
                    "corrected_text",
                    ("reviewed_by", "reviewed_at"),
                )
            },
        ),
        (_("Audio"), {"classes": ("collapse",), "fields": ("audio", "audio_url", "audio_duration")}),
        (
            _("Job"),
            {
                "classes": ("collapse",),
                "fields": (
                    ("status_badge", "service_provider"),
                    ("remote_id", "remote_status"),
                    ("reused_from", "fresh"),
                    "comparison_link",
                    "error_message",
                    "owner",
                    ("created_at", "submitted_at", "completed_at"),
                    "metadata_json",
                ),
            },
        ),
        (_("Timeline"), {"fields": ("timeline",)}),
        (
            _("Diagnostics"),
            {
                "classes": ("collapse",),
                "fields": (
                    ("poll_count", "submit_attempts", "consecutive_failures"),
                    ("next_poll_at", "deadline_at"),
                    ("lease_owner", "lease_expires_at"),
                    "last_response_json",
                ),
            },
        ),
    )

    class Media:
        css = {"all": (STYLESHEET, "django_slashml/admin/slashml.css")}
        js = (SCRIPT,)

    # -- permissions: no adding; changing means reviewing ---------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        shown = super().get_fieldsets(request, obj)
        if obj is not None and obj.unredacted and request.user.has_perm(SEES_UNREDACTED):
            return [*shown, (_("Unredacted transcript"), {"classes": ("collapse",), "fields": ("unredacted_text",)})]
        return shown

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        shown = [field for fieldset in self.fieldsets for field in fieldset[1]["fields"]]
        names = [name for entry in shown for name in ((entry,) if isinstance(entry, str) else entry)]
        editable = obj is not None and obj.status == JobStatus.COMPLETED and self.has_change_permission(request, obj)
        return (*(name for name in names if not (editable and name in REVIEW_FIELDS)), "unredacted_text")

    def save_model(self, request: HttpRequest, obj: TranscriptionJob, form: Any, change: bool) -> None:
        data = form.cleaned_data
        review.review(obj, reviewer=request.user, state=data["review_state"], corrected_text=data["corrected_text"])

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Nothing related is edited here."""

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return JobChangeList

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[TranscriptionJob], search_term: str
    ) -> tuple[QuerySet[TranscriptionJob], bool]:
        """The jobs with this SlashML id if any; else those whose transcript holds the words (search syntax)."""
        term = search_term.strip()
        return (find_jobs(queryset, term) if term else queryset), False

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        context = {**(extra_context or {}), "slashml_dashboard": dashboard.build(self.get_queryset(request))}
        return super().changelist_view(request, extra_context=context)

    # -- extra views: audio and transcript downloads -------------------------------

    def get_urls(self) -> list[Any]:
        info = self.opts.app_label, self.opts.model_name
        extra = [
            path(
                "search/",
                self.admin_site.admin_view(lambda request: search_view(self, request)),
                name=f"{info[0]}_{info[1]}_search",
            ),
            path(
                "<path:object_id>/audio/",
                self.admin_site.admin_view(self.audio_view),
                name=f"{info[0]}_{info[1]}_audio",
            ),
            path(
                "<path:object_id>/transcript.<str:fmt>",
                self.admin_site.admin_view(self.transcript_view),
                name=f"{info[0]}_{info[1]}_transcript",
            ),
        ]
        return extra + super().get_urls()

    def _job_for(self, request: HttpRequest, object_id: str) -> TranscriptionJob:
        job = self.get_object(request, object_id)
        if job is None:
            raise Http404(gettext("No such transcription job."))
        if not is_allowed(request.user, "view", job):
            raise PermissionDenied
        return job

    def audio_view(self, request: HttpRequest, object_id: str) -> HttpResponseBase:
        """The job's stored audio for the viewer's player (owner, or staff with view permission)."""
        return serve_job_audio(request, self._job_for(request, object_id))

    def transcript_view(self, request: HttpRequest, object_id: str, fmt: str) -> HttpResponse:
        job = self._job_for(request, object_id)
        if fmt not in exports.FORMATS:
            raise Http404(gettext("Unknown transcript format %(format)s.") % {"format": repr(fmt)})
        reason = exports.unavailable(job)
        if reason:
            return HttpResponse(reason, status=409, content_type="text/plain; charset=utf-8")
        version = request.GET.get("version", "reviewed")
        if version not in exports.VERSIONS:
            raise Http404(gettext("Unknown transcript version %(version)s.") % {"version": repr(version)})
        try:
            limits = caption_limits(request.GET)
        except InvalidCaptionParameterError as exc:
            return HttpResponseBadRequest(bad_request_text(exc), content_type="text/plain; charset=utf-8")
        return exports.download(job, fmt, version=version, limits=limits)

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> TranscriptionJob | None:
        """The job, read from the database once per request.

        The job's page reads it for the viewer and the caption check before Django's change view
        reads it for the form; its words are the heaviest column a page loads, so both share one row.
        """
        key = (object_id, from_field)
        read: tuple[tuple[str, str | None], TranscriptionJob | None] | None = getattr(request, READ_JOB, None)
        if read is not None and read[0] == key:
            return read[1]
        job = super().get_object(request, object_id, from_field)
        setattr(request, READ_JOB, (key, job))
        return job

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> Any:
        """The job's page, with the caption check for ``?preset=...`` (docs/captions.md)."""
        job = self.get_object(request, unquote(object_id))
        context = dict(extra_context or {})
        if job is not None:
            context.update(caption_panel(request, job))
            context["slashml_viewer"] = self.transcript_viewer(job)
        return super().change_view(request, object_id, form_url, extra_context=context)

    # -- columns and read-only fields ------------------------------------------------

    @admin.display(description=_("job"), ordering="created_at")
    def short_id(self, job: TranscriptionJob) -> str:
        return str(job.pk)[:8]

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, job: TranscriptionJob) -> str:
        return format_html(
            '<span class="slashml-status slashml-status-{}" title="{}">{}</span>',
            job.status,
            job.error_message or job.remote_status,
            choice_label(JobStatus, job.status),
        )

    @admin.display(description=_("status"), ordering="status")
    def status_and_review(self, job: TranscriptionJob) -> str:
        """The list's status column: the badge, and under it the review once there is one."""
        if job.review_state == ReviewState.UNREVIEWED:
            return self.status_badge(job)
        return format_html(
            '{}<br><span class="slashml-review">{}</span>',
            self.status_badge(job),
            choice_label(ReviewState, job.review_state),
        )

    @admin.display(description=_("service provider"), ordering="service_provider")
    def provider(self, job: TranscriptionJob) -> str:
        return choice_label(ServiceProvider, job.service_provider)

    def action_checkbox(self, job: TranscriptionJob) -> SafeString:
        """Django's checkbox, written here: Django renders it through the form renderer's templates,
        the most expensive cell of a row when a page lists a hundred jobs."""
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            job.pk,
            format_html(gettext("Select this object for an action - {}"), job),
        )

    @admin.display(description=_("duration"), ordering="audio_duration")
    def duration(self, job: TranscriptionJob) -> str | None:
        if job.audio_duration is None:
            return None
        minutes, seconds = divmod(round(job.audio_duration), 60)
        return f"{minutes}:{seconds:02d}"

    @admin.display(description=_("confidence"), ordering="confidence")
    def confidence_percent(self, job: TranscriptionJob) -> str | None:
        return None if job.confidence is None else f"{job.confidence:.0%}"

    @admin.display(description=_("audio"), ordering="upload__original_name")
    def audio_name(self, job: TranscriptionJob) -> str | None:
        stored = (job.upload.original_name or str(job.upload_id)) if job.upload_id and job.upload else ""
        name = stored or job.audio_url
        return cut(name) if name else None

    @admin.display(description=_("owner"), ordering="owner")
    def owner_name(self, job: TranscriptionJob) -> str | None:
        return cut(str(job.owner)) if job.owner_id and job.owner else None

    @admin.display(description=_("created at"), ordering="created_at")
    def created(self, job: TranscriptionJob) -> str:
        return two_lines(job.created_at)

    @admin.display(description=_("audio file"))
    def audio(self, job: TranscriptionJob) -> str | None:
        if not job.upload_id or not job.upload:
            return None
        url = reverse("admin:django_slashml_audioupload_change", args=[job.upload_id])
        size = f"{job.upload.size / 1024**2:.1f} MB"
        return format_html('<a href="{}">{}</a> ({}, {})', url, self.audio_name(job), job.upload.content_type, size)

    @admin.display(description=_("comparison"))
    def comparison_link(self, job: TranscriptionJob) -> str | None:
        """The comparison page this job is one provider of, where its scores are."""
        if not job.comparison_id:
            return None
        url = reverse("admin:django_slashml_comparison_change", args=[job.comparison_id])
        return format_html('<a href="{}">{}</a>', url, job.comparison_id)

    @admin.display(description=_("original transcript"))
    def original_text(self, job: TranscriptionJob) -> str | None:
        return format_html('<div class="slashml-transcript">{}</div>', job.text) if job.text else None

    @admin.display(description=_("metadata"))
    def metadata_json(self, job: TranscriptionJob) -> str:
        return format_html('<pre class="slashml-json">{}</pre>', json.dumps(job.metadata, indent=2, ensure_ascii=False))

    @admin.display(description=_("SlashML's last answer"))
    def last_response_json(self, job: TranscriptionJob) -> str | None:
        if job.last_response is None:
            return None
        # Stored responses have the key scrubbed already; scrub again in case a row predates that.
        shown = scrub_key_from_text(
            json.dumps(job.last_response, indent=2, ensure_ascii=False), slashml_settings.API_KEY
        )
        return format_html('<pre class="slashml-json">{}</pre>', shown)

    @admin.display(description=_("text before redaction"))
    def unredacted_text(self, job: TranscriptionJob) -> str:
        """Only in the fieldset that :meth:`get_fieldsets` adds for staff with the permission."""
        kept = job.unredacted if isinstance(job.unredacted, dict) else {}
        return str(kept.get("text", ""))

    @admin.display(description=_("events"))
    def timeline(self, job: TranscriptionJob) -> str:
        return render_timeline(job)

    @admin.display(description=_("words"))
    def transcript_viewer(self, job: TranscriptionJob) -> str:
        audio = reverse("admin:django_slashml_transcriptionjob_audio", args=[job.pk])
        return render_job_viewer(job, stored_audio_url=audio)
