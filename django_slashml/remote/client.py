"""A small typed client for SlashML's three speech-to-text endpoints.

One ``requests.Session`` per process, timeouts on every call, a versioned
User-Agent. Uploads stream through ``requests_toolbelt``'s ``MultipartEncoder``
(``requests``' own ``files=`` builds the whole body in memory). Status GETs retry
dropped connections at the HTTP layer; POSTs never do, because SlashML has no
idempotency key and a repeated submit may create a second job.
"""

from __future__ import annotations

import codecs
import email.utils
import importlib.metadata
import inspect
import json
import os
import threading
import time
from typing import Any, BinaryIO, Protocol
from urllib.parse import quote  # what requests.utils.quote is; its stubs do not re-export it

import requests
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string
from django.utils.translation import gettext
from requests_toolbelt.multipart.encoder import MultipartEncoder
from urllib3.exceptions import ReadTimeoutError

from django_slashml.conf import SETTINGS_NAME
from django_slashml.exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    InvalidResponseError,
    NotFoundError,
    PermanentAPIError,
    RateLimitedError,
    ResponseTooLargeError,
    ServerError,
)
from django_slashml.logs import JobLogger, job_logger
from django_slashml.remote.calls import StepCalls
from django_slashml.remote.characters import storable, storable_text
from django_slashml.remote.key_scrub import scrub_key_from_json, scrub_key_from_text
from django_slashml.remote.protocol import API_PREFIX, no_api_key_message
from django_slashml.remote.responses import (
    TRANSCRIPT_KEYS,
    Limits,
    RemoteJob,
    RemoteUpload,
    error_message,
    parse_job,
    parse_upload,
)

logger = job_logger("django_slashml.remote.client")

_BODY_SNIPPET = 300
_CHUNK = 64 * 1024
#: Longest error message taken from SlashML's body into an exception (and a job's error_message).
_MESSAGE_CHARS = 1000


def user_agent() -> str:
    # From the installed distribution: importing the package root would load the job engine.
    try:
        version = importlib.metadata.version("django-slashml")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return f"django-slashml/{version} python-requests/{requests.__version__}"


def _codec(charset: str | None) -> str:
    """The answer's declared charset if Python knows it, else UTF-8 (a bogus charset is no reason to fail)."""
    try:
        return codecs.lookup(charset or "utf-8").name
    except LookupError:
        return "utf-8"


def _retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _logger(calls: StepCalls | None) -> JobLogger:
    """The client's logger, naming the job whose step made the call (none outside a step)."""
    return logger.about(calls.job_id) if calls is not None else logger


class SizedReader(Protocol):
    """What the upload streams from besides a real file: ``read(n)`` and, in ``len``, the bytes left."""

    @property
    def len(self) -> int: ...

    def read(self, size: int = -1) -> bytes: ...


class TokenAuth(requests.auth.AuthBase):
    """SlashML's ``Authorization: Token <key>``, as requests auth.

    As auth rather than a plain header, requests neither looks up ``~/.netrc`` on every
    call nor lets a netrc entry for the host replace the key.
    """

    def __init__(self, api_key: str) -> None:
        self._api_key = api_key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Token {self._api_key}"
        return request

    def __repr__(self) -> str:
        return "<TokenAuth>"


def _settle_environment(session: requests.Session, url: str) -> None:
    """Read proxy and CA-bundle variables once for SlashML's host, not on every call.

    requests re-reads them on every request when ``trust_env`` is on; the host never changes
    for a client, so the answer does not either.
    """
    session.proxies.update(requests.utils.get_environ_proxies(url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle and session.verify is True:
        session.verify = bundle
    session.trust_env = False


class SlashMLClient:
    """Calls SlashML; returns :mod:`~django_slashml.remote.responses` types or raises :class:`APIError` subclasses.

    ``upload``, ``submit`` and ``status`` take ``calls``: a job step's
    :class:`~django_slashml.remote.calls.StepCalls`, where each call is noted for the job's
    event log and whose job the client's log lines name.
    """

    def __init__(
        self,
        api_url: str,
        api_key: str | None,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        upload_read_timeout: float = 300.0,
        status_retries: int = 2,
        session: requests.Session | None = None,
        max_response_bytes: int | None = None,
        limits: Limits | None = None,
    ) -> None:
        if not api_key:
            raise ConfigurationError(no_api_key_message(gettext))
        self.base_url = api_url.rstrip("/") + API_PREFIX
        self._api_key = api_key
        self.timeout = (connect_timeout, read_timeout)
        self.upload_timeout = (connect_timeout, upload_read_timeout)
        if session is None:
            session = requests.Session()
            _settle_environment(session, self.base_url)
        self.session = session
        self._auth = TokenAuth(api_key)
        self.session.headers.update({"User-Agent": user_agent(), "Accept": "application/json"})
        self.status_retries = status_retries
        self.max_response_bytes = max_response_bytes
        self.limits = limits or Limits()

    def __repr__(self) -> str:
        return f"<SlashMLClient {self.base_url}>"

    @classmethod
    def from_settings(cls) -> SlashMLClient:
        from django_slashml.conf import slashml_settings as s

        return cls(
            s.API_URL,
            s.API_KEY,
            connect_timeout=s.CONNECT_TIMEOUT,
            read_timeout=s.READ_TIMEOUT,
            upload_read_timeout=s.UPLOAD_READ_TIMEOUT,
            status_retries=int(s.STATUS_HTTP_RETRIES),
            max_response_bytes=int(s.MAX_RESPONSE_BYTES),
            limits=Limits(max_words=int(s.MAX_WORDS), max_text_chars=int(s.MAX_TRANSCRIPT_CHARS)),
        )

    def close(self) -> None:
        self.session.close()

    # -- the three endpoints ------------------------------------------------

    def upload(
        self,
        fileobj: BinaryIO | SizedReader,
        *,
        filename: str,
        content_type: str,
        service_provider: str,
        calls: StepCalls | None = None,
    ) -> RemoteUpload:
        """Stream ``fileobj`` to SlashML's upload endpoint in constant memory.

        ``fileobj`` is an open binary file, or a reader such as
        :class:`~django_slashml.audio.streaming.StoredAudio` that reports the bytes left in ``len``.
        """
        encoder = MultipartEncoder(
            fields={
                "service_provider": service_provider,
                "audio": (filename, fileobj, content_type),
            }
        )
        body = self._request(
            "POST",
            "/upload/",
            calls,
            data=encoder,
            headers={"Content-Type": encoder.content_type},
            timeout=self.upload_timeout,
        )
        return parse_upload(body)

    def submit(self, audio_url: str, *, service_provider: str, calls: StepCalls | None = None) -> RemoteJob:
        body = self._request(
            "POST",
            "/jobs/",
            calls,
            data={"uploaded_audio_url": audio_url, "service_provider": service_provider},
        )
        remote = parse_job(body, self.limits)
        if calls is not None:
            calls.note_remote_status(remote.status)
        return remote

    def status(self, remote_id: str, *, service_provider: str, calls: StepCalls | None = None) -> RemoteJob:
        path = f"/jobs/{quote(remote_id, safe='')}/"
        retries_left = self.status_retries
        while True:
            try:
                body = self._request("GET", path, calls, params={"service_provider": service_provider})
            except (APITimeoutError, APIConnectionError) as exc:
                # A GET is safe to repeat at once; anything slower is the task's job.
                if retries_left <= 0:
                    raise
                retries_left -= 1
                _logger(calls).info("Retrying SlashML status for %s after: %s", remote_id, exc)
                continue
            remote = parse_job(body, self.limits)
            if calls is not None:
                calls.note_remote_status(remote.status)
            return remote

    # -- plumbing -----------------------------------------------------------

    def _request(self, method: str, path: str, calls: StepCalls | None, **kwargs: Any) -> Any:
        """One call, noted in ``calls`` for the job event log however it ends."""
        endpoint = "upload" if path == "/upload/" else "submit" if method == "POST" else "status"
        started, answered = time.monotonic(), list[int | None]([None])
        try:
            body = self._call(method, path, answered, _logger(calls), **kwargs)
        except APIError as exc:
            if calls is not None:
                status = answered[0] or exc.status_code
                calls.note(endpoint, method, started, http_status=status, answer=exc.body, error=str(exc))
            raise
        if calls is not None:
            calls.note(endpoint, method, started, http_status=answered[0], answer=body)
        return body

    def _call(self, method: str, path: str, answered: list[int | None], log: JobLogger, **kwargs: Any) -> Any:
        url = self.base_url + path
        kwargs.setdefault("timeout", self.timeout)
        started = time.monotonic()
        try:
            response = self.session.request(method, url, auth=self._auth, allow_redirects=False, stream=True, **kwargs)
        except requests.Timeout as exc:
            raise APITimeoutError(self._scrub(f"SlashML did not answer {method} {path} in time: {exc}")) from None
        except requests.ConnectionError as exc:
            if any(isinstance(arg, ReadTimeoutError) for arg in exc.args):
                # requests reports a read timeout in the middle of the body as a ConnectionError.
                raise APITimeoutError(self._scrub(f"SlashML's answer to {method} {path} stalled: {exc}")) from None
            raise APIConnectionError(self._scrub(f"Could not reach SlashML for {method} {path}: {exc}")) from None
        except requests.RequestException as exc:
            raise APIConnectionError(self._scrub(f"{method} {path} failed: {exc}")) from None
        elapsed, answered[0] = time.monotonic() - started, response.status_code
        log.debug("SlashML %s %s -> %s in %.3fs", method, path, response.status_code, elapsed)
        return self._read(response, method, path)

    def _scrub(self, text: str) -> str:
        return scrub_key_from_text(text, self._api_key)

    def _content(self, response: requests.Response, where: str) -> bytes:
        """The body, read in chunks and abandoned past ``max_response_bytes`` (declared or counted).

        The read timeout bounds each socket read; the whole body gets the same time in all, so an
        answer that trickles in under the byte limit cannot hold a worker past its lease either.
        """
        limit = self.max_response_bytes
        deadline = time.monotonic() + self.timeout[1]
        try:
            declared = int(response.headers.get("Content-Length", ""))
        except ValueError:
            declared = None
        chunks: list[bytes] = []
        size = 0
        try:
            if limit and declared is not None and declared > limit:
                raise self._too_large(where, declared, response.status_code)
            for chunk in response.iter_content(_CHUNK):
                size += len(chunk)
                if limit and size > limit:
                    raise self._too_large(where, size, response.status_code)
                if time.monotonic() > deadline:
                    raise APITimeoutError(
                        f"SlashML's answer to {where} took more than {self.timeout[1]:g} s to arrive "
                        f"({size} bytes so far); it was abandoned."
                    )
                chunks.append(chunk)
        except requests.RequestException as exc:
            if any(isinstance(arg, ReadTimeoutError) for arg in exc.args):
                raise APITimeoutError(self._scrub(f"SlashML's answer to {where} stalled: {exc}")) from None
            raise APIConnectionError(self._scrub(f"SlashML's answer to {where} broke off: {exc}")) from None
        finally:
            response.close()
        return b"".join(chunks)

    def _too_large(self, where: str, size: int, status: int) -> ResponseTooLargeError:
        limit = self.max_response_bytes or 0
        return ResponseTooLargeError(
            f"SlashML's answer to {where} is larger than {limit / 1024**2:.1f} MiB (at least {size / 1024**2:.1f} MiB; "
            "SLASHML['MAX_RESPONSE_BYTES']); it was not read. Raise MAX_RESPONSE_BYTES if transcripts "
            "this long are expected, then retry the job.",
            status_code=status,
        )

    def _read(self, response: requests.Response, method: str, path: str) -> Any:
        content = self._content(response, f"{method} {path}")
        # Redacting a prefix is enough: it only shrinks, and the snippet is cut at 300 after it.
        raw_text = content[:_CHUNK].decode(_codec(response.encoding), errors="replace")
        try:
            # What a database cannot store is taken out first: any of it fails the step's write.
            body = scrub_key_from_json(storable(json.loads(content)), self._api_key, keep=TRANSCRIPT_KEYS)
        except (ValueError, RecursionError):
            body = None
        snippet = storable_text(self._scrub(raw_text)[:_BODY_SNIPPET])  # cut after scrubbing: a cut key is a key
        status = response.status_code
        where = f"{method} {path}"
        if 200 <= status < 300:
            if body is None:
                raise InvalidResponseError(
                    f"SlashML answered {where} with {status} but the body is not JSON: {snippet!r}",
                    status_code=status,
                    body=snippet,
                )
            return body
        message = self._scrub(error_message(body) or snippet or response.reason or "no details")[:_MESSAGE_CHARS]
        kwargs: dict[str, Any] = {"status_code": status, "body": body if body is not None else snippet}
        if status == 429:
            retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
            raise RateLimitedError(f"SlashML rate-limited {where}: {message}", retry_after=retry_after, **kwargs)
        if status >= 500:
            raise ServerError(f"SlashML failed on {where} with {status}: {message}", **kwargs)
        if status == 400:
            raise BadRequestError(f"SlashML refused {where}: {message}", **kwargs)
        if status in (401, 403):
            raise AuthenticationError(
                f"SlashML refused the API key ({status}) on {where}: {message}. "
                "Check SLASHML['API_KEY'] and the account's access.",
                **kwargs,
            )
        if status == 404:
            raise NotFoundError(f"SlashML has no {where}: {message}", **kwargs)
        if 300 <= status < 400:
            location = self._scrub(response.headers.get("Location", "?"))
            raise PermanentAPIError(
                f"SlashML redirected {where} to {location}; check SLASHML['API_URL'] (https, no path).", **kwargs
            )
        raise PermanentAPIError(f"SlashML answered {where} with {status}: {message}", **kwargs)


_default_client: SlashMLClient | None = None
_default_lock = threading.Lock()

#: What the pipeline calls on a client; ``SLASHML['CLIENT_CLASS']`` must offer them (check ``slashml.E021``).
CLIENT_METHODS = ("from_settings", "upload", "submit", "status", "close")
#: The methods the pipeline passes ``calls=`` (the step's :class:`StepCalls`); a client must accept it.
CALLS_METHODS = ("upload", "submit", "status")


_BY_NAME = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def methods_without_calls(cls: object) -> list[str]:
    """Those of :data:`CALLS_METHODS` that ``cls`` has but that cannot take the keyword argument ``calls``."""
    refusing = []
    for name in CALLS_METHODS:
        method = getattr(cls, name, None)
        if not callable(method):
            continue  # missing: reported as such
        try:
            parameters = inspect.signature(method).parameters.values()
        except (TypeError, ValueError):  # no signature to read: it may well take it
            continue
        if not any(p.kind is p.VAR_KEYWORD or (p.name == "calls" and p.kind in _BY_NAME) for p in parameters):
            refusing.append(name)
    return refusing


def client_class() -> type[SlashMLClient]:
    """The class named by ``SLASHML['CLIENT_CLASS']`` (the real client unless a test switched in a fake)."""
    from django_slashml.conf import slashml_settings

    path = slashml_settings.CLIENT_CLASS
    try:
        cls = import_string(path)
    except (ImportError, AttributeError, TypeError) as exc:  # a non-string is no dotted path either
        raise ConfigurationError(f"SLASHML['CLIENT_CLASS'] = {path!r} cannot be imported: {exc}") from None
    refusing = methods_without_calls(cls)
    if refusing:
        raise ConfigurationError(
            f"SLASHML['CLIENT_CLASS'] = {path!r}: {', '.join(refusing)} must accept the keyword argument "
            "calls= (the step's django_slashml.remote.calls.StepCalls, where each call is noted for the "
            "job's event log), as SlashMLClient's do."
        )
    return cls  # type: ignore[no-any-return]


def get_client() -> SlashMLClient:
    """The process-wide client built from settings (rebuilt after settings change or fork)."""
    global _default_client
    with _default_lock:
        if _default_client is None:
            _default_client = client_class().from_settings()
        return _default_client


def reset_default_client() -> None:
    global _default_client
    client, _default_client = _default_client, None
    if client is not None:
        client.close()


@receiver(setting_changed, dispatch_uid="django_slashml.remote.client.reset_default_client")
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTINGS_NAME:
        reset_default_client()


def _forget_client_in_child() -> None:
    # A pooled connection shared with the parent process would interleave bytes.
    global _default_client
    _default_client = None


os.register_at_fork(after_in_child=_forget_client_in_child)

__all__ = [
    "CALLS_METHODS",
    "CLIENT_METHODS",
    "APIError",
    "SlashMLClient",
    "client_class",
    "get_client",
    "methods_without_calls",
    "reset_default_client",
    "user_agent",
]
