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
from dataclasses import dataclass, field

from django_slashml.models import Comparison, JobStatus, ReviewState, TranscriptionJob
from django_slashml.transcripts import scoring
from django_slashml.transcripts.normalise import normalise_text, normalise_timed_words

__all__ = [
    "Agreement",
    "ComparisonScores",
    "DisagreementSpan",
    "Entry",
    "ProviderScore",
    "Reference",
    "entries_for",
    "reference_for",
    "score_comparison",
]

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


@dataclass(frozen=True)
class ProviderScore:
    """One provider's row of a comparison: its job and how far its transcript is from the reference.

    The scores are None until the job is COMPLETED and while there is no reference.
    """

    service_provider: str
    job: TranscriptionJob
    status: str
    wer: float | None
    cer: float | None
    substitutions: int | None
    deletions: int | None
    insertions: int | None
    words: int  # normalised words in the transcript, as scored
    audio_seconds: float | None
    seconds_to_transcript: float | None
    is_reference: bool  # this job's reviewed transcript is the reference


@dataclass(frozen=True)
class DisagreementSpan:
    start_ms: int | None  # when the pivot provider's words start, if they have timings
    readings: dict[str, str]  # provider -> what it heard there


@dataclass(frozen=True)
class Agreement:
    """Without a reference: how far the providers are from each other, and where they differ."""

    pairwise_wer: dict[str, dict[str, float]]
    pivot: str  # the provider closest to all the others
    disagreements: list[DisagreementSpan]


@dataclass(frozen=True)
class ComparisonScores:
    """What ``Comparison.scores()`` returns: the reference used, a row per provider, agreement.

    ``reference_source`` is ``"given"`` (the comparison's reference text), ``"review"`` (a
    reviewed transcript, ``reference_job``) or None (no reference yet: ``agreement`` instead).
    """

    reference_source: str | None
    reference_job: TranscriptionJob | None
    providers: list[ProviderScore]
    agreement: Agreement | None
    #: The normalised words each row was scored on, for pages that align them.
    entries: list[Entry] = field(repr=False, compare=False)
    reference_words: list[str] | None = field(repr=False, compare=False)

    def __getitem__(self, service_provider: str) -> ProviderScore:
        for row in self.providers:
            if row.service_provider == service_provider:
                return row
        raise KeyError(service_provider)

    def best(self) -> ProviderScore | None:
        """The scored provider with the lowest WER (None until one is scored)."""
        scored = [row for row in self.providers if row.wer is not None]
        return min(scored, key=lambda row: row.wer or 0.0) if scored else None


def _provider_score(entry: Entry, reference: Reference | None) -> ProviderScore:
    s = entry.score
    job = entry.job
    return ProviderScore(
        service_provider=job.service_provider,
        job=job,
        status=job.status,
        wer=s.wer if s else None,
        cer=s.cer if s else None,
        substitutions=s.substitutions if s else None,
        deletions=s.deletions if s else None,
        insertions=s.insertions if s else None,
        words=len(entry.words),
        audio_seconds=job.audio_duration,
        seconds_to_transcript=entry.seconds_to_transcript,
        is_reference=reference is not None and reference.job is not None and reference.job.pk == job.pk,
    )


def _start_ms(entry: Entry, index: int) -> int | None:
    if index >= len(entry.sources) or entry.sources[index] < 0:
        return None
    start = entry.job.words[entry.sources[index]].get("start")
    return int(start) if isinstance(start, (int, float)) else None


def agreement(entries: Sequence[Entry]) -> Agreement | None:
    """Pairwise WER between the finished transcripts and where they disagree; None below two."""
    finished = {e.job.service_provider: e for e in entries if e.job.status == JobStatus.COMPLETED}
    if len(finished) < 2:
        return None
    words = {name: e.words for name, e in finished.items()}
    matrix = scoring.pairwise_wer(words)
    pivot = scoring.pivot(words, matrix)
    spans = scoring.disagreements(words, pivot)
    return Agreement(
        pairwise_wer=matrix,
        pivot=pivot,
        disagreements=[DisagreementSpan(_start_ms(finished[pivot], span.start), span.readings) for span in spans],
    )


def score_comparison(comparison: Comparison, jobs: Sequence[TranscriptionJob] | None = None) -> ComparisonScores:
    """The comparison's scores as of now (``Comparison.scores()``); ``jobs`` if already loaded."""
    jobs = comparison_jobs(comparison) if jobs is None else jobs
    reference = reference_for(comparison, jobs)
    entries = entries_for(jobs, reference)
    source = None if reference is None else "given" if reference.job is None else "review"
    return ComparisonScores(
        reference_source=source,
        reference_job=reference.job if reference else None,
        providers=[_provider_score(entry, reference) for entry in entries],
        agreement=agreement(entries) if reference is None else None,
        entries=entries,
        reference_words=reference.words if reference else None,
    )
