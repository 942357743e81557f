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
import threading
from urllib.parse import quote, urlsplit, urlunsplit

from django.utils.translation import gettext as _

#: The longest audio URL a job stores (``TranscriptionJob.audio_url``), counted after re-serialising.
MAX_AUDIO_URL_LENGTH = 1000


#: One DNS label: letters, digits and inner hyphens (IDNA names arrive here as ``xn--``).
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
#: What WHATWG parsers read as an IPv4 number (``0x7f.1``, ``2130706433``, ``0177.0.0.1``).
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
#: Characters kept as they are when the path and query are re-serialised.
_SAFE = "/?&=+,;:@!$'()*~%-._[]"
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class URLProblem(ValueError):
    """Why a URL is refused, in words that say what to change (translated when raised)."""


def _embeds_private() -> str:
    return _("it points at %(address)s, which embeds the private, loopback or link-local address %(embedded)s")


def _invalid_name() -> str:
    return _("the host name %(host)s is not a valid internet name")


#: Seconds a host name may take to resolve before the URL is refused (a hostile DNS server
#: that never answers must not hold a web worker for the resolver's own, longer, timeout).
RESOLVE_TIMEOUT = 5.0


def resolve_host(host: str) -> list[str]:
    """Every address ``host`` resolves to; the one place tests patch (there is no DNS in CI)."""
    found: dict[str, object] = {}

    def lookup() -> None:
        try:
            found["addresses"] = sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None)})
        except (OSError, UnicodeError) as exc:
            found["error"] = exc

    # A daemon thread, not a pool: it survives a Celery prefork fork, and a stuck one just ends later.
    thread = threading.Thread(target=lookup, name="slashml-resolve", daemon=True)
    thread.start()
    thread.join(RESOLVE_TIMEOUT)
    if thread.is_alive():
        raise URLProblem(
            _("the host name %(host)s did not resolve within %(seconds).0f s")
            % {"host": repr(host), "seconds": RESOLVE_TIMEOUT}
        )
    if "error" in found:
        raise found["error"]  # type: ignore[misc]
    return found["addresses"]  # type: ignore[return-value]


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def address_problem(address: str) -> str | None:
    """Why ``address`` is not a public unicast address (or embeds one that is not), or None.

    An IPv6 address that carries an IPv4 one (IPv4-mapped, NAT64, 6to4) is judged by the IPv4
    address alone, matched by prefix: Python's own table of global IPv6 ranges differs between
    versions (6to4 is private from 3.12.4 on), and the answer must not. Teredo is a tunnel
    endpoint, never an audio host: refused, naming the address it embeds where that is private.
    """
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.teredo:
            server, client = ip.teredo
            hidden = next((inner for inner in (client, server) if not _is_public(inner)), None)
            if hidden is not None:
                return _embeds_private() % {"address": address, "embedded": hidden}
            return _("it points at a Teredo tunnel address (%(address)s); use the audio host's own address") % {
                "address": address
            }
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            if _is_public(embedded):
                return None
            return _embeds_private() % {"address": address, "embedded": embedded}
    if not _is_public(ip):
        return _("it points at a private, loopback or link-local address (%(address)s)") % {"address": address}
    return None


def _ipv6_text(ip: ipaddress.IPv6Address) -> str:
    """One spelling on every Python: 3.13 writes IPv4-mapped addresses dotted, earlier ones in hex."""
    return f"::ffff:{ip.ipv4_mapped}" if ip.ipv4_mapped else ip.compressed


def _check_characters(url: str) -> None:
    try:
        url.encode("utf-8")
    except UnicodeEncodeError:
        raise URLProblem(_("it contains characters that are not valid Unicode (a lone surrogate)")) from None
    if any(ord(char) < 0x21 or ord(char) == 0x7F for char in url):
        raise URLProblem(_("it contains spaces or control characters; percent-encode them (%20)"))
    if "\\" in url:
        raise URLProblem(_("it contains a backslash, which URL parsers read differently; use '/' or %5C"))


def _host(parts: object, netloc: str) -> str:
    """The host, lower case, ASCII; refuses spellings that other parsers would read as another host."""
    if "@" in netloc:
        raise URLProblem(_("it contains a user name or password ('@' before the host); remove them"))
    raw: str | None = getattr(parts, "hostname", None)
    if not raw:
        raise URLProblem(_("it has no host name"))
    if "%" in raw:
        raise URLProblem(
            _("the host %(host)s contains '%%'; write it without percent-encoding or a zone") % {"host": repr(raw)}
        )
    if netloc.startswith("[") or ":" in raw:
        try:
            return _ipv6_text(ipaddress.IPv6Address(raw))
        except ValueError:
            raise URLProblem(_("%(host)s is not a valid IPv6 address") % {"host": repr(raw)}) from None
    if raw.endswith("."):
        raise URLProblem(_("the host name %(host)s ends with a dot; remove it") % {"host": repr(raw)})
    try:
        host = raw.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise URLProblem(_invalid_name() % {"host": repr(raw)}) from None
    labels = host.split(".")
    try:
        return str(ipaddress.IPv4Address(host))
    except ValueError:
        pass
    if not all(_LABEL.match(label) for label in labels):
        raise URLProblem(_invalid_name() % {"host": repr(raw)})
    if _NUMERIC_LABEL.match(labels[-1]):
        raise URLProblem(
            _("the host %(host)s looks like a number; write an IPv4 address as four decimals (a.b.c.d)")
            % {"host": repr(raw)}
        )
    return host


def normalise_url(url: str) -> str:
    """``url`` re-serialised from its parts, or :class:`URLProblem` for anything ambiguous."""
    if not isinstance(url, str):
        raise URLProblem(_("it is not a string"))
    _check_characters(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise URLProblem(_("it is not a valid URL (%(error)s)") % {"error": exc}) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f"{scheme}://" if scheme else _("no scheme")
        raise URLProblem(_("only http:// and https:// URLs are accepted, not %(scheme)s") % {"scheme": shown})
    if not url[len(scheme) :].startswith("://"):
        raise URLProblem(_("it must start with http:// or https://"))
    host = _host(parts, parts.netloc)
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    path = quote(parts.path or "/", safe=_SAFE)
    query = quote(parts.query, safe=_SAFE)
    normalised = urlunsplit((scheme, netloc, path, query, ""))
    if len(normalised) > MAX_AUDIO_URL_LENGTH:
        raise URLProblem(
            _("it is %(length)s characters long once percent-encoded; at most %(limit)s are accepted")
            % {"length": len(normalised), "limit": MAX_AUDIO_URL_LENGTH}
        )
    return normalised


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
        raise URLProblem(_("the host name %(host)s does not resolve; check the spelling") % {"host": repr(host)})
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
            raise URLProblem(
                _("%(reason)s; set SLASHML['%(setting)s'] = True to allow private hosts")
                % {"reason": reason, "setting": setting}
            )
    return normalised


def url_problem(url: str, *, allow_private: bool, setting: str = "ALLOW_PRIVATE_AUDIO_URLS") -> str | None:
    """Why ``url`` cannot be used as an audio URL, or None if it can."""
    try:
        check_url(url, allow_private=allow_private, setting=setting)
    except URLProblem as exc:
        return str(exc)
    return None
