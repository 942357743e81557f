"""The sandbox's wire: reading request bodies and writing answers, and the HTTP server that holds the state.

A standard-library threading HTTP/1.1 server with keep-alive, so clients reuse
connections as they would with the real API. Bodies, plain or chunked, are read
as they stream in; multipart audio goes to disk as it arrives, so an upload of
any size costs constant memory. The endpoints (:mod:`.endpoints`,
:mod:`.control_endpoints`) and the routing (:mod:`.server`) build on
:class:`RequestHandlerBase`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qs

from django_slashml.sandbox.multipart_form import AudioPart, FormError, read_form
from django_slashml.sandbox.state import SandboxState

logger = logging.getLogger("django_slashml.sandbox")

CHUNK = 256 * 1024


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ClientGone(Exception):
    """The fault plan drops this connection without an answer."""


class Answered(Exception):
    """The fault plan already answered this request."""


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        state: SandboxState,
        handler: type[BaseHTTPRequestHandler],
        *,
        public_url: str | None = None,
    ) -> None:
        super().__init__(address, handler)
        self.state = state
        # An AF_INET(6) socket's address: the stubs allow bytes for the host, which never happens here.
        host, port = cast("tuple[str, int]", self.server_address[:2])
        self.base_url = (public_url or f"http://{host}:{port}").rstrip("/")


class RequestHandlerBase(BaseHTTPRequestHandler):
    """Request bodies in, answers out, and the API key check; no endpoint of its own."""

    protocol_version = "HTTP/1.1"
    server: SandboxHTTPServer
    server_version = "SlashMLSandbox/1"
    # Headers and body go out in two writes; with Nagle's algorithm the body waits for the
    # client's delayed ACK of the headers, which stalls every answer on a kept-alive connection.
    disable_nagle_algorithm = True
    #: Set per request by the routing: whether the body has been read, and whether the request
    #: is one of SlashML's own endpoints (only those count as served responses).
    _body_started = False
    _api_call = False

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
                    data = self.rfile.read(min(CHUNK, remaining))
                    if not data:
                        raise BadRequest("The request body ended early.")
                    remaining -= len(data)
                    yield data
                self.rfile.readline(16)
        else:
            remaining = int(self.headers.get("Content-Length") or 0)
            while remaining > 0:
                data = self.rfile.read(min(CHUNK, remaining))
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

    def _drain(self) -> None:
        """Read what is left of the body so the connection can be reused; close it if that fails."""
        try:
            for _ in self._body_chunks():
                pass
        except (BadRequest, ValueError, OSError):
            self.close_connection = True

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

    def _json_object(self) -> dict[str, Any]:
        try:
            data = json.loads(self._read_body() or b"{}")
        except ValueError:
            raise BadRequest("The body must be a JSON object.") from None
        if not isinstance(data, dict):
            raise BadRequest("The body must be a JSON object.")
        return data
