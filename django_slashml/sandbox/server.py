"""The sandbox's HTTP side: SlashML's three endpoints, served uploads, and ``/_sandbox/``.

A standard-library threading HTTP/1.1 server with keep-alive, so clients reuse
connections as they would with the real API. Multipart bodies are parsed as
they stream in and written to disk: an upload of any size costs constant memory.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from django_slashml.audio.formats import sniff
from django_slashml.remote.protocol import API_PREFIX, SERVICE_PROVIDERS, RemoteStatus, provider_problem
from django_slashml.sandbox.faults import FaultConfigError
from django_slashml.sandbox.multipart_form import AudioPart, FormError, read_form
from django_slashml.sandbox.state import SandboxJob, SandboxState, StoredUpload

logger = logging.getLogger("django_slashml.sandbox")

_CHUNK = 256 * 1024
_JOB_PATH = re.compile(rf"^{re.escape(API_PREFIX)}/jobs/([^/]+)/?$")
_UPLOAD_FILE_PATH = re.compile(r"^/upload/([0-9a-f-]{36})$")


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class _ClientGone(Exception):
    """The fault plan drops this connection without an answer."""


class _Answered(Exception):
    """The fault plan already answered this request."""


class SandboxRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SandboxHTTPServer
    _body_started: bool  # set per request by _handle
    server_version = "SlashMLSandbox/1"
    # Headers and body go out in two writes; with Nagle's algorithm the body waits for the
    # client's delayed ACK of the headers, so every answer on a kept-alive connection took 40 ms.
    disable_nagle_algorithm = True

    # -- plumbing -------------------------------------------------------------------

    @property
    def state(self) -> SandboxState:
        return self.server.state

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def _body_chunks(self) -> Iterator[bytes]:
        """The request body as it arrives, plain or chunked; read at most once per request.

        Until the body has been read to its end the connection is marked for closing,
        so a request abandoned half-way never leaves stray bytes for the next one.
        """
        if self._body_started:
            return
        self._body_started = True
        keep_open = not self.close_connection
        self.close_connection = True
        yield from self._raw_body_chunks()
        if keep_open:
            self.close_connection = False

    def _raw_body_chunks(self) -> Iterator[bytes]:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                size_line = self.rfile.readline(1024)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return
                remaining = size
                while remaining:
                    data = self.rfile.read(min(_CHUNK, remaining))
                    if not data:
                        raise BadRequest("The request body ended early.")
                    remaining -= len(data)
                    yield data
                self.rfile.readline(16)
        else:
            remaining = int(self.headers.get("Content-Length") or 0)
            while remaining > 0:
                data = self.rfile.read(min(_CHUNK, remaining))
                if not data:
                    raise BadRequest("The request body ended early.")
                remaining -= len(data)
                yield data

    def _read_body(self, limit: int = 1024 * 1024) -> bytes:
        body = bytearray()
        for chunk in self._body_chunks():
            body += chunk
            if len(body) > limit:
                self.close_connection = True
                raise BadRequest("The request body is too large for this endpoint.")
        return bytes(body)

    def _form(self) -> dict[str, str]:
        body = self._read_body()
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            try:
                data = json.loads(body or b"{}")
            except ValueError:
                raise BadRequest("The JSON body cannot be parsed.") from None
            if not isinstance(data, dict):
                raise BadRequest("The JSON body must be an object.")
            return {str(k): str(v) for k, v in data.items() if v is not None}
        if content_type.startswith("multipart/form-data"):
            return self._multipart(stream_file=False)[0]
        parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        return {key: values[-1] for key, values in parsed.items()}

    def _send(
        self,
        status: int,
        payload: Any = None,
        *,
        raw: bytes | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        slow: bool = False,
    ) -> None:
        if self._api_call and self.state.quirks["echo_credentials"]:
            payload, raw = self._echo_credentials(payload, raw)
        body = raw if raw is not None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self._api_call:
            self.state.count("responses", str(status))
        if slow and body:
            # Headers now, the body after the delay: a client's read timeout fires in between.
            self.wfile.write(body[:1])
            self.wfile.flush()
            time.sleep(self.state.faults.faults.slow_body_delay)
            body = body[1:]
        self.wfile.write(body)

    def _echo_credentials(self, payload: Any, raw: bytes | None) -> tuple[Any, bytes | None]:
        """Put the request's Authorization header in the body, as careless services' debug pages do."""
        received = self.headers.get("Authorization", "")
        if raw is not None:
            return payload, raw + f"<!-- Authorization: {received} -->".encode()
        if isinstance(payload, dict):
            return {**payload, "debug": {"authorization": received}}, raw
        return payload, raw

    def _error(self, status: int, message: str) -> None:
        self._send(status, {"error": {"message": message}})

    def _authorised(self) -> bool:
        value = self.headers.get("Authorization", "")
        scheme, _, token = value.partition(" ")
        return scheme.lower() == "token" and token.strip() in self.state.api_keys

    # -- dispatch -------------------------------------------------------------------

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        self._body_started = False
        self._api_call = False  # only SlashML's own endpoints count as served responses
        url = urlsplit(self.path)
        path = url.path
        try:
            if path.startswith("/_sandbox/"):
                self._admin(method, path)
                return
            match = _UPLOAD_FILE_PATH.match(path)
            if method == "GET" and match:
                self._serve_upload(match.group(1))
                return
            endpoint, job_id = self._endpoint(method, path)
            if endpoint is None:
                self._read_body()
                self._error(404, f"No such endpoint: {method} {path}.")
                return
            self.state.count("calls", endpoint)
            self._api_call = True
            if not self._authorised():
                self._drain()
                self._error(401, "Invalid or missing API key: send 'Authorization: Token <key>'.")
                return
            slow = self._inject(endpoint)
            if endpoint == "upload":
                self._upload(slow)
            elif endpoint == "submit":
                self._submit(slow)
            else:
                self._status(job_id or "", parse_qs(url.query), slow)
        except _Answered:
            return
        except _ClientGone:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
        except BadRequest as exc:
            self._drain()
            self._error(exc.status, exc.message)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _drain(self) -> None:
        """Read what is left of the body so the connection can be reused; close it if that fails."""
        try:
            for _ in self._body_chunks():
                pass
        except (BadRequest, ValueError, OSError):
            self.close_connection = True

    def _endpoint(self, method: str, path: str) -> tuple[str | None, str | None]:
        if method == "POST" and path.rstrip("/") == f"{API_PREFIX}/upload":
            return "upload", None
        if method == "POST" and path.rstrip("/") == f"{API_PREFIX}/jobs":
            return "submit", None
        match = _JOB_PATH.match(path)
        if method == "GET" and match:
            return "status", match.group(1)
        return None, None

    def _inject(self, endpoint: str) -> bool:
        """Apply latency and this request's fault; returns whether to send the body slowly."""
        latency = self.state.faults.faults.latency
        if latency:
            time.sleep(latency)
        fault = self.state.faults.request_fault(endpoint)
        if fault is None:
            return False
        self.state.count("faults", fault)
        self.state.count("faults_by_endpoint", f"{endpoint}:{fault}")
        if fault == "drop":
            raise _ClientGone
        if fault in ("500", "429", "malformed", "truncated"):
            self._drain()
            if fault == "500":
                self._send(
                    500, raw=b"<html><body><h1>500 Internal Server Error</h1></body></html>", content_type="text/html"
                )
            elif fault == "429":
                retry_after = self.state.faults.faults.retry_after
                self._send(
                    429, {"error": {"message": "Too many requests."}}, headers={"Retry-After": f"{retry_after:g}"}
                )
            elif fault == "malformed":
                self._send(200, raw=b"<html>Service temporarily degraded</html>", content_type="text/html")
            else:
                self._send(200, raw=b'{"id": "trunc', content_type="application/json")
            raise _Answered
        return fault == "slow"

    # -- the three endpoints ----------------------------------------------------------

    def _provider(self, value: str | None) -> str:
        if not value:
            raise BadRequest("The field 'service_provider' is required.")
        if provider_problem(value):  # worded as SlashML words it, which tests of the client rely on
            raise BadRequest(f"Unknown service_provider {value!r}; use one of: {', '.join(SERVICE_PROVIDERS)}.")
        return value

    def _multipart(self, *, stream_file: bool) -> tuple[dict[str, str], AudioPart | None]:
        """Form fields; with ``stream_file``, also the ``audio`` part, written to disk as it arrives."""
        from multipart import parse_options_header

        _, options = parse_options_header(self.headers.get("Content-Type", ""))
        boundary = options.get("boundary")
        if not boundary:
            raise BadRequest("The multipart body has no boundary.")
        new_upload = self.state.new_upload_path if stream_file else None
        try:
            return read_form(self._body_chunks(), boundary, new_upload=new_upload, max_size=self.state.max_upload_size)
        except FormError as exc:
            raise BadRequest(str(exc)) from None

    def _upload(self, slow: bool) -> None:
        if not self.headers.get("Content-Type", "").startswith("multipart/form-data"):
            raise BadRequest("Send the audio as multipart/form-data with the file in the field 'audio'.")
        fields, audio = self._multipart(stream_file=True)
        try:
            # Optional here: the vendor's own client (0.1.6) never sends it on upload.
            provider = self._provider(fields["service_provider"]) if "service_provider" in fields else "unspecified"
            if audio is None:
                raise BadRequest("The file field 'audio' is required.")
            if audio.size == 0:
                raise BadRequest("The uploaded audio is empty.")
            if sniff(audio.head) is None:
                raise BadRequest("The uploaded file is not audio (wav, mp3, ogg, flac, m4a, webm or aiff).")
        except BadRequest:
            if audio is not None:
                audio.discard()
            raise
        upload = StoredUpload(
            id=audio.id,
            path=audio.path,
            filename=audio.filename,
            content_type=audio.content_type,
            size=audio.size,
            sha256=audio.sha256,
            created_at=time.time(),
        )
        self.state.add_upload(upload)
        logger.info("Sandbox upload %s (%s bytes, %s) for %s", upload.id, upload.size, upload.filename, provider)
        key = self.state.quirks["upload_url_key"]
        self._send(200, {key: f"{self.server.base_url}/upload/{upload.id}"}, slow=slow)

    def _submit(self, slow: bool) -> None:
        form = self._form()
        provider = self._provider(form.get("service_provider"))
        audio_url = form.get("uploaded_audio_url") or form.get("audio_url")
        if not audio_url:
            raise BadRequest("The field 'uploaded_audio_url' is required.")
        upload = None
        parts = urlsplit(audio_url)
        if parts.scheme not in ("http", "https"):
            raise BadRequest("uploaded_audio_url must be an http(s) URL.")
        if audio_url.startswith(self.server.base_url + "/upload/"):
            match = _UPLOAD_FILE_PATH.match(parts.path)
            upload = self.state.get_upload(match.group(1)) if match else None
            if upload is None:
                raise BadRequest(f"Unknown uploaded_audio_url {audio_url!r}: no such upload, or it has expired.")
        job = self.state.submit(provider=provider, audio_url=audio_url, upload=upload)
        body = self._job_body(job, full=False)
        self._send(200, body, slow=slow)

    def _status(self, job_id: str, query: dict[str, list[str]], slow: bool) -> None:
        given: Sequence[str | None] = query.get("service_provider") or [None]
        provider = self._provider(given[-1])
        job = self.state.get_job(job_id)
        if job is None:
            raise BadRequest(f"Unknown job id {job_id!r}.")
        if job.provider != provider:
            raise BadRequest(f"Job {job_id!r} was submitted to {job.provider!r}, not {provider!r}.")
        self.state.record_poll(job)
        body = self._job_body(job, full=True)
        fault = self.state.faults.body_fault()
        if fault:
            self.state.count("faults", fault)
            body = _distort(body, fault)
        self._send(200, body, slow=slow)

    def _job_body(self, job: SandboxJob, *, full: bool) -> dict[str, Any]:
        status = job.status(time.time())
        done = status == RemoteStatus.COMPLETED
        shown = self.state.quirks["in_progress_spelling"] if status == RemoteStatus.IN_PROGRESS else status
        body: dict[str, Any] = {
            "id": job.id,
            "status": shown,
            "audio_duration": round(job.transcript.duration, 6) if done and job.transcript else None,
            "audio_url": job.audio_url,
            "text": job.transcript.text if done and job.transcript else None,
        }
        if full:
            model = f"{job.provider}_default"
            body.update(
                acoustic_model=model,
                language_model=model,
                confidence=job.transcript.confidence if done and job.transcript else None,
                dual_channel=None,
                words=[w.as_dict() for w in job.transcript.words] if done and job.transcript else None,
            )
        if status == RemoteStatus.ERROR:
            body["ERROR"] = job.error
        if self.state.quirks["transcription_data"] and "text" in body:
            body["transcription_data"] = {"transcription": body.pop("text")}
        return body

    # -- served uploads and the admin endpoint ---------------------------------------------

    def _serve_upload(self, upload_id: str) -> None:
        upload = self.state.get_upload(upload_id)
        if upload is None:
            self._error(404, "No such upload, or it has expired.")
            return
        self.state.count("calls", "download")
        self.send_response(200)
        self.send_header("Content-Type", upload.content_type)
        self.send_header("Content-Length", str(upload.size))
        self.end_headers()
        with open(upload.path, "rb") as fileobj:
            while chunk := fileobj.read(_CHUNK):
                self.wfile.write(chunk)

    def _admin(self, method: str, path: str) -> None:
        if path == "/_sandbox/health":
            self._read_body()
            self._send(200, {"ok": True, "engine": self.state.engine.name})
            return
        if not self._authorised():
            self._drain()
            self._error(401, "Invalid or missing API key: send 'Authorization: Token <key>'.")
            return
        faults = self.state.faults
        if path == "/_sandbox/stats" and method == "GET":
            self._send(200, self.state.stats())
        elif path == "/_sandbox/faults" and method == "GET":
            self._send(200, faults.faults.as_dict())
        elif path == "/_sandbox/faults" and method in ("POST", "PUT"):
            changes = self._json_object()
            try:
                updated = faults.replace(changes, reset=method == "PUT")
            except FaultConfigError as exc:
                raise BadRequest(str(exc)) from None
            self._send(200, updated.as_dict())
        elif path == "/_sandbox/faults" and method == "DELETE":
            self._send(200, faults.replace({}, reset=True).as_dict())
        elif path == "/_sandbox/quirks" and method in ("GET", "POST"):
            if method == "POST":
                self._set_quirks(self._json_object())
            self._send(200, self.state.quirks)
        elif path == "/_sandbox/reset" and method == "POST":
            self._read_body()
            self.state.reset()
            faults.replace({}, reset=True)
            self._send(200, {"ok": True})
        else:
            self._read_body()
            self._error(404, f"No such sandbox endpoint: {method} {path}.")

    def _json_object(self) -> dict[str, Any]:
        try:
            data = json.loads(self._read_body() or b"{}")
        except ValueError:
            raise BadRequest("The body must be a JSON object.") from None
        if not isinstance(data, dict):
            raise BadRequest("The body must be a JSON object.")
        return data

    def _set_quirks(self, changes: dict[str, Any]) -> None:
        allowed = {
            "in_progress_spelling": (RemoteStatus.IN_PROGRESS, RemoteStatus.IN_PROGRESS_VENDOR_TYPO),
            "upload_url_key": ("uploaded_url", "upload_url"),
            "transcription_data": (True, False),
            "echo_credentials": (True, False),
        }
        for key, value in changes.items():
            if key not in allowed or value not in allowed[key]:
                raise BadRequest(f"Quirk {key!r} = {value!r} is not allowed; choose from {allowed}.")
        self.state.quirks.update(changes)


def _distort(body: dict[str, Any], fault: str) -> dict[str, Any]:
    body = dict(body)
    if fault == "unknown_status":
        body["status"] = "PAUSED_FOR_REVIEW"
    elif fault == "no_words":
        body.update(status=RemoteStatus.COMPLETED, text=None, words=None)
    elif fault == "missing_word_fields":
        body.update(
            status=RemoteStatus.COMPLETED,
            text=body.get("text") or "hello",
            words=[{"text": "hello", "confidence": 0.9}],
        )
    return body


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], state: SandboxState, *, public_url: str | None = None) -> None:
        super().__init__(address, SandboxRequestHandler)
        self.state = state
        # An AF_INET(6) socket's address: the stubs allow bytes for the host, which never happens here.
        host, port = cast("tuple[str, int]", self.server_address[:2])
        self.base_url = (public_url or f"http://{host}:{port}").rstrip("/")


class SandboxServer:
    """A running sandbox on a background thread: ``with SandboxServer() as sandbox: sandbox.url``."""

    def __init__(self, state: SandboxState, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = state
        self.httpd = SandboxHTTPServer((host, port), state)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self.httpd.base_url

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self) -> SandboxServer:
        if self._thread is not None:
            return self  # already serving (start_sandbox() used as a context manager)
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="slashml-sandbox", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.state.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
