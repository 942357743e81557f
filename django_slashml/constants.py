"""Names shared by the app and the sandbox: providers and statuses.

Django-free on purpose, so the sandbox can import it without configuring Django.
"""

from __future__ import annotations

#: Service providers named by the vendor's own client (``slashml`` 0.1.6).
SERVICE_PROVIDERS: tuple[str, ...] = ("assembly", "aws", "whisper", "deepgram", "google", "rev")


class RemoteStatus:
    """Statuses as SlashML reports them, after normalisation."""

    QUEUED = "QUEUED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    ERROR = "ERROR"

    #: The spelling the vendor's own examples use.
    IN_PROGRESS_VENDOR_TYPO = "IN_PROGESS"

    ALL: tuple[str, ...] = (QUEUED, IN_PROGRESS, COMPLETED, ERROR)


#: Remote uploads are deleted by SlashML this many seconds after upload.
REMOTE_UPLOAD_LIFETIME_SECONDS = 24 * 60 * 60

API_PREFIX = "/speech-to-text/v1"

#: The longest audio URL a job stores (``TranscriptionJob.audio_url``), counted after re-serialising.
MAX_AUDIO_URL_LENGTH = 1000
