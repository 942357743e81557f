"""Lists that stay fast on large tables: estimated counts, cursor pages, search by words, a bounded dashboard.

The speed itself is measured in benchmarks/scale.py; these tests prove the answers.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from django_slashml.admin.counts import EXACT_BELOW, RowCount
from django_slashml.models import JobStatus, TranscriptionJob
from django_slashml.testing import simulate_completion

pytestmark = pytest.mark.django_db

ADMIN = "/admin/django_slashml/transcriptionjob/"
API = "/api/slashml/jobs/"
TABLE = TranscriptionJob._meta.db_table


def shown_count(page: str) -> str:
    found = re.search(r'<span class="slashml-row-count">([^<]*)</span>', page)
    assert found, "the change list shows its count"
    return found.group(1)


def whole_table_counts(queries: list[dict[str, Any]]) -> list[str]:
    """COUNT queries over the jobs table with no WHERE clause: a scan of every row."""
    return [
        q["sql"]
        for q in queries
        if re.search(r"COUNT\(", q["sql"], re.IGNORECASE) and TABLE in q["sql"] and " WHERE " not in q["sql"].upper()
    ]


def finished_job(owner: Any = None, text: str = "hello world", **fields: Any) -> TranscriptionJob:
    job = TranscriptionJob.objects.create(
        service_provider="assembly", status=JobStatus.IN_PROGRESS, audio_url="https://example.com/a.wav", owner=owner
    )
    simulate_completion(job, text=text)
    if fields:
        TranscriptionJob.objects.filter(pk=job.pk).update(**fields)
    return job


# -- the admin's change list ---------------------------------------------------------------------


def test_a_small_list_shows_its_exact_count_and_never_counts_the_whole_table_twice(admin_client: Client) -> None:
    for _ in range(3):
        finished_job()
    TranscriptionJob.objects.create(service_provider="aws", status=JobStatus.ERROR)
    admin_client.get(ADMIN)
    with CaptureQueriesContext(connection) as captured:
        page = admin_client.get(ADMIN).content.decode()
    assert shown_count(page) == "4"
    # A small table is counted exactly, once; the dashboard adds no count over the whole table.
    assert len(whole_table_counts(captured.captured_queries)) == 1
    errors = admin_client.get(ADMIN, {"status__exact": "ERROR"}).content.decode()
    assert shown_count(errors) == "1"


@pytest.mark.services
def test_a_large_list_shows_an_estimate_and_runs_no_count_over_the_table(admin_client: Client) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the planner's estimate is PostgreSQL's")
    now = timezone.now()
    TranscriptionJob.objects.bulk_create(
        TranscriptionJob(service_provider="aws", status=JobStatus.COMPLETED, created_at=now - timedelta(seconds=n))
        for n in range(EXACT_BELOW + 500)
    )
    TranscriptionJob.objects.bulk_create(
        TranscriptionJob(service_provider="rev", status=JobStatus.ERROR, created_at=now) for _ in range(7)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {TABLE}")
    admin_client.get(ADMIN)
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get(ADMIN)
    page = response.content.decode()
    assert shown_count(page).startswith("about "), shown_count(page)
    assert whole_table_counts(captured.captured_queries) == []
    assert len(response.context["cl"].result_list) == 100
    # A filter that keeps few rows is counted exactly.
    assert shown_count(admin_client.get(ADMIN, {"status__exact": "ERROR"}).content.decode()) == "7"


def test_an_estimate_is_shown_as_one_to_two_figures() -> None:
    assert str(RowCount(1_234_567, exact=False)) == "about 1.2 million"
    assert str(RowCount(59_123, exact=False)) == "about 59,000"
    assert str(RowCount(9_990, exact=True)) == "9,990"


def test_the_list_has_no_date_hierarchy(admin_client: Client) -> None:
    finished_job()
    response = admin_client.get(ADMIN)
    assert response.status_code == 200 and 'class="xfull"' not in response.content.decode()
    assert response.context["cl"].date_hierarchy is None


def test_the_list_searches_by_words_and_by_slashml_id(admin_client: Client) -> None:
    numbers = finished_job(text="The quarterly numbers are in.")
    weather = finished_job(text="Rain again on Friday.")
    TranscriptionJob.objects.filter(pk=weather.pk).update(remote_id="rj-weather-1")

    def found(query: str) -> set[Any]:
        response = admin_client.get(ADMIN, {"q": query})
        assert response.status_code == 200
        return {job.pk for job in response.context["cl"].result_list}

    assert found("numbers") == {numbers.pk}
    assert found("friday rain") == {weather.pk}
    assert found("quarterly OR friday") == {numbers.pk, weather.pk}
    assert found("rj-weather-1") == {weather.pk}
    assert found("quart") == set(), "words, not substrings"
    assert found("!!!") == set(), "nothing to find by words: no error, no rows"


# -- the dashboard -----------------------------------------------------------------------------


def test_the_dashboard_counts_active_jobs_all_and_finished_ones_of_the_last_day(admin_client: Client) -> None:
    long_ago = timezone.now() - timedelta(days=3)
    finished_job(created_at=long_ago, completed_at=long_ago)
    finished_job()
    TranscriptionJob.objects.create(
        service_provider="aws", status=JobStatus.QUEUED, created_at=long_ago, next_poll_at=timezone.now()
    )
    board = admin_client.get(ADMIN).context["slashml_dashboard"]
    counts = {status: total for status, _label, total in board.status_counts}
    assert (counts["COMPLETED"], counts["QUEUED"]) == (1, 1)
    assert [total for _provider, _minutes, total in board.usage] == [1]


# -- the API's job list ------------------------------------------------------------------------


def test_cursor_pages_return_every_job_once_in_order(django_user_model: Any) -> None:
    owner = django_user_model.objects.create_user("ann")
    now = timezone.now()
    # Ties on created_at, which the id breaks.
    TranscriptionJob.objects.bulk_create(
        TranscriptionJob(service_provider="aws", owner=owner, created_at=now - timedelta(seconds=n // 4))
        for n in range(130)
    )
    client = APIClient()
    client.force_authenticate(owner)
    for ordering, newest_first in (("", True), ("created_at", False)):
        url: str | None = f"{API}?page_size=25&ordering={ordering}"
        seen: list[str] = []
        while url:
            page = client.get(url).json()
            assert "count" not in page and len(page["results"]) <= 25
            seen += [row["id"] for row in page["results"]]
            url = page["next"]
        assert len(seen) == len(set(seen)) == 130
        expected = TranscriptionJob.objects.order_by(
            *(("-created_at", "-id") if newest_first else ("created_at", "id"))
        ).values_list("id", flat=True)
        assert seen == [str(pk) for pk in expected]


def test_page_numbers_and_other_orderings_keep_the_numbered_answer(django_user_model: Any) -> None:
    owner = django_user_model.objects.create_user("ann")
    for _ in range(7):
        finished_job(owner)
    client = APIClient()
    client.force_authenticate(owner)
    numbered = client.get(API, {"page": 2, "page_size": 3}).json()
    assert numbered["count"] == 7 and len(numbered["results"]) == 3
    by_duration = client.get(API, {"ordering": "-audio_duration"}).json()
    assert by_duration["count"] == 7
    first = client.get(API, {"page_size": 3}).json()
    assert set(first) == {"next", "previous", "results"} and "cursor=" in first["next"]


def test_the_api_searches_by_words_and_by_slashml_id(django_user_model: Any) -> None:
    owner = django_user_model.objects.create_user("ann")
    numbers = finished_job(owner, text="The quarterly numbers are in.")
    weather = finished_job(owner, text="Rain again on Friday.", remote_id="rj-weather-1")
    client = APIClient()
    client.force_authenticate(owner)

    def found(query: str) -> set[str]:
        response = client.get(API, {"search": query})
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["results"]}

    assert found("numbers") == {str(numbers.pk)}
    assert found('"rain again"') == {str(weather.pk)}
    assert found("rj-weather-1") == {str(weather.pk)}
    assert found("quart") == set(), "words, not substrings"
