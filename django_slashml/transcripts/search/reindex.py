"""Segments for jobs finished before search existed, or after a change of SEARCH_CONFIG.

Jobs are walked in primary-key order a batch at a time (keyset pagination, never OFFSET), each
batch loaded with only what segments need and indexed in its own transaction: memory stays
that of one batch whatever the number of jobs, and an interrupted run can simply start again.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import transaction

from django_slashml.models import JobStatus, TranscriptionJob
from django_slashml.transcripts.search.segments import index_job

SEGMENT_FIELDS = ("id", "status", "text", "corrected_text", "words", "audio_duration")


def completed_jobs() -> int:
    return TranscriptionJob.objects.filter(status=JobStatus.COMPLETED).count()


def reindex(batch_size: int = 200) -> Iterator[int]:
    """Rebuild every completed job's segments; yields the running count of jobs done after each batch."""
    done = 0
    last = None
    jobs = TranscriptionJob.objects.filter(status=JobStatus.COMPLETED).only(*SEGMENT_FIELDS).order_by("pk")
    while True:
        batch = list((jobs.filter(pk__gt=last) if last is not None else jobs)[:batch_size])
        if not batch:
            return
        with transaction.atomic():
            for job in batch:
                index_job(job)
        done += len(batch)
        last = batch[-1].pk
        yield done
