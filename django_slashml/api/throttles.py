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
    num_requests: int  # set by DRF from the rate; the stubs leave them out
    duration: int

    def __init__(self, scope: str) -> None:
        self.scope = scope
        super().__init__()

    def get_rate(self) -> str | None:
        return rate_for(self.scope)

    def allow_request(self, request: Any, view: Any) -> bool:
        """DRF's sliding window, but a request may cost several tokens (a comparison: one per provider).

        The view's ``throttle_cost(request)`` says how many; the request passes only if all of them
        fit in the window, and then all are spent, so jobs are limited alike however they are made.
        """
        cost_of = getattr(view, "throttle_cost", None)
        cost = max(1, int(cost_of(request))) if cost_of is not None else 1
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        if len(self.history) + cost > self.num_requests:
            return self.throttle_failure()
        self.history[:0] = [self.now] * cost
        self.cache.set(self.key, self.history, self.duration)
        return True


def throttles_for(action: str | None) -> list[Any]:
    scope = ACTION_SCOPES.get(action or "")
    return [SlashMLRateThrottle(scope)] if scope else []
