"""``/_sandbox/``: health, counters, fault plan, quirks and reset, which :class:`.control.SandboxControl`
drives over HTTP. Everything but ``health`` needs an API key."""

from __future__ import annotations

from typing import Any

from django_slashml.remote.protocol import RemoteStatus
from django_slashml.sandbox.faults import FaultConfigError
from django_slashml.sandbox.wire import BadRequest, RequestHandlerBase


class ControlEndpoints(RequestHandlerBase):
    """The sandbox's own endpoints, for tests and demos to watch and steer it."""

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

    def _set_quirks(self, changes: dict[str, Any]) -> None:
        allowed = {
            "in_progress_spelling": (RemoteStatus.IN_PROGRESS, RemoteStatus.IN_PROGRESS_VENDOR_TYPO),
            "upload_url_key": ("uploaded_url", "upload_url"),
            "transcription_data": (True, False),
            "echo_credentials": (True, False),
            "finished_at_submit": (True, False),
        }
        for key, value in changes.items():
            if key not in allowed or value not in allowed[key]:
                raise BadRequest(f"Quirk {key!r} = {value!r} is not allowed; choose from {allowed}.")
        self.state.quirks.update(changes)
