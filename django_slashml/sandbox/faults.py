"""What the sandbox does wrong on purpose, and how it decides when.

Rates are fractions of requests (or of jobs) drawn from a seeded generator, so a
run is repeatable. ``script`` holds one-shot faults consumed in order, for tests
that need "the next two status calls fail" exactly.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from django_slashml.remote.protocol import SERVICE_PROVIDERS
from django_slashml.sandbox.mistakes import DEFAULT_MISTAKE_RATES

ENDPOINTS = ("upload", "submit", "status")

#: Request-level faults: the sandbox answers (or fails to) instead of doing the work.
REQUEST_FAULTS = ("500", "429", "drop", "slow", "malformed", "truncated")
#: Body-level faults for a status answer: the job is reported strangely.
BODY_FAULTS = ("unknown_status", "missing_word_fields", "no_words")
SCRIPT_FAULTS = REQUEST_FAULTS + BODY_FAULTS


class FaultConfigError(ValueError):
    """A fault setting the sandbox cannot use; the message says which and why."""


@dataclass
class Faults:
    latency: float = 0.0
    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    retry_after: float = 1.0
    slow_body_rate: float = 0.0
    slow_body_delay: float = 5.0
    drop_rate: float = 0.0
    job_error_rate: float = 0.0
    never_finish_rate: float = 0.0
    processing_time: float = 1.0
    processing_time_per_audio_second: float = 0.0
    endpoints: list[str] = field(default_factory=lambda: list(ENDPOINTS))
    seed: int | None = None
    script: list[dict[str, Any]] = field(default_factory=list)
    #: Mistakes per word by provider (sandbox/mistakes.py); a provider left out keeps its default.
    mistakes: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MISTAKE_RATES))

    _RATES = ("error_rate", "rate_limit_rate", "slow_body_rate", "drop_rate", "job_error_rate", "never_finish_rate")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def updated(self, changes: dict[str, Any]) -> Faults:
        """A copy with ``changes`` applied, validated; raises :class:`FaultConfigError`."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise FaultConfigError(f"Unknown fault setting(s) {unknown}; known: {sorted(known)}.")
        values = {**self.as_dict(), **changes}
        values["mistakes"] = _checked_mistakes(values["mistakes"])
        for name in known - {"endpoints", "seed", "script", "mistakes"}:
            value = values[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise FaultConfigError(f"{name} must be a number >= 0, not {value!r}.")
            if name in self._RATES and value > 1:
                raise FaultConfigError(f"{name} is a fraction between 0 and 1, not {value!r}.")
        if not isinstance(values["endpoints"], list) or set(values["endpoints"]) - set(ENDPOINTS):
            raise FaultConfigError(f"endpoints must be a list drawn from {list(ENDPOINTS)}.")
        if values["seed"] is not None and not isinstance(values["seed"], int):
            raise FaultConfigError("seed must be an integer or null.")
        script = values["script"]
        if not isinstance(script, list):
            raise FaultConfigError("script must be a list of {endpoint, fault, count} objects.")
        values["script"] = [_checked_step(step) for step in script]
        return Faults(**values)


def _checked_mistakes(mistakes: Any) -> dict[str, float]:
    if not isinstance(mistakes, dict):
        raise FaultConfigError('mistakes must be an object of provider: rate, e.g. {"aws": 0.1}.')
    for provider, rate in mistakes.items():
        if provider not in SERVICE_PROVIDERS:
            raise FaultConfigError(f"mistakes: unknown provider {provider!r}; use one of {list(SERVICE_PROVIDERS)}.")
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise FaultConfigError(f"mistakes[{provider!r}] is a fraction between 0 and 1, not {rate!r}.")
    return {provider: float(rate) for provider, rate in mistakes.items()}


def _checked_step(step: Any) -> dict[str, Any]:
    if not isinstance(step, dict):
        raise FaultConfigError(f"A script step must be an object, not {step!r}.")
    endpoint, fault = step.get("endpoint"), step.get("fault")
    count = step.get("count", 1)
    if endpoint not in ENDPOINTS:
        raise FaultConfigError(f"Script step endpoint {endpoint!r} is not one of {list(ENDPOINTS)}.")
    if fault not in SCRIPT_FAULTS:
        raise FaultConfigError(f"Script step fault {fault!r} is not one of {list(SCRIPT_FAULTS)}.")
    if fault in BODY_FAULTS and endpoint != "status":
        raise FaultConfigError(f"{fault!r} only applies to the status endpoint.")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise FaultConfigError(f"Script step count must be a positive integer, not {count!r}.")
    return {"endpoint": endpoint, "fault": fault, "count": count}


class FaultPlan:
    """The current :class:`Faults` plus the random source and script cursor, thread-safe."""

    def __init__(self, faults: Faults | None = None) -> None:
        self._lock = threading.Lock()
        self.faults = faults or Faults()
        self._random = random.Random(self.faults.seed)

    def replace(self, changes: dict[str, Any], *, reset: bool = False) -> Faults:
        with self._lock:
            base = Faults() if reset else self.faults
            self.faults = base.updated(changes)
            if reset or "seed" in changes:
                self._random = random.Random(self.faults.seed)
            return self.faults

    def _take_scripted(self, endpoint: str, allowed: tuple[str, ...]) -> str | None:
        for step in self.faults.script:
            if step["endpoint"] == endpoint and step["fault"] in allowed:
                step["count"] -= 1
                if step["count"] <= 0:
                    self.faults.script.remove(step)
                return str(step["fault"])
        return None

    def request_fault(self, endpoint: str) -> str | None:
        """The request-level fault to inject on this call to ``endpoint``, if any."""
        with self._lock:
            scripted = self._take_scripted(endpoint, REQUEST_FAULTS)
            if scripted or endpoint not in self.faults.endpoints:
                return scripted
            f, draw = self.faults, self._random.random()
            for name, rate in (("drop", f.drop_rate), ("500", f.error_rate), ("429", f.rate_limit_rate)):
                if draw < rate:
                    return name
                draw -= rate
            if self._random.random() < f.slow_body_rate:
                return "slow"
            return None

    def body_fault(self) -> str | None:
        with self._lock:
            return self._take_scripted("status", BODY_FAULTS)

    def job_fate(self) -> str | None:
        """Drawn once per submitted job: ``"error"``, ``"never"`` (never finishes) or None."""
        with self._lock:
            draw = self._random.random()
            if draw < self.faults.job_error_rate:
                return "error"
            if draw < self.faults.job_error_rate + self.faults.never_finish_rate:
                return "never"
            return None

    def processing_seconds(self, audio_duration: float | None) -> float:
        f = self.faults
        return f.processing_time + f.processing_time_per_audio_second * (audio_duration or 0.0)
