"""The app's exceptions.

``SlashMLError`` is the root of what a job or a call can fail with. API failures split into
:class:`TransientAPIError` (worth retrying: timeouts, dropped connections, 5xx, 429, unreadable
bodies) and :class:`PermanentAPIError` (retrying cannot help: 400, 401, 403, 404). No message
ever contains the API key: the client scrubs everything it puts in one.

:class:`ConfigurationError` stands outside that root, as Django's ``ImproperlyConfigured``: the
deployment is wrong, not the job, so whatever catches ``SlashMLError`` to end a job never ends
one for a worker that lacks its settings.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AudioTooLargeError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "InvalidAudioError",
    "InvalidCaptionParameterError",
    "InvalidComparisonError",
    "InvalidMetadataError",
    "InvalidProviderError",
    "InvalidResponseError",
    "InvalidSpellingError",
    "InvalidTransitionError",
    "MalformedTranscriptError",
    "NotFoundError",
    "PermanentAPIError",
    "RateLimitedError",
    "ResponseTooLargeError",
    "SearchQueryError",
    "ServerError",
    "SlashMLError",
    "TranscriptTooLargeError",
    "TransientAPIError",
]


class SlashMLError(Exception):
    """Base class of everything django-slashml raises on purpose."""


class ConfigurationError(ImproperlyConfigured):
    """The ``SLASHML`` settings cannot work (missing key, bad URL, unknown provider).

    Not a :class:`SlashMLError`: a job that meets it stays due until the settings are fixed.
    """


class InvalidAudioError(SlashMLError, ValueError):
    """The audio given to :func:`django_slashml.transcribe` cannot be transcribed."""


class AudioTooLargeError(InvalidAudioError):
    """The audio is larger than ``SLASHML['MAX_UPLOAD_SIZE']``; the REST API answers it with 413."""


class InvalidMetadataError(SlashMLError, ValueError):
    """Job metadata that is not JSON every database and reader can take back, or too large."""


class InvalidSpellingError(SlashMLError, ValueError):
    """A job's spelling table that is malformed or larger than the settings allow."""


class InvalidProviderError(SlashMLError, ValueError):
    """A service provider SlashML does not offer."""


class InvalidTransitionError(SlashMLError):
    """The job is not in a state that allows the requested change."""


class APIError(SlashMLError):
    """SlashML could not be reached or did not do what was asked."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.body = body


class TransientAPIError(APIError):
    """A failure that may pass: retry later with backoff."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class APITimeoutError(TransientAPIError):
    """SlashML did not answer within the configured timeout."""


class APIConnectionError(TransientAPIError):
    """The connection could not be made or was dropped."""


class ServerError(TransientAPIError):
    """SlashML answered 5xx."""


class RateLimitedError(TransientAPIError):
    """SlashML answered 429; ``retry_after`` holds its Retry-After in seconds."""


class InvalidResponseError(TransientAPIError):
    """A 200 whose body is not the JSON SlashML documents (truncated, HTML, ...)."""


class PermanentAPIError(APIError):
    """A failure that retrying the same request cannot fix."""


class BadRequestError(PermanentAPIError):
    """SlashML answered 400: the request (audio URL, provider, job id) was refused."""


class AuthenticationError(PermanentAPIError):
    """SlashML answered 401 or 403: the API key is wrong or lacks access."""


class NotFoundError(PermanentAPIError):
    """SlashML answered 404."""


class MalformedTranscriptError(PermanentAPIError):
    """SlashML reported COMPLETED, but the transcript it sent cannot be read.

    Polling again returns the same body, so this ends the job instead of retrying.
    """


class ResponseTooLargeError(PermanentAPIError):
    """SlashML's answer is larger than ``SLASHML['MAX_RESPONSE_BYTES']``; it was not read to the end."""


class TranscriptTooLargeError(PermanentAPIError):
    """SlashML sent more words or characters than ``MAX_WORDS`` / ``MAX_TRANSCRIPT_CHARS`` allow."""


class InvalidCaptionParameterError(SlashMLError, ValueError):
    """A caption parameter (``preset``, ``max_line_chars``, ...) that cannot be used.

    ``parameter`` names it and ``message`` says what is allowed; the REST API answers it with
    400 ``{parameter: [message]}``, the admin with a 400 or an error message.
    """

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


class InvalidComparisonError(SlashMLError, ValueError):
    """A comparison that cannot be made: its providers or reference text; ``field`` names which."""

    def __init__(self, message: str, *, field: str = "providers") -> None:
        super().__init__(message)
        self.field = field


class SearchQueryError(SlashMLError, ValueError):
    """A search query that cannot be run (empty, too long, only exclusions); a 400 in the API."""
