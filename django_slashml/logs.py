"""Every log line about a job carries its id: in the message and as ``record.slashml_job_id``.

A worker's step runs inside :func:`about_job`; the loggers of the modules a step passes
through (the pipeline, the state machine, the SlashML client, dispatch) are
:class:`JobLogger` adapters, which add the id of the job being worked on (or the one
passed as ``extra={"slashml_job_id": ...}``) to the record, and put ``Job <id>:`` in front
of a message that does not name it yet. A log handler can then filter or index by job.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = ["JOB_ID_ATTRIBUTE", "JobLogger", "about_job", "job_logger"]

JOB_ID_ATTRIBUTE = "slashml_job_id"

_current_job: ContextVar[str] = ContextVar("slashml_job", default="")


@contextmanager
def about_job(job_id: object) -> Iterator[None]:
    """Log lines inside the block are about ``job_id``."""
    token = _current_job.set(str(job_id))
    try:
        yield
    finally:
        _current_job.reset(token)


class JobLogger(logging.LoggerAdapter):  # type: ignore[type-arg]  # generic only in typeshed
    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        extra = dict(kwargs.get("extra") or {})
        job_id = str(extra.get(JOB_ID_ATTRIBUTE) or _current_job.get())
        if job_id:
            extra[JOB_ID_ATTRIBUTE] = job_id
            kwargs["extra"] = extra
            if isinstance(msg, str) and "job %s" not in msg.lower() and job_id not in msg:
                msg = f"Job {job_id}: {msg}"
        return msg, kwargs


def job_logger(name: str) -> JobLogger:
    return JobLogger(logging.getLogger(name), {})
