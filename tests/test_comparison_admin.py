"""Issue 18: the comparison page and the provider report in the admin."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import django_slashml
from django_slashml.models import Comparison, JobStatus, TranscriptionJob

from .conftest import SPEECH_SCRIPT
from .helpers import drive

pytestmark = pytest.mark.django_db

PROVIDERS = ["assembly", "whisper", "deepgram", "rev", "aws", "google"]


def page(comparison: Comparison) -> str:
    return f"/admin/django_slashml/comparison/{comparison.pk}/change/"


def test_the_page_marks_each_providers_mistakes_and_words_carry_their_time(slashml, speech_path, admin_client) -> None:
    comparison = django_slashml.compare(speech_path, providers=PROVIDERS, reference_text=" ".join(SPEECH_SCRIPT))
    for job in comparison.jobs.all():
        drive(job)
    html = admin_client.get(page(comparison)).content.decode()
    assert "Scored against the reference text" in html
    sections = html.split('<section class="slashml-aligned">')[1:]
    assert len(sections) == 6
    assembly, google = sections[0], sections[-1]
    assert 'class="w sub"' not in assembly and "<ins" not in assembly and "<del" not in assembly
    assert any(mark in google for mark in ('class="w sub"', "<ins", "<del"))
    assert 'data-start="' in assembly and 'class="slashml-compare-audio"' in html
    google_job = comparison.jobs.get(service_provider="google")
    job_page = admin_client.get(f"/admin/django_slashml/transcriptionjob/{google_job.pk}/change/").content.decode()
    assert f'href="{page(comparison)}"' in job_page  # the job page links to its comparison


def test_the_page_costs_the_same_queries_for_two_providers_or_six(slashml, speech_path, admin_client) -> None:
    counts = []
    for providers in (PROVIDERS[:2], PROVIDERS):
        comparison = django_slashml.compare(speech_path, providers=providers, reference_text="the quick brown fox")
        for job in comparison.jobs.all():
            drive(job)
        admin_client.get(page(comparison))  # warm the session and content types
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(page(comparison)).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_without_a_reference_the_page_lists_where_they_disagree(slashml, speech_path, admin_client) -> None:
    comparison = django_slashml.compare(speech_path, providers=["assembly", "google"])
    for job in comparison.jobs.all():
        drive(job)
    html = admin_client.get(page(comparison)).content.decode()
    assert "No reference yet" in html and "Where the providers disagree" in html
    assert html.count("<li data-start=") >= 1


def test_the_report_ranks_the_sandboxs_providers_by_wer(slashml, speech_path, admin_client) -> None:
    comparison = django_slashml.compare(speech_path, providers=PROVIDERS[::-1])
    jobs = [drive(job) for job in comparison.jobs.all()]
    assembly = next(job for job in jobs if job.service_provider == "assembly")
    TranscriptionJob.objects.filter(pk=assembly.pk).update(review_state="approved", reviewed_at=timezone.now())
    TranscriptionJob.objects.create(service_provider="aws", status=JobStatus.ERROR, audio_url="https://x.example/a")
    response = admin_client.get("/admin/django_slashml/comparison/report/")
    assert response.status_code == 200
    rows: list[Any] = response.context["rows"]
    assert [row.provider for row in rows] == PROVIDERS
    assert rows[0].mean_wer == 0.0 and all(a.mean_wer < b.mean_wer for a, b in itertools.pairwise(rows))
    assert next(row for row in rows if row.provider == "aws").failure_rate == 0.5
    assert "<svg" in response.content.decode()


def test_the_report_needs_the_view_permission(client, django_user_model) -> None:
    django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    client.login(username="staff", password="pw")
    assert client.get("/admin/django_slashml/comparison/report/").status_code == 403


def test_the_page_and_the_report_also_need_the_job_view_permission(client, django_user_model) -> None:
    from django.contrib.auth.models import Permission

    comparison = django_slashml.compare("https://93.184.216.34/a.wav", providers=["aws", "rev"])
    staff = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_comparison"))
    client.login(username="staff", password="pw")
    assert client.get(page(comparison)).status_code == 403  # transcripts are the jobs'
    assert client.get("/admin/django_slashml/comparison/report/").status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_transcriptionjob"))
    assert client.get(page(comparison)).status_code == 200
    assert client.get("/admin/django_slashml/comparison/report/").status_code == 200


def test_a_comparison_of_an_audio_url_plays_that_url(admin_client) -> None:
    url = "https://93.184.216.34/a.wav"
    comparison = django_slashml.compare(url, providers=["aws", "rev"])
    response = admin_client.get(page(comparison))
    assert response.context["audio_src"] == url
    assert f'class="slashml-compare-audio" controls preload="none" src="{url}"' in response.content.decode()


def test_the_report_sums_in_the_database_and_loads_words_only_where_it_scores() -> None:
    from datetime import timedelta

    from django_slashml.transcripts.report import _scored_jobs, provider_report

    start = timezone.now()

    def job(provider: str, comparison: Comparison | None = None, *, took: float = 10, **fields: Any) -> Any:
        return TranscriptionJob.objects.create(
            service_provider=provider,
            status=fields.pop("status", JobStatus.COMPLETED),
            audio_url="https://x.example/a",
            comparison=comparison,
            text="the quick brown fox",
            words=[
                {"text": w, "start": i * 100, "end": i * 100 + 90}
                for i, w in enumerate(["the", "quick", "brown", "fox"])
            ],
            audio_duration=30.0,
            submitted_at=start,
            completed_at=start + timedelta(seconds=took),
            **fields,
        )

    given = Comparison.objects.create(audio_url="https://x.example/a", reference_text="the quick brown fox")
    reviewed = Comparison.objects.create(audio_url="https://x.example/a")
    unscorable = Comparison.objects.create(audio_url="https://x.example/a")
    scored = {
        job("aws", given, took=10).pk,
        job("rev", given, took=30).pk,
        job("aws", reviewed, took=20, review_state="approved").pk,
        job("rev", reviewed, took=40).pk,
    }
    original = job("aws", unscorable, took=60)
    job("rev", unscorable, took=20)
    job("aws", took=0, reused_from=original)  # reused: took no time, left out of the mean
    job("aws", status=JobStatus.ERROR)
    assert set(_scored_jobs(TranscriptionJob.objects.all()).values_list("pk", flat=True)) == scored
    with CaptureQueriesContext(connection) as queries:
        rows = {row.provider: row for row in provider_report(TranscriptionJob.objects.all())}
    assert len(queries) == 2, [q["sql"] for q in queries.captured_queries]
    aws, rev = rows["aws"], rows["rev"]
    assert aws.mean_seconds_to_transcript == pytest.approx((10 + 20 + 60) / 3)
    assert rev.mean_seconds_to_transcript == pytest.approx((30 + 40 + 20) / 3)
    assert (aws.finished, aws.failed, aws.failure_rate) == (5, 1, 0.2)
    assert aws.minutes == pytest.approx(4 * 30 / 60) and rev.minutes == pytest.approx(3 * 30 / 60)
    assert (aws.scored, rev.scored) == (2, 2) and aws.mean_wer == 0.0
