"""Recognising audio by its first bytes, and reading its duration from headers.

Django-free: the sandbox uses it to refuse non-audio uploads the way the app does.
"""

from __future__ import annotations

import io
import logging
import math
import struct
from dataclasses import dataclass
from typing import IO

logger = logging.getLogger("django_slashml.audio.formats")

#: How many leading bytes :func:`sniff` needs to decide.
SNIFF_BYTES = 64
#: Chunks :func:`wav_duration` looks at before giving up: real files have a handful, and a
#: file of millions of empty chunks must not cost a worker seconds.
MAX_WAV_CHUNKS = 64


@dataclass(frozen=True)
class AudioFormat:
    name: str
    content_type: str
    extension: str


WAV = AudioFormat("wav", "audio/wav", ".wav")
MP3 = AudioFormat("mp3", "audio/mpeg", ".mp3")
OGG = AudioFormat("ogg", "audio/ogg", ".ogg")
FLAC = AudioFormat("flac", "audio/flac", ".flac")
M4A = AudioFormat("m4a", "audio/mp4", ".m4a")
WEBM = AudioFormat("webm", "audio/webm", ".webm")
AIFF = AudioFormat("aiff", "audio/aiff", ".aiff")

KNOWN_FORMATS: tuple[AudioFormat, ...] = (WAV, MP3, OGG, FLAC, M4A, WEBM, AIFF)


def _is_mpeg_frame(head: bytes) -> bool:
    # An MPEG audio frame starts with 11 set sync bits; layer bits 00 are reserved.
    return len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0 and (head[1] & 0x06) != 0


def sniff(head: bytes) -> AudioFormat | None:
    """The container format of audio starting with ``head``, or None if it is not audio we know."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return WAV
    if head[:3] == b"ID3" or _is_mpeg_frame(head):
        return MP3
    if head[:4] == b"OggS":
        return OGG
    if head[:4] == b"fLaC":
        return FLAC
    if head[4:8] == b"ftyp":
        return M4A
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return WEBM
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return AIFF
    return None


def wav_duration(fileobj: IO[bytes]) -> float | None:
    """Seconds of audio in a RIFF/WAVE file, read from its chunk headers only.

    Walks the chunks instead of using :mod:`wave`, which refuses float and
    extensible formats that are still perfectly good audio.
    """
    position = fileobj.tell()
    try:
        header = fileobj.read(12)
        if header[:4] != b"RIFF" or header[8:12] != b"WAVE":
            return None
        byte_rate: int | None = None
        size: int
        for _ in range(MAX_WAV_CHUNKS):
            chunk = fileobj.read(8)
            if len(chunk) < 8:
                return None
            chunk_id, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if chunk_id == b"fmt ":
                fmt = fileobj.read(16)  # the fields we need; a hostile size is skipped, not read
                if len(fmt) < 16 or size < 16:
                    return None
                byte_rate = struct.unpack("<I", fmt[8:12])[0]
                fileobj.seek(size - 16 + (size % 2), io.SEEK_CUR)
            elif chunk_id == b"data":
                if not byte_rate:
                    return None
                return size / byte_rate
            else:
                fileobj.seek(size + (size % 2), io.SEEK_CUR)
        return None
    except (OSError, struct.error):
        return None
    finally:
        fileobj.seek(position)


def read_duration(fileobj: IO[bytes], audio_format: AudioFormat) -> float | None:
    """Seconds of audio in ``fileobj``, or None when nothing can tell: the schedule then guesses.

    WAV from its headers; MP3, Ogg (Vorbis, Opus), FLAC and M4A/AAC through mutagen, which
    reads only headers (a Xing/VBRI header or the first frames for MP3); anything else,
    WebM for one, through PyAV where it is installed. Never raises: a file whose duration
    cannot be read is still transcribed.
    """
    position = fileobj.tell()
    try:
        fileobj.seek(0)
        if audio_format is WAV:
            return wav_duration(fileobj)
        seconds = _mutagen_duration(fileobj)
        if seconds is None:
            fileobj.seek(0)
            seconds = _pyav_duration(fileobj)
        return seconds if seconds is not None and math.isfinite(seconds) and seconds > 0 else None
    finally:
        fileobj.seek(position)


def _mutagen_duration(fileobj: IO[bytes]) -> float | None:
    try:
        import mutagen
    except ImportError:
        return None
    try:
        found = mutagen.File(fileobj)
        length = getattr(getattr(found, "info", None), "length", None)
    except Exception:  # mutagen's MutagenError and any parser complaint alike mean "unknown"
        logger.debug("mutagen could not read a duration", exc_info=True)
        return None
    return float(length) if isinstance(length, (int, float)) else None


def _pyav_duration(fileobj: IO[bytes]) -> float | None:
    try:
        import av
    except (ImportError, OSError):  # OSError: PyAV built against FFmpeg libraries that are gone
        return None
    try:
        with av.open(fileobj, mode="r") as container:
            return container.duration / 1_000_000 if container.duration else None
    except Exception:  # any decoder complaint only means "unknown duration"
        logger.debug("PyAV could not read a duration", exc_info=True)
        return None


def human_size(size: float) -> str:
    """Bytes as people read them (``1.5 GiB``), for messages and reports."""
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} bytes"
