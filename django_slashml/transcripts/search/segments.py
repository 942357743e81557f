"""A finished transcript cut into searchable phrases, each with its time span.

Phrases break where captions do (sentence ends, pauses, about two caption lines), over the
reviewed words (a reviewer's correction aligned to the recognised timings), so search finds
what the viewer shows and jumps to when it was said. A job's segments are replaced whole, in
one transaction: a DELETE and a bulk INSERT that, on PostgreSQL, computes each phrase's search
vector as it inserts it (SQLite's FTS5 table follows by trigger).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections, router, transaction
from django.db.models import Value

from django_slashml.conf import slashml_settings
from django_slashml.models import JobStatus, TranscriptionJob, TranscriptSegment
from django_slashml.transcripts.captions import cues_for
from django_slashml.transcripts.corrections import reviewed_words
from django_slashml.transcripts.presets import CueLimits
from django_slashml.transcripts.search.engines import require_search_config

#: The caption builder's default grouping: up to two lines of 42 characters or 7 s, broken at pauses.
SEGMENT_LIMITS = CueLimits(preset="search")

Phrase = tuple[int, int, str, list[int]]  # start ms, end ms, text, where each word of text starts


def _token_starts(words: Sequence[dict[str, Any]]) -> list[int]:
    """One start per whitespace-separated token, as the caption builder joins the words into lines."""
    return [int(word["start"]) for word in words for _ in str(word.get("text", "")).split()]


def phrases(job: TranscriptionJob) -> list[Phrase]:
    """The job's reviewed transcript as timed phrases; empty unless the job is COMPLETED."""
    if job.status != JobStatus.COMPLETED:
        return []
    words = reviewed_words(job)
    cues = cues_for(words, job.transcript_text, job.audio_duration, SEGMENT_LIMITS)
    starts = _token_starts(words)
    rows: list[Phrase] = []
    taken = 0
    for cue in cues:
        text = " ".join(cue.lines)
        count = len(text.split()) if starts else 0  # cues hold the words in order, token for token
        rows.append((cue.start, cue.end, text, starts[taken : taken + count]))
        taken += count
    return rows


def index_job(job: TranscriptionJob) -> int:
    """Replace ``job``'s segments with those of its current transcript; returns how many it has.

    No savepoint of its own: inside a transition the signal's savepoint already keeps a failure
    here from undoing the transition, and outside a transaction this opens one.
    """
    rows = phrases(job)
    alias = router.db_for_write(TranscriptSegment, instance=job)
    require_search_config(alias)
    postgresql = connections[alias].vendor == "postgresql"
    config = Value(slashml_settings.SEARCH_CONFIG)
    with transaction.atomic(using=alias, savepoint=False):
        TranscriptSegment.objects.using(alias).filter(job_id=job.pk).delete()
        if rows:  # SQLite's FTS5 table follows by trigger
            TranscriptSegment.objects.using(alias).bulk_create(
                TranscriptSegment(
                    job_id=job.pk,
                    position=index,
                    start_ms=start,
                    end_ms=end,
                    text=text,
                    word_starts=word_starts,
                    search_vector=_vector(text, config) if postgresql else None,
                )
                for index, (start, end, text, word_starts) in enumerate(rows)
            )
    return len(rows)


def drop_job(job: TranscriptionJob) -> None:
    """Forget ``job``'s segments (it left COMPLETED: a retry starts it again)."""
    alias = router.db_for_write(TranscriptSegment, instance=job)
    TranscriptSegment.objects.using(alias).filter(job_id=job.pk).delete()


def _vector(text: str, config: Value) -> Any:
    """The phrase's ``tsvector``, computed by the INSERT (PostgreSQL's module, imported where it is the database)."""
    from django.contrib.postgres.search import SearchVector

    return SearchVector(Value(text), config=config)
