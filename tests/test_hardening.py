"""Hostile input, one test per row of the table in docs/security.md.

Each test tries what a hostile user (or a hostile SlashML) sent and asserts what they get back
instead of the harm. ``HOSTILE`` is the table; ``python -m tests.test_hardening`` prints it as
docs/security.md shows it, and :func:`test_the_security_page_lists_every_hostile_input` keeps
the page and the tests from drifting apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from django_slashml.exceptions import InvalidComparisonError
from django_slashml.jobs.comparisons import validate_providers
from django_slashml.models import Comparison, TranscriptionJob

pytestmark = pytest.mark.django_db

COMPARISONS = "/api/slashml/comparisons/"
JOBS = "/api/slashml/jobs/"


@dataclass(frozen=True)
class Hostile:
    """One row of the table: who sends what, and what the app answers."""

    test: str
    severity: str
    who: str
    what: str
    answer: str


HOSTILE: list[Hostile] = []


def row(severity: str, who: str, what: str, answer: str) -> Any:
    """Register the decorated test as a row of the table."""

    def register(test: Any) -> Any:
        HOSTILE.append(Hostile(test.__name__, severity, who, what, answer))
        return test

    return register


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# -- the request that cost minutes ---------------------------------------------------------------


@row(
    "high",
    "user",
    "`POST comparisons/` with 400,000 entries in `providers`",
    "400 naming the allowed count; the count is checked before anything looks at the entries",
)
def test_a_huge_providers_list_is_refused_by_its_count(django_user_model) -> None:
    huge = ["assembly"] * 100_000
    with pytest.raises(InvalidComparisonError, match="2 to 6 providers; got 100000"):
        validate_providers(huge)
    ann = django_user_model.objects.create_user("ann")
    body = {"audio_url": "https://93.184.216.34/a.wav", "providers": huge}
    response = client_for(ann).post(COMPARISONS, body, format="json")
    assert response.status_code == 400
    assert response.json()["providers"] == ["A comparison needs 2 to 6 providers; got 100000."]
    assert not Comparison.objects.exists() and not TranscriptionJob.objects.exists()


@row(
    "low",
    "user",
    "a 100 kB provider name (`service_provider` of a job, or in `providers`)",
    "400 that quotes about 40 characters of it",
)
def test_a_long_provider_name_is_not_echoed_whole(django_user_model) -> None:
    name = "x" * 100_000
    client = client_for(django_user_model.objects.create_user("ann"))
    job = client.post(JOBS, {"audio_url": "https://93.184.216.34/a.wav", "service_provider": name}, format="json")
    comparison = client.post(
        COMPARISONS, {"audio_url": "https://93.184.216.34/a.wav", "providers": [name, "aws"]}, format="json"
    )
    for response in (job, comparison):
        assert response.status_code == 400
        assert "x" * 30 in response.content.decode() and len(response.content) < 1000
    assert not TranscriptionJob.objects.exists()
