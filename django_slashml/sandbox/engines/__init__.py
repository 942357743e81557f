"""Speech engines behind one small interface.

``deterministic``: instant, repeatable transcripts for tests (from a sidecar text
file, or words drawn from the audio's hash). ``offline``: a real recogniser,
PocketSphinx's bundled US-English model fed by PyAV's decoder.
"""

from __future__ import annotations

from django_slashml.sandbox.engines.base import Engine, EngineError, Transcript, TranscriptWord

ENGINE_NAMES = ("deterministic", "offline")


def get_engine(name: str, **options: object) -> Engine:
    if name == "deterministic":
        from django_slashml.sandbox.engines.deterministic import DeterministicEngine

        return DeterministicEngine(**options)  # type: ignore[arg-type]
    if name == "offline":
        from django_slashml.sandbox.engines.offline import OfflineEngine

        return OfflineEngine()
    raise ValueError(f"Unknown sandbox engine {name!r}; use one of: {', '.join(ENGINE_NAMES)}.")


__all__ = ["ENGINE_NAMES", "Engine", "EngineError", "Transcript", "TranscriptWord", "get_engine"]
