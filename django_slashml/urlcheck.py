"""Deciding whether an audio URL may be handed to SlashML.

SlashML fetches the URL itself, but the app also fetches audio URLs in places
(and a host's users type them), so loopback, private and link-local targets
such as ``http://169.254.169.254/`` are refused unless a setting allows them.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


def _address_is_private(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return not ip.is_global or ip.is_multicast


def url_problem(url: str, *, allow_private: bool, resolve: bool = True) -> str | None:
    """Why ``url`` cannot be used as an audio URL, or None if it can."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        return f"it is not a valid URL ({exc})"
    if parts.scheme not in ("http", "https"):
        shown = f"{parts.scheme}://" if parts.scheme else "no scheme"
        return f"only http:// and https:// URLs are accepted, not {shown}"
    try:
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        return f"it is not a valid URL ({exc})"
    if not host:
        return "it has no host name"
    if allow_private:
        return None
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        if not resolve:
            return None
        try:
            addresses = sorted({info[4][0] for info in socket.getaddrinfo(host, None)})
        except (socket.gaierror, UnicodeError):
            # Not resolvable from here proves nothing about where SlashML's fetch would land;
            # refusing would turn a DNS hiccup into a user error.
            return None
    for address in addresses:
        if _address_is_private(address.split("%")[0]):
            return (
                f"it points at a private, loopback or link-local address ({address}); "
                "set SLASHML['ALLOW_PRIVATE_URLS'] = True to allow such URLs"
            )
    return None
