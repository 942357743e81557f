"""Old import paths of the modules that moved into subpackages after 0.1, kept importable.

``import django_slashml.lifecycle`` still works and warns once with the new path: the
old name is a thin module whose attributes are the new module's. It is installed by the
package's ``__init__`` and will be removed in a later release.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType
from typing import Any

#: Old dotted path -> where the module lives now.
MOVED_MODULES: dict[str, str] = {
    f"django_slashml.{old}": f"django_slashml.{new}"
    for old, new in {
        "access": "jobs.access",
        "audio": "audio.formats",
        "client": "remote.client",
        "constants": "remote.protocol",
        "corrections": "transcripts.corrections",
        "dispatch": "jobs.dispatch",
        "exports": "transcripts.exports",
        "intake": "jobs.actions",
        "lifecycle": "jobs.lifecycle",
        "metadata": "jobs.metadata",
        "pipeline": "jobs.pipeline",
        "presigned": "audio.presigned",
        "responses": "remote.responses",
        "retention": "jobs.retention",
        "reuse": "jobs.reuse",
        "review": "transcripts.review",
        "scheduling": "jobs.scheduling",
        "storage": "audio.storage",
        "streaming": "audio.streaming",
        "sweeper": "jobs.sweeper",
        "uploads": "jobs.uploads",
        "urlcheck": "audio.urlcheck",
    }.items()
}


class _MovedModuleLoader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        new_path = MOVED_MODULES[module.__name__]
        warnings.warn(
            f"{module.__name__} moved to {new_path}; import it from there "
            "(the old path will be removed in a later release).",
            DeprecationWarning,
            stacklevel=2,
        )
        target = importlib.import_module(new_path)

        def __getattr__(name: str) -> Any:
            return getattr(target, name)

        module.__getattr__ = __getattr__  # type: ignore[method-assign]
        module.__doc__ = f"Moved to :mod:`{new_path}`."


class MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Finds only the old paths; every other import goes on to the normal finders."""

    _loader = _MovedModuleLoader()

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED_MODULES:
            return None
        return importlib.machinery.ModuleSpec(fullname, self._loader)


def install() -> None:
    if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(MovedModuleFinder())
