"""The comparison admin: the providers' transcripts aligned word by word, and the provider report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from django_slashml.admin.comparison_page import aligned_html, wer_chart
from django_slashml.models import Comparison, JobStatus, TranscriptionJob
from django_slashml.transcripts.comparisons import comparison_jobs, score_comparison
from django_slashml.transcripts.report import provider_report

if TYPE_CHECKING:
    _ComparisonAdminBase = admin.ModelAdmin[Comparison]
else:
    _ComparisonAdminBase = admin.ModelAdmin  # not subscriptable at runtime


def _can_view_jobs(request: HttpRequest) -> bool:
    """The comparison page and the report show the jobs' transcripts and statistics: the job permission too."""
    opts = TranscriptionJob._meta
    return request.user.has_perm(f"{opts.app_label}.{get_permission_codename('view', opts)}")


@admin.register(Comparison)
class ComparisonAdmin(_ComparisonAdminBase):
    list_display = ("__str__", "providers", "has_reference", "owner", "created_at")
    list_select_related = ("owner", "upload")
    list_per_page = 100
    date_hierarchy = "created_at"
    change_form_template = "admin/django_slashml/comparison/page.html"
    change_list_template = "admin/django_slashml/comparison/change_list.html"

    class Media:
        css = {"all": ("django_slashml/admin/slashml.css",)}
        js = ("django_slashml/admin/comparison.js",)

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).prefetch_related("jobs")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("providers"))
    def providers(self, comparison: Comparison) -> str:
        return ", ".join(job.service_provider for job in comparison.jobs.all())

    @admin.display(description=_("reference text"), boolean=True)
    def has_reference(self, comparison: Comparison) -> bool:
        return bool(comparison.reference_text)

    def get_urls(self) -> list[Any]:
        report = path("report/", self.admin_site.admin_view(self.report_view), name="django_slashml_comparison_report")
        return [report, *super().get_urls()]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        comparison = self.get_object(request, object_id)
        if comparison is None:
            raise Http404(gettext("No comparison %(id)s.") % {"id": object_id})
        if not self.has_view_permission(request, comparison) or not _can_view_jobs(request):
            raise PermissionDenied
        jobs = comparison_jobs(comparison)
        scores = score_comparison(comparison, jobs)  # what Comparison.scores() returns, on the jobs loaded
        agreement = scores.agreement
        if scores.reference_words is not None:
            base = scores.reference_words
        elif agreement is not None:
            base = next(e.words for e in scores.entries if e.job.service_provider == agreement.pivot)
        else:
            base = []
        player_job = jobs[0] if comparison.upload_id and jobs else None
        if player_job is not None:
            audio_src: str | None = reverse("admin:django_slashml_transcriptionjob_audio", args=[player_job.pk])
        else:
            # A URL comparison has no stored file; its URL passed the app's check (public http(s)), so the
            # browser may fetch it itself (Django's default Referrer-Policy, same-origin, sends it no admin URL).
            audio_src = comparison.audio_url or None
        context = {
            **self.admin_site.each_context(request),
            **(extra_context or {}),
            "opts": self.opts,
            "title": _("Comparison %(id)s") % {"id": comparison.pk},
            "comparison": comparison,
            "scores": scores,
            "agreement": agreement,
            "rows": [
                {
                    "score": row,
                    "html": aligned_html(entry, base) if entry.job.status == JobStatus.COMPLETED else "",
                    "is_base": agreement is not None and row.service_provider == agreement.pivot,
                }
                for row, entry in zip(scores.providers, scores.entries, strict=True)
            ],
            "audio_src": audio_src,
            "report_url": reverse("admin:django_slashml_comparison_report"),
        }
        return TemplateResponse(request, self.change_form_template, context)

    def report_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request) or not _can_view_jobs(request):
            raise PermissionDenied
        rows = provider_report(TranscriptionJob.objects.all())
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Providers compared"),
            "rows": rows,
            "chart": wer_chart(rows),
        }
        return TemplateResponse(request, "admin/django_slashml/comparison/report.html", context)
