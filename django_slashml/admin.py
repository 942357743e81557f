"""Read-only admin pages for uploads and jobs.

Jobs change only through the state machine, so nothing here is editable; a job's status
moves through the API, the commands or the pipeline.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import AudioUpload, TranscriptionJob


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TranscriptionJob)
class TranscriptionJobAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "status",
        "service_provider",
        "audio_duration",
        "confidence",
        "owner",
        "created_at",
        "completed_at",
    )
    list_filter = ("status", "service_provider", "created_at")
    list_select_related = ("owner",)
    search_fields = ("text", "remote_id", "upload__original_name")
    date_hierarchy = "created_at"
    raw_id_fields = ("owner", "upload")
    exclude = ("last_response", "lease_owner", "lease_expires_at")


@admin.register(AudioUpload)
class AudioUploadAdmin(ReadOnlyAdmin):
    list_display = ("original_name", "content_type", "size", "duration", "owner", "created_at")
    list_select_related = ("owner",)
    search_fields = ("original_name", "sha256")
    date_hierarchy = "created_at"
    raw_id_fields = ("owner",)
