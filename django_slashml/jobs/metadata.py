"""What a job's ``metadata`` may hold: JSON every database and every reader can take back.

A lone surrogate is stored by SQLite and then breaks every page that renders the row; a
NUL is refused by PostgreSQL; deep nesting overflows the JSON encoder's recursion. So the
value is walked once, without recursion, before anything is saved.
"""

from __future__ import annotations

import json
import math
from typing import Any

from django_slashml.exceptions import InvalidMetadataError


def _where(path: str) -> str:
    return f"metadata{path}" if path else "metadata"


def _check_text(text: str, path: str, what: str) -> int:
    if "\x00" in text:
        raise InvalidMetadataError(f"{_where(path)} has a NUL character (\\u0000) in a {what}; remove it.")
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidMetadataError(
            f"{_where(path)} has a {what} that is not valid Unicode (a lone surrogate such as \\ud800); "
            "send text that encodes to UTF-8."
        ) from None


def check_metadata(value: Any, *, max_bytes: int, max_depth: int) -> dict[str, Any]:
    """``value`` if it is a JSON object within the limits, else :class:`InvalidMetadataError` saying why."""
    if not isinstance(value, dict):
        raise InvalidMetadataError(f"metadata must be a JSON object, not {type(value).__name__}.")
    size = 0
    stack: list[tuple[Any, str, int]] = [(value, "", 1)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, (dict, list, tuple)):
            if depth > max_depth:
                raise InvalidMetadataError(
                    f"{_where(path)} is nested more than {max_depth} levels deep "
                    "(SLASHML['MAX_METADATA_DEPTH']); flatten it."
                )
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                if isinstance(item, dict):
                    if not isinstance(key, str):
                        raise InvalidMetadataError(f"{_where(path)} has a key {key!r} that is not a string.")
                    size += _check_text(key, path, "key")
                    stack.append((child, f"{path}[{key!r}]", depth + 1))
                else:
                    stack.append((child, f"{path}[{key}]", depth + 1))
        elif isinstance(item, str):
            size += _check_text(item, path, "string")
        elif isinstance(item, float) and not math.isfinite(item):
            raise InvalidMetadataError(f"{_where(path)} is {item}, which JSON cannot hold; send a number or null.")
        elif item is not None and not isinstance(item, (bool, int, float)):
            raise InvalidMetadataError(f"{_where(path)} is a {type(item).__name__}, which is not JSON.")
        if size > max_bytes:
            break
    if size <= max_bytes:
        size = len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
    if size > max_bytes:
        raise InvalidMetadataError(
            f"metadata is larger than {max_bytes} bytes as JSON (SLASHML['MAX_METADATA_BYTES']); "
            "keep large data elsewhere and store a reference."
        )
    return value


def check_metadata_setting(value: Any) -> dict[str, Any]:
    """:func:`check_metadata` with the limits from settings."""
    from django_slashml.conf import slashml_settings as s

    return check_metadata(value, max_bytes=int(s.MAX_METADATA_BYTES), max_depth=int(s.MAX_METADATA_DEPTH))
