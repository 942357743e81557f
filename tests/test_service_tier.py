"""The service tier must really run on its services, not silently on the defaults."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

pytestmark = pytest.mark.services


def test_the_tier_runs_on_the_database_and_broker_it_names() -> None:
    if settings.TIER == "services":
        assert connection.vendor == "postgresql"
        assert settings.CELERY_BROKER_URL.startswith(("redis://", "amqp://"))
    else:
        assert connection.vendor == "sqlite"
        assert settings.CELERY_BROKER_URL == "memory://"
