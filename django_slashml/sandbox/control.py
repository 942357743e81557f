"""Driving a running sandbox over HTTP: faults, quirks, counters, reset."""

from __future__ import annotations

from typing import Any

import requests


class SandboxControl:
    def __init__(self, url: str, api_key: str, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Token {api_key}"

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self._session.request(method, f"{self.url}/_sandbox/{path}", json=payload, timeout=self.timeout)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()  # the sandbox's control endpoints answer JSON objects
        return answer

    def set_faults(self, **changes: Any) -> dict[str, Any]:
        """Change some fault settings, keeping the others."""
        return self._call("POST", "faults", changes)

    def replace_faults(self, **settings: Any) -> dict[str, Any]:
        """Start from no faults, then apply ``settings``."""
        return self._call("PUT", "faults", settings)

    def faults(self) -> dict[str, Any]:
        return self._call("GET", "faults")

    def set_quirks(self, **quirks: Any) -> dict[str, Any]:
        return self._call("POST", "quirks", quirks)

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "stats")

    def reset(self) -> None:
        self._call("POST", "reset")

    def close(self) -> None:
        self._session.close()
