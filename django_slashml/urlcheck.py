"""Deciding whether an audio URL may be handed to SlashML, and in which exact spelling.

Parsers disagree on odd URLs: ``http://169.254.169.254\\@example.com/`` is ``example.com``
to :func:`urllib.parse.urlsplit` but the metadata service to urllib3, requests and
browsers. So anything two parsers could read differently is refused rather than
normalised, what is accepted is re-serialised from its parsed parts (that string, not the
caller's, is submitted), and the host name is resolved: a name that does not resolve, or
any address that is (or embeds) a private, loopback, link-local, reserved or multicast
one, is refused unless the caller allows private hosts.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import quote, urlsplit, urlunsplit

#: One DNS label: letters, digits and inner hyphens (IDNA names arrive here as ``xn--``).
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
#: What WHATWG parsers read as an IPv4 number (``0x7f.1``, ``2130706433``, ``0177.0.0.1``).
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
#: Characters kept as they are when the path and query are re-serialised.
_SAFE = "/?&=+,;:@!$'()*~%-._[]"
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class URLProblem(ValueError):
    """Why a URL is refused, in words that say what to change."""


def resolve_host(host: str) -> list[str]:
    """Every address ``host`` resolves to; the one place tests patch (there is no DNS in CI)."""
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None)})


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def address_problem(address: str) -> str | None:
    """Why ``address`` is not a public unicast address (or embeds one that is not), or None.

    NAT64 and IPv4-mapped addresses are judged by the IPv4 address they carry, so a
    DNS64 network's answers for public names pass; 6to4 and Teredo must pass both ways.
    """
    ip = ipaddress.ip_address(address)
    embedded = _embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
    carrier_ok = (embedded is not None and (ip in _NAT64 or ip.ipv4_mapped is not None)) or _is_public(ip)
    if not carrier_ok:
        return f"it points at a private, loopback or link-local address ({address})"
    if embedded is not None and not _is_public(embedded):
        return f"it points at {address}, which embeds the private, loopback or link-local address {embedded}"
    return None


def _check_characters(url: str) -> None:
    if any(ord(char) < 0x21 or ord(char) == 0x7F for char in url):
        raise URLProblem("it contains spaces or control characters; percent-encode them (%20)")
    if "\\" in url:
        raise URLProblem("it contains a backslash, which URL parsers read differently; use '/' or %5C")


def _host(parts: object, netloc: str) -> str:
    """The host, lower case, ASCII; refuses spellings that other parsers would read as another host."""
    if "@" in netloc:
        raise URLProblem("it contains a user name or password ('@' before the host); remove them")
    raw = getattr(parts, "hostname", None)
    if not raw:
        raise URLProblem("it has no host name")
    if "%" in raw:
        raise URLProblem(f"the host {raw!r} contains '%'; write it without percent-encoding or a zone")
    if netloc.startswith("[") or ":" in raw:
        try:
            return str(ipaddress.IPv6Address(raw))
        except ValueError:
            raise URLProblem(f"{raw!r} is not a valid IPv6 address") from None
    if raw.endswith("."):
        raise URLProblem(f"the host name {raw!r} ends with a dot; remove it")
    try:
        host = raw.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise URLProblem(f"the host name {raw!r} is not a valid internet name") from None
    labels = host.split(".")
    try:
        return str(ipaddress.IPv4Address(host))
    except ValueError:
        pass
    if not all(_LABEL.match(label) for label in labels):
        raise URLProblem(f"the host name {raw!r} is not a valid internet name")
    if _NUMERIC_LABEL.match(labels[-1]):
        raise URLProblem(f"the host {raw!r} looks like a number; write an IPv4 address as four decimals (a.b.c.d)")
    return host


def normalise_url(url: str) -> str:
    """``url`` re-serialised from its parts, or :class:`URLProblem` for anything ambiguous."""
    if not isinstance(url, str):
        raise URLProblem("it is not a string")
    _check_characters(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise URLProblem(f"it is not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f"{scheme}://" if scheme else "no scheme"
        raise URLProblem(f"only http:// and https:// URLs are accepted, not {shown}")
    if not url[len(scheme) :].startswith("://"):
        raise URLProblem("it must start with http:// or https://")
    host = _host(parts, parts.netloc)
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    path = quote(parts.path or "/", safe=_SAFE)
    query = quote(parts.query, safe=_SAFE)
    return urlunsplit((scheme, netloc, path, query, ""))


def _addresses(host: str) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        addresses = resolve_host(host)
    except (OSError, UnicodeError):
        addresses = []
    if not addresses:
        # A name that does not resolve here may resolve elsewhere, to anything: refuse it.
        raise URLProblem(f"the host name {host!r} does not resolve; check the spelling")
    return addresses


def check_url(url: str, *, allow_private: bool, setting: str = "ALLOW_PRIVATE_AUDIO_URLS") -> str:
    """The URL to submit for ``url``, or :class:`URLProblem`.

    With ``allow_private`` the spelling is still checked but the host is not resolved:
    a private deployment's names may resolve only where SlashML runs.
    """
    normalised = normalise_url(url)
    if allow_private:
        return normalised
    for address in _addresses(urlsplit(normalised).hostname or ""):
        reason = address_problem(address.split("%")[0])
        if reason:
            raise URLProblem(f"{reason}; set SLASHML['{setting}'] = True to allow private hosts")
    return normalised


def url_problem(url: str, *, allow_private: bool, setting: str = "ALLOW_PRIVATE_AUDIO_URLS") -> str | None:
    """Why ``url`` cannot be used as an audio URL, or None if it can."""
    try:
        check_url(url, allow_private=allow_private, setting=setting)
    except URLProblem as exc:
        return str(exc)
    return None
