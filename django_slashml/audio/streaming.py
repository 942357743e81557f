"""Reading stored audio in constant memory, whatever the storage, for the upload to SlashML.

``requests_toolbelt``'s ``MultipartEncoder`` pulls a part's body through ``read(n)``
and asks ``len`` how many bytes are left. :class:`StoredAudio` gives it exactly
that over three sources:

* a local file (``FileSystemStorage``): the open file, read as it is;
* django-storages' ``S3Storage``: boto3's streaming body of a ``GetObject``.
  Reading the storage's own ``S3File`` would first copy the whole object into a
  ``SpooledTemporaryFile``, which stays in memory unless ``AWS_S3_MAX_MEMORY_SIZE``
  is set: hundreds of megabytes for an hour of audio;
* any other storage: the file its ``open()`` returns, read in chunks (how that
  storage buffers is its own business).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from types import TracebackType
from typing import IO, Any

from django_slashml.audio.presigned import is_s3_storage

#: Largest block handed out at once when asked for "everything" (``read(-1)``).
CHUNK_SIZE = 1024 * 1024


class StoredAudioTruncatedError(OSError):
    """The storage delivered fewer bytes than it said the file holds."""


class StoredAudio:
    """A forward-only reader of one stored file, with a known length and ``len`` = bytes left."""

    def __init__(self, raw: Any, length: int, *, name: str, close: Callable[[], None] | None = None) -> None:
        self._raw = raw
        self.length = length
        self.name = name
        self._position = 0
        self._close = close or raw.close

    @property
    def len(self) -> int:
        """Bytes not yet read: what ``MultipartEncoder`` streams until it reaches 0."""
        return self.length - self._position

    def read(self, size: int | None = -1) -> bytes:
        left = self.len
        if left <= 0:
            return b""
        # "Everything" still comes a block at a time, so no caller can pull the whole file in one go.
        wanted = CHUNK_SIZE if size is None or size < 0 else size
        data: bytes = self._raw.read(min(wanted, left))
        if not data:
            raise StoredAudioTruncatedError(
                f"The storage ended {self.name!r} after {self._position} of {self.length} bytes; "
                "the stored file is damaged or was replaced while it was read."
            )
        self._position += len(data)
        return data

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        self._close()

    def __enter__(self) -> StoredAudio:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


def open_stored(storage: Any, name: str) -> StoredAudio:
    """Open ``name`` in ``storage`` for streaming. Raises ``FileNotFoundError`` if it is not there."""
    if is_s3_storage(storage):
        stream = _open_s3(storage, name)
        if stream is not None:
            return stream
    fileobj = storage.open(name, "rb")
    try:
        length = _length_of(fileobj, storage, name)
    except BaseException:
        fileobj.close()
        raise
    return StoredAudio(getattr(fileobj, "file", None) or fileobj, length, name=name, close=fileobj.close)


def _length_of(fileobj: IO[bytes], storage: Any, name: str) -> int:
    raw = getattr(fileobj, "file", fileobj)
    if hasattr(raw, "fileno"):
        try:
            return os.fstat(raw.fileno()).st_size
        except (OSError, ValueError):
            pass
    return int(storage.size(name))


def _open_s3(storage: Any, name: str) -> StoredAudio | None:
    """A ``GetObject`` body for ``name``; None for gzip-encoded objects, which only ``S3File`` decodes."""
    from s3transfer.constants import ALLOWED_DOWNLOAD_ARGS

    s3file = storage.open(name, "rb")  # a HEAD request: FileNotFoundError if missing; nothing is downloaded
    if s3file.obj.content_encoding == "gzip":
        s3file.close()
        return None
    # Customer-provided encryption keys (SSE-C) must be sent with the GET too, as S3File would.
    parameters = storage.get_object_parameters(s3file.name)
    download = {key: value for key, value in parameters.items() if key in ALLOWED_DOWNLOAD_ARGS}
    response = s3file.obj.get(**download)
    body = response["Body"]

    def close() -> None:
        body.close()
        s3file.close()

    return StoredAudio(body, int(response["ContentLength"]), name=name, close=close)
