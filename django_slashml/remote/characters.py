"""Characters a database cannot store, taken out of what SlashML sends before anything is written.

PostgreSQL refuses NUL in text and in ``jsonb``; a lone surrogate (``"\\ud800"`` in JSON) cannot
be encoded as UTF-8 at all; MySQL and MariaDB refuse 4-byte characters (emoji) in a connection
that is not ``utf8mb4``. SlashML's answers are decoded JSON, so any of these can arrive in a
transcript, a word, an error message or a key. Each is replaced with U+FFFD (NUL is dropped),
so the text keeps its length in words and a page still shows where something was.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import connection

REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _holds_four_byte_characters() -> bool:
    """False for a MySQL/MariaDB connection whose character set is not ``utf8mb4``."""
    if connection.vendor != "mysql":
        return True
    charset = str(connection.settings_dict.get("OPTIONS", {}).get("charset", "utf8"))
    return charset.lower().startswith("utf8mb4")


def storable_text(text: str, *, four_byte: bool | None = None) -> str:
    """``text`` without NUL, with lone surrogates (and 4-byte characters where unstorable) replaced."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    if text.isascii():
        return text
    text = _SURROGATE.sub(REPLACEMENT, text)
    if not (_holds_four_byte_characters() if four_byte is None else four_byte):
        text = _ASTRAL.sub(REPLACEMENT, text)
    return text


def storable(value: Any) -> Any:
    """A copy of a decoded JSON value with every string (keys too) made :func:`storable_text`."""
    four_byte = _holds_four_byte_characters()
    return _clean(value, four_byte)


def _clean(value: Any, four_byte: bool) -> Any:
    if isinstance(value, str):
        return storable_text(value, four_byte=four_byte)
    if isinstance(value, dict):
        return {storable_text(str(key), four_byte=four_byte): _clean(item, four_byte) for key, item in value.items()}
    if isinstance(value, list):
        return [_clean(item, four_byte) for item in value]
    return value
