"""Prometheus metrics: read from the database at scrape time, never served to just anyone (issue 20)."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from django.core.checks import run_checks
from django.test import Client

from django_slashml import transcribe
from django_slashml.testing import sandbox_settings

from .extras import require
from .helpers import drive

pytestmark = pytest.mark.django_db

TOKEN = "s3cret-metrics-token-0123456789"


def scrape(client: Client, **headers: Any) -> Any:
    return client.get("/metrics", **headers)


def test_metrics_are_refused_until_a_token_or_addresses_are_set(client: Client, settings, slashml) -> None:
    response = scrape(client)
    assert response.status_code == 403
    assert b"METRICS_TOKEN" in response.content


def test_a_token_is_required_and_checked(client: Client, settings, sandbox, slashml) -> None:
    require("prometheus_client")
    settings.SLASHML = sandbox_settings(sandbox, METRICS_TOKEN=TOKEN)
    assert scrape(client).status_code == 401
    assert scrape(client, HTTP_AUTHORIZATION="Bearer wrong-token-wrong-token").status_code == 401
    assert scrape(client, HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 401
    response = scrape(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")


def test_an_allowed_address_needs_no_token(client: Client, settings, sandbox, slashml) -> None:
    require("prometheus_client")
    settings.SLASHML = sandbox_settings(sandbox, METRICS_ALLOWED_IPS=["10.0.0.0/8"])
    assert scrape(client).status_code == 403  # the test client calls from 127.0.0.1
    assert scrape(client, REMOTE_ADDR="10.1.2.3").status_code == 200


def test_jobs_calls_latency_and_time_to_transcript(client: Client, settings, sandbox, slashml, speech_path) -> None:
    require("prometheus_client")
    from prometheus_client.parser import text_string_to_metric_families

    settings.SLASHML = sandbox_settings(sandbox, METRICS_TOKEN=TOKEN)
    slashml.set_faults(script=[{"endpoint": "submit", "fault": "500"}])
    job = drive(transcribe(speech_path, service_provider="whisper"))
    body = scrape(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }
    assert samples[("slashml_jobs", (("provider", "whisper"), ("status", "COMPLETED")))] == 1
    assert samples[("slashml_api_calls", (("code", "500"), ("endpoint", "submit")))] == 1
    assert samples[("slashml_api_calls", (("code", "200"), ("endpoint", "submit")))] == 1
    polls = job.poll_count
    assert samples[("slashml_api_calls", (("code", "200"), ("endpoint", "status")))] == polls
    assert samples[("slashml_api_call_duration_seconds_bucket", (("endpoint", "status"), ("le", "+Inf")))] == polls
    assert samples[("slashml_api_call_duration_seconds_gcount", (("endpoint", "status"),))] == polls
    assert samples[("slashml_api_call_duration_seconds_gsum", (("endpoint", "status"),))] > 0
    took = (job.completed_at - job.created_at).total_seconds()
    assert samples[("slashml_time_to_transcript_seconds_bucket", (("le", "+Inf"), ("provider", "whisper")))] == 1
    assert samples[("slashml_time_to_transcript_seconds_bucket", (("le", "5"), ("provider", "whisper")))] == (
        1 if took <= 5 else 0
    )
    assert samples[("slashml_time_to_transcript_seconds_gsum", (("provider", "whisper"),))] == pytest.approx(
        took, abs=0.01
    )


def test_without_prometheus_client_the_endpoint_says_what_to_install(client: Client, settings, sandbox, slashml):
    settings.SLASHML = sandbox_settings(sandbox, METRICS_TOKEN=TOKEN)
    saved = sys.modules.get("prometheus_client")
    sys.modules["prometheus_client"] = None  # type: ignore[assignment]  # what an uninstalled package looks like
    try:
        response = scrape(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        ids = {message.id for message in run_checks()}
    finally:
        if saved is None:
            del sys.modules["prometheus_client"]
        else:
            sys.modules["prometheus_client"] = saved
    assert response.status_code == 503 and b'pip install "django-slashml[metrics]"' in response.content
    assert "slashml.W060" in ids


def test_bad_settings_are_named_by_checks(settings, sandbox) -> None:
    settings.SLASHML = sandbox_settings(
        sandbox,
        EVENT_LOG="yes",
        EVENT_RETENTION_DAYS=-1,
        METRICS_TOKEN="short",
        METRICS_ALLOWED_IPS=["10.0.0.0/8", "not-an-address"],
        EVENT_ANSWER_MAX_CHARS=-5,
    )
    messages = {message.id: message.msg for message in run_checks()}
    assert {"slashml.E060", "slashml.E061", "slashml.E062", "slashml.E063", "slashml.E004"} <= set(messages)
    assert "'not-an-address'" in messages["slashml.E061"]
    hint = next(message.hint for message in run_checks() if message.id == "slashml.E061")
    assert "127.0.0.1" not in hint and "METRICS_TOKEN" in hint  # loopback is the proxy's address, not a client's
