"""The vendor's own client, ``slashml`` 0.1.6, unmodified, pointed at a sandbox.

Its package ``__init__`` imports ``truss`` (a model-deployment toolkit that its
speech-to-text code never uses and ``make`` does not install), so the
speech-to-text module is loaded with an empty package in front of it.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from typing import Any


def speech_to_text(base_url: str) -> Any:
    """The ``SpeechToText`` class, talking to ``base_url`` (a sandbox's root URL)."""
    if "slashml.speech_to_text" not in sys.modules:
        spec = importlib.util.find_spec("slashml")
        if spec is None:
            raise SystemExit("slashml==0.1.6 is not installed: make installs it (pip install --no-deps slashml==0.1.6)")
        package = types.ModuleType("slashml")
        package.__path__ = list(spec.submodule_search_locations or [])
        sys.modules["slashml"] = package
    from slashml.speech_to_text import SpeechToText

    # The way its README points it elsewhere: the base URL is a class attribute.
    SpeechToText._base_url = f"{base_url.rstrip('/')}/speech-to-text/v1"
    return SpeechToText


def wait_like_the_vendor(client: Any, upload_url: str, provider: Any) -> Any:
    """``execute()``, then its own 5-second loop for as long as the job is unfinished.

    ``execute`` loops only while the status is exactly ``IN_PROGRESS``, so it returns
    a job that is still ``QUEUED``; a hand-written integration that wants the
    transcript keeps polling the same way.
    """
    import time

    result = client.execute(upload_url, provider)
    while result.status not in ("COMPLETED", "ERROR"):
        time.sleep(5)
        result = client.status(result.id, provider)
    return result
