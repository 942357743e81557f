"""SlashML's vocabulary, shared by the client and the sandbox: providers, statuses, paths.

Nothing here needs configured Django settings, so the sandbox imports it as a plain program.
"""

from __future__ import annotations

from collections.abc import Callable

from django_slashml.conf import API_KEY_ENVIRONMENT_VARIABLE


def gettext_noop(message: str) -> str:
    """``message`` unchanged: marks it for ``makemessages`` without needing Django's settings.

    Code running under Django passes ``translate=gettext`` to the functions below (or translates
    the labels where it shows them); the sandbox, a plain program, keeps the English.
    """
    return message


#: Service providers named by the vendor's own client (``slashml`` 0.1.6), with the names people
#: know them by. The one list: ``models.ServiceProvider`` (the field's choices) is built from it,
#: with the labels translated lazily.
SERVICE_PROVIDER_LABELS: dict[str, str] = {
    # Translators: product names; keep them unless the product is known by another name in your language.
    "assembly": gettext_noop("AssemblyAI"),
    "aws": gettext_noop("AWS Transcribe"),
    "whisper": gettext_noop("Whisper"),
    "deepgram": gettext_noop("Deepgram"),
    "google": gettext_noop("Google Speech-to-Text"),
    "rev": gettext_noop("Rev.ai"),
}
SERVICE_PROVIDERS: tuple[str, ...] = tuple(SERVICE_PROVIDER_LABELS)


def shown_value(value: object, limit: int = 40) -> str:
    """``repr(value)`` cut to about ``limit`` characters: an error echoes what was sent, never all of it."""
    text = repr(value[: limit + 1] if isinstance(value, str) else value)
    return text if len(text) <= limit else f"{text[:limit]}…"


def provider_problem(value: object, *, translate: Callable[[str], str] = gettext_noop) -> str | None:
    """Why ``value`` is not a SlashML service provider, or None if it is one.

    The one check of a provider: ``transcribe()``, the REST API, the system checks and the
    sandbox all ask it, and each raises its own kind of error with the message (translated
    with ``translate``, e.g. Django's ``gettext``; the sandbox's stays in English).
    """
    if isinstance(value, str) and value in SERVICE_PROVIDER_LABELS:
        return None
    return translate(gettext_noop("Unknown service provider %(value)s; use one of: %(providers)s.")) % {
        "value": shown_value(value),
        "providers": ", ".join(SERVICE_PROVIDERS),
    }


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


def no_api_key(translate: Callable[[str], str] = gettext_noop) -> tuple[str, str]:
    """What is said wherever an API key is needed and none is configured, as (message, hint): the
    client, ``transcribe()`` and the ``slashml.E001`` check say it, translated with ``translate``."""
    message = translate(gettext_noop("No SlashML API key is configured."))
    hint = translate(gettext_noop('Set SLASHML = {"API_KEY": ...} or the %(variable)s environment variable.')) % {
        "variable": API_KEY_ENVIRONMENT_VARIABLE
    }
    return message, hint


def no_api_key_message(translate: Callable[[str], str] = gettext_noop) -> str:
    """:func:`no_api_key`'s message and hint in one sentence pair, as exceptions say it."""
    return " ".join(no_api_key(translate))


#: The same, in English.
NO_API_KEY, NO_API_KEY_HINT = no_api_key()
NO_API_KEY_MESSAGE = no_api_key_message()
