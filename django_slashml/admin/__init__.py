"""Admin pages for audio uploads and transcription jobs (registered on import)."""

from .jobs import TranscriptionJobAdmin
from .uploads import AudioUploadAdmin

__all__ = ["AudioUploadAdmin", "TranscriptionJobAdmin"]
