"""The sandbox's memory: uploads on disk, jobs, counters.

Jobs run on a small thread pool so their lifecycle is real: a poll right after
submit sees QUEUED or IN_PROGRESS, and a job is COMPLETED only once the engine
is done *and* its configured processing time has passed. With no processing time
the engine can win the race with the submit's answer, which then says COMPLETED.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django_slashml.audio.formats import sniff
from django_slashml.remote.protocol import RemoteStatus
from django_slashml.sandbox.engines import Engine, EngineError, Transcript
from django_slashml.sandbox.faults import FaultPlan
from django_slashml.sandbox.mistakes import with_mistakes

logger = logging.getLogger("django_slashml.sandbox")


@dataclass
class StoredUpload:
    id: str
    path: str
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: float

    def expired(self, ttl: float, now: float) -> bool:
        return now - self.created_at >= ttl


@dataclass
class SandboxJob:
    id: str
    provider: str
    audio_url: str
    audio_key: str  # what "the same audio" means: an upload's sha256, or the URL
    submitted_at: float
    fate: str | None
    upload: StoredUpload | None = None
    started_at: float | None = None
    transcript: Transcript | None = None
    error: str | None = None
    engine_done_at: float | None = None
    finish_at: float | None = None  # when the job is reported finished
    polls: int = 0

    def status(self, now: float) -> str:
        if self.started_at is None or now < self.started_at:
            return RemoteStatus.QUEUED
        if self.fate == "never" or self.finish_at is None or now < self.finish_at:
            return RemoteStatus.IN_PROGRESS
        return RemoteStatus.ERROR if self.error is not None else RemoteStatus.COMPLETED


@dataclass
class Counters:
    calls: Counter[str] = field(default_factory=Counter)
    responses: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    #: The same faults keyed "endpoint:fault", e.g. "submit:slow" (a submit whose answer was lost).
    faults_by_endpoint: Counter[str] = field(default_factory=Counter)
    polls_per_job: Counter[str] = field(default_factory=Counter)
    submits_per_audio: Counter[str] = field(default_factory=Counter)
    bytes_uploaded: int = 0


class SandboxState:
    def __init__(
        self,
        *,
        engine: Engine,
        api_keys: set[str],
        faults: FaultPlan | None = None,
        upload_ttl: float = 24 * 60 * 60,
        max_upload_size: int = 4 * 1024**3,
        workers: int = 4,
        storage_dir: str | None = None,
    ) -> None:
        self.engine = engine
        self.api_keys = set(api_keys)
        self.faults = faults or FaultPlan()
        self.upload_ttl = upload_ttl
        self.max_upload_size = max_upload_size
        self._own_dir = storage_dir is None
        self.storage_dir = storage_dir or tempfile.mkdtemp(prefix="slashml-sandbox-")
        os.makedirs(self.storage_dir, exist_ok=True)
        self.quirks: dict[str, Any] = {
            "in_progress_spelling": "IN_PROGESS",
            "upload_url_key": "uploaded_url",
            "transcription_data": False,
            # Not SlashML's behaviour: a hostile test of the client's key scrubbing.
            "echo_credentials": False,
            # Not SlashML's documented behaviour: the submit waits for the engine, so with no processing time
            # it answers COMPLETED (with the text; a submit's body has no words), for tests of that answer.
            "finished_at_submit": False,
        }
        self._lock = threading.RLock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sandbox-job")
        self.uploads: dict[str, StoredUpload] = {}
        self.jobs: dict[str, SandboxJob] = {}
        self.counters = Counters()

    # -- uploads ----------------------------------------------------------------

    def new_upload_path(self) -> tuple[str, str]:
        upload_id = str(uuid.uuid4())
        return upload_id, os.path.join(self.storage_dir, upload_id)

    def add_upload(self, upload: StoredUpload) -> None:
        with self._lock:
            self.uploads[upload.id] = upload
            self.counters.bytes_uploaded += upload.size

    def get_upload(self, upload_id: str) -> StoredUpload | None:
        """The upload, unless it does not exist or its time is up (then it is deleted)."""
        with self._lock:
            upload = self.uploads.get(upload_id)
            if upload and upload.expired(self.upload_ttl, time.time()):
                self._delete_upload(upload)
                return None
            return upload

    def _delete_upload(self, upload: StoredUpload) -> None:
        self.uploads.pop(upload.id, None)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(upload.path)

    def expire_uploads(self) -> int:
        now = time.time()
        with self._lock:
            expired = [u for u in self.uploads.values() if u.expired(self.upload_ttl, now)]
            for upload in expired:
                self._delete_upload(upload)
        return len(expired)

    # -- jobs -------------------------------------------------------------------

    def submit(self, *, provider: str, audio_url: str, upload: StoredUpload | None) -> SandboxJob:
        job = SandboxJob(
            id=str(uuid.uuid4()),
            provider=provider,
            audio_url=audio_url,
            audio_key=upload.sha256 if upload else f"url:{audio_url}",
            submitted_at=time.time(),
            fate=self.faults.job_fate(),
            upload=upload,
        )
        with self._lock:
            self.jobs[job.id] = job
            self.counters.submits_per_audio[job.audio_key] += 1
        processing = self._pool.submit(self._process, job)
        if self.quirks["finished_at_submit"]:
            processing.result()
        return job

    def get_job(self, job_id: str) -> SandboxJob | None:
        with self._lock:
            return self.jobs.get(job_id)

    def record_poll(self, job: SandboxJob) -> None:
        with self._lock:
            job.polls += 1
            self.counters.polls_per_job[job.id] += 1

    def _process(self, job: SandboxJob) -> None:
        job.started_at = time.time()
        try:
            if job.fate == "error":
                raise EngineError("the provider could not process this audio (injected failure)")
            job.transcript = with_mistakes(self._transcribe(job), job.provider, self.faults.faults.mistakes)
        except EngineError as exc:
            job.error = str(exc)
        except Exception as exc:  # keep serving whatever an engine does
            logger.exception("Sandbox engine failed on job %s", job.id)
            job.error = f"internal engine error: {type(exc).__name__}"
        job.engine_done_at = time.time()
        duration = job.transcript.duration if job.transcript else None
        job.finish_at = max(job.engine_done_at, job.submitted_at + self.faults.processing_seconds(duration))

    def _transcribe(self, job: SandboxJob) -> Transcript:
        if job.upload is not None:
            if not os.path.exists(job.upload.path):
                raise EngineError("the upload expired before the job ran")
            return self.engine.transcribe(job.upload.path, filename=job.upload.filename, sha256=job.upload.sha256)
        path, sha256 = self._fetch(job.audio_url)
        try:
            filename = job.audio_url.rsplit("/", 1)[-1].split("?", 1)[0] or "audio"
            return self.engine.transcribe(path, filename=filename, sha256=sha256)
        finally:
            os.unlink(path)

    def _fetch(self, url: str) -> tuple[str, str]:
        handle, path = tempfile.mkstemp(dir=self.storage_dir, prefix="fetch-")
        digest = hashlib.sha256()
        try:
            with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310
                copied = 0
                while chunk := response.read(1 << 20):
                    copied += len(chunk)
                    # A fetched URL (a presigned storage URL for hours of audio) may be as large as an upload.
                    if copied > self.max_upload_size:
                        raise EngineError("the audio at audio_url is too large")
                    out.write(chunk)
                    digest.update(chunk)
            with open(path, "rb") as fileobj:
                if sniff(fileobj.read(64)) is None:
                    raise EngineError("the file at audio_url is not audio")
            return path, digest.hexdigest()
        except EngineError:
            os.unlink(path)
            raise
        except Exception as exc:
            os.unlink(path)
            raise EngineError(f"could not fetch audio_url ({type(exc).__name__}: {exc})") from None

    # -- counters ----------------------------------------------------------------

    def count(self, kind: str, name: str) -> None:
        with self._lock:
            getattr(self.counters, kind)[name] += 1

    def stats(self) -> dict[str, Any]:
        now = time.time()
        with self._lock:
            c = self.counters
            return {
                "calls": dict(c.calls),
                "responses": dict(c.responses),
                "faults": dict(c.faults),
                "faults_by_endpoint": dict(c.faults_by_endpoint),
                "polls_per_job": dict(c.polls_per_job),
                "submits_per_audio": dict(c.submits_per_audio),
                "bytes_uploaded": c.bytes_uploaded,
                "uploads": len(self.uploads),
                "jobs": {
                    job.id: {
                        "status": job.status(now),
                        "provider": job.provider,
                        "audio_key": job.audio_key,
                        "submitted_at": job.submitted_at,
                        "finished_at": job.finish_at if job.fate != "never" else None,
                        "polls": job.polls,
                    }
                    for job in self.jobs.values()
                },
            }

    def reset(self) -> None:
        with self._lock:
            for upload in list(self.uploads.values()):
                self._delete_upload(upload)
            self.jobs.clear()
            self.counters = Counters()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._own_dir:
            shutil.rmtree(self.storage_dir, ignore_errors=True)
