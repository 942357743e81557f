"""``/metrics``: Prometheus' text format, for a scraper holding the token or calling from an allowed address."""

from __future__ import annotations

import hmac
import ipaddress
import logging

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from django_slashml.conf import slashml_settings
from django_slashml.metrics.collector import SlashMLCollector

logger = logging.getLogger("django_slashml.metrics")

MISSING_CLIENT = (
    'Prometheus metrics need prometheus-client: pip install "django-slashml[metrics]" (check slashml.W060).\n'
)


def _allowed_address(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for allowed in slashml_settings.METRICS_ALLOWED_IPS or []:
        try:
            if ip in ipaddress.ip_network(str(allowed), strict=False):
                return True
        except ValueError:
            continue  # check slashml.E061 names it
    return False


def _authorised(request: HttpRequest) -> bool:
    token = slashml_settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if token and given.startswith("Bearer ") and hmac.compare_digest(given[7:].strip().encode(), str(token).encode()):
        return True
    # REMOTE_ADDR only: a forwarded-for header is whatever the caller wrote.
    return _allowed_address(request.META.get("REMOTE_ADDR", ""))


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not (slashml_settings.METRICS_TOKEN or slashml_settings.METRICS_ALLOWED_IPS):
        return HttpResponse(
            "Metrics are not exposed: set SLASHML['METRICS_TOKEN'] or SLASHML['METRICS_ALLOWED_IPS'].\n",
            status=403,
            content_type="text/plain",
        )
    if not _authorised(request):
        response = HttpResponse(
            "A bearer token or an allowed address is required.\n",
            status=401 if slashml_settings.METRICS_TOKEN else 403,
            content_type="text/plain",
        )
        if slashml_settings.METRICS_TOKEN:
            response["WWW-Authenticate"] = 'Bearer realm="slashml-metrics"'
        return response
    try:
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    except ImportError:
        logger.warning("%s", MISSING_CLIENT.strip())
        return HttpResponse(MISSING_CLIENT, status=503, content_type="text/plain")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SlashMLCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
