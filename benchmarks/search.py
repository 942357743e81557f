"""7. Full-text search: a rare word, a common word and a quoted phrase among 100,000 transcripts.

The corpus is generated in SQL (one statement per table, not 100,000 ORM saves): pseudo-words
of three syllables drawn log-uniformly from 8,000 (so a few words are very common and most are
rare, as in speech), 20 phrases of 15 words per transcript. The baseline, in the same run, is
``icontains`` on the job's text column, which is what the job list's ``search`` does.
"""

from __future__ import annotations

import math
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.db import connection
from django.test import Client

from django_slashml.models import JobStatus, TranscriptionJob, TranscriptSegment
from django_slashml.transcripts.search import annotate_snippets, search
from django_slashml.transcripts.search.segments import index_job

from .harness import empty_tables
from .report import Section, Target

SYLLABLES = "ba ko ri me tu sa lo ne vi da pe gu ma fo ki ze ru no ta li".split()  # noqa: SIM905
VOCABULARY = 8000
PHRASES, WORDS = 20, 15


def word(k: int) -> str:
    return SYLLABLES[k % 20] + SYLLABLES[(k // 20) % 20] + SYLLABLES[(k // 400) % 20]


def _fill(total: int) -> None:
    empty_tables()
    table = TranscriptionJob._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            CREATE TEMP TABLE bench_words AS
            SELECT k, syl[1 + (k %% 20)] || syl[1 + ((k / 20) %% 20)] || syl[1 + ((k / 400) %% 20)] AS w
            FROM generate_series(1, {VOCABULARY}) k, (SELECT string_to_array(%s, ' ') AS syl) s
            """,  # noqa: S608 (our own names and numbers)
            [" ".join(SYLLABLES)],
        )
        cursor.execute("CREATE UNIQUE INDEX ON bench_words (k)")
        cursor.execute(
            f"""
            INSERT INTO {table} (id, service_provider, status, remote_id, remote_status, text, words, spelling,
                error_message, metadata, fresh, review_state, corrected_text, poll_count,
                consecutive_failures, submit_attempts, lease_owner, created_at, updated_at, completed_at,
                audio_url, audio_sha256)
            SELECT gen_random_uuid(), 'assembly', 'COMPLETED', 'r' || i, 'COMPLETED', '', '[]', '[]', '', '{{}}',
                false, 'unreviewed', '', 1, 0, 1, '', now() - i * interval '1 second', now(), now(), '', ''
            FROM generate_series(1, %s) i
            """,  # noqa: S608
            [total],
        )
        segments = "django_slashml_transcriptsegment"
        # Filled without the GIN index, which is built once afterwards (as for any bulk load).
        cursor.execute("DROP INDEX slashml_segment_vector_gin")
        cursor.execute(
            f"""
            INSERT INTO {segments} (job_id, position, start_ms, end_ms, text, word_starts, search_vector)
            SELECT id, p, p * 5000, p * 5000 + 4800, t,
                (SELECT jsonb_agg(p * 5000 + g * 320) FROM generate_series(0, {WORDS - 1}) g),
                to_tsvector('english', t)
            FROM (
                SELECT j.id, p, (
                    SELECT string_agg(wa.arr[floor(exp(random() * ln({VOCABULARY})))::int + 0 * g], ' ')
                    FROM generate_series(1, {WORDS}) g
                    WHERE g > -p AND j.id IS NOT NULL
                ) AS t
                FROM {table} j, generate_series(0, {PHRASES - 1}) p,
                    (SELECT array_agg(w ORDER BY k) AS arr FROM bench_words) wa
            ) x
            """  # noqa: S608
        )
        cursor.execute(f"CREATE INDEX slashml_segment_vector_gin ON {segments} USING GIN (search_vector)")
        joined = f"SELECT job_id, string_agg(text, ' ' ORDER BY position) t FROM {segments} GROUP BY job_id"  # noqa: S608
        cursor.execute(f"UPDATE {table} j SET text = s.t FROM ({joined}) s WHERE s.job_id = j.id")  # noqa: S608
        cursor.execute(f"ANALYZE {table}")
        cursor.execute(f"ANALYZE {segments}")


def _timed(call: Any, repeat: int) -> list[float]:
    call()  # warm-up
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def _p95(times: list[float]) -> float:
    return sorted(times)[max(0, round(0.95 * len(times)) - 1)]


def _icontains(alias: str, needle: str) -> Callable[[], Any]:
    """What the job list's ``?search=`` does: count the matches, read the first page of 50."""

    def run() -> None:
        jobs = TranscriptionJob.objects.using(alias).filter(text__icontains=needle)
        jobs.count()
        list(jobs.values_list("pk", flat=True)[:50])

    return run


SQLITE = "search_sqlite"


def _fill_sqlite(total: int) -> int:
    """The same corpus in SQLite (FTS5), written through the ORM in batches."""
    call_command("migrate", database=SQLITE, verbosity=0)
    rng = random.Random(17)
    log_vocabulary = math.log(VOCABULARY)
    jobs, segments = [], []
    for index in range(total):
        phrases = [
            " ".join(word(int(math.exp(rng.random() * log_vocabulary))) for _ in range(WORDS)) for _ in range(PHRASES)
        ]
        job = TranscriptionJob(service_provider="assembly", status=JobStatus.COMPLETED, text=" ".join(phrases))
        jobs.append(job)
        segments += [
            TranscriptSegment(
                job=job,
                position=p,
                start_ms=p * 5000,
                end_ms=p * 5000 + 4800,
                text=text,
                word_starts=[p * 5000 + g * 320 for g in range(WORDS)],
            )
            for p, text in enumerate(phrases)
        ]
        if len(jobs) == 1000 or index == total - 1:
            TranscriptionJob.objects.using(SQLITE).bulk_create(jobs)
            TranscriptSegment.objects.using(SQLITE).bulk_create(segments, batch_size=5000)
            jobs, segments = [], []
    return TranscriptSegment.objects.using(SQLITE).count()


def _sqlite_search(query: str) -> Callable[[], int]:
    """What the API does, in process: match, count, the first page of 50 and its snippets."""

    def run() -> int:
        parsed, segments = search(TranscriptionJob.objects.using(SQLITE).all(), query)
        count = len(segments)
        annotate_snippets(list(segments[:50]), parsed)
        return count

    return run


def _indexing_cost(jobs: int) -> list[float]:
    """index_job() on transcripts of 300 timed words: the time completion now adds."""
    words = [
        {"text": word(1 + (n * 7919) % VOCABULARY), "start": n * 300, "end": n * 300 + 250, "confidence": 0.9}
        for n in range(300)
    ]
    text = " ".join(w["text"] for w in words)
    created = [
        TranscriptionJob.objects.create(service_provider="assembly", status=JobStatus.COMPLETED, text=text, words=words)
        for _ in range(jobs)
    ]
    times = []
    for job in created:
        started = time.perf_counter()
        index_job(job)
        times.append((time.perf_counter() - started) * 1000)
    return times


def run(bench: Any) -> Section:
    total = bench.options.search_jobs
    started = time.monotonic()
    _fill(total)
    filled = time.monotonic() - started
    User.objects.filter(username="bench-searcher").delete()
    staff = User.objects.create_user("bench-searcher", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_transcriptionjob"))
    client = Client()
    client.force_login(staff)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_slashml_transcriptsegment")
        segments = cursor.fetchone()[0]
    common, rare = word(12), word(7001)
    queries = {"rare word": rare, "common word": common, "quoted phrase": f'"{word(3)} {word(5)}"'}
    repeat = bench.options.search_repeat
    section = Section(
        title="7. Full-text search",
        setup=(
            f"{total:,} completed transcripts of {PHRASES * WORDS} words ({segments:,} phrases, "
            f"{total * PHRASES * WORDS / 1e6:.0f} million words) in PostgreSQL, generated in {filled:.0f} s; "
            f"`GET search/?q=` as staff who sees every job, through Django's test client in process; "
            f"{repeat} requests per query after one warm-up (p95 of {repeat} is its second-worst). Baseline: "
            f"what the job list's `?search=` does, `icontains` on the job's text with a count and the first page "
            f"of 50, fewer repeats. The machine was shared with other "
            f"work while measuring."
        ),
        headers=["query", "matching phrases", "search p50", "search p95", "icontains p50", "speed-up"],
    )
    worst, slowest_ratio = 0.0, float("inf")
    for label, query in queries.items():
        response = client.get("/api/slashml/search/", {"q": query})
        assert response.status_code == 200, response.content
        count = response.json()["count"]
        times = _timed(lambda q=query: client.get("/api/slashml/search/", {"q": q}), repeat)
        needle = query.strip('"')
        baseline = _timed(_icontains("default", needle), max(3, repeat // 10))
        ratio = statistics.median(baseline) / statistics.median(times)
        worst, slowest_ratio = max(worst, _p95(times)), min(slowest_ratio, ratio)
        section.rows.append(
            [
                f"{label} (`{query}`)",
                f"{count:,}" + (" (capped)" if count >= 1000 else ""),
                f"{statistics.median(times):.1f} ms",
                f"{_p95(times):.1f} ms",
                f"{statistics.median(baseline):.0f} ms",
                f"{ratio:.0f}x",
            ]
        )
    indexing = _indexing_cost(bench.options.search_index_jobs)
    section.rows.append(
        [
            "indexing one completed job (300 words)",
            "",
            f"{statistics.median(indexing):.2f} ms",
            f"{_p95(indexing):.2f} ms",
            "",
            "",
        ]
    )
    section.targets += [
        Target("search p95 at most 100 ms", f"{worst:.1f} ms", worst <= 100),
        Target("at least 50x faster than icontains (median)", f"{slowest_ratio:.0f}x", slowest_ratio >= 50),
        Target(
            "indexing adds at most 5 ms per job (median)",
            f"{statistics.median(indexing):.2f} ms",
            statistics.median(indexing) <= 5,
        ),
    ]
    empty_tables()
    sqlite_total = bench.options.search_sqlite_jobs
    phrases = _fill_sqlite(sqlite_total)
    for label, query in queries.items():
        count = _sqlite_search(query)()
        times = _timed(_sqlite_search(query), repeat)
        baseline = _timed(_icontains(SQLITE, query.strip('"')), max(3, repeat // 10))
        section.rows.append(
            [
                f"SQLite FTS5, {sqlite_total:,} transcripts ({phrases:,} phrases): {label}",
                f"{count:,}" + (" (capped)" if count >= 1000 else ""),
                f"{statistics.median(times):.1f} ms",
                f"{_p95(times):.1f} ms",
                f"{statistics.median(baseline):.0f} ms",
                f"{statistics.median(baseline) / statistics.median(times):.0f}x",
            ]
        )
    section.notes.append(
        "SQLite rows: the same generated corpus in a SQLite file with FTS5, searched in process (match, count, "
        "first page of 50, snippets), without HTTP; no goal is set for them."
    )
    return section
