"""System checks: settings and Celery configuration only, never the database.

Ids are stable; the docs list them (docs/configuration.md).
"""

from __future__ import annotations

import importlib
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from .conf import problems, slashml_settings

_TASK_NAMES = ("django_slashml.start_job", "django_slashml.poll_job")
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
    found = problems()
    for check_id, message, hint in found:
        kind = Warning if ".W" in check_id else Error
        messages.append(kind(message, hint=hint, id=check_id))
    if slashml_settings.STORAGE and slashml_settings.STORAGE not in getattr(settings, "STORAGES", {}):
        messages.append(
            Error(
                f"SLASHML['STORAGE'] = {slashml_settings.STORAGE!r} is not a key of settings.STORAGES.",
                hint="Name a configured storage alias, or leave STORAGE unset for the default storage.",
                id="slashml.E005",
            )
        )
    s = slashml_settings
    numbers_ok = not any(check_id == "slashml.E004" for check_id, _, _ in found)
    if numbers_ok and not (s.TASK_SOFT_TIME_LIMIT < s.TASK_TIME_LIMIT < s.LEASE_SECONDS):
        messages.append(
            Error(
                "SLASHML time limits must satisfy TASK_SOFT_TIME_LIMIT < TASK_TIME_LIMIT < LEASE_SECONDS "
                f"(now {s.TASK_SOFT_TIME_LIMIT} / {s.TASK_TIME_LIMIT} / {s.LEASE_SECONDS}).",
                hint="A task still running when its lease ends would race the worker the sweeper hands it to.",
                id="slashml.E006",
            )
        )
    return messages


def _celery_app() -> Any:
    from celery import current_app

    app = current_app._get_current_object()
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
        for name in (*_TASK_NAMES, "*"):
            options = entry.get(name)
            if isinstance(options, dict) and options.get("acks_late") is False:
                return True
    return False


@register(Tags.compatibility)
def check_celery(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    app = _celery_app()
    if app is None:
        return [
            Warning(
                "No Celery app is configured, so no worker will run SlashML jobs.",
                hint="Create one in your project (proj/celery.py) and import it in proj/__init__.py; "
                "see the README's 'Use it in your project'.",
                id="slashml.W014",
            )
        ]
    conf = app.conf
    messages: list[CheckMessage] = []
    if conf.task_always_eager:
        messages.append(
            Warning(
                "Celery runs tasks eagerly (task_always_eager): polls run inline and countdowns are ignored, "
                "so jobs only advance when the sweeper runs.",
                hint="Run a worker. In tests, finish jobs with django_slashml.testing's simulate_completion() / "
                "simulate_failure(), or run them against the slashml_sandbox fixture.",
                id="slashml.W010",
            )
        )
    if conf.worker_prefetch_multiplier != 1:
        messages.append(
            Warning(
                f"CELERY_WORKER_PREFETCH_MULTIPLIER is {conf.worker_prefetch_multiplier}; the app's acks_late "
                "tasks are best reserved one at a time, so a busy process does not sit on countdown polls.",
                hint="Set CELERY_WORKER_PREFETCH_MULTIPLIER = 1.",
                id="slashml.W011",
            )
        )
    if _annotations_disable_acks_late(conf.task_annotations):
        messages.append(
            Error(
                "task_annotations turn off acks_late for django-slashml's tasks; a killed worker would lose jobs "
                "until the next sweep.",
                hint="Remove acks_late=False for django_slashml.* (or '*') from CELERY_TASK_ANNOTATIONS.",
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
                    f"The Celery broker is {scheme}://, and its transport cannot be loaded ({missing[0]!r} fails "
                    "to import): jobs are saved, but their Celery messages cannot be sent and no worker can start.",
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
                    f"The broker's visibility_timeout ({visibility} s) is not above SLASHML's LEASE_SECONDS / "
                    f"MAX_COUNTDOWN ({longest:.0f} s): running and scheduled tasks would be delivered twice.",
                    hint="Raise CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'] or lower those settings.",
                    id="slashml.E013",
                )
            )
    return messages
