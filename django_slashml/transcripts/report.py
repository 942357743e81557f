"""The provider report: which provider serves this project's audio best, from its own reviewed jobs.

Mean WER is over every finished job that has a reference: its own approved or corrected
transcript, or its comparison's reference (given text or a reviewed sibling). Time to
transcript (submit to COMPLETED; jobs that reused another's transcript left out, they took
no time), minutes transcribed and failure rate (ERROR among COMPLETED and ERROR) are over all
of the provider's finished jobs, summed by the database. Two queries whatever the number of
providers or jobs: one of aggregates, one for the transcripts that can be scored (only those
load their words).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from statistics import fmean

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum

from django_slashml.models import Comparison, JobStatus, ReviewState, TranscriptionJob
from django_slashml.transcripts.comparisons import (
    SCORING_FIELDS,
    Reference,
    entries_for,
    is_reviewed_transcript,
    reference_for,
)
from django_slashml.transcripts.normalise import normalise_text

__all__ = ["ProviderRow", "provider_report"]


@dataclass
class ProviderRow:
    provider: str
    finished: int = 0
    failed: int = 0
    minutes: float = 0.0
    seconds_to_transcript: float | None = None  # the mean, from the database
    wers: list[float] = field(default_factory=list)

    @property
    def mean_wer(self) -> float | None:
        return fmean(self.wers) if self.wers else None

    @property
    def scored(self) -> int:
        return len(self.wers)

    @property
    def mean_seconds_to_transcript(self) -> float | None:
        return self.seconds_to_transcript

    @property
    def failure_rate(self) -> float | None:
        return self.failed / self.finished if self.finished else None


def _scored_jobs(jobs: QuerySet[TranscriptionJob]) -> QuerySet[TranscriptionJob]:
    """Finished jobs that have a reference: reviewed themselves, or in a comparison that has one."""
    reviewed = Q(review_state=ReviewState.APPROVED) | ~Q(corrected_text="")
    reviewed_comparisons = jobs.filter(reviewed, status=JobStatus.COMPLETED, comparison__isnull=False).values(
        "comparison_id"
    )
    in_scorable_comparison = Q(comparison__isnull=False) & (
        ~Q(comparison__reference_text="") | Q(comparison_id__in=reviewed_comparisons)
    )
    return (
        jobs.filter(reviewed | in_scorable_comparison, status=JobStatus.COMPLETED)
        .select_related("comparison")
        .only(*SCORING_FIELDS, "comparison__reference_text", "comparison__id")
    )


def provider_report(jobs: QuerySet[TranscriptionJob]) -> list[ProviderRow]:
    """One row per provider that has finished jobs, best (lowest mean WER) first."""
    rows: dict[str, ProviderRow] = {}
    done = Q(status__in=[JobStatus.COMPLETED, JobStatus.ERROR])
    timed = Q(
        status=JobStatus.COMPLETED, submitted_at__isnull=False, completed_at__isnull=False, reused_from__isnull=True
    )
    took = ExpressionWrapper(F("completed_at") - F("submitted_at"), output_field=DurationField())
    counts = (
        jobs.filter(done)
        .values("service_provider")
        .annotate(
            finished=Count("pk"),
            failed=Count("pk", filter=Q(status=JobStatus.ERROR)),
            seconds=Sum("audio_duration", filter=Q(status=JobStatus.COMPLETED)),
            took=Avg(took, filter=timed),
        )
        .order_by()
    )
    for count in counts:
        provider = count["service_provider"]
        rows[provider] = ProviderRow(
            provider,
            finished=count["finished"],
            failed=count["failed"],
            minutes=(count["seconds"] or 0.0) / 60,
            seconds_to_transcript=count["took"].total_seconds() if count["took"] is not None else None,
        )
    groups: dict[object, list[TranscriptionJob]] = defaultdict(list)
    for job in _scored_jobs(jobs):
        groups[job.comparison_id or job.pk].append(job)
    for group in groups.values():
        comparison: Comparison | None = group[0].comparison
        if comparison is not None:
            reference = reference_for(comparison, group)
        elif is_reviewed_transcript(group[0]):
            reference = Reference(normalise_text(group[0].transcript_text), group[0])
        else:
            reference = None
        for entry in entries_for(group, reference):
            if entry.score is not None:
                rows.setdefault(entry.job.service_provider, ProviderRow(entry.job.service_provider)).wers.append(
                    entry.score.wer
                )
    return sorted(rows.values(), key=lambda r: (r.mean_wer is None, r.mean_wer or 0.0, r.provider))
