"""Where audio files live: the storage named by ``SLASHML['STORAGE']``.

``AudioUpload.file`` gets one lazy proxy, resolved on first use and reset when
settings change, so the model never reads settings at import time and migrations
record a stable callable instead of a concrete backend.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from django.core.files.storage import Storage, default_storage, storages
from django.utils import timezone
from django.utils.functional import LazyObject, empty


class _AudioStorage(LazyObject):
    def _setup(self) -> None:
        from .conf import slashml_settings

        alias = slashml_settings.STORAGE
        self._wrapped = storages[alias] if alias else default_storage

    def reset(self) -> None:
        self._wrapped = empty


audio_storage: Any = _AudioStorage()


def get_audio_storage() -> Storage:
    """The callable ``AudioUpload.file`` is declared with."""
    return audio_storage


def audio_upload_to(instance: Any, filename: str) -> str:
    """A dated folder from settings and a random name that keeps the original extension."""
    from .conf import slashml_settings

    folder = timezone.now().strftime(slashml_settings.UPLOAD_TO)
    extension = os.path.splitext(filename)[1].lower()[:10]
    return os.path.join(folder, f"{uuid.uuid4().hex}{extension}")
