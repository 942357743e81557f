"""A year of jobs generated in the database, for the scale benchmark (benchmarks/scale.py).

PostgreSQL fills its tables with a handful of INSERT ... SELECT statements over
``generate_series`` (minutes for millions of rows, not hours through the pipeline); other
databases get the same rows from batched ``bulk_create``. A finished database is marked, so a
rerun reuses it instead of generating it again.

The rows: 10 owners, ``created_at`` spread over the last 365 days, the newest 1,000 jobs
active (a few of them overdue), then 92% COMPLETED, 6% ERROR and 2% CANCELLED; six providers;
completed transcripts of three phrases of 12 pseudo-words drawn log-uniformly from 8,000 (a few
words are very common, most are rare, as in speech), each phrase one search segment; 5% of the
completed jobs approved and 2% marked for correction. One more job holds a 20,000-word transcript
with word timings, for the job page.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from django_slashml.models import JobStatus, ReviewState, TranscriptionJob, TranscriptSegment
from django_slashml.transcripts.search.segments import index_job

SYLLABLES = "ba ko ri me tu sa lo ne vi da pe gu ma fo ki ze ru no ta li".split()  # noqa: SIM905
VOCABULARY = 8000
PHRASES = 20000
PHRASE_WORDS = 12
PHRASES_PER_JOB = 3
OWNERS = 10
ACTIVE = 1000
PROVIDERS = ("assembly", "aws", "whisper", "deepgram", "google", "rev")
BIG_JOB_WORDS = 20000
BIG_JOB_REMOTE_ID = "big-transcript"
DONE_TABLE = "bench_scale_done"


def word(k: int) -> str:
    return SYLLABLES[k % 20] + SYLLABLES[(k // 20) % 20] + SYLLABLES[(k // 400) % 20]


def vocabulary_word(rng: random.Random) -> str:
    """A word drawn log-uniformly: rank k with probability proportional to 1/k."""
    return word(math.floor(math.exp(rng.random() * math.log(VOCABULARY))))


def phrase_table(seed: int = 35) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(vocabulary_word(rng) for _ in range(PHRASE_WORDS)) for _ in range(PHRASES)]


def phrase_numbers(i: int) -> tuple[int, int, int]:
    """Which three phrases job ``i`` says (the SQL below computes the same)."""
    return (i * 7919) % PHRASES, (i * 104729 + 17) % PHRASES, (i * 1299709 + 3) % PHRASES


def status_of(i: int) -> str:
    if i <= ACTIVE:
        return ("PENDING", "QUEUED", "IN_PROGRESS")[i % 3]
    bucket = i % 100
    return "ERROR" if bucket < 6 else "CANCELLED" if bucket < 8 else "COMPLETED"


def is_finished(name: str) -> bool:
    if DONE_TABLE not in connection.introspection.table_names():  # SQLite has no information_schema
        return False
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {DONE_TABLE}")  # noqa: S608
        return bool(cursor.fetchone()[0])


def mark_finished(total: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {DONE_TABLE} (total bigint)")
        cursor.execute(f"INSERT INTO {DONE_TABLE} VALUES (%s)", [total])  # noqa: S608


def users() -> tuple[User, list[User]]:
    staff, _ = User.objects.get_or_create(username="staff", defaults={"is_staff": True, "is_superuser": True})
    owners = [User.objects.get_or_create(username=f"owner{n}")[0] for n in range(OWNERS)]
    return staff, owners


def generate(total: int, say: Any = print) -> None:
    started = time.monotonic()
    _staff, owners = users()
    owner_ids = [owner.pk for owner in owners]
    now = timezone.now().replace(microsecond=0)
    if connection.vendor == "postgresql":
        _generate_postgresql(total, owner_ids, now, say)
    else:
        _generate_orm(total, owner_ids, now, say)
    big_job(owners[0], now)
    say(f"  analysing ({time.monotonic() - started:.0f} s so far)")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE")
        elif connection.vendor == "mysql":
            cursor.execute(f"ANALYZE TABLE {TranscriptionJob._meta.db_table}, {TranscriptSegment._meta.db_table}")
        else:
            cursor.execute("ANALYZE")
    mark_finished(total)
    say(f"  generated {total:,} jobs in {time.monotonic() - started:.0f} s")


def big_job(owner: User, now: datetime) -> TranscriptionJob:
    """A finished job with a 20,000-word transcript and its word timings, indexed for search."""
    rng = random.Random(20000)
    texts = [vocabulary_word(rng) for _ in range(BIG_JOB_WORDS)]
    words = [
        {"text": text, "start": n * 300, "end": n * 300 + 250, "confidence": round(0.7 + rng.random() * 0.3, 3)}
        for n, text in enumerate(texts)
    ]
    job = TranscriptionJob.objects.create(
        service_provider="assembly",
        status=JobStatus.COMPLETED,
        remote_id=BIG_JOB_REMOTE_ID,
        remote_status="COMPLETED",
        text=" ".join(texts),
        words=words,
        confidence=0.9,
        audio_duration=BIG_JOB_WORDS * 0.3,
        audio_url="https://calls.example.com/recordings/long.wav",
        owner=owner,
        created_at=now - timedelta(days=3),
        submitted_at=now - timedelta(days=3),
        completed_at=now - timedelta(days=3) + timedelta(minutes=20),
    )
    index_job(job)
    return job


# -- PostgreSQL: INSERT ... SELECT ------------------------------------------------------------


def _generate_postgresql(total: int, owner_ids: list[int], now: datetime, say: Any) -> None:
    jobs, segments = TranscriptionJob._meta.db_table, TranscriptSegment._meta.db_table
    span = 365 * 86400 / total  # seconds between two jobs
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '512MB'")
        cursor.execute("CREATE TEMP TABLE bench_phrases (k int PRIMARY KEY, t text, v tsvector)")
        rows = phrase_table()
        cursor.executemany(
            "INSERT INTO bench_phrases VALUES (%s, %s, to_tsvector('english', %s))",
            [(k, text, text) for k, text in enumerate(rows)],
        )
        say(f"  {len(rows):,} phrases")
        # Foreign keys are checked by triggers, one per row; a replica session skips them (the
        # generated owners and jobs exist), as a bulk load would.
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            f"""
            INSERT INTO {jobs} (id, service_provider, status, remote_id, remote_status, text, words, spelling,
                error_message, metadata, fresh, review_state, corrected_text, poll_count,
                consecutive_failures, submit_attempts, lease_owner, created_at, updated_at, submitted_at,
                completed_at, next_poll_at, deadline_at, audio_url, audio_sha256, owner_id, audio_duration,
                confidence)
            SELECT gen_random_uuid(), (%s::text[])[1 + (i * 7) %% 6], st, 'rj_' || i,
                CASE WHEN st = 'PENDING' THEN '' ELSE st END,
                CASE WHEN st = 'COMPLETED' THEN p1.t || ' ' || p2.t || ' ' || p3.t ELSE '' END,
                '[]', '[]', CASE WHEN st = 'ERROR' THEN 'SlashML could not decode the audio.' ELSE '' END,
                '{{}}', false,
                CASE WHEN st <> 'COMPLETED' THEN 'unreviewed' WHEN i %% 20 = 0 THEN 'approved'
                     WHEN i %% 50 = 1 THEN 'needs_correction' ELSE 'unreviewed' END,
                '', CASE WHEN st IN ('PENDING', 'QUEUED') THEN 0 ELSE 1 + i %% 4 END, 0, 1, '',
                created, created, created + interval '2 seconds',
                CASE WHEN st IN ('COMPLETED', 'ERROR') THEN created + (30 + i %% 300) * interval '1 second' END,
                CASE WHEN st IN ('PENDING', 'QUEUED', 'IN_PROGRESS') THEN
                    %s::timestamptz + CASE WHEN i %% 100 = 0 THEN interval '-1 hour' ELSE interval '5 seconds' END
                END,
                CASE WHEN st IN ('PENDING', 'QUEUED', 'IN_PROGRESS') THEN created + interval '1 day' END,
                'https://calls.example.com/recordings/' || i || '.wav', '',
                (%s::int[])[1 + i %% {OWNERS}], 30 + (i * 7919) %% 600, 0.7 + (i %% 30) / 100.0
            FROM (
                SELECT i, %s::timestamptz - i * %s * interval '1 second' AS created,
                    CASE WHEN i <= {ACTIVE} THEN (ARRAY['PENDING', 'QUEUED', 'IN_PROGRESS'])[1 + i %% 3]
                         WHEN i %% 100 < 6 THEN 'ERROR' WHEN i %% 100 < 8 THEN 'CANCELLED'
                         ELSE 'COMPLETED' END AS st
                FROM generate_series(1::bigint, %s) i
            ) g
            JOIN bench_phrases p1 ON p1.k = (i * 7919) %% {PHRASES}
            JOIN bench_phrases p2 ON p2.k = (i * 104729 + 17) %% {PHRASES}
            JOIN bench_phrases p3 ON p3.k = (i * 1299709 + 3) %% {PHRASES}
            """,  # noqa: S608 (our own names and numbers)
            [list(PROVIDERS), now, owner_ids, now, span, total],
        )
        say(f"  {total:,} jobs")
        # The GIN index is built once afterwards, as for any bulk load.
        cursor.execute("DROP INDEX IF EXISTS slashml_segment_vector_gin")
        cursor.execute(
            f"""
            INSERT INTO {segments} (job_id, position, start_ms, end_ms, text, word_starts, search_vector)
            SELECT j.id, p, p * 6000, p * 6000 + 5800, ph.t, '[]', ph.v
            FROM {jobs} j CROSS JOIN generate_series(0, {PHRASES_PER_JOB - 1}) p
            JOIN bench_phrases ph ON ph.k = CASE p
                WHEN 0 THEN (substr(j.remote_id, 4)::bigint * 7919) %% {PHRASES}
                WHEN 1 THEN (substr(j.remote_id, 4)::bigint * 104729 + 17) %% {PHRASES}
                ELSE (substr(j.remote_id, 4)::bigint * 1299709 + 3) %% {PHRASES} END
            WHERE j.status = 'COMPLETED'
            """,  # noqa: S608
            [],  # with parameters, so that %% reads as % as in the other statements
        )
        say("  segments")
        cursor.execute(f"CREATE INDEX slashml_segment_vector_gin ON {segments} USING GIN (search_vector)")
        cursor.execute("SET session_replication_role = DEFAULT")
        say("  search index")


# -- elsewhere: batched bulk_create ----------------------------------------------------------


def _rows(total: int, owner_ids: list[int], now: datetime, phrases: list[str]) -> Iterator[TranscriptionJob]:
    span = timedelta(seconds=365 * 86400 / total)
    for i in range(1, total + 1):
        status = status_of(i)
        created = now - span * i
        active = status in ("PENDING", "QUEUED", "IN_PROGRESS")
        completed = status == JobStatus.COMPLETED
        review = ReviewState.UNREVIEWED
        if completed and i % 20 == 0:
            review = ReviewState.APPROVED
        elif completed and i % 50 == 1:
            review = ReviewState.NEEDS_CORRECTION
        yield TranscriptionJob(
            service_provider=PROVIDERS[(i * 7) % 6],
            status=status,
            remote_id=f"rj_{i}",
            remote_status="" if status == "PENDING" else status,
            text=" ".join(phrases[n] for n in phrase_numbers(i)) if completed else "",
            words=[],
            error_message="SlashML could not decode the audio." if status == "ERROR" else "",
            review_state=review,
            poll_count=0 if status in ("PENDING", "QUEUED") else 1 + i % 4,
            submit_attempts=1,
            created_at=created,
            submitted_at=created + timedelta(seconds=2),
            completed_at=created + timedelta(seconds=30 + i % 300) if status in ("COMPLETED", "ERROR") else None,
            next_poll_at=(now + timedelta(hours=-1 if i % 100 == 0 else 0, seconds=5)) if active else None,
            deadline_at=created + timedelta(days=1) if active else None,
            audio_url=f"https://calls.example.com/recordings/{i}.wav",
            owner_id=owner_ids[i % OWNERS],
            audio_duration=30 + (i * 7919) % 600,
            confidence=0.7 + (i % 30) / 100,
        )


def _generate_orm(total: int, owner_ids: list[int], now: datetime, say: Any, batch: int = 5000) -> None:
    phrases = phrase_table()
    pending: list[TranscriptionJob] = []
    done = 0
    for job in _rows(total, owner_ids, now, phrases):
        pending.append(job)
        if len(pending) == batch:
            done += _save(pending, phrases)
            pending = []
            if done % 100000 == 0:
                say(f"  {done:,} jobs")
    done += _save(pending, phrases)
    say(f"  {done:,} jobs")


def _save(jobs: list[TranscriptionJob], phrases: list[str]) -> int:
    TranscriptionJob.objects.bulk_create(jobs)
    segments = [
        TranscriptSegment(
            job_id=job.pk, position=p, start_ms=p * 6000, end_ms=p * 6000 + 5800, text=phrases[n], word_starts=[]
        )
        for job in jobs
        if job.status == JobStatus.COMPLETED
        for p, n in enumerate(phrase_numbers(int(job.remote_id[3:])))
    ]
    TranscriptSegment.objects.bulk_create(segments)
    return len(jobs)
