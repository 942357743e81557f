"""A comparison's scores, worked out when read: the reference, each provider's row, and agreement.

The reference is the text given when the comparison was made or, failing that, a reviewer's
approved or corrected transcript of any of its jobs (the most recently reviewed), so scores
follow the reviews. Each job's *original* transcript (what SlashML returned) is scored, so a
reviewed job's row shows how far its provider was from its correction. Without a
reference, the providers are scored against each other (pairwise WER) and the spans where
they disagree are listed, with the time each starts, for a reviewer to check first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django_slashml.models import Comparison, JobStatus, ReviewState, TranscriptionJob
from django_slashml.transcripts import scoring
from django_slashml.transcripts.normalise import normalise_text, normalise_timed_words

__all__ = ["Entry", "Reference", "entries_for", "reference_for", "summary"]

#: What scoring reads of a job; metadata, the raw answer and the timings stay in the database.
SCORING_FIELDS = (
    "id",
    "comparison_id",
    "service_provider",
    "status",
    "text",
    "words",
    "corrected_text",
    "review_state",
    "reviewed_at",
)
#: The job fields a comparison's page reads: what scoring reads, and its timings and error.
JOB_FIELDS = (*SCORING_FIELDS, "audio_duration", "submitted_at", "completed_at", "error_message")


def is_reviewed_transcript(job: TranscriptionJob) -> bool:
    """A transcript a reviewer vouched for: approved as is, or corrected."""
    return job.status == JobStatus.COMPLETED and (
        job.review_state == ReviewState.APPROVED or bool(job.corrected_text.strip())
    )


@dataclass(frozen=True)
class Reference:
    words: list[str]
    job: TranscriptionJob | None  # None: the text given at creation


def reference_for(comparison: Comparison, jobs: Sequence[TranscriptionJob]) -> Reference | None:
    if comparison.reference_text:
        return Reference(normalise_text(comparison.reference_text), None)
    reviewed = [job for job in jobs if is_reviewed_transcript(job)]
    if not reviewed:
        return None
    job = max(reviewed, key=lambda j: (j.reviewed_at is not None, j.reviewed_at, str(j.pk)))
    return Reference(normalise_text(job.transcript_text), job)


@dataclass(frozen=True)
class Entry:
    job: TranscriptionJob
    words: list[str]  # normalised, what is scored
    sources: list[int]  # for each normalised word, its index in job.words (-1: from the text only)
    score: scoring.Score | None

    @property
    def seconds_to_transcript(self) -> float | None:
        if self.job.submitted_at and self.job.completed_at:
            return round((self.job.completed_at - self.job.submitted_at).total_seconds(), 3)
        return None


def hypothesis_words(job: TranscriptionJob) -> tuple[list[str], list[int]]:
    """The job's original transcript, normalised, with each word's index in ``job.words``."""
    if job.status != JobStatus.COMPLETED:
        return [], []
    if job.words:
        return normalise_timed_words(job.words)
    words = normalise_text(job.text)
    return words, [-1] * len(words)


def entries_for(jobs: Sequence[TranscriptionJob], reference: Reference | None) -> list[Entry]:
    result = []
    for job in jobs:
        words, sources = hypothesis_words(job)
        done = job.status == JobStatus.COMPLETED
        score = scoring.score(reference.words, words) if reference is not None and done else None
        result.append(Entry(job, words, sources, score))
    return result


def comparison_jobs(comparison: Comparison) -> list[TranscriptionJob]:
    """The comparison's jobs in one query, in the order the providers were given."""
    return list(comparison.jobs.only(*JOB_FIELDS).order_by("created_at", "pk"))


def _row(entry: Entry, reference: Reference | None) -> dict[str, Any]:
    s = entry.score
    job = entry.job
    return {
        "service_provider": job.service_provider,
        "job": str(job.pk),
        "status": job.status,
        "wer": round(s.wer, 4) if s else None,
        "cer": round(s.cer, 4) if s else None,
        "substitutions": s.substitutions if s else None,
        "deletions": s.deletions if s else None,
        "insertions": s.insertions if s else None,
        "words": len(entry.words),
        "audio_seconds": job.audio_duration,
        "seconds_to_transcript": entry.seconds_to_transcript,
        "is_reference": reference is not None and reference.job is not None and reference.job.pk == job.pk,
    }


def _start_ms(entry: Entry, index: int) -> int | None:
    if index >= len(entry.sources) or entry.sources[index] < 0:
        return None
    start = entry.job.words[entry.sources[index]].get("start")
    return int(start) if isinstance(start, (int, float)) else None


def agreement(entries: Sequence[Entry]) -> dict[str, Any] | None:
    """Pairwise WER between the finished transcripts and where they disagree; None below two."""
    finished = {e.job.service_provider: e for e in entries if e.job.status == JobStatus.COMPLETED}
    if len(finished) < 2:
        return None
    words = {name: e.words for name, e in finished.items()}
    matrix = scoring.pairwise_wer(words)
    pivot = scoring.pivot(words, matrix)
    spans = scoring.disagreements(words, pivot)
    return {
        "pairwise_wer": {a: {b: round(v, 4) for b, v in row.items()} for a, row in matrix.items()},
        "pivot": pivot,
        "disagreements": [
            {"start_ms": _start_ms(finished[pivot], span.start), "readings": span.readings} for span in spans
        ],
    }


def summary(comparison: Comparison, jobs: Sequence[TranscriptionJob] | None = None) -> dict[str, Any]:
    """What the API answers for a comparison (and the admin page shows)."""
    jobs = comparison_jobs(comparison) if jobs is None else jobs
    reference = reference_for(comparison, jobs)
    entries = entries_for(jobs, reference)
    if reference is None:
        source: dict[str, Any] | None = None
    else:
        kind = "given" if reference.job is None else "review"
        source = {"source": kind, "job": str(reference.job.pk) if reference.job else None}
    return {
        "reference": source,
        "providers": [_row(entry, reference) for entry in entries],
        "agreement": agreement(entries) if reference is None else None,
    }
