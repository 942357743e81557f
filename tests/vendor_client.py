"""The vendor's own client, ``slashml`` 0.1.6, unmodified, pointed at a sandbox.

Its package ``__init__`` imports ``truss`` (a model-deployment toolkit that its
speech-to-text code never uses and ``make`` does not install), so the
speech-to-text module is loaded with an empty package in front of it. The
compatibility test and the benchmarks both load it through here.
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
            raise ModuleNotFoundError(
                "slashml==0.1.6 is not installed; `make test` installs it (pip install --no-deps slashml==0.1.6)"
            )
        package = types.ModuleType("slashml")
        package.__path__ = list(spec.submodule_search_locations or [])
        sys.modules["slashml"] = package
    from slashml.speech_to_text import SpeechToText

    # The documented way to point it elsewhere: its base URL is a class attribute.
    SpeechToText._base_url = f"{base_url.rstrip('/')}/speech-to-text/v1"
    return SpeechToText
