"""Which queue carries the job engine's nudges, and how a nudge is sent on each.

Two queues can carry them: Celery, and Django's task framework (``django.tasks`` from
Django 6.0, the ``django-tasks`` backport before it). ``SLASHML["QUEUE"]`` picks one;
unset, Celery is used where it is installed, else the task framework. Either way a
message is only a nudge: the job row holds what is due and when, and the sweeper sends
again whatever was lost.

The task objects are found by name (Celery's registry) or by dotted path (the task
framework), so the engine never imports the modules whose tasks call back into it.
"""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module
from importlib.util import find_spec
from types import ModuleType
from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from django_slashml.conf import slashml_settings

__all__ = [
    "CELERY",
    "QUEUES",
    "TASKS",
    "celery_installed",
    "chosen_queue",
    "framework",
    "framework_backend",
    "send",
]

CELERY = "celery"
TASKS = "tasks"
QUEUES = (CELERY, TASKS)

#: Where the task framework's versions of the job tasks live (django_slashml.task_framework).
FRAMEWORK_TASKS_MODULE = "django_slashml.task_framework"
#: django-tasks-db's result rows, read only to fail those a killed worker left RUNNING.
RESULT_MODEL = "django_tasks_db.models.DBTaskResult"


def celery_installed() -> bool:
    return find_spec("celery") is not None


def framework() -> ModuleType | None:
    """Django's task framework: ``django.tasks`` where Django has it, else the backport, else None."""
    for name in ("django.tasks", "django_tasks"):
        try:
            if find_spec(name) is not None:
                return import_module(name)
        except ImportError:  # find_spec("django.tasks") imports django, which is there
            continue
    return None


def chosen_queue() -> str | None:
    """``SLASHML["QUEUE"]``, or where unset: Celery if installed, else the task framework if present, else None."""
    value = slashml_settings.QUEUE
    if value is not None:
        return str(value)
    if celery_installed():
        return CELERY
    if framework() is not None:
        return TASKS
    return None


def framework_backend() -> Any:
    """The task framework backend named by ``SLASHML["TASK_BACKEND"]`` (raises if it cannot be loaded)."""
    module = framework()
    if module is None:
        raise LookupError(
            "Django's task framework is not installed: use Django 6.0 or later, "
            'or pip install "django-slashml[tasks]".'
        )
    return module.task_backends[slashml_settings.TASK_BACKEND]


def backend_can_defer() -> bool:
    """Whether steps due later can be sent ahead: always on Celery; on the task framework, if the backend defers."""
    if chosen_queue() != TASKS:
        return True
    try:
        return bool(framework_backend().supports_defer)
    except Exception:
        return False


def _runs_in_process(backend: Any) -> bool:
    """The immediate backend runs a task inside ``enqueue()``, in the caller's transaction."""
    return type(backend).__name__ == "ImmediateBackend"


def _send_celery(name: str, job_id: UUID | str, countdown: float | None) -> None:
    from celery import current_app

    try:
        task: Any = current_app.tasks[name]
    except KeyError:
        raise LookupError(
            f"The Celery task {name!r} is not registered: add 'django_slashml' to INSTALLED_APPS "
            "(its AppConfig imports django_slashml.tasks)."
        ) from None
    s = slashml_settings
    options: dict[str, Any] = {"time_limit": s.TASK_TIME_LIMIT, "soft_time_limit": s.TASK_SOFT_TIME_LIMIT}
    if countdown and countdown > 0:
        options["countdown"] = countdown
    if s.TASK_QUEUE:
        options["queue"] = s.TASK_QUEUE
    task.apply_async(args=[str(job_id)], **options)


def _send_framework(name: str, job_id: UUID | str, countdown: float | None) -> bool:
    backend = framework_backend()
    task = import_string(f"{FRAMEWORK_TASKS_MODULE}.{name.rsplit('.', 1)[-1]}")
    options: dict[str, Any] = {"backend": slashml_settings.TASK_BACKEND}
    if slashml_settings.TASK_QUEUE:
        options["queue_name"] = slashml_settings.TASK_QUEUE
    if countdown and countdown > 0:
        if not backend.supports_defer:
            return False  # the sweeper sends it when it is due (docs/task-framework.md)
        options["run_after"] = timezone.now() + timedelta(seconds=countdown)
    task = task.using(**options)
    if _runs_in_process(backend) and transaction.get_connection().in_atomic_block:
        # Run the step after the caller's transaction, not inside it (and its row locks).
        transaction.on_commit(lambda: task.enqueue(str(job_id)), robust=True)
    else:
        task.enqueue(str(job_id))
    return True


def send(name: str, job_id: UUID | str, *, countdown: float | None = None) -> bool:
    """Send the task ``name`` for ``job_id`` on the chosen queue; False if nothing was sent.

    Raises what the queue raised (the caller logs it and leaves the job to the sweeper).
    """
    queue = chosen_queue()
    if queue == TASKS:
        return _send_framework(name, job_id, countdown)
    if queue == CELERY:
        _send_celery(name, job_id, countdown)
        return True
    raise LookupError(
        "No task queue is installed for SlashML jobs: "
        'pip install "django-slashml[celery]" or "django-slashml[tasks]" (manage.py check says more).'
    )


class WorkerLost(Exception):
    """Recorded on a task-framework result whose worker died while it ran (the job itself was recovered)."""


def fail_stale_results(*, older_than: float | None = None) -> int:
    """Mark this app's ``django-tasks-db`` results left RUNNING by killed workers as FAILED; returns how many.

    The framework never does: a killed worker's row stays RUNNING forever, and
    ``prune_db_task_results`` deletes finished rows only. A running step renews its job's lease
    (for as long as ``TASK_TIME_LIMIT``), so a row RUNNING for longer than ``LEASE_SECONDS`` whose
    job's lease is not held any more is a dead worker's. A row with no job (the sweep, the purge)
    counts as dead once it has run for longer than ``TASK_TIME_LIMIT`` and a lease.
    """
    from django.apps import apps

    from django_slashml.models import TranscriptionJob

    if chosen_queue() != TASKS or not apps.is_installed("django_tasks_db"):
        return 0
    module = framework()
    if module is None:
        return 0
    result_model: Any = import_string(RESULT_MODEL)
    status = module.TaskResultStatus
    now = timezone.now()
    lease = float(slashml_settings.LEASE_SECONDS if older_than is None else older_than)
    no_job_cutoff = now - timedelta(seconds=lease + float(slashml_settings.TASK_TIME_LIMIT))
    running = result_model.objects.filter(
        status=status.RUNNING,
        task_path__startswith=f"{FRAMEWORK_TASKS_MODULE}.",
        started_at__lt=now - timedelta(seconds=lease),
    )
    rows = [
        (pk, ((args_kwargs or {}).get("args") or [None])[0], started_at)
        for pk, args_kwargs, started_at in running.values_list("pk", "args_kwargs", "started_at")[:1000]
    ]
    job_ids = {job_id for _, job_id, _ in rows if job_id is not None}
    leased = TranscriptionJob.objects.filter(pk__in=job_ids, lease_expires_at__gt=now).values_list("pk", flat=True)
    held = {str(pk) for pk in leased}  # one query for the whole batch, not one a row
    dead = [
        pk
        for pk, job_id, started_at in rows
        if (started_at < no_job_cutoff if job_id is None else str(job_id) not in held)
    ]
    if not dead:
        return 0
    lost = WorkerLost
    return int(
        result_model.objects.filter(pk__in=dead, status=status.RUNNING).update(
            status=status.FAILED,
            finished_at=now,
            exception_class_path=f"{lost.__module__}.{lost.__qualname__}",
            traceback="Its worker stopped while the task ran (killed, or hung once its job's lease had run "
            "out); the sweeper sent the job's step again.\n",
        )
    )
