"""5. The REST API on a full table: a page of 100 jobs among 100,000, and a 20,000-word transcript."""

from __future__ import annotations

import random
import statistics
import time
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_slashml.models import JobStatus, TranscriptionJob

from .harness import empty_tables
from .report import Section, Target

OWNERS = 10


def _fill(total: int) -> tuple[list[User], User]:
    empty_tables()
    User.objects.filter(username__startswith="bench-").delete()
    owners = [User.objects.create_user(f"bench-owner-{index}") for index in range(OWNERS)]
    staff = User.objects.create_user("bench-staff", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_transcriptionjob"))
    now = timezone.now()
    rng = random.Random(7)
    statuses = [JobStatus.COMPLETED] * 8 + [JobStatus.IN_PROGRESS, JobStatus.ERROR]
    batch = []
    for index in range(total):
        status = rng.choice(statuses)
        batch.append(
            TranscriptionJob(
                service_provider="assembly",
                status=status,
                owner=owners[index % OWNERS],
                remote_id=f"remote-{index}",
                text="a short transcript of a few words" if status == JobStatus.COMPLETED else "",
                created_at=now - timedelta(seconds=index),
                completed_at=now - timedelta(seconds=index) if status == JobStatus.COMPLETED else None,
            )
        )
        if len(batch) == 5000:
            TranscriptionJob.objects.bulk_create(batch)
            batch = []
    TranscriptionJob.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute(f'ANALYZE "{TranscriptionJob._meta.db_table}"')
    return owners, staff


def _long_transcript(owner: User, words: int) -> TranscriptionJob:
    vocabulary = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while", "seven", "bright"]
    rng = random.Random(11)
    tokens = [rng.choice(vocabulary) for _ in range(words)]
    timed = [
        {"text": token, "start": 400 * index, "end": 400 * index + 350, "confidence": 0.9}
        for index, token in enumerate(tokens)
    ]
    return TranscriptionJob.objects.create(
        service_provider="assembly", status=JobStatus.COMPLETED, owner=owner, remote_id="remote-long",
        text=" ".join(tokens), words=timed, audio_duration=400 * words / 1000, completed_at=timezone.now(),
    )  # fmt: skip


def _measure(client: Client, url: str, repeat: int) -> tuple[float, int, int]:
    """Median milliseconds per request, queries per request, response bytes."""
    response = client.get(url)  # warm caches and the connection
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}: {response.content[:300]!r}")
    times = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times), len(queries.captured_queries), len(response.content)


def run(bench: Any) -> Section:
    total, words, repeat = bench.options.api_jobs, 20_000, 20
    owners, staff = _fill(total)
    long_job = _long_transcript(owners[0], words)
    section = Section(
        title="5. REST API",
        setup=(
            f"{total:,} jobs in PostgreSQL across {OWNERS} owners; Django's test client with a logged-in session, "
            f"in process (no network); median of {repeat} requests after one warm-up. Queries include the "
            "session and user lookups."
        ),
        headers=["request", "time per request", "queries", "response size"],
    )
    # Page 50 (an OFFSET of 4,900), or the last full page of a smaller table.
    middle = min(50, max(1, TranscriptionJob.objects.filter(status=JobStatus.COMPLETED).count() // 100))
    owner_client, staff_client = Client(), Client()
    owner_client.force_login(owners[0])
    staff_client.force_login(staff)
    requests = [
        (f"owner: job list, 100 of their {total // OWNERS:,}", owner_client, "/api/slashml/jobs/?page_size=100"),
        (f"staff: job list, 100 of {total:,}", staff_client, "/api/slashml/jobs/?page_size=100"),
        (f"staff: job list filtered (status=COMPLETED, page {middle})", staff_client,
         f"/api/slashml/jobs/?page_size=100&status=COMPLETED&page={middle}"),
        (f"owner: job detail, {words:,} words", owner_client, f"/api/slashml/jobs/{long_job.pk}/"),
        (f"owner: transcript.json, {words:,} words", owner_client, f"/api/slashml/jobs/{long_job.pk}/transcript.json"),
        (f"owner: transcript.srt, {words:,} words", owner_client, f"/api/slashml/jobs/{long_job.pk}/transcript.srt"),
    ]  # fmt: skip
    list_queries = []
    for label, client, url in requests:
        milliseconds, queries, size = _measure(client, url, repeat)
        if "job list" in label:
            list_queries.append(queries)
        section.rows.append([label, f"{milliseconds:.1f} ms", str(queries), f"{size / 1024:.0f} KiB"])
    section.targets.append(
        Target("job list in at most 6 queries", f"{max(list_queries)} queries", max(list_queries) <= 6)
    )
    empty_tables()
    return section
