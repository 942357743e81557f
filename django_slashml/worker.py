"""What a Celery worker says about the project's receivers when it starts.

A receivers module that nothing imports (its app missing from INSTALLED_APPS, or an
``AppConfig.ready()`` that does not import it) connects nothing, and jobs then complete in
silence. A system check cannot tell that from a project that reads ``job.status`` instead and
needs no receiver, so it would warn projects that are right. The worker names what it found
instead, once, at INFO, beside Celery's own list of tasks: the place to look when a receiver
never fires (docs/troubleshooting.md).
"""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import worker_ready

from django_slashml import signals

__all__ = ["log_project_receivers", "project_receivers", "receivers_report"]

logger = logging.getLogger("django_slashml.worker")

#: The signals that tell a project how a job ended, in the order the report names them.
ENDING_SIGNALS = {
    "transcription_completed": signals.transcription_completed,
    "transcription_failed": signals.transcription_failed,
    "transcription_status_changed": signals.transcription_status_changed,
}


def _dotted_name(function: Any) -> str:
    module = getattr(function, "__module__", None) or "?"
    name = getattr(function, "__qualname__", None) or repr(function)
    return f"{module}.{name}"


def project_receivers(signal: signals.TransitionSignal) -> list[str]:
    """Dotted names of the receivers of ``signal`` for jobs that are not this app's own."""
    from django_slashml.models import TranscriptionJob

    names = [_dotted_name(function) for function in signal.connected_receivers(TranscriptionJob)]
    return [name for name in names if not name.startswith("django_slashml.")]


def receivers_report() -> str:
    """One line: which project receivers hear of finished jobs, or that none does and why that may be."""
    found = {name: project_receivers(signal) for name, signal in ENDING_SIGNALS.items()}
    if not found["transcription_completed"] and not found["transcription_status_changed"]:
        return (
            "django-slashml: no receiver of transcription_completed is connected in this worker, so nothing in "
            "your project hears that a transcript is ready (fine if it reads job.status instead). A receivers "
            "module must be imported by the AppConfig.ready() of an app listed in INSTALLED_APPS."
        )
    listed = "; ".join(f"{name}: {', '.join(names)}" for name, names in found.items() if names)
    return f"django-slashml: your receivers in this worker: {listed}."


@worker_ready.connect(weak=False, dispatch_uid="django_slashml.worker.log_project_receivers")
def log_project_receivers(**kwargs: Any) -> None:
    logger.info(receivers_report())
