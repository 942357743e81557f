"""Audio uploads and transcription jobs.

A job row is its own outbox: it records what is due next (``next_poll_at``) and
who is working on it (the lease), so the database, not the broker, knows what
remains to be done. Status fields are changed only by :mod:`django_slashml.jobs.lifecycle`.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from django_slashml.audio.storage import audio_upload_to, get_audio_storage
from django_slashml.audio.urlcheck import MAX_AUDIO_URL_LENGTH
from django_slashml.remote.protocol import SERVICE_PROVIDER_LABELS

if TYPE_CHECKING:
    from django_slashml.transcripts.comparisons import ComparisonScores

__all__ = [
    "ACTIVE_STATUSES",
    "TERMINAL_STATUSES",
    "AudioUpload",
    "Comparison",
    "EventKind",
    "JobEvent",
    "JobStatus",
    "RedactedSpan",
    "ReviewState",
    "ServiceProvider",
    "TranscriptSegment",
    "TranscriptionJob",
    "TranscriptionJobQuerySet",
]

#: The providers as field choices (``ServiceProvider.ASSEMBLY == "assembly"``), built from
#: :data:`~django_slashml.remote.protocol.SERVICE_PROVIDER_LABELS`, the one list of them (marked for
#: translation there, translated here when shown).
#: (django-stubs type TextChoices' class syntax only, not Enum's functional API used here.)
ServiceProvider = models.TextChoices(  # type: ignore[call-overload]
    "ServiceProvider",
    [(value.upper(), (value, _(label))) for value, label in SERVICE_PROVIDER_LABELS.items()],
    module=__name__,
)


class JobStatus(models.TextChoices):
    PENDING = "PENDING", _("Pending")
    QUEUED = "QUEUED", _("Queued")
    IN_PROGRESS = "IN_PROGRESS", _("In progress")
    COMPLETED = "COMPLETED", _("Completed")
    ERROR = "ERROR", _("Error")
    CANCELLED = "CANCELLED", _("Cancelled")


class ReviewState(models.TextChoices):
    UNREVIEWED = "unreviewed", _("Unreviewed")
    APPROVED = "approved", _("Approved")
    NEEDS_CORRECTION = "needs_correction", _("Needs correction")


def choice_label(choices: type[models.TextChoices], value: str) -> str:
    """``value``'s label in the active language, or ``value`` itself if it is not one of ``choices``.

    What ``get_FOO_display()`` answers, without building a dict of every choice on each call:
    lists of jobs call it for every row.
    """
    try:
        return str(choices(value).label)
    except ValueError:
        return value


#: Statuses in which the pipeline still has work to do.
ACTIVE_STATUSES: tuple[str, ...] = (JobStatus.PENDING, JobStatus.QUEUED, JobStatus.IN_PROGRESS)
#: Statuses a job never leaves on its own.
TERMINAL_STATUSES: tuple[str, ...] = (JobStatus.COMPLETED, JobStatus.ERROR, JobStatus.CANCELLED)


class AudioUpload(models.Model):
    """An audio file kept in the configured storage, and SlashML's copy of it if any."""

    id = models.UUIDField(verbose_name=_("id"), primary_key=True, default=uuid.uuid4, editable=False)
    file = models.FileField(
        verbose_name=_("file"), storage=get_audio_storage, upload_to=audio_upload_to, max_length=500
    )
    original_name = models.CharField(verbose_name=_("original name"), max_length=255, blank=True)
    content_type = models.CharField(verbose_name=_("content type"), max_length=100, blank=True)
    size = models.BigIntegerField(verbose_name=_("size"), help_text=_("Bytes."))
    sha256 = models.CharField(verbose_name=_("sha256"), max_length=64, db_index=True)
    duration = models.FloatField(
        verbose_name=_("duration"), null=True, blank=True, help_text=_("Seconds, where the format allows reading it.")
    )
    remote_url = models.URLField(
        verbose_name=_("remote url"), max_length=1000, blank=True, help_text=_("SlashML's uploaded_url.")
    )
    remote_uploaded_at = models.DateTimeField(verbose_name=_("remote uploaded at"), null=True, blank=True)
    remote_expires_at = models.DateTimeField(verbose_name=_("remote expires at"), null=True, blank=True)
    # Comparisons: one job uploads the file while the others wait for its remote_url.
    remote_upload_claimed_until = models.DateTimeField(
        verbose_name=_("remote upload claimed until"), null=True, blank=True
    )
    purged_at = models.DateTimeField(
        verbose_name=_("purged at"),
        null=True,
        blank=True,
        help_text=_("When the retention policy deleted the file; row and transcripts remain."),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="slashml_uploads",
    )
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ("-created_at",)
        verbose_name = _("audio upload")
        verbose_name_plural = _("audio uploads")

    def __str__(self) -> str:
        return self.original_name or str(self.id)

    def remote_url_usable(self, *, at: datetime | None = None) -> bool:
        """Whether SlashML still holds our upload, with the configured margin to spare."""
        from django_slashml.conf import slashml_settings

        if not self.remote_url or self.remote_expires_at is None:
            return False
        margin = timedelta(seconds=slashml_settings.REMOTE_UPLOAD_TTL_MARGIN)
        return (at or timezone.now()) + margin < self.remote_expires_at


class TranscriptionJobQuerySet(models.QuerySet["TranscriptionJob"]):
    def active(self) -> TranscriptionJobQuerySet:
        return self.filter(status__in=ACTIVE_STATUSES)

    def due(self, *, at: datetime | None = None) -> TranscriptionJobQuerySet:
        """Active jobs whose next step is due and that no live worker holds."""
        now = at or timezone.now()
        return (
            self.active()
            .filter(next_poll_at__lte=now)
            .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
        )


class TranscriptionJob(models.Model):
    """One request to transcribe one piece of audio with one provider."""

    Status = JobStatus
    Review = ReviewState

    id = models.UUIDField(verbose_name=_("id"), primary_key=True, default=uuid.uuid4, editable=False)
    upload = models.ForeignKey(
        AudioUpload, verbose_name=_("upload"), null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    audio_url = models.URLField(
        verbose_name=_("audio url"),
        max_length=MAX_AUDIO_URL_LENGTH,
        blank=True,
        help_text=_("External audio URL, if no upload."),
    )
    service_provider = models.CharField(
        verbose_name=_("service provider"), max_length=20, choices=ServiceProvider.choices
    )
    status = models.CharField(
        verbose_name=_("status"), max_length=12, choices=JobStatus.choices, default=JobStatus.PENDING
    )
    remote_id = models.CharField(verbose_name=_("remote id"), max_length=255, blank=True, db_index=True)
    remote_status = models.CharField(
        verbose_name=_("remote status"), max_length=40, blank=True, help_text=_("Last status SlashML reported.")
    )
    text = models.TextField(verbose_name=_("text"), blank=True)
    confidence = models.FloatField(verbose_name=_("confidence"), null=True, blank=True)
    audio_duration = models.FloatField(verbose_name=_("audio duration"), null=True, blank=True, help_text=_("Seconds."))
    words = models.JSONField(
        verbose_name=_("words"), default=list, blank=True, help_text=_("[{text, start, end, confidence}], ms.")
    )
    error_message = models.TextField(verbose_name=_("error message"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="slashml_jobs",
    )
    metadata = models.JSONField(verbose_name=_("metadata"), default=dict, blank=True)

    # The same audio (by sha256) sent to the same provider shares one SlashML job
    # unless ``fresh``; ``reused_from`` is the job whose work this one took over.
    fresh = models.BooleanField(
        verbose_name=_("fresh"),
        default=False,
        help_text=_("Transcribe even if this provider already transcribed the same audio."),
    )
    #: The upload's sha256, copied when the job is created, so the reuse lookup finds the same
    #: audio with one index on this table instead of a join it cannot index.
    audio_sha256 = models.CharField(verbose_name=_("audio sha256"), max_length=64, blank=True, editable=False)
    reused_from = models.ForeignKey(
        "self",
        verbose_name=_("reused from"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reused_by",
        help_text=_("The earlier job whose SlashML transcript this one shares."),
    )

    comparison = models.ForeignKey(
        "Comparison",
        verbose_name=_("comparison"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
        help_text=_("The comparison of providers this job is one entry of."),
    )

    # Human review. ``text`` and ``words`` stay as SlashML returned them; a reviewer's
    # correction lives beside them, and exports prefer it.
    review_state = models.CharField(
        verbose_name=_("review state"), max_length=20, choices=ReviewState.choices, default=ReviewState.UNREVIEWED
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="slashml_reviewed_jobs",
    )
    reviewed_at = models.DateTimeField(verbose_name=_("reviewed at"), null=True, blank=True)
    corrected_text = models.TextField(
        verbose_name=_("corrected text"),
        blank=True,
        help_text=_("A reviewer's correction; the original stays in text."),
    )

    # Custom spelling and redaction (django_slashml.privacy), applied when the transcript completes.
    spelling = models.JSONField(
        verbose_name=_("spelling"),
        default=list,
        blank=True,
        help_text=_('This job\'s own spelling table: [{"from": ["slash ml"], "to": "SlashML"}].'),
    )
    unredacted = models.JSONField(
        verbose_name=_("unredacted transcript"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("SlashML's text and words before redaction; kept only if REDACTION_KEEP_ORIGINAL is set."),
    )
    redacted_audio = models.ForeignKey(
        AudioUpload,
        verbose_name=_("redacted audio"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # Meta.indexes: only the jobs that have a copy (a partial index where the database has them)
        help_text=_("A copy of the audio with a tone over each redacted span (where PyAV is installed)."),
    )

    # Pipeline bookkeeping.
    poll_count = models.PositiveIntegerField(verbose_name=_("poll count"), default=0)
    consecutive_failures = models.PositiveIntegerField(verbose_name=_("consecutive failures"), default=0)
    submit_attempts = models.PositiveIntegerField(verbose_name=_("submit attempts"), default=0)
    next_poll_at = models.DateTimeField(
        verbose_name=_("next poll at"), null=True, blank=True, help_text=_("When the next step is due.")
    )
    lease_expires_at = models.DateTimeField(verbose_name=_("lease expires at"), null=True, blank=True)
    lease_owner = models.CharField(verbose_name=_("lease owner"), max_length=64, blank=True)
    deadline_at = models.DateTimeField(verbose_name=_("deadline at"), null=True, blank=True)
    last_response = models.JSONField(
        verbose_name=_("last response"), null=True, blank=True, help_text=_("SlashML's last answer, key redacted.")
    )
    # What the poll schedule learns from (jobs/speed.py).
    running_after = models.FloatField(
        verbose_name=_("running after"),
        null=True,
        blank=True,
        help_text=_("Seconds from submit to the last poll that found it running."),
    )
    processing_rate = models.FloatField(
        verbose_name=_("processing rate"),
        null=True,
        blank=True,
        help_text=_("SlashML's seconds per audio second, observed."),
    )

    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)
    submitted_at = models.DateTimeField(verbose_name=_("submitted at"), null=True, blank=True)
    completed_at = models.DateTimeField(verbose_name=_("completed at"), null=True, blank=True)

    objects = TranscriptionJobQuerySet.as_manager()

    class Meta:
        ordering = ("-created_at",)
        verbose_name = _("transcription job")
        verbose_name_plural = _("transcription jobs")
        permissions = [("view_unredacted_transcript", _("Can see the unredacted transcript"))]
        indexes = [
            models.Index(
                fields=["next_poll_at"],
                name="slashml_job_due_idx",
                condition=Q(status__in=["PENDING", "QUEUED", "IN_PROGRESS"]),
            ),
            # Ascending: read backwards, each serves "newest first, then by id" as it stands, as
            # InnoDB's indexes end with the primary key in ascending order.
            models.Index(fields=["created_at"], name="slashml_job_created_at_idx"),
            models.Index(fields=["owner", "created_at"], name="slashml_job_owner_created_idx"),
            models.Index(fields=["status", "created_at"], name="slashml_job_status_created_idx"),
            models.Index(
                fields=["audio_sha256", "service_provider"], name="slashml_job_audio_idx", condition=~Q(audio_sha256="")
            ),
            models.Index(
                fields=["service_provider", "-completed_at"],
                name="slashml_job_rate_idx",
                condition=Q(processing_rate__isnull=False),
            ),
            # For SET_NULL when a copy's upload row is deleted (pruning).
            models.Index(
                fields=["redacted_audio"], name="slashml_job_redacted_idx", condition=Q(redacted_audio__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{choice_label(ServiceProvider, self.service_provider)} job {self.id} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def transcript_text(self) -> str:
        """The transcript to show and export: the reviewer's correction where there is one."""
        return self.corrected_text or self.text


class Comparison(models.Model):
    """One audio sent to several providers, to see which serves it best.

    Its jobs (``comparison.jobs``) share the one upload; the scores are computed when read
    (:mod:`django_slashml.transcripts.comparisons`), so a later review changes them.
    """

    id = models.UUIDField(verbose_name=_("id"), primary_key=True, default=uuid.uuid4, editable=False)
    upload = models.ForeignKey(
        AudioUpload,
        verbose_name=_("upload"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="comparisons",
    )
    audio_url = models.URLField(verbose_name=_("audio url"), max_length=MAX_AUDIO_URL_LENGTH, blank=True)
    reference_text = models.TextField(
        verbose_name=_("reference text"),
        blank=True,
        help_text=_("What was said, to score the providers against; else a reviewed transcript is used."),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="slashml_comparisons",
    )
    metadata = models.JSONField(verbose_name=_("metadata"), default=dict, blank=True)
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ("-created_at",)
        verbose_name = _("comparison")
        verbose_name_plural = _("comparisons")

    def __str__(self) -> str:
        return str(self.id)

    def scores(self) -> ComparisonScores:
        """Each provider's WER, CER and error counts, worked out now from the jobs and the reference.

        The reference is ``reference_text`` or, failing that, the most recently reviewed
        transcript; without either, ``agreement`` says how far the providers are from each
        other. ``scores()["aws"].wer``, ``scores().best()``: see docs/compare.md.
        """
        # The one upward import of this module (allowed in .importlinter): scoring is the
        # transcripts layer's, and a model method is where a Django developer looks for it.
        from django_slashml.transcripts.comparisons import score_comparison

        return score_comparison(self)


# -- the job event log --------------------------------------------------------------------


class EventKind(models.TextChoices):
    UPLOAD = "upload", _("Upload")
    SUBMIT = "submit", _("Submit")
    STATUS = "status", _("Status call")
    TRANSIENT_ERROR = "transient_error", _("Transient error")
    TRANSITION = "transition", _("Transition")
    COMPLETED = "completed", _("Completed")
    REVIEW = "review", _("Review")
    REUSE = "reuse", _("Reuse")
    REDISPATCH = "redispatch", _("Re-dispatch")


def current_worker() -> str:
    """``host:pid`` of the process writing the event."""
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


class JobEvent(models.Model):
    """One step in a job's story: an HTTP call to SlashML, a back-off, a transition, a review.

    Written by :mod:`django_slashml.jobs.events` in the transaction of the change it explains;
    SlashML's answer is stored redacted and cut to ``SLASHML['EVENT_ANSWER_MAX_CHARS']``.
    """

    job = models.ForeignKey(TranscriptionJob, verbose_name=_("job"), on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(verbose_name=_("kind"), max_length=20, choices=EventKind.choices)
    at = models.DateTimeField(verbose_name=_("at"), default=timezone.now)
    attempt = models.PositiveIntegerField(verbose_name=_("attempt"), default=1)
    worker = models.CharField(verbose_name=_("worker"), max_length=100, default=current_worker, blank=True)
    http_method = models.CharField(verbose_name=_("HTTP method"), max_length=8, blank=True)
    endpoint = models.CharField(verbose_name=_("endpoint"), max_length=20, blank=True)
    http_status = models.PositiveSmallIntegerField(verbose_name=_("HTTP status"), null=True, blank=True)
    remote_status = models.CharField(verbose_name=_("remote status"), max_length=40, blank=True)
    duration_ms = models.FloatField(verbose_name=_("duration (ms)"), null=True, blank=True)
    backoff_seconds = models.FloatField(verbose_name=_("back-off (s)"), null=True, blank=True)
    old_status = models.CharField(verbose_name=_("old status"), max_length=12, blank=True)
    new_status = models.CharField(verbose_name=_("new status"), max_length=12, blank=True)
    detail = models.TextField(verbose_name=_("detail"), blank=True)
    answer = models.JSONField(verbose_name=_("answer"), null=True, blank=True, help_text=_("Redacted and cut."))

    class Meta:
        ordering = ("at", "pk")
        verbose_name = _("job event")
        verbose_name_plural = _("job events")
        indexes = [
            models.Index(fields=["job", "at"], name="slashml_event_job_at_idx"),
            models.Index(fields=["at"], name="slashml_event_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of job {self.job_id} at {self.at:%Y-%m-%d %H:%M:%S}"

    @property
    def is_error(self) -> bool:
        """A failed call (no answer, or HTTP 4xx/5xx), a back-off, or the move into ERROR."""
        if self.kind in (EventKind.UPLOAD, EventKind.SUBMIT, EventKind.STATUS):
            return self.http_status is None or self.http_status >= 400
        return self.kind == EventKind.TRANSIENT_ERROR or self.new_status == JobStatus.ERROR


# -- full-text search ----------------------------------------------------------------------


if TYPE_CHECKING:
    from django.contrib.postgres.search import SearchVectorField

    _SearchVectorBase = SearchVectorField[Any, Any]
else:
    try:
        from django.contrib.postgres.search import SearchVectorField as _SearchVectorBase
    except ImportError:
        # From Django 6.0 that module needs a PostgreSQL driver (psycopg). Without one the
        # database is not PostgreSQL, and the column is plain text that nothing searches.
        _SearchVectorBase = models.Field


class SearchVectorColumn(_SearchVectorBase):
    """PostgreSQL's ``tsvector``; elsewhere a text column left empty, so MySQL and others can migrate."""

    def db_type(self, connection: BaseDatabaseWrapper) -> str:
        return "tsvector" if connection.vendor == "postgresql" else "text"

    def _check_postgres_installed(self, *args: Any) -> list[Any]:
        # Django 6's postgres.E005 would ask every project, SQLite ones too, for
        # django.contrib.postgres: the column and its lookups need nothing that app registers.
        return []


class TranscriptSegment(models.Model):
    """A phrase of a finished transcript with its time span, the unit that search finds.

    Rebuilt from the reviewed text whenever a job completes or is reviewed
    (:mod:`django_slashml.transcripts.search.segments`). ``search_vector`` is filled and
    GIN-indexed on PostgreSQL only; SQLite keeps an FTS5 table in step (migration 0007).
    """

    job = models.ForeignKey(TranscriptionJob, verbose_name=_("job"), on_delete=models.CASCADE, related_name="segments")
    position = models.PositiveIntegerField(verbose_name=_("position"))
    start_ms = models.IntegerField(verbose_name=_("start"), help_text=_("Milliseconds."))
    end_ms = models.IntegerField(verbose_name=_("end"), help_text=_("Milliseconds."))
    text = models.TextField(verbose_name=_("text"))
    word_starts = models.JSONField(
        verbose_name=_("word starts"), default=list, help_text=_("Where each word of text starts, in ms.")
    )
    search_vector = SearchVectorColumn(null=True, editable=False)

    # Not columns: set by search on the rows it shows (transcripts.search.annotate_snippets).
    snippet: str
    at_ms: int

    class Meta:
        ordering = ("job", "position")
        verbose_name = _("transcript segment")
        verbose_name_plural = _("transcript segments")
        constraints = [models.UniqueConstraint(fields=["job", "position"], name="slashml_segment_position_uniq")]

    def __str__(self) -> str:
        return f"{self.job_id} @ {self.start_ms} ms"


class RedactedSpan(models.Model):
    """Where personal data was redacted from a job's transcript: its kind and time span."""

    job = models.ForeignKey(
        TranscriptionJob, verbose_name=_("job"), on_delete=models.CASCADE, related_name="redacted_spans"
    )
    kind = models.CharField(verbose_name=_("kind"), max_length=32)
    start_ms = models.IntegerField(verbose_name=_("start"), null=True, blank=True, help_text=_("Milliseconds."))
    end_ms = models.IntegerField(verbose_name=_("end"), null=True, blank=True, help_text=_("Milliseconds."))

    class Meta:
        ordering = ("job", "start_ms", "id")
        verbose_name = _("redacted span")
        verbose_name_plural = _("redacted spans")

    def __str__(self) -> str:
        return f"{self.kind} {self.start_ms}-{self.end_ms} ms"
