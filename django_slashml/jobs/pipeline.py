"""What a worker does for a job: claim it, do the one step that is due, let go.

A step is, for a PENDING job, sharing an earlier job's work on the same audio
(:mod:`~django_slashml.jobs.reuse`) or getting the audio to SlashML (a presigned storage
URL, SlashML's still-fresh upload, or a streamed upload) and submitting (and, when
SlashML answers the submit with a finished job, fetching it at once); for a
running one, one status call. Every step starts by taking the job's lease with a conditional UPDATE, so a
redelivered or duplicated message finds the job taken (or not yet due) and does
nothing. Nothing here sleeps: the next step's time is written to the row and a
short countdown message (or the sweeper) brings a worker back.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar
from uuid import UUID

from django.db import InterfaceError, OperationalError, connections, transaction
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.utils import timezone

from django_slashml.audio import presigned
from django_slashml.audio.streaming import open_stored
from django_slashml.conf import slashml_settings
from django_slashml.exceptions import (
    APIError,
    ConfigurationError,
    InvalidAudioError,
    PermanentAPIError,
    SlashMLError,
    TransientAPIError,
)
from django_slashml.jobs import closing, heartbeat, lifecycle, redacting, reuse, speed
from django_slashml.jobs.dispatch import nudge_when_due
from django_slashml.jobs.events import StepLog
from django_slashml.jobs.scheduling import first_poll_delay, jittered, later_poll_delay, poll_delay_after, retry_delay
from django_slashml.logs import JobLogger, job_logger
from django_slashml.models import ACTIVE_STATUSES, AudioUpload, EventKind, JobStatus, TranscriptionJob
from django_slashml.remote.calls import StepCalls
from django_slashml.remote.client import get_client
from django_slashml.remote.responses import RemoteJob

logger = job_logger("django_slashml.jobs.pipeline")

#: A message may arrive this much before the time it was scheduled for (clock skew between hosts).
CLOCK_SKEW_TOLERANCE = timedelta(seconds=0.5)
#: The longest pause between two tries at writing SlashML's answer while the database is away.
ANSWER_WRITE_MAX_PAUSE = 2.0

_T = TypeVar("_T")


class Step(StrEnum):
    """What :func:`advance` did. A ``str``, so comparing with the plain word still works."""

    SKIPPED = "skipped"  # not due, not active, or another worker holds the lease
    SUBMITTED = "submitted"
    POLLED = "polled"
    COMPLETED = "completed"
    FAILED = "failed"
    TIMED_OUT = "timed out"
    RETRYING = "retrying"  # a transient failure; the next try is scheduled
    REUSED = "reused"  # an earlier job's transcript of the same audio was copied
    FOLLOWING = "following"  # an earlier job's SlashML job is followed
    WAITING = "waiting"  # an earlier job of the same audio has not been submitted yet, or is uploading it
    LOST_LEASE = "lost lease"  # the step ran past the lease and another worker took the job
    MISCONFIGURED = "misconfigured"  # this worker's settings cannot work; the job stays due, nothing counted


@dataclass
class Lease:
    job_id: UUID
    owner: str
    #: The row as the claim left it (read right after it, with its upload).
    job: TranscriptionJob | None = field(default=None, compare=False, repr=False)
    #: What the step did so far, written with its closing write.
    log: StepLog | None = field(default=None, compare=False, repr=False)
    #: Until when the lease is held: the claim's expiry, then each renewal's (:mod:`.heartbeat`).
    expires_at: datetime | None = field(default=None, compare=False)
    #: A shared file's upload claim this step holds (the upload's id, until when), renewed with the lease.
    upload_claim: tuple[Any, datetime] | None = field(default=None, compare=False)

    @property
    def calls(self) -> StepCalls | None:
        """Where the SlashML client notes the step's calls, for its events."""
        return self.log.calls if self.log is not None else None

    @property
    def logger(self) -> JobLogger:
        """The pipeline's logger, naming the job in every line of the step."""
        return logger.about(self.job_id)

    def expired(self) -> bool:
        """Whether the lease's time is up by this worker's clock, which wrote its expiry."""
        return self.expires_at is not None and self.expires_at <= timezone.now()

    def renewed(self, until: datetime) -> None:
        """Called by the heartbeat after each renewal: the upload claim, if held, lasts as long as the lease."""
        self.expires_at = until
        claim = self.upload_claim
        if claim is not None and until > claim[1]:
            held = AudioUpload.objects.filter(pk=claim[0], remote_upload_claimed_until=claim[1])
            if held.update(remote_upload_claimed_until=until):
                self.upload_claim = (claim[0], until)


def claim(job_id: UUID | str) -> Lease | None:
    """Take the job's lease if it is active, due and not held by a live worker.

    A lease that is still set when it is taken was abandoned: its worker died mid-step
    (every step that ends lets go of it). That attempt counts as a failure
    (``consecutive_failures + 1``), so a job that kills its worker every time still runs
    out of attempts, while a healthy job's claims count nothing.
    """
    now = timezone.now()
    owner = uuid.uuid4().hex
    try:
        pk = UUID(str(job_id))
    except ValueError:
        return None
    alias = closing.jobs_alias()
    jobs = TranscriptionJob.objects.using(alias)
    taken = (
        jobs.filter(pk=pk, status__in=ACTIVE_STATUSES, next_poll_at__lte=now + CLOCK_SKEW_TOLERANCE)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
        .update(
            # Before lease_owner: MySQL assigns left to right, and the CASE must read the old owner.
            consecutive_failures=Case(
                When(lease_owner="", then=F("consecutive_failures")),
                default=F("consecutive_failures") + 1,
            ),
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=slashml_settings.LEASE_SECONDS),
        )
    )
    if not taken:
        return None
    try:
        job = jobs.select_related("upload").get(pk=pk, lease_owner=owner)
    except TranscriptionJob.DoesNotExist:  # taken by another worker since, or deleted
        return None
    return Lease(pk, owner, job, StepLog.of(job), job.lease_expires_at)


def _leased(lease: Lease) -> QuerySet[TranscriptionJob]:
    return TranscriptionJob.objects.using(closing.jobs_alias()).filter(pk=lease.job_id, lease_owner=lease.owner)


def _release(job: TranscriptionJob, lease: Lease, **fields: Any) -> bool:
    """Write ``fields`` and the step's events, and let go of the lease; False if another worker took the job."""
    fields.update(**lifecycle.LEASE_CLEARED, updated_at=timezone.now())
    with transaction.atomic(using=closing.jobs_alias()):
        return closing.write(_leased(lease), fields, step=lease.log)


def _fail(job: TranscriptionJob, lease: Lease, message: str, *, step: Step = Step.FAILED, **fields: Any) -> Step:
    """End the job in ERROR under ``lease``: ``step`` if this worker wrote it, else LOST_LEASE.

    Else: another worker took the job (the lease ran out), or it is no longer active (a person
    cancelled it), as for every other write of a step.
    """
    failed = lifecycle.fail(job, message, lease_owner=lease.owner, step=lease.log, **fields)
    return step if failed else Step.LOST_LEASE


def _note(lease: Lease, kind: str, **fields: Any) -> None:
    if lease.log is not None:
        lease.log.note(kind, **fields)


def _out_of_attempts(failures: int) -> bool:
    """Whether ``failures`` in a row are enough to give up: the job gives up after MAX_TRANSIENT_FAILURES."""
    return failures >= slashml_settings.MAX_TRANSIENT_FAILURES


def advance(job_id: UUID | str) -> Step:
    """Run the job's due step. Returns what happened, for logs and tests."""
    lease = claim(job_id)
    if lease is None or lease.job is None:
        return Step.SKIPPED
    job = lease.job
    with heartbeat.renewing(job.pk, lease.owner, lease.renewed):
        return _advance(job, lease)


def _advance(job: TranscriptionJob, lease: Lease) -> Step:
    s = slashml_settings
    if _out_of_attempts(job.consecutive_failures):  # workers died mid-step that often
        return _fail(
            job,
            lease,
            f"Gave up after {job.consecutive_failures} failed attempts in a row "
            f"(SLASHML['MAX_TRANSIENT_FAILURES'] = {s.MAX_TRANSIENT_FAILURES}). "
            "Check that SlashML and the workers are healthy, then retry the job.",
        )
    if job.deadline_at and timezone.now() >= job.deadline_at:
        return _fail(
            job,
            lease,
            f"Timed out: SlashML did not finish within {timedelta(seconds=int(s.JOB_DEADLINE))} "
            "(SLASHML['JOB_DEADLINE']). Retry the job, or raise the deadline for long audio.",
            step=Step.TIMED_OUT,
        )
    try:
        if job.status == JobStatus.PENDING:
            return _start(job, lease)
        return _poll(job, lease)
    except ConfigurationError as exc:
        return _stay_due(job, lease, str(exc))
    except TransientAPIError as exc:
        return _back_off(job, lease, str(exc), retry_after=exc.retry_after)
    except PermanentAPIError as exc:
        return _fail(job, lease, str(exc), last_response=_error_body(exc))
    except SlashMLError as exc:
        return _fail(job, lease, str(exc))
    except Exception as exc:  # a bug or a soft time limit: retry, bounded by MAX_TRANSIENT_FAILURES
        lease.logger.exception("Unexpected error while working on job %s", job.pk)
        return _back_off(job, lease, f"{type(exc).__name__}: {exc}")


def _stay_due(job: TranscriptionJob, lease: Lease, problem: str) -> Step:
    """Let go of the job as it was: the deployment is wrong, not the job, so nothing ends or counts.

    No message is sent for it: the sweeper sends it again each sweep, and each time it meets a
    worker that still lacks its settings, this error is logged again.
    """
    lease.logger.error(
        "Job %s left due, not failed: this worker's SLASHML settings cannot work. %s "
        "Fix the settings (manage.py check names each problem) and restart the workers; "
        "the sweeper sends the job again.",
        job.pk,
        problem,
    )
    return Step.MISCONFIGURED if _release(job, lease) else Step.LOST_LEASE


def _next_step_at(job: TranscriptionJob, delay: float, *, since: datetime | None = None) -> datetime:
    """``delay`` seconds from ``since`` (now), but never past the job's deadline, so a timeout is on time."""
    due = (since or timezone.now()) + timedelta(seconds=delay)
    return min(due, job.deadline_at) if job.deadline_at else due


def _error_body(exc: APIError) -> dict[str, object]:
    return {"status_code": exc.status_code, "body": exc.body}


# -- PENDING: share an earlier job's work, or upload if needed, then submit --------------


def _unreadable(upload: AudioUpload, reason: object) -> InvalidAudioError:
    return InvalidAudioError(
        f"The audio file {upload.file.name!r} cannot be read from storage ({reason}); upload it again."
    )


def _audio_url_for(job: TranscriptionJob, lease: Lease, *, upload_shared: bool) -> str | None:
    """The URL to submit: the caller's, SlashML's still-fresh upload, a presigned storage URL, or a new upload.

    None when another job is uploading the same file right now (a comparison's jobs share one).
    Only a shared upload row (``upload_shared``) needs the upload's claim; a job alone on its
    file uploads it without one.
    """
    if job.upload is None:
        if not job.audio_url:
            raise InvalidAudioError("The job has neither an audio upload nor an audio URL; create it again.")
        return job.audio_url
    upload = job.upload
    if upload.remote_url_usable():
        return upload.remote_url
    if upload.purged_at is not None:
        raise InvalidAudioError(
            f"The audio of upload {upload.pk} was deleted on {upload.purged_at:%Y-%m-%d} by the retention policy "
            "(SLASHML['AUDIO_RETENTION_DAYS']) and SlashML's copy has expired; upload the file again."
        )
    storage, name = upload.file.storage, upload.file.name
    if not name:  # a FieldFile is false exactly when its name is empty
        raise InvalidAudioError(f"Upload {upload.pk} has no stored file; upload the file again.")
    url = presigned.fetchable_url(storage, name)
    if url is None and not upload_shared:
        return _upload(upload, name, job.service_provider, lease)
    if url is None:
        claimed_until = _claim_remote_upload(upload)
        if claimed_until is None:  # another job holds the claim, or has just uploaded the file
            upload.refresh_from_db(fields=["remote_url", "remote_expires_at"])
            return upload.remote_url if upload.remote_url_usable() else None
        lease.upload_claim = (upload.pk, claimed_until)
        try:
            return _upload(upload, name, job.service_provider, lease)
        finally:
            lease.upload_claim = None
    if not storage.exists(name):
        raise _unreadable(upload, "it is not there")
    lease.logger.info("Job %s: SlashML fetches %s from storage through a presigned URL; no upload", job.pk, name)
    return url


def _held_claim(lease: Lease) -> datetime | None:
    """Until when the upload claim ``lease`` carries is held (its last renewal), or None."""
    return lease.upload_claim[1] if lease.upload_claim is not None else None


def _claim_remote_upload(upload: AudioUpload) -> datetime | None:
    """Until when this worker may upload the file, or None: one at a time per file, for a lease (renewed with it).

    The claim also needs SlashML's copy to be missing or stale in the row as it is now, not as this
    step loaded it: another job may have finished uploading the file in between.
    """
    now = timezone.now()
    free = Q(remote_upload_claimed_until__isnull=True) | Q(remote_upload_claimed_until__lte=now)
    stale = (
        Q(remote_url="")
        | Q(remote_expires_at__isnull=True)
        | Q(remote_expires_at__lte=now + timedelta(seconds=slashml_settings.REMOTE_UPLOAD_TTL_MARGIN))
    )
    until = now + timedelta(seconds=slashml_settings.LEASE_SECONDS)
    claimed = AudioUpload.objects.filter(free, stale, pk=upload.pk).update(remote_upload_claimed_until=until)
    return until if claimed else None


def _upload(upload: AudioUpload, name: str, service_provider: str, lease: Lease) -> str:
    """Stream the stored file ``name`` to SlashML's upload endpoint, in constant memory, and remember its URL.

    ``lease`` is the step's: the client notes the call in its ``calls``, and it holds the upload's
    claim (``Lease.upload_claim``) where this worker took one, let go of here.
    """
    try:
        try:
            stored = open_stored(upload.file.storage, name)
        except (OSError, ValueError) as exc:
            raise _unreadable(upload, exc) from None
        with stored:
            remote = get_client().upload(
                stored,
                filename=upload.original_name or name.rsplit("/", 1)[-1],
                content_type=upload.content_type or "application/octet-stream",
                service_provider=service_provider,
                calls=lease.calls,
            )
    except BaseException:  # let go of the claim, unless it expired and another worker holds it now
        claimed_until = _held_claim(lease)
        if claimed_until is not None:
            AudioUpload.objects.filter(pk=upload.pk, remote_upload_claimed_until=claimed_until).update(
                remote_upload_claimed_until=None
            )
        raise
    now = timezone.now()
    uploaded = {
        "remote_url": remote.url,
        "remote_uploaded_at": now,
        "remote_expires_at": now + timedelta(seconds=slashml_settings.REMOTE_UPLOAD_TTL),
    }
    row = AudioUpload.objects.filter(pk=upload.pk)

    def write_upload_url() -> None:
        claimed_until = _held_claim(lease)
        if claimed_until is None:  # nobody waits for it; written at once, so a lost lease keeps SlashML's copy
            row.update(**uploaded)
        else:  # other jobs wait for the URL: theirs at once, with the claim let go
            ours = When(remote_upload_claimed_until=claimed_until, then=Value(None))
            row.update(remote_upload_claimed_until=Case(ours, default=F("remote_upload_claimed_until")), **uploaded)

    _write_despite_outage(lease, write_upload_url, what="upload")
    for column, value in uploaded.items():  # the submit reads them from here
        setattr(upload, column, value)
    lease.logger.info("Uploaded %s to SlashML", upload.pk)
    return remote.url


def _start(job: TranscriptionJob, lease: Lease) -> Step:
    work = reuse.shared_work(job)
    if work.earlier is not None:
        return _share(job, lease, work.earlier)
    audio_url = _audio_url_for(job, lease, upload_shared=work.upload_shared)
    if audio_url is None:
        return _wait_for_upload(job, lease)
    client = get_client()  # before the count: a worker without its settings submits nothing
    if lease.expired():
        # The step ran past its lease (a slow upload, with no time limit to stop it, as under
        # ``-P solo``): another worker may hold the job now, and a submit would be a second one.
        lease.logger.warning("Job %s: the lease ran out before the submit; leaving the job to its new holder.", job.pk)
        return Step.LOST_LEASE
    # Counted before the POST, whatever comes of it: SlashML has no idempotency key, and a
    # worker that dies mid-POST must still leave its count.
    if _leased(lease).update(submit_attempts=F("submit_attempts") + 1) != 1:
        return Step.LOST_LEASE
    job.submit_attempts += 1
    sent_at = timezone.now()
    remote = client.submit(audio_url, service_provider=job.service_provider, calls=lease.calls)
    return _submitted(job, lease, remote, sent_at)


def _submitted(job: TranscriptionJob, lease: Lease, remote: RemoteJob, sent_at: datetime) -> Step:
    """Write what SlashML answered the submit: the job ERROR, finished, or queued with its id."""
    if remote.is_failed:
        failure = _remote_failure(remote)
        answer: dict[str, Any] = lifecycle.remote_answer(remote)
        if remote.id:  # an ERROR answer may carry none (the vendor's client makes one of a 500)
            answer["remote_id"] = remote.id
        return _write_despite_outage(lease, lambda: _fail(job, lease, failure, **answer))
    if remote.is_completed:
        return _finished_at_submit(job, lease, remote, sent_at)

    def write_queued() -> datetime | None:
        """When the first poll is due, if this step wrote the job as queued (the schedule reads the database too)."""
        duration = speed.audio_seconds(job, remote.audio_duration)
        rate = speed.learned_rate(job.service_provider)
        # A learned first poll may come early: a job found running brackets the provider's speed.
        # Timed from when the submit was sent, as every poll is from when it was sent: SlashML's
        # clock starts when the request reaches it, and a distant server's answer comes back a
        # round trip later than that.
        delay = jittered(first_poll_delay(duration, rate), never_early=rate is None)
        due = _next_step_at(job, delay, since=sent_at)
        written = lifecycle.mark_submitted(
            job, remote, lease_owner=lease.owner, step=lease.log, next_poll_at=due, submitted_at=sent_at
        )
        return due if written else None

    due = _write_despite_outage(lease, write_queued)
    if due is not None:
        nudge_when_due(job.pk, job.status, due)
        return Step.SUBMITTED
    return Step.LOST_LEASE


def _write_despite_outage(lease: Lease, write: Callable[[], _T], *, what: str = "submit") -> _T:
    """Run ``write``, the record of SlashML's answer to ``what``, again while the database is away and the lease lasts.

    SlashML has no idempotency key: a submit's answer not written is a second submit, paid for,
    once the lease runs out and another step finds the job without its SlashML id (an upload's,
    the file sent again). Until then no other worker can take the job, so waiting for the
    database (a restart, a failover) costs this worker seconds and saves the repeat. The job's
    writes are conditional on this step's lease, so a try that comes after another worker took
    the job writes nothing.
    """
    pause = 0.1
    told = False
    while True:
        kept = lease.log.snapshot() if lease.log is not None else None
        try:
            return write()
        except (OperationalError, InterfaceError):
            if lease.log is not None and kept is not None:
                lease.log.restore(kept)  # the events the lost transaction took go with the next write
            connection = connections[closing.jobs_alias()]
            if connection.in_atomic_block or lease.expires_at is None:
                raise  # a caller's transaction is lost with the connection: nothing to try again in
            left = (lease.expires_at - timezone.now()).total_seconds()
            if left <= 0:
                raise
            lease.logger.warning(
                "Job %s: could not write SlashML's answer to the %s; trying again while the lease lasts (%.1f s)",
                lease.job_id,
                what,
                left,
                exc_info=not told,
            )
            told = True
            connection.close()  # a broken connection is not reopened by itself
            time.sleep(min(pause, left))
            pause = min(pause * 2, ANSWER_WRITE_MAX_PAUSE)


def _last_sent(calls: StepCalls | None, endpoint: str, *, default: datetime) -> datetime:
    """When the last ``endpoint`` call noted in ``calls`` was sent; ``default`` if none was noted."""
    sent = [call.started for call in calls or () if call.endpoint == endpoint]
    return timezone.now() - timedelta(seconds=time.time() - sent[-1]) if sent else default


def _finished_at_submit(job: TranscriptionJob, lease: Lease, remote: RemoteJob, sent_at: datetime) -> Step:
    """SlashML finished the job before it answered the submit.

    The job is written as submitted first, with SlashML's id, so nothing that happens after
    can submit it again. Then, still under its lease, the step polls it like any job due now:
    the submit's answer has the text but not the word timings. Its processing time counts
    from when the submit was sent, as SlashML did the work while answering it.
    """

    def write_submitted() -> bool:
        return lifecycle.mark_submitted(
            job,
            remote,
            lease_owner=lease.owner,
            step=lease.log,
            next_poll_at=timezone.now(),
            submitted_at=sent_at,
            keep_lease=True,
        )

    if not _write_despite_outage(lease, write_submitted):
        return Step.LOST_LEASE
    return _poll(job, lease)


def _wait_for_upload(job: TranscriptionJob, lease: Lease) -> Step:
    """Another job is uploading this job's file: look again shortly and submit its URL."""
    due = _next_step_at(job, jittered(later_poll_delay(1)))
    if _release(job, lease, next_poll_at=due, last_response={"waiting_for_upload": str(job.upload_id)}):
        nudge_when_due(job.pk, job.status, due)
        return Step.WAITING
    return Step.LOST_LEASE


def _seconds_until(moment: datetime | None) -> float:
    return max(0.0, (moment - timezone.now()).total_seconds()) if moment else 0.0


def _share(job: TranscriptionJob, lease: Lease, earlier: reuse.EarlierJob) -> Step:
    """Copy an earlier job's transcript, follow its remote job, or wait until it has one."""
    source = earlier.job
    if earlier.action == "copy" and not redacting.can_copy(job, source):
        earlier = reuse.EarlierJob(action="follow", job=source)  # its stored transcript has other rules: fetch it again
    verb = "copied the transcript of" if earlier.action == "copy" else "follows SlashML job of"
    if earlier.action != "wait":
        _note(lease, EventKind.REUSE, remote_status=source.remote_status, detail=f"{verb} job {source.pk}")
    if earlier.action == "copy":
        if lifecycle.adopt(job, source, lease_owner=lease.owner, step=lease.log):
            redacting.build_redacted_audio(job)
            lease.logger.info("Job %s: reused the transcript of job %s (same audio and provider)", job.pk, source.pk)
            return Step.REUSED
        return Step.LOST_LEASE
    # Look again when the earlier job's own next step is due, and not sooner than a poll interval.
    delay = jittered(max(later_poll_delay(1), _seconds_until(source.next_poll_at)))
    due = _next_step_at(job, delay)
    if earlier.action == "follow":
        if lifecycle.adopt(job, source, lease_owner=lease.owner, step=lease.log, next_poll_at=due):
            lease.logger.info(
                "Job %s: follows SlashML job %s of job %s (same audio and provider)",
                job.pk,
                source.remote_id,
                source.pk,
            )
            nudge_when_due(job.pk, job.status, due)
            return Step.FOLLOWING
        return Step.LOST_LEASE
    released = _release(
        job,
        lease,
        next_poll_at=due,
        consecutive_failures=0,
        last_response={"waiting_for_job": str(source.pk)},
    )
    if released:
        nudge_when_due(job.pk, job.status, due)
        return Step.WAITING
    return Step.LOST_LEASE


# -- QUEUED / IN_PROGRESS: one status call ------------------------------------


def _remote_failure(remote: RemoteJob) -> str:
    return f"SlashML could not transcribe the audio: {remote.error}"


def _poll(job: TranscriptionJob, lease: Lease) -> Step:
    if not job.remote_id:
        # Only reachable if a row was edited by hand; submitting again is the honest fix.
        raise InvalidAudioError("The job is marked as submitted but has no SlashML id; retry it.")
    called_at = timezone.now()
    remote = get_client().status(job.remote_id, service_provider=job.service_provider, calls=lease.calls)
    asked_at = _last_sent(lease.calls, "status", default=called_at)  # the try that answered, after a retried GET
    # Counted in the step's one write: the lease makes this row's count ours to add to.
    polls = job.poll_count + 1
    if remote.is_completed:
        completed = lifecycle.complete(
            job, remote, lease_owner=lease.owner, step=lease.log, asked_at=asked_at, poll_count=polls
        )
        if completed:
            redacting.build_redacted_audio(job)
        return Step.COMPLETED if completed else Step.LOST_LEASE
    if remote.is_failed:
        return _fail(job, lease, _remote_failure(remote), **lifecycle.remote_answer(remote), poll_count=polls)
    if not remote.status_is_known:
        lease.logger.warning(
            "SlashML sent an unknown status %r for job %s; treating it as still running. Body: %r",
            remote.status,
            job.pk,
            remote.stored_raw,
        )
    elapsed = (asked_at - job.submitted_at).total_seconds() if job.submitted_at else 0.0
    duration = speed.audio_seconds(job, remote.audio_duration)
    rate = speed.learned_rate(job.service_provider)
    wait = poll_delay_after(polls, elapsed=elapsed, audio_duration=duration, rate=rate)
    due = _next_step_at(job, jittered(wait), since=asked_at)
    if job.status == JobStatus.QUEUED and remote.status == JobStatus.IN_PROGRESS:
        moved = lifecycle.mark_in_progress(
            job,
            remote,
            lease_owner=lease.owner,
            step=lease.log,
            next_poll_at=due,
            poll_count=polls,
            running_after=elapsed,
        )
        status: str = JobStatus.IN_PROGRESS
    else:
        moved = _release(
            job,
            lease,
            next_poll_at=due,
            **lifecycle.remote_answer(remote),
            consecutive_failures=0,
            poll_count=polls,
            running_after=elapsed,
        )
        status = job.status
    if moved:
        nudge_when_due(job.pk, status, due)
        return Step.POLLED
    return Step.LOST_LEASE


# -- transient failures ---------------------------------------------------------


def _back_off(job: TranscriptionJob, lease: Lease, message: str, *, retry_after: float | None = None) -> Step:
    failures = job.consecutive_failures + 1
    if _out_of_attempts(failures):
        _note(lease, EventKind.TRANSIENT_ERROR, attempt=failures, detail=message[:2000])
        _leased(lease).update(consecutive_failures=failures)  # the count the admin shows matches the message
        return _fail(job, lease, f"Gave up after {failures} failed attempts in a row; the last one: {message}")
    due = _next_step_at(job, retry_delay(failures, retry_after=retry_after))
    backoff = round((due - timezone.now()).total_seconds(), 3)
    _note(lease, EventKind.TRANSIENT_ERROR, attempt=failures, backoff_seconds=backoff, detail=message[:2000])
    released = _release(
        job,
        lease,
        next_poll_at=due,
        consecutive_failures=failures,
        last_response={"transient_error": message, "attempt": failures},
    )
    if not released:
        return Step.LOST_LEASE
    lease.logger.info("Job %s: transient failure %d (%s); next try at %s", job.pk, failures, message, due.isoformat())
    nudge_when_due(job.pk, job.status, due)
    return Step.RETRYING
