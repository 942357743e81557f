"""``transcribe()``: the one entry point that turns audio into a scheduled job."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeAlias

from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from django_slashml.audio.urlcheck import URLProblem, check_url
from django_slashml.conf import slashml_settings
from django_slashml.exceptions import (
    ConfigurationError,
    InvalidAudioError,
    InvalidProviderError,
    InvalidTransitionError,
)
from django_slashml.jobs import retention
from django_slashml.jobs.dispatch import dispatch_on_commit
from django_slashml.jobs.lifecycle import LEASE_CLEARED, transition
from django_slashml.jobs.metadata import check_metadata_argument
from django_slashml.jobs.uploads import save_upload
from django_slashml.models import (
    ACTIVE_STATUSES,
    TERMINAL_STATUSES,
    AudioUpload,
    JobStatus,
    RedactedSpan,
    ReviewState,
    TranscriptionJob,
)
from django_slashml.privacy.rules import parse_job_spelling
from django_slashml.remote.protocol import no_api_key_message, provider_problem

if TYPE_CHECKING:
    # The project's AUTH_USER_MODEL, as django-stubs resolve it (AbstractBaseUser without the plugin).
    from django.contrib.auth.models import _User

__all__ = [
    "AudioSource",
    "cancel",
    "ensure_configured",
    "poll_now",
    "retry",
    "transcribe",
    "validate_audio_url",
    "validate_provider",
]

#: What :func:`transcribe` accepts: an upload, a Django file or open binary file, a path or a URL.
AudioSource: TypeAlias = "AudioUpload | File[bytes] | IO[bytes] | str | os.PathLike[str]"


def validate_provider(service_provider: str | None) -> str:
    """``service_provider``, or the default if it is empty; :class:`InvalidProviderError` if unknown."""
    provider = service_provider or slashml_settings.DEFAULT_SERVICE_PROVIDER
    problem = provider_problem(provider, translate=_)
    if problem:
        raise InvalidProviderError(problem)
    return provider


def validate_audio_url(url: str) -> str:
    """The URL to submit for a caller's ``url`` (re-serialised), or :class:`InvalidAudioError`."""
    try:
        return check_url(url, allow_private=bool(slashml_settings.ALLOW_PRIVATE_AUDIO_URLS))
    except URLProblem as exc:
        raise InvalidAudioError(
            _("Cannot transcribe %(url)s: %(reason)s.") % {"url": repr(url), "reason": exc}
        ) from None


def ensure_configured() -> None:
    if not slashml_settings.API_KEY:
        raise ConfigurationError(no_api_key_message(_))


#: A scheme and "://" after what URL parsers strip first (C0 controls and spaces).
_URL_START = re.compile(r"^[\x00-\x20]*[A-Za-z][A-Za-z0-9+.-]*://")


def _looks_like_url(value: str) -> bool:
    """URL or path, decided once: whatever parses as a URL is checked as one, never opened as a file."""
    return bool(_URL_START.match(value))


def _upload_from_path(path: Path, owner: _User | None) -> AudioUpload:
    if not path.exists():
        raise InvalidAudioError(_("No file at %(path)s; check the path.") % {"path": repr(str(path))})
    if not path.is_file():
        raise InvalidAudioError(_("%(path)s is not a file.") % {"path": repr(str(path))})
    try:
        with path.open("rb") as fileobj:
            return save_upload(fileobj, name=path.name, owner=owner)
    except PermissionError:
        raise InvalidAudioError(_("%(path)s cannot be read: permission denied.") % {"path": repr(str(path))}) from None


def store_audio(audio: str | os.PathLike[str] | IO[bytes], owner: _User | None) -> AudioUpload:
    """An AudioUpload from a local path, or from an open file named after its ``name``."""
    if isinstance(audio, (str, os.PathLike)):
        return _upload_from_path(Path(audio), owner)
    name = os.path.basename(str(getattr(audio, "name", "") or "audio"))
    return save_upload(audio, name=name, owner=owner)


def transcribe(
    audio: AudioSource,
    *,
    service_provider: str | None = None,
    owner: _User | None = None,
    metadata: dict[str, Any] | None = None,
    fresh: bool = False,
    spelling: list[dict[str, Any]] | None = None,
) -> TranscriptionJob:
    """Create a transcription job and schedule it once the current transaction commits.

    ``audio`` may be an :class:`AudioUpload`, a Django ``File``/``UploadedFile`` or
    open binary file, a filesystem path, or an ``http(s)`` URL. Raises
    :class:`InvalidAudioError`, :class:`InvalidProviderError`, :class:`InvalidMetadataError` or
    :class:`ConfigurationError` before anything is saved.

    Always returns a new job of the caller's (owner, metadata, signals). If the same
    audio (by sha256) was already sent to the same provider, that job's SlashML work
    is shared instead of paid for again: a finished transcript is copied into the new
    job, a running remote job is followed (``job.reused_from`` names the earlier
    job). ``fresh=True`` always sends the audio to SlashML. Failed or cancelled jobs
    are never reused; URLs are never deduplicated. See :mod:`django_slashml.jobs.reuse`.

    ``spelling`` is this job's own table, applied before the project's
    (``[{"from": ["slash ml"], "to": "SlashML"}]``); :class:`InvalidSpellingError` if it is malformed
    or larger than ``SPELLING_MAX_ENTRIES`` / ``SPELLING_MAX_CHARS`` allow.
    """
    provider = validate_provider(service_provider)
    ensure_configured()
    check_metadata_argument(metadata)
    own_spelling = parse_job_spelling(spelling)
    upload: AudioUpload | None = None
    audio_url = ""
    path: Path | None = None
    fileobj: IO[bytes] | None = None
    if isinstance(audio, AudioUpload):
        if audio._state.adding:
            raise InvalidAudioError(_("The AudioUpload has not been saved; save it (or pass the file) first."))
        if audio.purged_at is not None:
            raise InvalidAudioError(
                _(
                    "The audio of upload %(upload)s was deleted on %(date)s by the retention policy "
                    "(SLASHML['AUDIO_RETENTION_DAYS']); pass the file again."
                )
                % {"upload": audio.pk, "date": f"{audio.purged_at:%Y-%m-%d}"}
            )
        upload = audio
    elif isinstance(audio, str) and _looks_like_url(audio):
        audio_url = validate_audio_url(audio)
    elif isinstance(audio, (str, os.PathLike)):
        path = Path(audio)
    elif not hasattr(audio, "read"):
        raise InvalidAudioError(
            _("Cannot transcribe a %(type)s; pass a file, a path, an http(s) URL or an AudioUpload.")
            % {"type": type(audio).__name__}
        )
    else:
        fileobj = audio
    now = timezone.now()
    created_upload: AudioUpload | None = None
    try:
        with transaction.atomic():
            local = path if path is not None else fileobj
            if upload is None and not audio_url and local is not None:
                upload = created_upload = store_audio(local, owner)
            job = TranscriptionJob.objects.create(
                upload=upload,
                audio_url=audio_url,
                service_provider=provider,
                owner=owner,
                metadata=metadata or {},
                fresh=bool(fresh),
                spelling=own_spelling,
                audio_sha256=upload.sha256 if upload else "",
                audio_duration=upload.duration if upload else None,
                next_poll_at=now,
                deadline_at=now + timedelta(seconds=slashml_settings.JOB_DEADLINE),
            )
            dispatch_on_commit(job)
    except BaseException:
        if created_upload is not None:
            created_upload.file.delete(save=False)
        raise
    return job


def cancel(job: TranscriptionJob) -> None:
    """Stop following an active job. SlashML has no cancel call: its job may still run."""
    if not transition(job, JobStatus.CANCELLED, allowed_from=ACTIVE_STATUSES, next_poll_at=None, **LEASE_CLEARED):
        job.refresh_from_db(fields=["status"])
        raise InvalidTransitionError(
            _("Job %(job)s is %(status)s and cannot be cancelled; only active jobs can.")
            % {"job": job.pk, "status": job.status}
        )


def retry(job: TranscriptionJob) -> None:
    """Start a finished, failed or cancelled job again from the beginning.

    The job's review (state, reviewer, correction) is cleared with its transcript.
    Retrying a COMPLETED job asks SlashML for a new transcript (the job becomes
    ``fresh``); a failed or cancelled one may still share another job's work.
    """
    now = timezone.now()
    old_copy = job.redacted_audio
    with transaction.atomic():
        # Reusing a transcript of the same audio would hand a COMPLETED job back its own result.
        fresh = job.fresh or TranscriptionJob.objects.filter(pk=job.pk, status=JobStatus.COMPLETED).exists()
        moved = transition(
            job,
            JobStatus.PENDING,
            allowed_from=TERMINAL_STATUSES,
            fresh=fresh,
            reused_from=None,
            remote_id="",
            remote_status="",
            error_message="",
            submitted_at=None,
            completed_at=None,
            poll_count=0,
            running_after=None,
            processing_rate=None,
            consecutive_failures=0,
            # A review belongs to the transcript it read; the new one is unreviewed.
            review_state=ReviewState.UNREVIEWED,
            reviewed_by=None,
            reviewed_at=None,
            corrected_text="",
            # The toned copy and the kept original belong to the transcript the retry replaces.
            redacted_audio=None,
            unredacted=None,
            next_poll_at=now,
            deadline_at=now + timedelta(seconds=slashml_settings.JOB_DEADLINE),
            **LEASE_CLEARED,
        )
        if moved:  # the spans belong to the transcript the retry replaces, as does its toned copy
            RedactedSpan.objects.filter(job_id=job.pk).delete()
            if old_copy is not None:
                transaction.on_commit(lambda: retention.purge_now(old_copy))
        if not moved:
            job.refresh_from_db(fields=["status"])
            raise InvalidTransitionError(
                _("Job %(job)s is %(status)s; only finished jobs can be retried.")
                % {"job": job.pk, "status": job.status}
            )
        dispatch_on_commit(job)


def poll_now(job: TranscriptionJob) -> bool:
    """Make an active job due at once and nudge a worker. Returns False for finished jobs."""
    with transaction.atomic():
        updated = TranscriptionJob.objects.filter(pk=job.pk, status__in=ACTIVE_STATUSES).update(
            next_poll_at=timezone.now()
        )
        if updated:
            dispatch_on_commit(job)
    return bool(updated)
