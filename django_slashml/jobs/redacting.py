"""What a job stores of SlashML's transcript: respelled and redacted by the job's own rules.

The one place a transcript from SlashML becomes the job's ``text`` and ``words``
(:func:`transcript_fields`), so nothing unredacted reaches the row, its events, the search
segments, exports, the API or the completion signal's receivers. The unredacted transcript is
kept only when ``REDACTION_KEEP_ORIGINAL`` says so, in a field only permitted staff see.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from typing import Any

from django.db import router, transaction

from django_slashml.audio.tones import tone_over
from django_slashml.conf import slashml_settings
from django_slashml.jobs import retention
from django_slashml.jobs.uploads import save_upload
from django_slashml.models import JobStatus, RedactedSpan, TranscriptionJob
from django_slashml.privacy import rules as privacy_rules
from django_slashml.privacy.transcript import Span, clean, clean_text
from django_slashml.remote.responses import TRANSCRIPT_KEYS


def rules_for(job: TranscriptionJob) -> privacy_rules.Rules:
    """The project's rules with ``job``'s own spelling table."""
    return privacy_rules.for_job(job.spelling or ())


def transcript_fields(
    job: TranscriptionJob, text: str, words: Sequence[dict[str, Any]]
) -> tuple[dict[str, Any], list[Span]]:
    """The fields ``job`` stores for SlashML's ``text`` and ``words``, and the spans redacted from them."""
    rules = rules_for(job)
    done = clean(text, words, rules)
    fields: dict[str, Any] = {"text": done.text, "words": done.words}
    keep = slashml_settings.REDACTION_KEEP_ORIGINAL and done.spans
    fields["unredacted"] = {"text": text, "words": list(words)} if keep else None
    return fields, done.spans


def copied_fields(job: TranscriptionJob, source: TranscriptionJob) -> tuple[dict[str, Any], list[Span]]:
    """What ``job`` stores of the transcript of ``source`` (same audio and provider), by ``job``'s rules.

    From the unredacted transcript where it was kept; else from what ``source`` stored, which
    :func:`can_copy` allows only when both jobs have the same spelling table (the project's
    rules are the same for both), and which is redacted again by today's rules.
    """
    original = source.unredacted
    if isinstance(original, dict):
        return transcript_fields(job, str(original.get("text", "")), original.get("words") or [])
    rules = rules_for(job).without_spelling()
    done = clean(source.text, source.words or [], rules)
    kept = [Span(s.kind, s.start_ms, s.end_ms) for s in source.redacted_spans.all()]
    return {"text": done.text, "words": done.words, "unredacted": None}, kept + done.spans


def can_copy(job: TranscriptionJob, source: TranscriptionJob) -> bool:
    """Whether ``job`` may copy the finished transcript of ``source`` rather than fetch SlashML's again."""
    return isinstance(source.unredacted, dict) or (job.spelling or []) == (source.spelling or [])


def add_spans(job: TranscriptionJob, spans: Sequence[Span]) -> None:
    """Store ``spans`` as ``job``'s (in the transaction of the job's write; a retry deletes the old ones)."""
    RedactedSpan.objects.bulk_create(
        RedactedSpan(job_id=job.pk, kind=s.kind, start_ms=s.start_ms, end_ms=s.end_ms) for s in spans
    )


def answer_as_stored(job: TranscriptionJob, answer: Any) -> Any:
    """SlashML's answer as an event keeps it: a transcript in it respelled and redacted like the job's."""
    if not isinstance(answer, dict) or not any(key in answer for key in TRANSCRIPT_KEYS):
        return answer
    rules = rules_for(job)
    if not (rules.redacts or rules.spelling):
        return answer
    stored = dict(answer)
    if isinstance(stored.get("text"), str):
        stored["text"] = clean_text(stored["text"], rules)[0]
    if isinstance(stored.get("words"), list):
        words = [w for w in stored["words"] if isinstance(w, dict)]
        stored["words"] = clean("", words, rules).words
    data = stored.get("transcription_data")
    if isinstance(data, dict) and isinstance(data.get("transcription"), str):
        stored["transcription_data"] = {**data, "transcription": clean_text(data["transcription"], rules)[0]}
    return stored


def apply_current_rules(job: TranscriptionJob) -> bool:
    """Clean a finished ``job``'s stored transcript by today's rules; whether anything changed.

    From the unredacted transcript where it was kept, else from the stored one (spelling is
    applied again to it, redaction is idempotent). The correction is redacted, not respelled.
    """
    if isinstance(job.unredacted, dict):
        fields, spans = transcript_fields(job, str(job.unredacted.get("text", "")), job.unredacted.get("words") or [])
        if fields["unredacted"] is None:  # nothing to redact today: what was kept is the transcript
            fields["unredacted"] = job.unredacted
    else:
        fields, found = transcript_fields(job, job.text, job.words or [])
        fields["unredacted"] = None
        if not found and all(getattr(job, name) == value for name, value in fields.items()) and not job.corrected_text:
            return False
        spans = [Span(s.kind, s.start_ms, s.end_ms) for s in job.redacted_spans.all()] + found
    if job.corrected_text:
        fields["corrected_text"] = clean_text(job.corrected_text, rules_for(job).without_spelling())[0]
    if all(getattr(job, name) == value for name, value in fields.items()) and _same_spans(job, spans):
        return False
    # Only over the transcript and review read here: a review saved or a retry completed meanwhile wins.
    as_read = TranscriptionJob.objects.filter(
        pk=job.pk, status=JobStatus.COMPLETED, completed_at=job.completed_at, reviewed_at=job.reviewed_at
    )
    with transaction.atomic(using=router.db_for_write(TranscriptionJob)):
        if not as_read.update(**fields):
            return False
        RedactedSpan.objects.filter(job_id=job.pk).delete()
        add_spans(job, spans)
    for name, value in fields.items():
        setattr(job, name, value)
    return True


def _same_spans(job: TranscriptionJob, spans: Sequence[Span]) -> bool:
    stored = [(s.kind, s.start_ms, s.end_ms) for s in job.redacted_spans.order_by("start_ms", "id")]
    return stored == sorted(((s.kind, s.start_ms, s.end_ms) for s in spans), key=lambda s: (s[1] is None, s[1] or 0))


logger = logging.getLogger("django_slashml.jobs.redacting")


def build_redacted_audio(job: TranscriptionJob) -> bool:
    """Store a copy of ``job``'s uploaded audio with a tone over each timed span; whether one was made.

    Run by the worker once the job has completed, outside its transaction: decoding takes as long
    as the audio does. Nothing without spans, an upload, or PyAV; a failure is logged, and the
    job keeps its transcript (its audio player then plays the original to permitted staff only).
    """
    if not slashml_settings.REDACT or job.upload_id is None:  # no statement at all for most jobs
        return False
    spans = [
        (s.start_ms, s.end_ms) for s in job.redacted_spans.all() if s.start_ms is not None and s.end_ms is not None
    ]
    upload = job.upload
    if not spans or upload is None or not upload.file.name:
        return False
    try:
        with upload.file.storage.open(upload.file.name, "rb") as source, tempfile.TemporaryFile() as copy:
            tone_over(source, copy, spans)
            copy.seek(0)
            toned = save_upload(copy, name=f"redacted-{job.pk}.wav", owner=job.owner)
    except ImportError:
        return False
    except Exception:
        logger.warning("Job %s: could not build the redacted audio", job.pk, exc_info=True)
        return False
    TranscriptionJob.objects.filter(pk=job.pk).update(redacted_audio=toned)
    job.redacted_audio = toned
    if slashml_settings.REDACTION_DELETE_ORIGINAL_AUDIO and retention.purge_now(upload):
        logger.info("Job %s: deleted the original audio of upload %s; its toned copy is kept", job.pk, upload.pk)
    return True
