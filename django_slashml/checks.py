"""System checks: settings and the queue's configuration only, never the database.

Ids are stable; the docs list them (docs/configuration.md).
"""

from __future__ import annotations

import importlib
import inspect
import re
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.utils.module_loading import import_string
from django.utils.translation import gettext

from django_slashml.audio.urlcheck import url_problem
from django_slashml.conf import (
    DEFAULTS,
    MAX_PRESIGNED_URL_EXPIRY,
    NUMBER_SETTINGS,
    SETTINGS_NAME,
    slashml_settings,
)
from django_slashml.jobs import queues
from django_slashml.jobs.dispatch import JOB_TASK_NAMES
from django_slashml.jobs.speed import learning_problems
from django_slashml.metrics.checks import event_log_problems
from django_slashml.privacy.rules import problems as redaction_problems
from django_slashml.remote.client import CALLS_METHODS, CLIENT_METHODS, methods_without_calls
from django_slashml.remote.protocol import no_api_key, provider_problem

if TYPE_CHECKING:
    from celery import Celery

__all__ = [
    "check_celery",
    "check_queue",
    "check_settings",
    "settings_problems",
]

_VISIBILITY_TIMEOUT_TRANSPORTS = ("redis", "rediss", "sqs", "sentinel")
#: Broker schemes whose kombu transport needs packages the base install lacks: (modules, install line).
#: kombu's Redis transport also imports ``packaging``, which only ``celery[redis]`` brings.
_REDIS = (("redis", "kombu.transport.redis"), 'pip install "django-slashml[redis]"')
_TRANSPORT_PACKAGES = {
    "redis": _REDIS,
    "rediss": _REDIS,
    "sentinel": _REDIS,
    "sqs": (("boto3", "kombu.transport.SQS"), 'pip install "celery[sqs]"'),
}


@register(Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    found = settings_problems()
    for check_id, message, hint in found:
        kind = Warning if ".W" in check_id else Error
        messages.append(kind(message, hint=hint, id=check_id))
    if slashml_settings.STORAGE and slashml_settings.STORAGE not in getattr(settings, "STORAGES", {}):
        messages.append(
            Error(
                gettext("SLASHML['STORAGE'] = %(value)s is not a key of settings.STORAGES.")
                % {"value": repr(slashml_settings.STORAGE)},
                hint=gettext("Name a configured storage alias, or leave STORAGE unset for the default storage."),
                id="slashml.E005",
            )
        )
    s = slashml_settings
    numbers_ok = not any(check_id == "slashml.E004" for check_id, _, _ in found)
    if numbers_ok and not (s.TASK_SOFT_TIME_LIMIT < s.TASK_TIME_LIMIT):
        messages.append(
            Error(
                gettext(
                    "SLASHML time limits must satisfy TASK_SOFT_TIME_LIMIT < TASK_TIME_LIMIT (now %(soft)s / %(hard)s)."
                )
                % {"soft": s.TASK_SOFT_TIME_LIMIT, "hard": s.TASK_TIME_LIMIT},
                hint=gettext("The soft limit lets a step end cleanly (its job retried) before the hard one kills it."),
                id="slashml.E006",
            )
        )
    return messages


def _celery_app() -> Celery | None:
    from celery import current_app

    # celery-types declare current_app as the Celery app itself; it is a Proxy of it.
    app: Celery = current_app._get_current_object()  # type: ignore[attr-defined]
    # With no app created, Celery hands out a fallback named "default" that no worker uses.
    return None if app.main == "default" else app


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except Exception:  # a transport module whose own dependency is missing may fail in other ways
        return False
    return True


def _annotations_disable_acks_late(annotations: Any) -> bool:
    entries = annotations if isinstance(annotations, (list, tuple)) else [annotations]
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        for name in (*JOB_TASK_NAMES, "*"):
            options = entry.get(name)
            if isinstance(options, dict) and options.get("acks_late") is False:
                return True
    return False


_INSTALL_CELERY = 'pip install "django-slashml[celery]"'
_INSTALL_TASKS = 'pip install "django-slashml[tasks]"'


@register(Tags.compatibility)
def check_queue(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The queue ``SLASHML["QUEUE"]`` picks is installed and, for the task framework, its backend loads."""
    value = slashml_settings.QUEUE
    if value is not None and value not in queues.QUEUES:
        return [
            Error(
                gettext("SLASHML['QUEUE'] = %(value)s is not a queue SlashML jobs can run on.")
                % {"value": repr(value)},
                hint=gettext("Use 'celery', 'tasks' (Django's task framework), or None to pick what is installed."),
                id="slashml.E101",
            )
        ]
    queue = queues.chosen_queue()
    if queue is None:
        return [
            Error(
                gettext("Neither Celery nor Django's task framework is installed, so no worker can run SlashML jobs."),
                hint=gettext("Choose one: %(celery)s, or %(tasks)s (no broker; docs/task-framework.md).")
                % {"celery": _INSTALL_CELERY, "tasks": _INSTALL_TASKS},
                id="slashml.E100",
            )
        ]
    if queue == queues.CELERY:
        if not queues.celery_installed():
            return [
                Error(
                    gettext("SLASHML['QUEUE'] is 'celery', and Celery is not installed."),
                    hint=_INSTALL_CELERY,
                    id="slashml.E102",
                )
            ]
        return []
    if queues.framework() is None:
        return [
            Error(
                gettext(
                    "SLASHML['QUEUE'] is 'tasks', and Django's task framework is not installed "
                    "(django.tasks comes with Django 6.0; before it, the django-tasks backport)."
                ),
                hint=_INSTALL_TASKS,
                id="slashml.E103",
            )
        ]
    try:
        backend = queues.framework_backend()
    except Exception as exc:
        return [
            Error(
                gettext("The task backend %(alias)s for SlashML jobs cannot be loaded: %(error)s")
                % {"alias": repr(slashml_settings.TASK_BACKEND), "error": exc},
                hint=gettext(
                    "Name a backend of settings.TASKS in SLASHML['TASK_BACKEND'] (default 'default'), for example "
                    "TASKS = {'default': {'BACKEND': 'django_tasks_db.DatabaseBackend'}}."
                ),
                id="slashml.E104",
            )
        ]
    if not backend.supports_defer:
        return [
            Warning(
                gettext(
                    "The task backend %(alias)s (%(backend)s) cannot run a task later (supports_defer is False): "
                    "SlashML sends each later step only when the sweeper finds it due."
                )
                % {"alias": repr(slashml_settings.TASK_BACKEND), "backend": type(backend).__name__},
                hint=gettext(
                    "Run 'manage.py slashml_sweep --loop --interval 2' beside it, or use a backend that defers, "
                    "such as django-tasks-db's DatabaseBackend (docs/task-framework.md)."
                ),
                id="slashml.W105",
            )
        ]
    return []


@register(Tags.compatibility)
def check_celery(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if queues.chosen_queue() != queues.CELERY or not queues.celery_installed():
        return []
    app = _celery_app()
    if app is None:
        return [
            Warning(
                gettext("No Celery app is configured, so no worker will run SlashML jobs."),
                hint=gettext(
                    "Create one in your project (proj/celery.py) and import it in proj/__init__.py; "
                    "see the README's 'Use it in your project'."
                ),
                id="slashml.W014",
            )
        ]
    conf = app.conf
    messages: list[CheckMessage] = []
    if conf.task_always_eager:
        messages.append(
            Warning(
                gettext(
                    "Celery runs tasks eagerly (task_always_eager): polls run inline and countdowns are ignored, "
                    "so jobs only advance when the sweeper runs."
                ),
                hint=gettext(
                    "Run a worker. In tests, use the fake_slashml pytest fixture (it runs jobs eagerly with "
                    "every wait at zero), django_slashml.testing's simulate_completion() / simulate_failure(), or the "
                    "slashml_sandbox fixture."
                ),
                id="slashml.W010",
            )
        )
    if conf.worker_prefetch_multiplier != 1:
        messages.append(
            Warning(
                gettext(
                    "CELERY_WORKER_PREFETCH_MULTIPLIER is %(value)s; the app's acks_late "
                    "tasks are best reserved one at a time, so a busy process does not sit on countdown polls."
                )
                % {"value": conf.worker_prefetch_multiplier},
                hint=gettext("Set CELERY_WORKER_PREFETCH_MULTIPLIER = 1."),
                id="slashml.W011",
            )
        )
    if _annotations_disable_acks_late(conf.task_annotations):
        messages.append(
            Error(
                gettext(
                    "task_annotations turn off acks_late for django-slashml's tasks; a killed worker would lose jobs "
                    "until the next sweep."
                ),
                hint=gettext("Remove acks_late=False for django_slashml.* (or '*') from CELERY_TASK_ANNOTATIONS."),
                id="slashml.E012",
            )
        )
    broker = str(conf.broker_url or "")
    scheme = broker.split("://", 1)[0].split("+")[-1] if "://" in broker else ""
    if scheme in _TRANSPORT_PACKAGES:
        modules, install = _TRANSPORT_PACKAGES[scheme]
        missing = [module for module in modules if not _importable(module)]
        if missing:
            messages.append(
                Warning(
                    gettext(
                        "The Celery broker is %(scheme)s://, and its transport cannot be loaded (%(module)s fails "
                        "to import): jobs are saved, but their Celery messages cannot be sent and no worker can start."
                    )
                    % {"scheme": scheme, "module": repr(missing[0])},
                    hint=install,
                    id="slashml.W020",
                )
            )
    if scheme in _VISIBILITY_TIMEOUT_TRANSPORTS:
        visibility = (conf.broker_transport_options or {}).get("visibility_timeout", 3600)
        longest = max(float(slashml_settings.LEASE_SECONDS), float(slashml_settings.MAX_COUNTDOWN))
        if isinstance(visibility, (int, float)) and visibility <= longest:
            messages.append(
                Error(
                    gettext(
                        "The broker's visibility_timeout (%(visibility)s s) is not above SLASHML's LEASE_SECONDS / "
                        "MAX_COUNTDOWN (%(longest).0f s): running and scheduled tasks would be delivered twice."
                    )
                    % {"visibility": visibility, "longest": longest},
                    hint=gettext(
                        "Raise CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'] or lower those settings."
                    ),
                    id="slashml.E013",
                )
            )
    return messages


def settings_problems() -> list[tuple[str, str, str]]:
    """Every problem with the configured values, as (check id, message, hint).

    Only :func:`check_settings` reads it. Code that cannot run
    with a broken value refuses on its own: ``transcribe()`` and the client without an
    API key, ``transcribe()`` and the REST API with an unknown provider.
    """
    found: list[tuple[str, str, str]] = []
    raw = getattr(settings, SETTINGS_NAME, {})
    if not isinstance(raw, dict):
        return [
            (
                "slashml.E000",
                gettext("settings.%(name)s must be a dict.") % {"name": SETTINGS_NAME},
                gettext("Set SLASHML = {...}."),
            )
        ]
    for key in raw:
        if key not in DEFAULTS:
            found.append(
                (
                    "slashml.W001",
                    gettext("Unknown key %(key)s in settings.%(name)s; it is ignored.")
                    % {"key": repr(key), "name": SETTINGS_NAME},
                    gettext("Valid keys: %(keys)s.") % {"keys": ", ".join(sorted(DEFAULTS))},
                )
            )
    if not slashml_settings.API_KEY:
        found.append(("slashml.E001", *no_api_key(gettext)))
    api_url = slashml_settings.API_URL
    reason = url_problem(api_url, allow_private=True) if isinstance(api_url, str) else gettext("it is not a string")
    if reason:
        found.append(
            (
                "slashml.E002",
                gettext("SLASHML['API_URL'] = %(value)s is not usable: %(reason)s.")
                % {"value": repr(api_url), "reason": reason},
                gettext("Use an http(s) URL such as https://api.slashml.com."),
            )
        )
    provider = slashml_settings.DEFAULT_SERVICE_PROVIDER
    problem = provider_problem(provider, translate=gettext)
    if problem:
        found.append(
            (
                "slashml.E003",
                gettext("SLASHML['DEFAULT_SERVICE_PROVIDER'] = %(value)s is not a SlashML provider.")
                % {"value": repr(provider)},
                problem,
            )
        )
    for name in NUMBER_SETTINGS:
        value = getattr(slashml_settings, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            found.append(
                (
                    "slashml.E004",
                    gettext("SLASHML[%(name)s] = %(value)s must be a number >= 0.")
                    % {"name": repr(name), "value": repr(value)},
                    _default_is(DEFAULTS[name]),
                )
            )
    found.extend(_storage_problems())
    found.extend(_client_class_problems())
    found.extend(event_log_problems())
    found.extend(learning_problems())
    found.extend(redaction_problems())
    rates = slashml_settings.THROTTLE_RATES
    bad_rates = not isinstance(rates, dict) or any(
        value is not None and not (isinstance(value, str) and re.fullmatch(r"\d+/(s|m|h|d)\w*", value))
        for value in rates.values()
    )
    if bad_rates:
        found.append(
            (
                "slashml.E019",
                gettext(
                    "SLASHML['THROTTLE_RATES'] = %(value)s must map scopes to DRF rates such as '30/hour', or None."
                )
                % {"value": repr(rates)},
                _default_is(DEFAULTS["THROTTLE_RATES"]),
            )
        )
    found.extend(_transcript_url_problems())
    return found


def _default_is(value: Any) -> str:
    return gettext("The default is %(value)s.") % {"value": repr(value)}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _storage_problems() -> list[tuple[str, str, str]]:
    """Presigned URLs and retention: values S3 or the purge would refuse, or that defeat their purpose."""
    s = slashml_settings
    found: list[tuple[str, str, str]] = []
    expiry, deadline = s.PRESIGNED_URL_EXPIRY, s.JOB_DEADLINE
    if _is_number(expiry) and not 1 <= expiry <= MAX_PRESIGNED_URL_EXPIRY:
        found.append(
            (
                "slashml.E015",
                gettext(
                    "SLASHML['PRESIGNED_URL_EXPIRY'] = %(value)s is outside 1..%(maximum)s seconds; "
                    "S3 does not sign URLs for longer than 7 days."
                )
                % {"value": repr(expiry), "maximum": MAX_PRESIGNED_URL_EXPIRY},
                gettext("Use a value of at least JOB_DEADLINE (%(deadline)s) and at most %(maximum)s.")
                % {"deadline": repr(deadline), "maximum": MAX_PRESIGNED_URL_EXPIRY},
            )
        )
    elif _is_number(expiry) and _is_number(deadline) and expiry < deadline and s.USE_PRESIGNED_URLS:
        found.append(
            (
                "slashml.W015",
                gettext(
                    "SLASHML['PRESIGNED_URL_EXPIRY'] (%(expiry)s s) is shorter than JOB_DEADLINE (%(deadline)s s): "
                    "a provider that fetches the audio late in a job's life would find the URL expired."
                )
                % {"expiry": expiry, "deadline": deadline},
                gettext("Raise PRESIGNED_URL_EXPIRY to at least JOB_DEADLINE (at most 604800)."),
            )
        )
    days = s.AUDIO_RETENTION_DAYS
    if days is not None and (not _is_number(days) or days <= 0):
        found.append(
            (
                "slashml.E016",
                gettext(
                    "SLASHML['AUDIO_RETENTION_DAYS'] = %(value)s must be None (keep audio) or a number of days > 0."
                )
                % {"value": repr(days)},
                gettext("For example 30 deletes stored audio a month after upload; transcripts are kept."),
            )
        )
    if not isinstance(s.USE_PRESIGNED_URLS, bool):
        found.append(
            (
                "slashml.E017",
                gettext("SLASHML['USE_PRESIGNED_URLS'] = %(value)s must be True or False.")
                % {"value": repr(s.USE_PRESIGNED_URLS)},
                gettext("True submits presigned storage URLs where the storage offers them; False always uploads."),
            )
        )
    return found


def _transcript_url_problems() -> list[tuple[str, str, str]]:
    """``TRANSCRIPT_URL``: None, or a URL with ``{job}`` that formats with nothing else."""
    value = slashml_settings.TRANSCRIPT_URL
    if value is None:
        return []
    hint = gettext("Leave it out for the app's own page, or give a URL such as '/calls/{job}/'.")
    message = gettext("SLASHML['TRANSCRIPT_URL'] = %(value)s must be a string holding {job}, the job's id.")
    if not isinstance(value, str) or "{job}" not in value:
        return [("slashml.E080", message % {"value": repr(value)}, hint)]
    try:
        value.format(job="x")
    except (KeyError, IndexError, ValueError):
        return [("slashml.E080", message % {"value": repr(value)}, hint)]
    return []


def _client_class_problems() -> list[tuple[str, str, str]]:
    """``CLIENT_CLASS`` must import and be a class with every method the pipeline calls, taking ``calls=``."""
    path = slashml_settings.CLIENT_CLASS
    hint = gettext("The default is %(default)s; tests may use 'django_slashml.testing.FakeSlashMLClient'.") % {
        "default": repr(DEFAULTS["CLIENT_CLASS"])
    }
    if not isinstance(path, str):
        message = gettext("SLASHML['CLIENT_CLASS'] = %(value)s must be a dotted path (a string).")
        return [("slashml.E021", message % {"value": repr(path)}, hint)]
    try:
        cls = import_string(path)
    except Exception as exc:  # a module that fails on import fails in its own way
        message = gettext("SLASHML['CLIENT_CLASS'] = %(value)s cannot be imported: %(error)s")
        return [("slashml.E021", message % {"value": repr(path), "error": exc}, hint)]
    missing = [name for name in CLIENT_METHODS if not callable(getattr(cls, name, None))]
    if not inspect.isclass(cls) or missing:
        if not inspect.isclass(cls):
            message = gettext("SLASHML['CLIENT_CLASS'] = %(value)s is not a class; the pipeline calls %(methods)s.")
        else:
            message = gettext("SLASHML['CLIENT_CLASS'] = %(value)s lacks %(missing)s; the pipeline calls %(methods)s.")
        return [
            (
                "slashml.E021",
                message % {"value": repr(path), "missing": ", ".join(missing), "methods": ", ".join(CLIENT_METHODS)},
                hint,
            )
        ]
    refusing = methods_without_calls(cls)
    if refusing:
        message = gettext(
            "SLASHML['CLIENT_CLASS'] = %(value)s: %(refusing)s must accept the keyword argument calls=; "
            "the pipeline passes it to %(methods)s."
        )
        calls_hint = gettext(
            "Add a keyword parameter calls=None to each and note every call in it "
            "(django_slashml.remote.calls.StepCalls), as SlashMLClient does; see the CLIENT_CLASS setting's docs."
        )
        values = {"value": repr(path), "refusing": ", ".join(refusing), "methods": ", ".join(CALLS_METHODS)}
        return [("slashml.E021", message % values, calls_hint)]
    return []
