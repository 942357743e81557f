"""The ``SLASHML`` settings dict: defaults, lazy reading, reload on ``setting_changed``.

Usage: ``from django_slashml.conf import slashml_settings; slashml_settings.API_URL``.
This module imports nothing else of the app, so every layer may read settings; the
checks of the values live in :mod:`django_slashml.checks`.
Nothing is read from Django settings until an attribute is first used, and
:func:`reload` (connected to ``setting_changed``) drops the cache so tests that
``override_settings(SLASHML=...)`` see their values.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

__all__ = [
    "API_KEY_ENVIRONMENT_VARIABLE",
    "DEFAULTS",
    "MAX_PRESIGNED_URL_EXPIRY",
    "NUMBER_SETTINGS",
    "SETTINGS_NAME",
    "SlashMLSettings",
    "reload_settings",
    "slashml_settings",
]

SETTINGS_NAME = "SLASHML"

#: Where the API key is read from when ``SLASHML["API_KEY"]`` is not set.
API_KEY_ENVIRONMENT_VARIABLE = "SLASHML_API_KEY"

DEFAULTS: dict[str, Any] = {
    # Where SlashML lives, and who we are to it.
    "API_URL": "https://api.slashml.com",
    "API_KEY": None,  # or a callable returning it; falls back to the SLASHML_API_KEY environment variable
    "DEFAULT_SERVICE_PROVIDER": "assembly",
    # The class that talks to SlashML (a dotted path). Tests switch in
    # "django_slashml.testing.FakeSlashMLClient", which answers in-process.
    "CLIENT_CLASS": "django_slashml.remote.client.SlashMLClient",
    # HTTP timeouts in seconds. Uploads get a longer read timeout: SlashML answers
    # only once the whole body has arrived.
    "CONNECT_TIMEOUT": 5.0,
    "READ_TIMEOUT": 30.0,
    "UPLOAD_READ_TIMEOUT": 300.0,
    # Status GETs are retried this many times at the HTTP layer; POSTs never are.
    "STATUS_HTTP_RETRIES": 2,
    # Poll schedule: the first poll comes after max(POLL_INITIAL_DELAY,
    # audio duration x POLL_DURATION_FACTOR); later polls wait POLL_MIN_INTERVAL,
    # growing by POLL_BACKOFF_FACTOR each time up to POLL_MAX_INTERVAL, +/- POLL_JITTER,
    # and at least POLL_LATE_FACTOR x the time since submit (a late long job is not
    # polled every few seconds; the transcript is at most that fraction late).
    "POLL_INITIAL_DELAY": 5.0,
    "POLL_DURATION_FACTOR": 0.3,
    "POLL_MIN_INTERVAL": 3.0,
    "POLL_BACKOFF_FACTOR": 1.5,
    "POLL_MAX_INTERVAL": 300.0,
    "POLL_JITTER": 0.1,
    "POLL_LATE_FACTOR": 0.15,
    # Transient failures (timeouts, 5xx, 429) back off exponentially from
    # RETRY_BASE_DELAY; after MAX_TRANSIENT_FAILURES in a row the job ends in ERROR.
    "RETRY_BASE_DELAY": 2.0,
    "RETRY_MAX_DELAY": 300.0,
    "MAX_TRANSIENT_FAILURES": 10,
    # A job not finished this many seconds after creation ends in ERROR.
    "JOB_DEADLINE": 6 * 60 * 60,
    # A worker owns a job for LEASE_SECONDS and extends it every third of that while
    # a step runs; a lease that ran out means the worker died, and the sweeper hands
    # the job to another.
    "LEASE_SECONDS": 30,
    # Hard and soft time limits of the app's tasks: what one step (a large upload) may
    # take. Keep them below the broker's visibility timeout.
    "TASK_TIME_LIMIT": 1800,
    "TASK_SOFT_TIME_LIMIT": 1740,
    # Celery countdowns longer than this are not sent; the sweeper dispatches the poll
    # when it is due instead (long ETAs sit in worker memory and are redelivered).
    "MAX_COUNTDOWN": 300,
    # The sweeper re-dispatches a job once it is overdue by more than this: a
    # message sent for it was lost, or the workers are behind.
    "SWEEP_GRACE": 10,
    # How often the sweep runs (the beat schedule or cron you set up). The admin
    # dashboard calls a job stuck once it is overdue by more than SWEEP_GRACE + this.
    "SWEEP_INTERVAL": 10,
    "SWEEP_BATCH_SIZE": 500,
    # The queue name the app's tasks are sent to (Celery's queue, or the task framework's queue_name).
    "TASK_QUEUE": None,
    # Which queue carries the jobs: "celery", or "tasks" for Django's task framework (django.tasks,
    # or the django-tasks backport before Django 6.0). None: Celery where it is installed, else the
    # task framework. TASK_BACKEND is the alias in settings.TASKS the framework's tasks go to.
    "QUEUE": None,
    "TASK_BACKEND": "default",
    # Uploads: largest accepted file, where audio is kept, and when SlashML's copy
    # is treated as gone (it deletes uploads after 24 h; the margin avoids racing it).
    "MAX_UPLOAD_SIZE": 2 * 1024**3,
    "STORAGE": None,  # a key of settings.STORAGES; None means the default storage
    "UPLOAD_TO": "slashml/audio/%Y/%m/%d/",
    "REMOTE_UPLOAD_TTL": 24 * 60 * 60,
    "REMOTE_UPLOAD_TTL_MARGIN": 60 * 60,
    # Where the audio storage can hand out a URL SlashML can fetch (django-storages'
    # S3Storage: a presigned URL), submit that URL and skip SlashML's upload.
    "USE_PRESIGNED_URLS": True,
    # Seconds a presigned URL stays valid: SlashML's provider may fetch it late in a
    # job's life, so at least JOB_DEADLINE; S3 signs for 7 days (604800) at most.
    "PRESIGNED_URL_EXPIRY": 24 * 60 * 60,
    # slashml_purge_audio (and the django_slashml.purge_audio task) delete stored audio
    # older than this many days, keeping rows and transcripts. None keeps audio forever.
    "AUDIO_RETENTION_DAYS": None,
    # Callers' audio URLs on loopback, private, link-local or reserved addresses (or on
    # names that do not resolve) are refused unless this is True: a server-side request
    # forgery guard. Turn it on only where every user may make SlashML fetch internal URLs.
    "ALLOW_PRIVATE_AUDIO_URLS": False,
    # Whether SlashML can reach our storage's URLs on private hosts (a private deployment,
    # the sandbox): a presigned URL on one is submitted only if True, else the file is uploaded.
    "ALLOW_PRIVATE_STORAGE_URLS": False,
    # SlashML's answers are read as a stream and refused past MAX_RESPONSE_BYTES (the job
    # ends in ERROR), so a hostile or broken answer cannot exhaust a worker's memory. A
    # transcript with more than MAX_WORDS words or MAX_TRANSCRIPT_CHARS characters is
    # refused the same way (about 20 hours of speech at the defaults).
    "MAX_RESPONSE_BYTES": 32 * 1024**2,
    "MAX_WORDS": 250_000,
    "MAX_TRANSCRIPT_CHARS": 2_000_000,
    # A comparison's reference_text: at most this many characters (about two hours of speech);
    # it is scored against every provider's transcript on each read.
    "MAX_REFERENCE_CHARS": 100_000,
    # Job lists (REST and admin) show at most this many characters of each transcript.
    "LIST_TEXT_CHARS": 500,
    # A job's metadata: at most this many bytes as UTF-8 JSON, nested this deep.
    "MAX_METADATA_BYTES": 64 * 1024,
    "MAX_METADATA_DEPTH": 20,
    # Jobs share SlashML work for the same audio only within one owner unless this is True.
    "REUSE_ACROSS_OWNERS": False,
    # DRF throttle rates per user for the REST API (None: no limit). DRF's own
    # REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] wins for the same scope.
    "THROTTLE_RATES": {"slashml_submit": "120/hour", "slashml_retry": "30/hour"},
    # The admin's transcript viewer marks words recognised with less confidence than this.
    "REVIEW_LOW_CONFIDENCE": 0.6,
    # Where search results send a job's owner: None for the app's own page (slashml:transcript),
    # or a URL of the host's with "{job}" for the job's id; "?t=<seconds>" is appended.
    "TRANSCRIPT_URL": None,
    # -- The job event log, its retention and the Prometheus metrics --
    # Every step of a job writes events (job.events): SlashML calls, back-offs, transitions,
    # reviews. SlashML's answer in an event is cut to EVENT_ANSWER_MAX_CHARS of JSON.
    "EVENT_LOG": True,
    "EVENT_ANSWER_MAX_CHARS": 4096,
    # The retention command and task delete events older than this many days, and the raw
    # answers (last_response) of jobs finished that long ago. None keeps them forever.
    "EVENT_RETENTION_DAYS": 30,
    # Rows deleted per statement when pruning.
    "PRUNE_BATCH_SIZE": 5000,
    # The /metrics endpoint answers a scrape with "Authorization: Bearer <METRICS_TOKEN>"
    # or from an address in METRICS_ALLOWED_IPS (addresses or networks); anything else gets 403.
    "METRICS_TOKEN": None,
    "METRICS_ALLOWED_IPS": [],
    # SlashML calls and times to transcript are reported over this many past seconds.
    "METRICS_WINDOW_SECONDS": 300,
    # Full-text search (docs/search.md): PostgreSQL's text search configuration, and
    # how many matching segments one search ranks and pages through at most.
    "SEARCH_CONFIG": "english",
    "SEARCH_MAX_MATCHES": 1000,
    # Learned poll schedule: each provider's processing seconds per audio
    # second, the median of its last POLL_LEARNING_WINDOW completed jobs (starting from
    # POLL_DURATION_FACTOR), sets the first poll; later polls step by POLL_LEARNED_STEP of
    # the expected time, never sooner than POLL_LEARNED_MIN_DELAY. Off: the fixed schedule.
    "POLL_LEARNING": True,
    "POLL_LEARNING_WINDOW": 10,
    "POLL_LEARNING_CACHE_SECONDS": 5.0,
    "POLL_LEARNED_STEP": 0.1,
    "POLL_LEARNED_MIN_DELAY": 0.8,
    # Redaction and custom spelling, applied by the app to every provider's transcript when it
    # completes (docs/redaction.md). REDACT names the kinds replaced by a label: "EMAIL",
    # "PHONE", "CARD", "IBAN", "IP" and the labels of REDACTION_PATTERNS (label -> regex).
    # SPELLING is the project's table, [{"from": ["slash ml"], "to": "SlashML"}]; a job's own
    # table (transcribe(spelling=...), the API) is bounded by the two SPELLING_MAX_ settings.
    # REDACTION_KEEP_ORIGINAL keeps the unredacted transcript, shown only to staff with the
    # "view unredacted transcript" permission.
    "REDACT": [],
    "REDACTION_PATTERNS": {},
    "REDACTION_KEEP_ORIGINAL": False,
    # Delete an upload's original audio once a job on it has stored its toned copy and no
    # active job (a comparison's other providers) still needs the original.
    "REDACTION_DELETE_ORIGINAL_AUDIO": False,
    "SPELLING": [],
    "SPELLING_MAX_ENTRIES": 100,
    "SPELLING_MAX_CHARS": 100,
}

NUMBER_SETTINGS = (
    "CONNECT_TIMEOUT",
    "READ_TIMEOUT",
    "UPLOAD_READ_TIMEOUT",
    "POLL_INITIAL_DELAY",
    "POLL_DURATION_FACTOR",
    "POLL_MIN_INTERVAL",
    "POLL_BACKOFF_FACTOR",
    "POLL_MAX_INTERVAL",
    "POLL_JITTER",
    "POLL_LATE_FACTOR",
    "RETRY_BASE_DELAY",
    "RETRY_MAX_DELAY",
    "MAX_TRANSIENT_FAILURES",
    "JOB_DEADLINE",
    "LEASE_SECONDS",
    "TASK_TIME_LIMIT",
    "TASK_SOFT_TIME_LIMIT",
    "MAX_COUNTDOWN",
    "SWEEP_GRACE",
    "SWEEP_INTERVAL",
    "REVIEW_LOW_CONFIDENCE",
    "SWEEP_BATCH_SIZE",
    "STATUS_HTTP_RETRIES",
    "MAX_UPLOAD_SIZE",
    "REMOTE_UPLOAD_TTL",
    "REMOTE_UPLOAD_TTL_MARGIN",
    "PRESIGNED_URL_EXPIRY",
    "MAX_RESPONSE_BYTES",
    "MAX_WORDS",
    "MAX_TRANSCRIPT_CHARS",
    "MAX_REFERENCE_CHARS",
    "LIST_TEXT_CHARS",
    "MAX_METADATA_BYTES",
    "MAX_METADATA_DEPTH",
    "EVENT_ANSWER_MAX_CHARS",
    "PRUNE_BATCH_SIZE",
    "METRICS_WINDOW_SECONDS",
    "POLL_LEARNING_WINDOW",
    "POLL_LEARNING_CACHE_SECONDS",
    "POLL_LEARNED_STEP",
    "POLL_LEARNED_MIN_DELAY",
    "SPELLING_MAX_ENTRIES",
    "SPELLING_MAX_CHARS",
)

#: S3 signs URLs (signature version 4) for at most seven days.
MAX_PRESIGNED_URL_EXPIRY = 7 * 24 * 60 * 60


class SlashMLSettings:
    """Attribute access to ``settings.SLASHML`` merged over :data:`DEFAULTS`."""

    # The settings' types, for the type checker: declared only, so every read still goes
    # through __getattr__. The system checks (django_slashml.checks) hold values to them.
    API_URL: str
    API_KEY: str | None
    DEFAULT_SERVICE_PROVIDER: str
    CONNECT_TIMEOUT: float
    READ_TIMEOUT: float
    UPLOAD_READ_TIMEOUT: float
    STATUS_HTTP_RETRIES: int
    POLL_INITIAL_DELAY: float
    POLL_DURATION_FACTOR: float
    POLL_MIN_INTERVAL: float
    POLL_BACKOFF_FACTOR: float
    POLL_MAX_INTERVAL: float
    POLL_JITTER: float
    POLL_LATE_FACTOR: float
    RETRY_BASE_DELAY: float
    RETRY_MAX_DELAY: float
    MAX_TRANSIENT_FAILURES: int
    JOB_DEADLINE: float
    LEASE_SECONDS: float
    TASK_TIME_LIMIT: float
    TASK_SOFT_TIME_LIMIT: float
    MAX_COUNTDOWN: float
    SWEEP_GRACE: float
    SWEEP_INTERVAL: float
    SWEEP_BATCH_SIZE: int
    TASK_QUEUE: str | None
    QUEUE: str | None
    TASK_BACKEND: str
    MAX_UPLOAD_SIZE: int
    STORAGE: str | None
    UPLOAD_TO: str
    REMOTE_UPLOAD_TTL: float
    REMOTE_UPLOAD_TTL_MARGIN: float
    USE_PRESIGNED_URLS: bool
    PRESIGNED_URL_EXPIRY: int
    AUDIO_RETENTION_DAYS: float | None
    ALLOW_PRIVATE_AUDIO_URLS: bool
    ALLOW_PRIVATE_STORAGE_URLS: bool
    MAX_RESPONSE_BYTES: int
    MAX_WORDS: int
    MAX_TRANSCRIPT_CHARS: int
    MAX_REFERENCE_CHARS: int
    LIST_TEXT_CHARS: int
    MAX_METADATA_BYTES: int
    MAX_METADATA_DEPTH: int
    REUSE_ACROSS_OWNERS: bool
    THROTTLE_RATES: dict[str, str | None]
    REVIEW_LOW_CONFIDENCE: float
    TRANSCRIPT_URL: str | None
    EVENT_LOG: bool
    EVENT_ANSWER_MAX_CHARS: int
    EVENT_RETENTION_DAYS: float | None
    PRUNE_BATCH_SIZE: int
    METRICS_TOKEN: str | None
    METRICS_ALLOWED_IPS: list[str]
    METRICS_WINDOW_SECONDS: float
    SEARCH_CONFIG: str
    SEARCH_MAX_MATCHES: int
    POLL_LEARNING: bool
    POLL_LEARNING_WINDOW: int
    POLL_LEARNING_CACHE_SECONDS: float
    POLL_LEARNED_STEP: float
    POLL_LEARNED_MIN_DELAY: float
    REDACT: list[str]
    REDACTION_PATTERNS: dict[str, str]
    REDACTION_KEEP_ORIGINAL: bool
    REDACTION_DELETE_ORIGINAL_AUDIO: bool
    SPELLING: list[dict[str, Any]]
    SPELLING_MAX_ENTRIES: int
    SPELLING_MAX_CHARS: int

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}

    @property
    def user_settings(self) -> dict[str, Any]:
        value = getattr(settings, SETTINGS_NAME, None)
        return dict(value) if isinstance(value, dict) else {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in DEFAULTS:
            raise AttributeError(f"Invalid SlashML setting: {name!r}")
        if name not in self._cache:
            self._cache[name] = self._read(name)
        return self._cache[name]

    def _read(self, name: str) -> Any:
        user = self.user_settings
        value = user.get(name, DEFAULTS[name])
        if name == "API_KEY" and callable(value):
            value = value()  # read late, so the key never sits in settings (diffsettings, error pages)
        if name == "API_KEY" and not value:
            value = os.environ.get(API_KEY_ENVIRONMENT_VARIABLE) or None
        if name == "API_URL" and isinstance(value, str):
            value = value.rstrip("/")
        return value

    def reload(self) -> None:
        self._cache.clear()


slashml_settings = SlashMLSettings()


@receiver(setting_changed, dispatch_uid="django_slashml.conf.reload_settings")
def reload_settings(*, setting: str, **kwargs: Any) -> None:
    """Forget cached values when ``SLASHML`` changes (tests' ``override_settings``).

    Modules that build objects from settings (the HTTP client, the audio storage) connect
    their own receivers, so this module imports nothing of the app.
    """
    if setting in (SETTINGS_NAME, "STORAGES"):
        slashml_settings.reload()
