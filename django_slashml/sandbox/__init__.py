"""A local SlashML-compatible server: real HTTP, real lifecycle, real (offline) transcription.

Independent of the app's client: it shares only the provider and status names.
Start one with ``python -m django_slashml.sandbox`` or ``manage.py slashml_sandbox``,
or in tests with :func:`django_slashml.testing.slashml_sandbox`.
"""

from __future__ import annotations

import os
from typing import Any

from django_slashml.sandbox.engines import ENGINE_NAMES, get_engine
from django_slashml.sandbox.faults import FaultPlan, Faults
from django_slashml.sandbox.requirements import SandboxSetupError, require
from django_slashml.sandbox.server import SandboxServer
from django_slashml.sandbox.state import SandboxState

DEFAULT_API_KEY = "sandbox-key"


def make_sandbox(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    engine: str = "deterministic",
    api_keys: set[str] | None = None,
    transcripts_dir: str | os.PathLike[str] | None = None,
    upload_ttl: float = 24 * 60 * 60,
    max_upload_size: int = 4 * 1024**3,
    workers: int | None = None,
    storage_dir: str | None = None,
    **faults: Any,
) -> SandboxServer:
    """A sandbox server, not yet started: call ``.start()`` or use it as a context manager.

    Raises :class:`SandboxSetupError` when a package of the ``[sandbox]`` extra is missing.
    """
    require("multipart", "reading SlashML's multipart forms")
    options: dict[str, Any] = {"transcripts_dir": transcripts_dir} if engine == "deterministic" else {}
    state = SandboxState(
        engine=get_engine(engine, **options),
        api_keys=api_keys or {DEFAULT_API_KEY},
        faults=FaultPlan(Faults().updated(faults)),
        upload_ttl=upload_ttl,
        max_upload_size=max_upload_size,
        workers=workers or (8 if engine == "deterministic" else 1),
        storage_dir=storage_dir,
    )
    return SandboxServer(state, host=host, port=port)


__all__ = ["DEFAULT_API_KEY", "ENGINE_NAMES", "Faults", "SandboxServer", "SandboxSetupError", "make_sandbox"]
