"""The audio upload admin: read-only, with a player and the jobs that used each file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from django_slashml.admin.audio import SEES_UNREDACTED, serve_upload
from django_slashml.jobs.access import is_allowed
from django_slashml.models import AudioUpload, RedactedSpan

if TYPE_CHECKING:
    _UploadAdminBase = admin.ModelAdmin[AudioUpload]
else:
    _UploadAdminBase = admin.ModelAdmin  # not subscriptable at runtime


@admin.register(AudioUpload)
class AudioUploadAdmin(_UploadAdminBase):
    list_display = ("original_name", "content_type", "size_mb", "duration", "job_count", "owner", "created_at")
    list_select_related = ("owner",)
    list_per_page = 100
    list_filter = ("content_type", "created_at")
    search_fields = ("original_name", "sha256")
    date_hierarchy = "created_at"
    raw_id_fields = ("owner",)
    readonly_fields = (
        "player",
        "original_name",
        "content_type",
        "size",
        "sha256",
        "duration",
        "file",
        "remote_url",
        "remote_uploaded_at",
        "remote_expires_at",
        "purged_at",
        "owner",
        "created_at",
    )
    fields = readonly_fields

    class Media:
        css = {"all": ("django_slashml/admin/slashml.css",)}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).annotate(job_total=Count("jobs"))

    def get_urls(self) -> list[Any]:
        name = f"{self.opts.app_label}_{self.opts.model_name}_audio"
        return [
            path("<path:object_id>/audio/", self.admin_site.admin_view(self.audio_view), name=name),
            *super().get_urls(),
        ]

    def audio_view(self, request: HttpRequest, object_id: str) -> HttpResponseBase:
        upload = self.get_object(request, object_id)
        if upload is None:
            raise Http404(gettext("No such audio upload."))
        if not is_allowed(request.user, "view", upload):
            raise PermissionDenied
        if not request.user.has_perm(SEES_UNREDACTED) and RedactedSpan.objects.filter(job__upload=upload).exists():
            raise PermissionDenied  # it holds speech a job redacted: its job page plays the toned copy
        return serve_upload(request, upload)

    @admin.display(description=_("size"), ordering="size")
    def size_mb(self, upload: AudioUpload) -> str:
        return f"{upload.size / 1024**2:.1f} MB"

    @admin.display(description=_("jobs"), ordering="job_total")
    def job_count(self, upload: AudioUpload) -> int:
        return getattr(upload, "job_total", 0)

    @admin.display(description=_("listen"))
    def player(self, upload: AudioUpload) -> str:
        src = reverse("admin:django_slashml_audioupload_audio", args=[upload.pk])
        return format_html('<audio class="slashml-audio" controls preload="none" src="{}"></audio>', src)
