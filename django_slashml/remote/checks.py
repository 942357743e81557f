"""Deployment checks (``manage.py check --deploy``): ``slashml.W080``-``W082``.

Settings only, never the database. A plain-http ``API_URL`` sends the API key in the clear; the
sandbox's key or URL outside DEBUG means production jobs go to a local test server.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register
from django.utils.translation import gettext

from django_slashml.conf import slashml_settings

#: What ``python -m django_slashml.sandbox`` accepts and listens on unless told otherwise.
SANDBOX_API_KEY = "sandbox-key"
SANDBOX_PORT = 8765


def _loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@register(Tags.security, deploy=True)
def check_deployment(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    found: list[CheckMessage] = []
    try:
        parts = urlsplit(str(slashml_settings.API_URL))
        host, port = (parts.hostname or "").lower(), parts.port
    except ValueError:
        return found  # slashml.E002 says what is wrong with it
    if parts.scheme == "http" and host and not _loopback(host):
        found.append(
            Warning(
                gettext("SLASHML['API_URL'] is plain http on %(host)s: the API key would travel in the clear.")
                % {"host": host},
                hint=gettext("Use https://api.slashml.com (the default), or an https URL of your own proxy."),
                id="slashml.W080",
            )
        )
    if settings.DEBUG:
        return found
    try:
        key = slashml_settings.API_KEY
    except Exception:
        key = None
    if key == SANDBOX_API_KEY:
        found.append(
            Warning(
                gettext("SLASHML['API_KEY'] is the sandbox's key, and DEBUG is off."),
                hint=gettext("Give production its SlashML key in the SLASHML_API_KEY environment variable."),
                id="slashml.W081",
            )
        )
    if _loopback(host) and port == SANDBOX_PORT:
        found.append(
            Warning(
                gettext("SLASHML['API_URL'] is the sandbox's (%(url)s), and DEBUG is off.")
                % {"url": slashml_settings.API_URL},
                hint=gettext("Remove API_URL from SLASHML: its default is https://api.slashml.com."),
                id="slashml.W082",
            )
        )
    return found
