"""The sandbox's HTTP side: requests routed to SlashML's three endpoints, served uploads, and ``/_sandbox/``.

The pieces: :mod:`.wire` reads bodies and writes answers, :mod:`.endpoints` answers
SlashML's API, :mod:`.control_endpoints` the sandbox's own; this module routes each
request to them and runs the server on a background thread.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from urllib.parse import parse_qs, urlsplit

from django_slashml.sandbox.control_endpoints import ControlEndpoints
from django_slashml.sandbox.endpoints import UPLOAD_FILE_PATH, SlashMLEndpoints
from django_slashml.sandbox.state import SandboxState
from django_slashml.sandbox.wire import Answered, BadRequest, ClientGone, SandboxHTTPServer

__all__ = ["BadRequest", "SandboxHTTPServer", "SandboxRequestHandler", "SandboxServer"]


class SandboxRequestHandler(SlashMLEndpoints, ControlEndpoints):
    """Routes each request: ``/_sandbox/``, a served upload, or one of SlashML's endpoints."""

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
            match = UPLOAD_FILE_PATH.match(path)
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
        except Answered:
            return
        except ClientGone:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
        except BadRequest as exc:
            self._drain()
            self._error(exc.status, exc.message)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class SandboxServer:
    """A running sandbox on a background thread: ``with SandboxServer() as sandbox: sandbox.url``."""

    def __init__(self, state: SandboxState, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = state
        self.httpd = SandboxHTTPServer((host, port), state, SandboxRequestHandler)
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
