"""Reading a multipart/form-data body as it streams in, the ``audio`` part straight to disk."""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from django_slashml.audio.formats import SNIFF_BYTES

#: Text fields longer than this are cut; nothing in SlashML's forms comes close.
MAX_FIELD_BYTES = 64 * 1024


class FormError(ValueError):
    """The body is not a form the sandbox can use; the message says why."""


@dataclass
class AudioPart:
    """The uploaded file, written to ``path`` chunk by chunk while it is hashed."""

    id: str
    path: str
    filename: str
    content_type: str
    max_size: int
    size: int = 0
    head: bytes = b""
    _digest: hashlib._Hash = field(default_factory=hashlib.sha256, repr=False)
    _out: BinaryIO | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._out = open(self.path, "wb")  # noqa: SIM115 - closed by close()/discard()

    def write(self, chunk: bytes) -> None:
        if self.size + len(chunk) > self.max_size:
            raise FormError(f"The audio is larger than the sandbox's {self.max_size} byte limit.")
        if len(self.head) < SNIFF_BYTES:
            self.head += bytes(chunk[: SNIFF_BYTES - len(self.head)])
        assert self._out is not None
        self._out.write(chunk)
        self._digest.update(chunk)
        self.size += len(chunk)

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def discard(self) -> None:
        self.close()
        if os.path.exists(self.path):
            os.unlink(self.path)


def read_form(
    chunks: Iterable[bytes],
    boundary: str,
    *,
    new_upload: Callable[[], tuple[str, str]] | None,
    max_size: int,
) -> tuple[dict[str, str], AudioPart | None]:
    """Text fields, and the ``audio`` file part if ``new_upload`` gives it an (id, path)."""
    from multipart import ParserError, PushMultipartParser

    fields: dict[str, str] = {}
    audio: AudioPart | None = None
    current: Any = None
    buffer = bytearray()
    try:
        with PushMultipartParser(boundary, max_header_count=16) as parser:
            for chunk in itertools.chain(chunks, [b""]):
                for event in parser.parse(chunk):
                    if event is None:  # a part ended
                        if current is not None and not (current.name == "audio" and audio is not None):
                            fields[current.name] = buffer.decode("utf-8", "replace")
                        current, buffer = None, bytearray()
                    elif isinstance(event, (bytes, bytearray)):
                        if audio is not None and current is not None and current.name == "audio":
                            audio.write(bytes(event))
                        elif len(buffer) < MAX_FIELD_BYTES:
                            buffer += event
                    else:
                        current = event
                        if current.name == "audio" and new_upload is not None and audio is None:
                            upload_id, path = new_upload()
                            content_type = current.content_type or "application/octet-stream"
                            audio = AudioPart(upload_id, path, current.filename or "audio", content_type, max_size)
    except ParserError as exc:
        if audio is not None:
            audio.discard()
        raise FormError(f"The multipart body cannot be parsed: {exc}.") from None
    except BaseException:
        if audio is not None:
            audio.discard()
        raise
    if audio is not None:
        audio.close()
    return fields, audio
