"""Where audio files live: the storage named by ``SLASHML['STORAGE']``.

``AudioUpload.file`` gets one lazy proxy, resolved on first use and reset when
settings change, so the model never reads settings at import time and migrations
record a stable callable instead of a concrete backend.
"""

from __future__ import annotations

import copy
import os
import uuid
from typing import TYPE_CHECKING, Any, cast

from django.core.files.storage import Storage, default_storage, storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import timezone
from django.utils.functional import LazyObject, empty

from django_slashml.audio.presigned import is_s3_storage
from django_slashml.conf import SETTINGS_NAME

if TYPE_CHECKING:
    _LazyStorage = LazyObject[Storage]
else:
    _LazyStorage = LazyObject  # not subscriptable at runtime


class _AudioStorage(_LazyStorage):
    #: The storage once set up; until then (and after a reset) ``empty``.
    _wrapped: Storage | object

    def _setup(self) -> None:
        from django_slashml.conf import slashml_settings

        alias = slashml_settings.STORAGE
        self._wrapped = storages[alias] if alias else default_storage

    def reset(self) -> None:
        self._wrapped = empty


audio_storage = _AudioStorage()


@receiver(setting_changed, dispatch_uid="django_slashml.audio.storage.reset")
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in (SETTINGS_NAME, "STORAGES"):
        audio_storage.reset()


def get_audio_storage() -> Storage:
    """The callable ``AudioUpload.file`` is declared with."""
    return cast(Storage, audio_storage)  # the proxy forwards every attribute to the storage


def audio_upload_to(instance: Any, filename: str) -> str:
    """A dated folder from settings and a random name with ``filename``'s extension (the sniffed format's)."""
    from django_slashml.conf import slashml_settings

    folder = timezone.now().strftime(slashml_settings.UPLOAD_TO)
    extension = os.path.splitext(filename)[1].lower()[:10]
    return os.path.join(folder, f"{uuid.uuid4().hex}{extension}")


def save_audio(name: str, content: Any, *, content_type: str) -> str:
    """Save ``content`` in the audio storage with an explicit Content-Type, as an attachment.

    FileSystemStorage has no metadata (the web server goes by the extension, which is the
    sniffed format's); django-storages backends with ``object_parameters`` (S3) get
    ``ContentType`` and ``ContentDisposition`` on the object, so the bucket never serves an
    upload as a page. A copy of the storage carries them, so concurrent saves do not mix.
    """
    if audio_storage._wrapped is empty:
        audio_storage._setup()
    storage: Any = audio_storage._wrapped  # the shared instance: copied below, never changed
    content.content_type = content_type
    if is_s3_storage(storage) and isinstance(getattr(storage, "object_parameters", None), dict):
        getattr(storage, "bucket", None)  # build S3Storage's boto3 Bucket once, on the shared instance
        storage = copy.copy(storage)
        storage.object_parameters = {
            **storage.object_parameters,
            "ContentType": content_type,
            "ContentDisposition": "attachment",
        }
    return str(storage.save(name, content, max_length=500))
