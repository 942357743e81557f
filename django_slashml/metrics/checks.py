"""The checks of the event log, retention and metrics settings: ``slashml.E060``-``E069``, ``W060``-``W069``.

Called by :func:`django_slashml.checks.settings_problems`; settings only, no database.
"""

from __future__ import annotations

import importlib
import ipaddress

from django.utils.translation import gettext

from django_slashml.conf import DEFAULTS, slashml_settings

#: A bearer token shorter than this is guessable.
MIN_TOKEN_CHARS = 16


def _default_is(name: str) -> str:
    return gettext("The default is %(value)s.") % {"value": repr(DEFAULTS[name])}


def event_log_problems() -> list[tuple[str, str, str]]:
    found: list[tuple[str, str, str]] = []
    if not isinstance(slashml_settings.EVENT_LOG, bool):
        found.append(
            (
                "slashml.E060",
                gettext("SLASHML['EVENT_LOG'] = %(value)s must be True or False.")
                % {"value": repr(slashml_settings.EVENT_LOG)},
                _default_is("EVENT_LOG"),
            )
        )
    days = slashml_settings.EVENT_RETENTION_DAYS
    if days is not None and (isinstance(days, bool) or not isinstance(days, (int, float)) or days < 0):
        found.append(
            (
                "slashml.E062",
                gettext("SLASHML['EVENT_RETENTION_DAYS'] = %(value)s must be a number of days >= 0, or None.")
                % {"value": repr(days)},
                _default_is("EVENT_RETENTION_DAYS"),
            )
        )
    token = slashml_settings.METRICS_TOKEN
    if token is not None and (not isinstance(token, str) or len(token) < MIN_TOKEN_CHARS):
        found.append(
            (
                "slashml.E063",
                gettext("SLASHML['METRICS_TOKEN'] must be a string of at least %(count)d characters, or None.")
                % {"count": MIN_TOKEN_CHARS},
                gettext("Generate one, for example with: python -c 'import secrets; print(secrets.token_urlsafe())'"),
            )
        )
    found.extend(_address_problems())
    exposed = bool(token or slashml_settings.METRICS_ALLOWED_IPS)
    if exposed and not _client_installed():
        found.append(
            (
                "slashml.W060",
                gettext(
                    "SLASHML['METRICS_TOKEN'] or METRICS_ALLOWED_IPS is set but prometheus-client is not installed."
                ),
                gettext('pip install "django-slashml[metrics]"; until then /metrics answers 503.'),
            )
        )
    return found


def _client_installed() -> bool:
    try:
        importlib.import_module("prometheus_client")
    except ImportError:
        return False
    return True


def _address_problems() -> list[tuple[str, str, str]]:
    allowed = slashml_settings.METRICS_ALLOWED_IPS
    hint = gettext(
        "Use the scraper's own addresses or networks, such as ['10.0.5.7', '10.0.5.0/24']. Behind a proxy or "
        "load balancer REMOTE_ADDR is the proxy's address, so listing it admits every client: use METRICS_TOKEN."
    )
    if not isinstance(allowed, (list, tuple)):
        message = gettext("SLASHML['METRICS_ALLOWED_IPS'] = %(value)s must be a list.") % {"value": repr(allowed)}
        return [("slashml.E061", message, hint)]
    bad = []
    for item in allowed:
        try:
            ipaddress.ip_network(str(item), strict=False)
        except ValueError:
            bad.append(repr(item))
    if bad:
        message = gettext("SLASHML['METRICS_ALLOWED_IPS'] holds what is no address or network: %(bad)s.") % {
            "bad": ", ".join(bad)
        }
        return [("slashml.E061", message, hint)]
    return []
