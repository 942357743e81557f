"""Keeping the API key out of everything we show or store.

SlashML (or a proxy in front of it) may echo the ``Authorization`` header in an
error body; requests may put it in an exception. Everything the client turns into
an exception message, a log line or a stored raw response passes through here.
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "[redacted]"
_TOKEN_HEADER = re.compile(r"(?i)(token\s+)[A-Za-z0-9._~+/=-]{6,}")


def redact_text(text: str, secret: str | None) -> str:
    if secret:
        text = text.replace(secret, REDACTED)
    return _TOKEN_HEADER.sub(lambda match: match.group(1) + REDACTED, text)


def redact(value: Any, secret: str | None) -> Any:
    """A copy of a JSON-like value with ``secret`` and ``Token ...`` values removed from every string."""
    if isinstance(value, str):
        return redact_text(value, secret)
    if isinstance(value, dict):
        return {redact_text(str(key), secret): redact(item, secret) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(item, secret) for item in value]
    return value
