"""What the sandbox needs beyond the base install, checked when it starts.

Checked at start rather than on the first request, so that a missing package is one clear
line in the terminal instead of a 500 in the middle of a job.
"""

from __future__ import annotations

import importlib
from types import ModuleType

INSTALL_HINT = "pip install 'django-slashml[sandbox]'"


class SandboxSetupError(RuntimeError):
    """The sandbox cannot start here; the message names the package and the install line."""


def require(module: str, purpose: str, *, alternative: str = "") -> ModuleType:
    """``module``, imported, or :class:`SandboxSetupError` naming the extra that brings it."""
    try:
        return importlib.import_module(module)
    except (ImportError, OSError) as exc:  # OSError: a compiled module whose shared library is missing
        raise SandboxSetupError(
            f"The SlashML sandbox needs {module!r} for {purpose}, and it cannot be imported ({exc}). "
            f"Install it with: {INSTALL_HINT}{alternative}"
        ) from None
