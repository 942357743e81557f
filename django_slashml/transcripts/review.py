"""Human review of finished transcripts: approve, ask for a correction, correct.

Review is not part of the job's state machine (a reviewed job stays ``COMPLETED``), but it
follows the same rule: one conditional UPDATE of its own fields, so a reviewer saving the
admin form can never overwrite what a worker wrote to the job meanwhile.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from django_slashml import signals
from django_slashml.conf import slashml_settings
from django_slashml.exceptions import InvalidTransitionError
from django_slashml.models import EventKind, JobEvent, JobStatus, ReviewState, TranscriptionJob
from django_slashml.privacy import rules
from django_slashml.privacy.transcript import clean_text

if TYPE_CHECKING:
    from django.contrib.auth.models import _AnyUser


def _normalised(text: str) -> str:
    return " ".join(text.split())


def review(
    job: TranscriptionJob,
    *,
    reviewer: _AnyUser | None,
    state: str,
    corrected_text: str | None = None,
) -> TranscriptionJob:
    """Record ``reviewer``'s verdict on a completed job; returns the refreshed job.

    ``corrected_text=None`` keeps any earlier correction; an empty string, or the
    original text again, removes it. A correction is redacted like the transcript (a reviewer
    may type back what was redacted) but never respelled: the reviewer's spelling stands.
    """
    if state not in ReviewState.values:
        raise ValueError(f"Unknown review state {state!r}; use one of: {', '.join(ReviewState.values)}.")
    fields: dict[str, Any] = {
        "review_state": state,
        "reviewed_by": reviewer if getattr(reviewer, "pk", None) else None,
        "reviewed_at": timezone.now(),
    }
    if corrected_text is not None:
        redaction = rules.for_job(job.spelling or ()).without_spelling()
        corrected = clean_text(corrected_text.strip(), redaction)[0]
        fields["corrected_text"] = "" if _normalised(corrected) == _normalised(job.text) else corrected
    with transaction.atomic():
        updated = TranscriptionJob.objects.filter(pk=job.pk, status=JobStatus.COMPLETED).update(**fields)
        job.refresh_from_db()
        if not updated:
            raise InvalidTransitionError(
                gettext("Job %(job)s is %(status)s; only COMPLETED transcripts can be reviewed.")
                % {"job": job.pk, "status": job.status}
            )
        if slashml_settings.EVENT_LOG:  # the event log (jobs.events), written with the review
            JobEvent.objects.create(job=job, kind=EventKind.REVIEW, detail=state)
        signals.transcription_reviewed.send_in_transaction(
            sender=TranscriptionJob, job=job, reviewer=reviewer, review_state=state
        )
    return job
