"""The benchmark workers' Celery app: django-slashml's tasks, the blocking baseline, and
a tally of how long tasks keep a worker slot busy (kept in Redis, read by the driver).

The tally costs a Redis round trip per task, so only the workers that are asked for it
(``SLASHML_BENCH_TALLY_TASKS=1``, the occupancy section's) keep it: the throughput section
measures the app, not its instruments."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import redis
from celery import Celery
from celery.signals import task_postrun, task_prerun

app = Celery("slashml_bench")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

BUSY_KEY = "slashml-bench:busy-seconds"
TASKS_KEY = "slashml-bench:tasks"
DETECTED_KEY = "slashml-bench:baseline-detected"
STEPS_KEY = "slashml-bench:steps"

_started: dict[str, float] = {}
_redis: redis.Redis | None = None


def tally() -> redis.Redis:
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(os.environ.get("SLASHML_BENCH_TALLY", "redis://127.0.0.1:6379/13"))
    return _redis


def _start_clock(task_id: str, **kwargs: Any) -> None:
    _started[task_id] = time.monotonic()


def _stop_clock(task_id: str, **kwargs: Any) -> None:
    started = _started.pop(task_id, None)
    if started is not None:
        pipe = tally().pipeline()
        pipe.incrbyfloat(BUSY_KEY, time.monotonic() - started)
        pipe.incr(TASKS_KEY)
        pipe.execute()


if os.environ.get("SLASHML_BENCH_TALLY_TASKS") == "1":
    task_prerun.connect(_start_clock, weak=False)
    task_postrun.connect(_stop_clock, weak=False)


def _trace_step(task_id: str, task: Any, args: Any = (), **kwargs: Any) -> None:
    """When each job step started, and the time its message was due (its eta), for the real-clock polls."""
    record = {"task": task.name, "job": str(args[0]) if args else "", "eta": task.request.eta, "started": time.time()}
    tally().rpush(STEPS_KEY, json.dumps(record))


if os.environ.get("SLASHML_BENCH_TRACE_STEPS") == "1":
    task_prerun.connect(_trace_step, weak=False)


@app.task(name="benchmarks.vendor_transcribe", acks_late=True, ignore_result=True)
def vendor_transcribe(path: str, sandbox_url: str, api_key: str) -> None:
    """The typical hand-written integration: upload, then block in the vendor's loop."""
    from .vendor import speech_to_text, wait_like_the_vendor

    client_class = speech_to_text(sandbox_url)
    client = client_class(api_key=api_key)
    provider = client_class.ServiceProvider.ASSEMBLY
    uploaded = client.upload_audio(path)
    result = wait_like_the_vendor(client, uploaded.uploaded_url, provider)
    tally().hset(DETECTED_KEY, str(result.id), time.time())
