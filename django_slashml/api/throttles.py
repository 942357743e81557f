"""Per-user rate limits on the API calls that cost money: creating jobs and uploads, retrying.

Rates come from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` when it names the scope (a host's
own DRF settings win), else from ``SLASHML["THROTTLE_RATES"]`` over the defaults; ``None``
turns a scope off. Counts live in Django's default cache, like every DRF throttle.
"""

from __future__ import annotations

from typing import Any

from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle

from django_slashml.conf import DEFAULTS, slashml_settings

#: Which view action counts against which scope.
ACTION_SCOPES = {"create": "slashml_submit", "retry": "slashml_retry"}


def rate_for(scope: str) -> str | None:
    drf_rates = api_settings.DEFAULT_THROTTLE_RATES or {}
    if scope in drf_rates:
        # djangorestframework-stubs type these rates as numbers; DRF reads "<count>/<period>" strings.
        return drf_rates[scope]  # type: ignore[return-value]
    ours = {**DEFAULTS["THROTTLE_RATES"], **(slashml_settings.THROTTLE_RATES or {})}
    return ours.get(scope)


class SlashMLRateThrottle(UserRateThrottle):
    """A user's (or, unauthenticated, an address's) requests in one scope."""

    scope: str

    def __init__(self, scope: str) -> None:
        self.scope = scope
        super().__init__()

    def get_rate(self) -> str | None:
        return rate_for(self.scope)


def throttles_for(action: str | None) -> list[Any]:
    scope = ACTION_SCOPES.get(action or "")
    return [SlashMLRateThrottle(scope)] if scope else []
