"""Scrubbing the API key out of everything we show or store (not PII redaction: that is ``privacy``).

SlashML (or a proxy in front of it) may echo the ``Authorization`` header in an
error body, or cut it short in its own truncated error page; requests may put it in
an exception. Everything the client turns into an exception message, a log line or a
stored raw response passes through here, and any run of 8 or more characters of the key
is removed, not only the whole key: scrub first, then cut.

Only whole key-shaped tokens go: a run of the key's characters that is itself a piece of the
key, with no letter or digit either side, or the value after ``Token``/``Bearer`` that is long
and mixed enough to be a credential. Words such as "token holders" or "sandbox-keyring" stay.
The transcript fields of an answer are never scrubbed: SlashML does not echo credentials there,
and text, words and search must agree.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

#: What a scrubbed key or token is replaced with.
SCRUBBED = "[redacted]"
#: The shortest piece of the key that is treated as the key.
PIECE = 8
_TOKEN_HEADER = re.compile(
    r"(?i)(\b(?:token|bearer)\s+)(?=[A-Za-z0-9._~+/=-]*\d)([A-Za-z0-9._~+/=-]{16,})(?![A-Za-z0-9._~+/=-])"
)


@lru_cache(maxsize=8)
def _pieces(secret: str) -> re.Pattern[str]:
    """Any ``PIECE``-long run of ``secret`` that starts a token, extended over the key's own characters."""
    grams = sorted({secret[i : i + PIECE] for i in range(max(1, len(secret) - PIECE + 1))})
    alphabet = "".join(sorted(set(secret)))
    return re.compile(r"(?<![^\W_])(?:" + "|".join(map(re.escape, grams)) + ")[" + re.escape(alphabet) + "]*")


@lru_cache(maxsize=8)
def _whole(secret: str) -> re.Pattern[str]:
    return re.compile(r"(?<![^\W_])" + re.escape(secret) + r"(?![^\W_])")


def _ends_a_token(match: re.Match[str]) -> bool:
    following = match.string[match.end() : match.end() + 1]
    return not following.isalnum()


def scrub_key_from_text(text: str, secret: str | None) -> str:
    if secret and secret in text:  # first, whatever the lengths: a short key is still the key
        text = _whole(secret).sub(SCRUBBED, text)
    if len(text) < 6:  # too short for a key's piece or a token: most words of a transcript
        return text
    if secret and len(text) >= min(PIECE, len(secret)):
        text = _pieces(secret).sub(
            lambda match: SCRUBBED if match.group(0) in secret and _ends_a_token(match) else match.group(0), text
        )
    return _TOKEN_HEADER.sub(lambda match: match.group(1) + SCRUBBED, text)


def scrub_key_from_json(value: Any, secret: str | None, *, keep: tuple[str, ...] = ()) -> Any:
    """A copy of a JSON-like value with ``secret``'s pieces and ``Token ...`` values removed from every string.

    ``keep``: keys of a top-level object whose values are left as they are (the transcript).
    """
    if keep and isinstance(value, dict):
        scrubbed: dict[Any, Any] = {}
        for key, item in value.items():
            if key in keep:
                scrubbed[key] = item
            else:
                scrubbed[scrub_key_from_text(str(key), secret)] = scrub_key_from_json(item, secret)
        return scrubbed
    if isinstance(value, str):
        return scrub_key_from_text(value, secret)
    if isinstance(value, dict):
        return {scrub_key_from_text(str(key), secret): scrub_key_from_json(item, secret) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub_key_from_json(item, secret) for item in value]
    return value
