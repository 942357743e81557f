"""The provider report: which provider serves this project's audio best, from its own reviewed jobs.

Mean WER is over every finished job that has a reference: its own approved or corrected
transcript, or its comparison's reference (given text or a reviewed sibling). Time to
transcript (submit to COMPLETED), minutes transcribed and failure rate (ERROR among
COMPLETED and ERROR) are over all of the provider's finished jobs. Two queries for the
counts and times, one for the scored transcripts, whatever the number of providers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from statistics import fmean

from django.db.models import Count, Q, QuerySet, Sum

from django_slashml.models import Comparison, JobStatus, ReviewState, TranscriptionJob
from django_slashml.transcripts.comparisons import (
    JOB_FIELDS,
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
    wers: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)

    @property
    def mean_wer(self) -> float | None:
        return fmean(self.wers) if self.wers else None

    @property
    def scored(self) -> int:
        return len(self.wers)

    @property
    def mean_seconds_to_transcript(self) -> float | None:
        return fmean(self.times) if self.times else None

    @property
    def failure_rate(self) -> float | None:
        return self.failed / self.finished if self.finished else None


def _scored_jobs(jobs: QuerySet[TranscriptionJob]) -> QuerySet[TranscriptionJob]:
    has_reference = Q(review_state=ReviewState.APPROVED) | ~Q(corrected_text="") | Q(comparison__isnull=False)
    return (
        jobs.filter(has_reference, status=JobStatus.COMPLETED)
        .select_related("comparison")
        .only(*JOB_FIELDS, "comparison__reference_text", "comparison__id")
    )


def provider_report(jobs: QuerySet[TranscriptionJob]) -> list[ProviderRow]:
    """One row per provider that has finished jobs, best (lowest mean WER) first."""
    rows: dict[str, ProviderRow] = {}
    done = Q(status__in=[JobStatus.COMPLETED, JobStatus.ERROR])
    counts = (
        jobs.filter(done)
        .values("service_provider")
        .annotate(
            finished=Count("pk"),
            failed=Count("pk", filter=Q(status=JobStatus.ERROR)),
            seconds=Sum("audio_duration", filter=Q(status=JobStatus.COMPLETED)),
        )
        .order_by()
    )
    for count in counts:
        provider = count["service_provider"]
        rows[provider] = ProviderRow(
            provider, finished=count["finished"], failed=count["failed"], minutes=(count["seconds"] or 0.0) / 60
        )
    timings = jobs.filter(status=JobStatus.COMPLETED, submitted_at__isnull=False, completed_at__isnull=False)
    for provider, submitted, completed in timings.values_list("service_provider", "submitted_at", "completed_at"):
        if submitted and completed:  # filtered above; the check is for the type checker
            rows.setdefault(provider, ProviderRow(provider)).times.append((completed - submitted).total_seconds())
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
