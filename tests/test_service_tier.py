"""The service tier must really run on its services, not silently on the defaults; parallel runs never share one."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from .settings import redis_number

pytestmark = pytest.mark.services


def test_the_tier_runs_on_the_database_and_broker_it_names() -> None:
    if settings.TIER == "services":
        assert connection.vendor == "postgresql"
        assert settings.CELERY_BROKER_URL.startswith(("redis://", "amqp://"))
    else:
        assert connection.vendor == "sqlite"
        assert settings.CELERY_BROKER_URL == "memory://"


@pytest.mark.django_db
def test_each_xdist_worker_has_its_own_databases_media_folder_and_redis_number() -> None:
    worker = settings.XDIST_WORKER
    if worker:  # pytest -n 2: this worker's names carry its own
        assert connection.settings_dict["NAME"].endswith(f"_{worker}")
        assert f"-{worker}-" in settings.BASE
    if settings.TIER == "services" and settings.CELERY_BROKER_URL.startswith("redis://"):
        assert settings.CELERY_BROKER_URL.endswith(f"/{redis_number(worker)}")


def test_redis_numbers_are_distinct_and_leave_the_readme_and_the_benchmarks_theirs() -> None:
    numbers = {redis_number(""), *(redis_number(f"gw{index}") for index in range(12))}
    assert len(numbers) == 13
    assert not {0, 13, 14} & numbers
    with pytest.raises(RuntimeError, match="no free database number"):
        redis_number("gw12")
