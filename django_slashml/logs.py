"""Every log line about a job carries its id: in the message and as ``record.slashml_job_id``.

The modules a step passes through (the pipeline, the state machine, the SlashML client,
dispatch, the lease's heartbeat) log through :class:`JobLogger` adapters. A step logs through
one bound to its job (:meth:`JobLogger.about`); a line about some other job passes it as
``extra={"slashml_job_id": ...}``. The adapter puts the id on the record and ``Job <id>:`` in
front of a message that does not name it yet, so a log handler can filter or index by job.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

__all__ = ["JOB_ID_ATTRIBUTE", "JobLogger", "job_logger"]

JOB_ID_ATTRIBUTE = "slashml_job_id"


class JobLogger(logging.LoggerAdapter):  # type: ignore[type-arg]  # generic only in typeshed
    def about(self, job_id: object) -> JobLogger:
        """This logger, with every line about ``job_id`` (an empty id names no job)."""
        return JobLogger(self.logger, {JOB_ID_ATTRIBUTE: str(job_id or "")})

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        extra = {**(self.extra or {}), **(kwargs.get("extra") or {})}
        job_id = str(extra.get(JOB_ID_ATTRIBUTE) or "")
        if job_id:
            extra[JOB_ID_ATTRIBUTE] = job_id
            kwargs["extra"] = extra
            if isinstance(msg, str) and "job %s" not in msg.lower() and job_id not in msg:
                msg = f"Job {job_id}: {msg}"
        return msg, kwargs


def job_logger(name: str) -> JobLogger:
    """The logger ``name``, naming the job of each line that has one."""
    return JobLogger(logging.getLogger(name), {})
