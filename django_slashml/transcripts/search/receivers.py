"""Segments follow the transcript: built when a job completes or is reviewed, dropped when it is retried.

The signals are sent inside the transaction of the change, so the segments commit with it; a
failure here is logged by the signal and never undoes the job's transition.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from django_slashml import signals
from django_slashml.models import JobStatus, TranscriptionJob
from django_slashml.transcripts.search.segments import drop_job, index_job


@receiver(signals.transcription_completed, sender=TranscriptionJob, dispatch_uid="slashml_search_completed")
@receiver(signals.transcription_reviewed, sender=TranscriptionJob, dispatch_uid="slashml_search_reviewed")
def reindex(job: TranscriptionJob, **kwargs: Any) -> None:
    index_job(job)


@receiver(signals.transcription_status_changed, sender=TranscriptionJob, dispatch_uid="slashml_search_left")
@signals.only_when(lambda old_status, **kwargs: old_status == JobStatus.COMPLETED)
def drop_when_leaving_completed(job: TranscriptionJob, old_status: str, **kwargs: Any) -> None:
    if old_status == JobStatus.COMPLETED:  # also when sent by plain send(), which knows no only_when
        drop_job(job)
