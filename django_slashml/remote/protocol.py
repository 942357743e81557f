"""SlashML's vocabulary, shared by the client and the sandbox: providers, statuses, paths.

Nothing here needs configured Django settings, so the sandbox imports it as a plain program.
"""

from __future__ import annotations

from django_slashml.conf import API_KEY_ENVIRONMENT_VARIABLE

#: Service providers named by the vendor's own client (``slashml`` 0.1.6), with the names people
#: know them by. The one list: ``models.ServiceProvider`` (the field's choices) is built from it.
SERVICE_PROVIDER_LABELS: dict[str, str] = {
    "assembly": "AssemblyAI",
    "aws": "AWS Transcribe",
    "whisper": "Whisper",
    "deepgram": "Deepgram",
    "google": "Google Speech-to-Text",
    "rev": "Rev.ai",
}
SERVICE_PROVIDERS: tuple[str, ...] = tuple(SERVICE_PROVIDER_LABELS)


def provider_problem(value: object) -> str | None:
    """Why ``value`` is not a SlashML service provider, or None if it is one.

    The one check of a provider: ``transcribe()``, the REST API, the system checks and the
    sandbox all ask it, and each raises its own kind of error with the message.
    """
    if isinstance(value, str) and value in SERVICE_PROVIDER_LABELS:
        return None
    return f"Unknown service provider {value!r}; use one of: {', '.join(SERVICE_PROVIDERS)}."


class RemoteStatus:
    """Statuses as SlashML reports them, after normalisation."""

    QUEUED = "QUEUED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    ERROR = "ERROR"

    #: The spelling the vendor's own examples use.
    IN_PROGRESS_VENDOR_TYPO = "IN_PROGESS"

    ALL: tuple[str, ...] = (QUEUED, IN_PROGRESS, COMPLETED, ERROR)


API_PREFIX = "/speech-to-text/v1"

#: What is said wherever an API key is needed and none is configured: the client, ``transcribe()``
#: and the ``slashml.E001`` check (message and hint).
NO_API_KEY = "No SlashML API key is configured."
NO_API_KEY_HINT = f'Set SLASHML = {{"API_KEY": ...}} or the {API_KEY_ENVIRONMENT_VARIABLE} environment variable.'
NO_API_KEY_MESSAGE = f"{NO_API_KEY} {NO_API_KEY_HINT}"
