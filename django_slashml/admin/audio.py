"""Serving stored audio to the admin's player, with HTTP range requests so seeking works.

Browsers fetch ``<audio>`` sources in ranges and cannot seek in a file served without
them. The file is read from the configured storage in chunks, never whole. A storage that
hands out its own URLs (S3) serves the ranges itself: after the permission check the
browser is redirected to a short-lived URL, so hours of audio never pass through Django
(django-storages' S3 file object would fetch the whole object for every range).
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterator
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext

from django_slashml.audio.formats import KNOWN_FORMATS
from django_slashml.audio.presigned import storage_url
from django_slashml.models import AudioUpload, TranscriptionJob

#: Who hears the original of an audio with redacted speech (and sees its unredacted transcript).
SEES_UNREDACTED = "django_slashml.view_unredacted_transcript"

CHUNK_SIZE = 64 * 1024
#: How long a storage URL given to a reviewer's browser works: long enough to listen and seek.
BROWSER_URL_EXPIRY = 60 * 60
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


class UnsatisfiableRange(Exception):
    pass


#: Any number of bytes longer than this many digits is past the end of every file.
_MAX_DIGITS = 18


def _offset(digits: str) -> int:
    """``digits`` as a number, without converting thousands of digits (Python refuses, slowly)."""
    return int(digits) if len(digits) <= _MAX_DIGITS else 10**_MAX_DIGITS


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """The inclusive byte span a ``Range`` header asks for; ``None`` means the whole file.

    Multiple ranges and unparsable headers are answered with the whole file, which
    RFC 9110 allows; a range starting past the end is unsatisfiable.
    """
    match = _RANGE.match(header or "")
    if not match or not any(match.groups()):
        return None
    first, last = match.groups()
    if not first:  # "bytes=-500": the last 500 bytes
        length = _offset(last)
        if length == 0:
            raise UnsatisfiableRange
        return max(0, size - length), size - 1
    start = _offset(first)
    end = min(_offset(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise UnsatisfiableRange
    return start, end


def _chunks(fileobj: Any, start: int, length: int) -> Iterator[bytes]:
    try:
        fileobj.seek(start)
        remaining = length
        while remaining > 0:
            chunk = fileobj.read(min(CHUNK_SIZE, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        fileobj.close()


def serve_job_audio(request: HttpRequest, job: TranscriptionJob) -> HttpResponseBase:
    """``job``'s audio for a player: its toned copy where spans were redacted, the original on request
    (``?original=1``) to staff with the permission only, and nothing to others if no copy could be made."""
    if job.upload is None:
        raise Http404(gettext("This job has no stored audio; SlashML fetched it from its URL."))
    sees_original = request.user.has_perm(SEES_UNREDACTED)
    if job.redacted_audio is not None:
        if not (request.GET.get("original") and sees_original):
            return serve_upload(request, job.redacted_audio)
    elif not sees_original and job.redacted_spans.exists():
        raise Http404(gettext("This job's audio holds redacted speech and no redacted copy was made."))
    return serve_upload(request, job.upload)


def serve_upload(request: HttpRequest, upload: AudioUpload) -> HttpResponseBase:
    """``upload``'s audio, whole (200) or the requested range (206)."""
    name = upload.file.name  # a FieldFile is false exactly when its name is empty
    if not name or not upload.file.storage.exists(name):
        raise Http404(gettext("This upload's audio is no longer stored."))
    direct = storage_url(upload.file.storage, name, expire=BROWSER_URL_EXPIRY)
    if direct:
        redirect = HttpResponseRedirect(direct)
        redirect["Cache-Control"] = "private, no-store"  # the URL is a credential for an hour
        return redirect
    size = upload.file.size
    content_type = upload.content_type or mimetypes.guess_type(upload.original_name or name)[0] or ""
    if not content_type.startswith("audio/"):  # never let stored bytes render as a page
        content_type = "application/octet-stream"
    try:
        span = parse_range(request.headers.get("Range", ""), size)
    except UnsatisfiableRange:
        response: HttpResponseBase = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    start, end = span if span else (0, size - 1)
    length = end - start + 1 if size else 0
    fileobj = upload.file.storage.open(name, "rb")
    response = StreamingHttpResponse(
        _chunks(fileobj, start, length),
        status=206 if span else 200,
        content_type=content_type,
    )
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    # Opened on its own, an upload is a download, and never a page that runs scripts.
    extension = next((f.extension for f in KNOWN_FORMATS if f.content_type == content_type), ".bin")
    response["Content-Disposition"] = f'attachment; filename="audio-{upload.pk}{extension}"'
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    if span:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    return response
