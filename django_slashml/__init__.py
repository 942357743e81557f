"""Speech-to-text for Django through the SlashML API.

The public API: :func:`transcribe`, :func:`retry` and :func:`cancel` (from
:mod:`django_slashml.jobs.actions`), :func:`compare` (:mod:`django_slashml.jobs.comparisons`),
the signals in :mod:`django_slashml.signals`, the
exceptions in :mod:`django_slashml.exceptions`, and :mod:`django_slashml.testing`.
They are imported lazily, so importing the package (for the sandbox, say) never loads models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from django_slashml.jobs.actions import cancel, retry, transcribe
    from django_slashml.jobs.comparisons import compare

__all__ = ["__version__", "cancel", "compare", "retry", "transcribe"]


def __getattr__(name: str) -> Any:
    if name in ("transcribe", "retry", "cancel"):
        from django_slashml.jobs import actions

        return getattr(actions, name)
    if name == "compare":
        from django_slashml.jobs.comparisons import compare

        return compare
    raise AttributeError(f"module 'django_slashml' has no attribute {name!r}")
