"""System checks of the search settings (registered from ``apps.ready``); no database access.

Whether PostgreSQL knows the configuration can only be asked of the database, so only its
shape is checked here; an unknown one fails the first search with PostgreSQL's own message.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.checks import CheckMessage, Error, Tags, register
from django.utils.translation import gettext

from django_slashml.conf import slashml_settings

_CONFIG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


@register(Tags.compatibility)
def check_search_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    found: list[CheckMessage] = []
    config = slashml_settings.SEARCH_CONFIG
    if not isinstance(config, str) or not _CONFIG_NAME.match(config):
        found.append(
            Error(
                gettext("SLASHML['SEARCH_CONFIG'] is %(value)s, not the name of a text search configuration.")
                % {"value": repr(config)},
                hint=gettext("Use a PostgreSQL configuration such as 'english', 'simple' or 'german'."),
                id="slashml.E040",
            )
        )
    limit = slashml_settings.SEARCH_MAX_MATCHES
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        found.append(
            Error(
                gettext("SLASHML['SEARCH_MAX_MATCHES'] is %(value)s; it must be a whole number of at least 1.")
                % {"value": repr(limit)},
                hint=gettext("The default, 1000, ranks and pages through at most 1000 matching phrases."),
                id="slashml.E041",
            )
        )
    return found
