"""Turning a file the caller hands us into an :class:`AudioUpload`, or a clear refusal.

Everything is checked before anything is stored (size, emptiness, magic bytes);
the content hash is computed while the storage reads the file, so a large file
is read once, in chunks, and never held in memory.
"""

from __future__ import annotations

import hashlib
import os
from typing import IO, TYPE_CHECKING

from django.core.files import File
from django.db import transaction
from django.utils.translation import gettext as _

from django_slashml.audio.formats import KNOWN_FORMATS, SNIFF_BYTES, AudioFormat, human_size, read_duration, sniff
from django_slashml.audio.storage import audio_storage, save_audio
from django_slashml.conf import slashml_settings
from django_slashml.exceptions import AudioTooLargeError, InvalidAudioError
from django_slashml.models import AudioUpload

if TYPE_CHECKING:
    # The project's AUTH_USER_MODEL, as django-stubs resolve it (AbstractBaseUser without the plugin).
    from django.contrib.auth.models import _User


class _HashingReader:
    """A read-through wrapper that hashes what the storage reads."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.sha256.update(data)
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        position = self._raw.seek(offset, whence)
        if position == 0:
            self.sha256 = hashlib.sha256()  # the storage starts over: so do we
        return position

    def tell(self) -> int:
        return self._raw.tell()

    def seekable(self) -> bool:
        return True

    @property
    def closed(self) -> bool:
        # django-storages' S3Storage asks before it seeks and reads.
        return bool(getattr(self._raw, "closed", False))

    @property
    def name(self) -> str | None:
        # Only the name is passed through: exposing e.g. temporary_file_path would
        # let FileSystemStorage move the caller's file without reading (and hashing) it.
        return getattr(self._raw, "name", None)


def _size_of(fileobj: IO[bytes]) -> int:
    size = getattr(fileobj, "size", None)
    if isinstance(size, int):
        return size
    position = fileobj.tell()
    fileobj.seek(0, os.SEEK_END)
    size = fileobj.tell()
    fileobj.seek(position)
    return size


def validate_audio(fileobj: IO[bytes], *, name: str) -> tuple[int, AudioFormat]:
    """Size and format of ``fileobj``, or :class:`InvalidAudioError` saying what to fix."""
    if not hasattr(fileobj, "read") or not hasattr(fileobj, "seek"):
        raise InvalidAudioError(_("%(name)s is not a readable, seekable binary file.") % {"name": repr(name)})
    fileobj.seek(0)
    size = _size_of(fileobj)
    if size == 0:
        raise InvalidAudioError(_("%(name)s is empty; it holds no audio to transcribe.") % {"name": repr(name)})
    limit = int(slashml_settings.MAX_UPLOAD_SIZE)
    if size > limit:
        raise AudioTooLargeError(
            _("%(name)s is %(size)s, over the %(limit)s limit (SLASHML['MAX_UPLOAD_SIZE']); split or compress it.")
            % {"name": repr(name), "size": human_size(size), "limit": human_size(limit)}
        )
    head = fileobj.read(SNIFF_BYTES)
    fileobj.seek(0)
    if isinstance(head, str):
        raise InvalidAudioError(_("%(name)s was opened in text mode; open it with mode 'rb'.") % {"name": repr(name)})
    audio_format = sniff(head)
    if audio_format is None:
        known = ", ".join(f.name.upper() for f in KNOWN_FORMATS)
        raise InvalidAudioError(
            _("%(name)s does not look like audio: its first bytes match none of %(formats)s.")
            % {"name": repr(name), "formats": known}
        )
    return size, audio_format


def save_upload(fileobj: IO[bytes], *, name: str, owner: _User | None = None) -> AudioUpload:
    """Validate, store and record ``fileobj``. Nothing is left behind if this raises."""
    size, audio_format = validate_audio(fileobj, name=name)
    duration = read_duration(fileobj, audio_format)
    fileobj.seek(0)
    reader = _HashingReader(fileobj)
    upload = AudioUpload(
        original_name=os.path.basename(name)[:255],
        content_type=audio_format.content_type,
        size=size,
        duration=duration,
        owner=owner,
    )
    # Stored under the sniffed format's extension, never the caller's: a WAV/HTML polyglot
    # named page.html would otherwise be served as a page from MEDIA_URL or the bucket.
    base_name = f"audio{audio_format.extension}"
    stored_name = upload.file.field.generate_filename(upload, base_name)
    # File only calls the reader's read/seek/tell (and name, closed); the stubs ask for a whole IO.
    wrapped = File(reader, name=base_name)  # type: ignore[arg-type]
    stored_name = save_audio(stored_name, wrapped, content_type=audio_format.content_type)
    upload.file.name = stored_name
    upload.sha256 = reader.sha256.hexdigest()
    try:
        with transaction.atomic():
            upload.save(force_insert=True)
    except BaseException:
        audio_storage.delete(stored_name)
        raise
    return upload
