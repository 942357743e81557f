"""What a job's ``metadata`` may hold: JSON every database and every reader can take back.

A lone surrogate is stored by SQLite and then breaks every page that renders the row; a
NUL is refused by PostgreSQL; deep nesting overflows the JSON encoder's recursion. So the
value is walked once, without recursion, before anything is saved.
"""

from __future__ import annotations

import json
import math
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from django_slashml.exceptions import InvalidMetadataError


def _where(path: str) -> str:
    return f"metadata{path}" if path else "metadata"


def _check_text(text: str, path: str, what: str) -> int:
    """``what``: "key" or "string", marked with gettext_noop, translated only when refused."""
    if "\x00" in text:
        raise InvalidMetadataError(
            _("%(where)s has a NUL character (\\u0000) in a %(what)s; remove it.")
            % {"where": _where(path), "what": _(what)}
        )
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidMetadataError(
            _(
                "%(where)s has a %(what)s that is not valid Unicode (a lone surrogate such as \\ud800); "
                "send text that encodes to UTF-8."
            )
            % {"where": _where(path), "what": _(what)}
        ) from None


def check_metadata(value: Any, *, max_bytes: int, max_depth: int) -> dict[str, Any]:
    """``value`` if it is a JSON object within the limits, else :class:`InvalidMetadataError` saying why."""
    if not isinstance(value, dict):
        raise InvalidMetadataError(_("metadata must be a JSON object, not %(type)s.") % {"type": type(value).__name__})
    size = 0
    stack: list[tuple[Any, str, int]] = [(value, "", 1)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, (dict, list, tuple)):
            if depth > max_depth:
                raise InvalidMetadataError(
                    _(
                        "%(where)s is nested more than %(depth)s levels deep "
                        "(SLASHML['MAX_METADATA_DEPTH']); flatten it."
                    )
                    % {"where": _where(path), "depth": max_depth}
                )
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                if isinstance(item, dict):
                    if not isinstance(key, str):
                        raise InvalidMetadataError(
                            _("%(where)s has a key %(key)s that is not a string.")
                            % {"where": _where(path), "key": repr(key)}
                        )
                    size += _check_text(key, path, gettext_noop("key"))
                    stack.append((child, f"{path}[{key!r}]", depth + 1))
                else:
                    stack.append((child, f"{path}[{key}]", depth + 1))
        elif isinstance(item, str):
            size += _check_text(item, path, gettext_noop("string"))
        elif isinstance(item, float) and not math.isfinite(item):
            raise InvalidMetadataError(
                _("%(where)s is %(value)s, which JSON cannot hold; send a number or null.")
                % {"where": _where(path), "value": item}
            )
        elif item is not None and not isinstance(item, (bool, int, float)):
            raise InvalidMetadataError(
                _("%(where)s is a %(type)s, which is not JSON.") % {"where": _where(path), "type": type(item).__name__}
            )
        if size > max_bytes:
            break
    if size <= max_bytes:
        size = len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
    if size > max_bytes:
        raise InvalidMetadataError(
            _(
                "metadata is larger than %(limit)s bytes as JSON (SLASHML['MAX_METADATA_BYTES']); "
                "keep large data elsewhere and store a reference."
            )
            % {"limit": max_bytes}
        )
    return value


def check_metadata_setting(value: Any) -> dict[str, Any]:
    """:func:`check_metadata` with the limits from settings."""
    from django_slashml.conf import slashml_settings as s

    return check_metadata(value, max_bytes=int(s.MAX_METADATA_BYTES), max_depth=int(s.MAX_METADATA_DEPTH))


def check_metadata_argument(metadata: Any) -> None:
    """A caller's ``metadata=`` for transcribe() or compare(): None, or a dict within the settings' limits."""
    if metadata is None:
        return
    if not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict, not {type(metadata).__name__}.")
    check_metadata_setting(metadata)
