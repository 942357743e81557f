"""A fake SlashML that answers in-process, for host projects' tests: like an email test backend.

Switch it in with ``SLASHML["CLIENT_CLASS"] = "django_slashml.testing.FakeSlashMLClient"`` (the
``fake_slashml`` pytest fixture does that and more). Jobs then run through the real pipeline,
state machine and signals; only the HTTP calls are answered here, at once, and recorded in
:data:`calls`. How the next job ends is set with :meth:`FakeSlashML.next_result`,
:meth:`FakeSlashML.fail_next` and :meth:`FakeSlashML.raise_next`.

Importing this module reads no settings and loads no models (pytest loads it before Django is set up).
"""

from __future__ import annotations

import copy
import itertools
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from django_slashml.exceptions import APIError, NotFoundError, ServerError, TransientAPIError
from django_slashml.remote.calls import StepCalls
from django_slashml.remote.responses import Limits, RemoteJob, RemoteUpload, parse_job, parse_upload

#: The dotted path to put in ``SLASHML["CLIENT_CLASS"]``.
FAKE_CLIENT_CLASS = "django_slashml.testing.FakeSlashMLClient"
METHODS = ("upload", "submit", "status")
_UPLOAD_URL = "https://fake-slashml.invalid/uploads/{number}/{name}"
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Call:
    """One call the pipeline made: ``method``, its arguments (audio as ``filename`` and ``size``), when, any error."""

    method: str
    args: dict[str, Any]
    at: datetime
    error: BaseException | None = None


class CallLog:
    """Every call made to the fake, in order; thread-safe. Read it like a list."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[Call] = []

    def record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()

    def snapshot(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def methods(self) -> list[str]:
        """The methods called, in order: ``["upload", "submit", "status"]``."""
        return [call.method for call in self.snapshot()]

    def of(self, method: str) -> list[Call]:
        return [call for call in self.snapshot() if call.method == method]

    def __iter__(self) -> Iterator[Call]:
        return iter(self.snapshot())

    def __len__(self) -> int:
        with self._lock:
            return len(self._calls)

    def __getitem__(self, index: int) -> Call:
        with self._lock:
            return self._calls[index]

    def __repr__(self) -> str:
        return f"<CallLog {self.methods()}>"


#: The outbox: every call any :class:`FakeSlashMLClient` made since the last reset.
calls = CallLog()


def words_for(text: str) -> list[dict[str, Any]]:
    """Word timings for ``text`` as SlashML sends them: 400 ms a word, 0.95 confidence."""
    return [
        {"text": token, "start": index * 400, "end": index * 400 + 350, "confidence": 0.95}
        for index, token in enumerate(text.split())
    ]


@dataclass
class _Outcome:
    text: str | None = None
    words: list[dict[str, Any]] | None = None
    confidence: float | None = 0.95
    error: str | None = None  # the job ends in ERROR with this reason
    polls: int = 1


@dataclass
class _Job:
    id: str
    name: str
    outcome: _Outcome
    polls_left: int = field(init=False)

    def __post_init__(self) -> None:
        self.polls_left = max(1, self.outcome.polls)


class FakeSlashML:
    """The fake's state and controls, shared by every client instance (one per process: :data:`fake_slashml`)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.calls = calls
        self.reset()

    def reset(self) -> None:
        """Forget queued results and errors, remote jobs and recorded calls."""
        with self._lock:
            self._outcomes: deque[_Outcome] = deque()
            self._errors: dict[str, deque[BaseException]] = {method: deque() for method in METHODS}
            self._jobs: dict[str, _Job] = {}
            self._names: dict[str, str] = {}
            self._numbers = itertools.count(1)
            self.calls.clear()

    # -- controls -----------------------------------------------------------

    def next_result(
        self,
        text: str | None = None,
        *,
        words: list[dict[str, Any]] | None = None,
        confidence: float | None = 0.95,
        polls: int = 1,
    ) -> None:
        """The next submitted job completes with ``text`` (words timed 400 ms apart unless given).

        ``words`` are dicts as SlashML sends them (``text``, ``start``, ``end`` in ms, ``confidence``);
        with words only, the text is theirs joined. ``polls``: the status call that answers
        (earlier ones answer IN_PROGRESS). Calls queue up: one per job, in submit order.
        """
        self._queue(_Outcome(text=text, words=words, confidence=confidence, polls=polls))

    def fail_next(self, message: str = "The audio could not be transcribed (fake).", *, polls: int = 1) -> None:
        """The next submitted job ends on SlashML's side in ERROR with ``message``."""
        self._queue(_Outcome(error=message, polls=polls))

    def raise_next(self, method: str, error: BaseException | None = None, *, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` raise ``error``: by default a 503, a transient error.

        A :class:`~django_slashml.exceptions.TransientAPIError` is retried by the pipeline with
        backoff; a :class:`~django_slashml.exceptions.PermanentAPIError` ends the job.
        """
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}.")
        if error is None:
            error = ServerError(f"SlashML failed on {method} with 503: fake_slashml.raise_next", status_code=503)
        with self._lock:
            self._errors[method].extend(error for _ in range(times))

    def run_jobs(self, *, max_steps: int = 100) -> list[str]:
        """Run every active job whose step is due through the real pipeline until none is; the steps taken.

        Needed where ``transcribe()``'s on-commit message never goes out: in a test wrapped in a
        transaction (pytest-django's ``db``). Under ``transactional_db`` jobs run on commit.
        """
        from django.utils import timezone as django_timezone

        from django_slashml.jobs import pipeline
        from django_slashml.models import ACTIVE_STATUSES, TranscriptionJob

        steps: list[str] = []
        while True:
            due = TranscriptionJob.objects.filter(
                status__in=ACTIVE_STATUSES, next_poll_at__lte=django_timezone.now() + pipeline.CLOCK_SKEW_TOLERANCE
            ).order_by("created_at")
            job_ids = list(due.values_list("pk", flat=True))
            if not job_ids:
                return steps
            for job_id in job_ids:
                if len(steps) >= max_steps:
                    raise RuntimeError(f"Jobs were still due after {max_steps} steps: {steps[-5:]} ...")
                steps.append(pipeline.advance(job_id))

    @contextmanager
    def active(self, **overrides: Any) -> Iterator[FakeSlashML]:
        """Use the fake inside the block: settings (:func:`fake_settings` over yours), Celery eager, a clean outbox.

        ``MEDIA_ROOT`` is a temporary folder inside the block, deleted after it, so stored audio
        does not land in the project. For tests without pytest (``unittest``, Django's
        ``TestCase``); pytest has the ``fake_slashml`` fixture.
        """
        from django.conf import settings
        from django.test import override_settings

        slashml = fake_settings(getattr(settings, "SLASHML", None), **overrides)
        with (
            tempfile.TemporaryDirectory(prefix="slashml-media-") as media_root,
            override_settings(SLASHML=slashml, MEDIA_ROOT=media_root),
            eager_celery(),
        ):
            self.reset()
            try:
                yield self
            finally:
                self.reset()

    # -- what the client calls ----------------------------------------------

    def _queue(self, outcome: _Outcome) -> None:
        with self._lock:
            self._outcomes.append(outcome)

    def _call(self, method: str, args: dict[str, Any]) -> None:
        """Record the call; raise the error queued for it, if any."""
        with self._lock:
            queued = self._errors[method]
            error = copy.copy(queued.popleft()) if queued else None
        self.calls.record(Call(method, args, datetime.now(UTC), error))
        if error is not None:
            raise error

    def upload(self, filename: str, size: int) -> dict[str, Any]:
        with self._lock:
            url = _UPLOAD_URL.format(number=next(self._numbers), name=quote(filename or "audio", safe=""))
            self._names[url] = filename
        return {"uploaded_url": url}

    def submit(self, audio_url: str) -> dict[str, Any]:
        with self._lock:
            name = self._names.get(audio_url) or unquote(urlsplit(audio_url).path.rsplit("/", 1)[-1]) or audio_url
            outcome = self._outcomes.popleft() if self._outcomes else _Outcome()
            job = _Job(id=f"fake-{next(self._numbers)}", name=name, outcome=outcome)
            self._jobs[job.id] = job
        return {"id": job.id, "status": "QUEUED"}

    def status(self, remote_id: str) -> dict[str, Any]:
        with self._lock:
            job = self._jobs.get(remote_id)
            if job is None:
                raise NotFoundError(f"SlashML has no GET /jobs/{remote_id}/: Not found.", status_code=404)
            job.polls_left -= 1
            if job.polls_left > 0:
                return {"id": job.id, "status": "IN_PROGRESS"}
            outcome = job.outcome
        if outcome.error is not None:
            return {"id": job.id, "status": "ERROR", "ERROR": outcome.error}
        text = outcome.text
        if text is None and outcome.words is None:
            text = f"fake transcript of {job.name}"
        body: dict[str, Any] = {"id": job.id, "status": "COMPLETED", "confidence": outcome.confidence}
        if text is not None:
            body["text"] = text
        body["words"] = outcome.words if outcome.words is not None else words_for(text or "")
        return body


#: The fake's controls: ``fake_slashml.next_result(...)``, ``.fail_next(...)``, ``.raise_next(...)``, ``.calls``.
fake_slashml = FakeSlashML()


def _size_of(fileobj: Any) -> int:
    """Read the audio to its end, as the real upload does, counting bytes and keeping none."""
    size = 0
    while chunk := fileobj.read(_CHUNK):
        size += len(chunk)
    return size


class FakeSlashMLClient:
    """Stands in for :class:`~django_slashml.remote.client.SlashMLClient`: same methods and return types.

    Answers from :data:`fake_slashml` at once; parses its answers with the real response reader
    (and the configured ``MAX_WORDS`` / ``MAX_TRANSCRIPT_CHARS``), so what reaches the pipeline is
    what SlashML's body would give.
    """

    def __init__(self, *, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()

    @classmethod
    def from_settings(cls) -> FakeSlashMLClient:
        from django_slashml.conf import slashml_settings as s

        return cls(limits=Limits(max_words=int(s.MAX_WORDS), max_text_chars=int(s.MAX_TRANSCRIPT_CHARS)))

    def __repr__(self) -> str:
        return "<FakeSlashMLClient>"

    def close(self) -> None:
        pass

    def upload(
        self,
        fileobj: Any,
        *,
        filename: str,
        content_type: str,
        service_provider: str,
        calls: StepCalls | None = None,
    ) -> RemoteUpload:
        size = _size_of(fileobj)
        args = {"filename": filename, "size": size, "content_type": content_type, "service_provider": service_provider}
        return parse_upload(_answer("upload", "POST", args, lambda: fake_slashml.upload(filename, size), calls))

    def submit(self, audio_url: str, *, service_provider: str, calls: StepCalls | None = None) -> RemoteJob:
        args = {"audio_url": audio_url, "service_provider": service_provider}
        body = _answer("submit", "POST", args, lambda: fake_slashml.submit(audio_url), calls)
        return _parsed_job(body, self.limits, calls)

    def status(self, remote_id: str, *, service_provider: str, calls: StepCalls | None = None) -> RemoteJob:
        args = {"remote_id": remote_id, "service_provider": service_provider}
        body = _answer("status", "GET", args, lambda: fake_slashml.status(remote_id), calls)
        return _parsed_job(body, self.limits, calls)


def _parsed_job(body: Any, limits: Limits, calls: StepCalls | None) -> RemoteJob:
    remote = parse_job(body, limits)
    if calls is not None:
        calls.note_remote_status(remote.status)
    return remote


def _answer(
    method: str,
    http_method: str,
    args: dict[str, Any],
    answer: Callable[[], dict[str, Any]],
    calls: StepCalls | None,
) -> Any:
    """The fake's answer, noted in ``calls`` for the job event log as the real client notes SlashML's."""
    started = time.monotonic()
    try:
        fake_slashml._call(method, args)
        body = answer()
    except APIError as exc:
        if calls is not None:
            calls.note(method, http_method, started, http_status=exc.status_code, answer=exc.body, error=str(exc))
        raise
    if calls is not None:
        calls.note(method, http_method, started, http_status=200, answer=body)
    return body


@contextmanager
def eager_celery() -> Iterator[None]:
    """Celery runs tasks inline (``task_always_eager``) inside the block, as the fake's jobs need.

    Without Celery it does nothing: on the task framework, use its immediate backend (the
    default where ``settings.TASKS`` is not set), which runs each task as it is enqueued.
    """
    from importlib.util import find_spec

    if find_spec("celery") is None:
        yield
        return
    from celery import current_app

    conf = current_app.conf
    before = conf.task_always_eager
    conf.task_always_eager = True
    try:
        yield
    finally:
        conf.task_always_eager = before


def fake_settings(base: Any = None, **overrides: Any) -> dict[str, Any]:
    """A ``SLASHML`` dict that uses the fake: ``base`` (your settings) with every wait set to zero.

    Every next step is due at once, so with Celery eager (``task_always_eager``) a job runs to
    its end inside the call that starts it. ``API_KEY`` is a dummy: the fake never sends it.
    """
    return {
        **(base if isinstance(base, dict) else {}),
        "CLIENT_CLASS": FAKE_CLIENT_CLASS,
        "API_KEY": "fake-slashml-key",
        "POLL_INITIAL_DELAY": 0,
        "POLL_DURATION_FACTOR": 0,
        "POLL_MIN_INTERVAL": 0,
        "POLL_LATE_FACTOR": 0,
        "POLL_JITTER": 0,
        "RETRY_BASE_DELAY": 0,
        "RETRY_MAX_DELAY": 0,
        "POLL_LEARNING": False,  # a learned schedule waits for SlashML's real speed
        **overrides,
    }


__all__ = [
    "FAKE_CLIENT_CLASS",
    "Call",
    "CallLog",
    "FakeSlashML",
    "FakeSlashMLClient",
    "TransientAPIError",
    "calls",
    "eager_celery",
    "fake_settings",
    "fake_slashml",
    "words_for",
]
