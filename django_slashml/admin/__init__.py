"""Admin pages for audio uploads and transcription jobs (registered on import)."""

from django_slashml.admin.comparisons import ComparisonAdmin
from django_slashml.admin.jobs import TranscriptionJobAdmin
from django_slashml.admin.uploads import AudioUploadAdmin

__all__ = ["AudioUploadAdmin", "ComparisonAdmin", "TranscriptionJobAdmin"]
