"""The OpenAPI schema is the API: schemathesis sends what ``manage.py spectacular`` describes.

Every check is on. A fixed, small number of examples per operation, derandomized, so a run
takes seconds and fails the same way twice. The throttles are lifted for this test only (the
default create throttle would answer most creation requests with 429).
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone

from django_slashml.jobs.uploads import save_upload
from django_slashml.models import Comparison, JobStatus, TranscriptionJob

from .conftest import SPEECH_WAV
from .extras import require_for_module

require_for_module("drf_spectacular", "schemathesis")

import schemathesis  # noqa: E402
from hypothesis import HealthCheck, Phase, given  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402
from schemathesis.specs.openapi.checks import positive_data_acceptance  # noqa: E402

pytestmark = [pytest.mark.django_db, pytest.mark.services]  # also on PostgreSQL: it found a 500 there

USERNAME, PASSWORD = "ann", "pw-not-secret"


def rows_of(owner: Any) -> dict[str, str]:
    """A finished job from a URL (no upload, no comparison), an upload, a comparison of two jobs."""
    words = [{"text": "hello", "start": 0, "end": 400, "confidence": 0.9}]
    done = {"status": JobStatus.COMPLETED, "text": "hello", "words": words, "completed_at": timezone.now()}
    job = TranscriptionJob.objects.create(
        owner=owner, audio_url="https://example.com/a.wav", service_provider="whisper", **done
    )
    with SPEECH_WAV.open("rb") as fileobj:
        upload = save_upload(fileobj, name="speech.wav", owner=owner)
    TranscriptionJob.objects.create(owner=owner, upload=upload, service_provider="assembly", **done)
    comparison = Comparison.objects.create(owner=owner, audio_url="https://example.com/b.wav")
    for provider in ("aws", "rev"):
        TranscriptionJob.objects.create(
            owner=owner, audio_url=comparison.audio_url, service_provider=provider, comparison=comparison, **done
        )
    return {"jobs": str(job.pk), "uploads": str(upload.pk), "comparisons": str(comparison.pk)}


@pytest.fixture
def api_schema(settings: Any, django_user_model: Any) -> Iterator[Any]:
    settings.SLASHML = {**settings.SLASHML, "THROTTLE_RATES": None}
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # one hash per request
    owner = django_user_model.objects.create_user(USERNAME, password=PASSWORD)
    ids = rows_of(owner)
    out = io.StringIO()
    call_command("spectacular", "--format", "openapi-json", stdout=out)
    from django.core.wsgi import get_wsgi_application

    raw = json.loads(out.getvalue())
    loaded = schemathesis.openapi.from_dict(raw)
    loaded.app = get_wsgi_application()
    # As Django's test client does: a request must not close the test's database connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield loaded, ids
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


AUTH = {"Authorization": "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()}
EXAMPLES = 15

#: Schema-valid requests the API must still refuse, offline, with a 400: (operation, what the answer says).
#: Anything else refused, and any other failure of any check, fails the test.
EXPECTED_REFUSALS: dict[str, tuple[str, ...]] = {
    # Exactly one source of audio; a schema cannot say "one of these three" so that generators follow it.
    "POST /api/slashml/jobs/": (
        "Send exactly one of",
        "does not look like audio",  # bytes that are not audio
        "is empty",  # an empty file
        "You have no audio upload",  # a well-formed id of no upload of yours
        "audio_url",  # a URL that does not resolve, or names a private address
        "metadata",  # a NUL, a lone surrogate, too deep or too large
    ),
    "POST /api/slashml/comparisons/": (
        "Send exactly one of",
        "does not look like audio",
        "is empty",
        "audio_url",
        "metadata",
        "reference_text",  # blank, or a character no database can store
    ),
    "POST /api/slashml/uploads/": ("does not look like audio", "is empty"),
    # A query of only punctuation or only exclusions, or more than 32 terms.
    "GET /api/slashml/search/": ("at least one word", "Exclusions", "at most"),
    # min_duration_ms above max_duration_ms (each within its own range).
    "GET /api/slashml/jobs/{id}/transcript.{fmt}/": ("max_duration_ms",),
    "GET /api/slashml/jobs/{id}/caption-audit/": ("max_duration_ms",),
}


def expected_refusal(label: str, response: Any) -> bool:
    return response.status_code == 400 and any(text in response.text for text in EXPECTED_REFUSALS.get(label, ()))


def on_rows(operation: Any, ids: dict[str, str]) -> list[Any]:
    """Requests for the rows that exist (generated ids are all unknown: 404)."""
    kind = operation.path.split("/")[3]
    if "{id}" not in operation.path or kind not in ids:
        return []
    formats = ("txt", "srt", "vtt", "json") if "{fmt}" in operation.path else (None,)
    return [operation.Case(path_parameters={"id": ids[kind], **({"fmt": f} if f else {})}) for f in formats]


def test_the_api_answers_as_its_schema_says(api_schema: Any) -> None:
    """Each operation: its rows, then ``EXAMPLES`` generated requests; every failure is reported at once."""
    api_schema, ids = api_schema
    failures: dict[str, str] = {}
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith("/api/slashml/"):
            continue

        @hypothesis_settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            response = case.call(headers=AUTH)
            skipped = [positive_data_acceptance] if expected_refusal(case.operation.label, response) else []
            case.validate_response(response, headers=AUTH, excluded_checks=skipped)

        try:
            for case in on_rows(operation, ids):
                case.call_and_validate(headers=AUTH)
            run()
        except (AssertionError, BaseExceptionGroup) as exc:  # each operation's failures, all reported at the end
            failures[operation.label] = str(exc)
    assert not failures, "\n\n".join(f"== {label}\n{text}" for label, text in failures.items())
