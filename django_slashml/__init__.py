"""Speech-to-text for Django through the SlashML API.

``django_slashml.transcribe(audio)`` is the entry point; it is imported lazily so
that importing the package (for its constants or sandbox) never loads models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .intake import transcribe

__all__ = ["__version__", "transcribe"]


def __getattr__(name: str) -> Any:
    if name == "transcribe":
        from .intake import transcribe

        return transcribe
    raise AttributeError(f"module 'django_slashml' has no attribute {name!r}")
