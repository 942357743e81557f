"""Reading request bodies without letting a hostile one turn into a 500."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

from django_slashml.conf import slashml_settings
from django_slashml.exceptions import InvalidMetadataError
from django_slashml.jobs.metadata import check_metadata_setting

METADATA_HINT = _('Send metadata as a JSON object, e.g. {"ticket": 42}.')


#: What a multipart body may hold besides the file: boundaries, headers, metadata, other fields.
MULTIPART_OVERHEAD = 1024 * 1024


class PayloadTooLarge(APIException):
    """A file over SLASHML['MAX_UPLOAD_SIZE']: answered with 413.

    Not a ValidationError on purpose: ``is_valid()`` would turn that into a 400.
    """

    status_code = 413
    default_detail = _("The file is too large.")
    default_code = "payload_too_large"


def _mib(size: int) -> str:
    return f"{size / 1024**2:.1f} MiB"


class SizeLimitedUploadHandler(FileUploadHandler):
    """First of a request's upload handlers: the size limit holds before the body is on disk.

    A declared Content-Length over the limit is refused before anything is read, and
    file bytes are counted as they arrive, so at most one chunk past the limit is ever
    written (Django's own handlers would spool the whole body to a temporary file first).
    """

    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.limit = int(slashml_settings.MAX_UPLOAD_SIZE)
        self.received = 0

    def _refuse(self, what: str) -> PayloadTooLarge:
        message = gettext("%(what)s, over the %(limit)s limit (SLASHML['MAX_UPLOAD_SIZE']); split it.")
        return PayloadTooLarge({"audio": [message % {"what": what, "limit": _mib(self.limit)}]})

    def handle_raw_input(
        self, input_data: Any, META: Any, content_length: int, boundary: Any, encoding: Any = None
    ) -> None:
        if content_length and content_length > self.limit + MULTIPART_OVERHEAD:
            raise self._refuse(gettext("The request declares %(size)s") % {"size": _mib(content_length)})
        return None

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            raise self._refuse(
                gettext("The upload passed %(size)s and was not read further") % {"size": _mib(self.received)}
            )
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


class JSONBodyTooLarge(APIException):
    status_code = 413
    default_code = "request_too_large"


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, answering 413 past DATA_UPLOAD_MAX_MEMORY_SIZE and 400 for JSON nested too deep.

    DRF before 3.17.2 reads a JSON body whole whatever its size; the declared length is
    checked here first (Django reads nothing past it, and a body without one as empty).
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        request = (parser_context or {}).get("request")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        except ValueError:
            declared = 0
        if limit is not None and declared > limit:
            raise JSONBodyTooLarge(
                gettext(
                    "The JSON body is %(size)s bytes; at most %(limit)s are accepted (DATA_UPLOAD_MAX_MEMORY_SIZE). "
                    "Send audio as a multipart 'audio' file, not inside JSON."
                )
                % {"size": declared, "limit": limit}
            )
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(gettext("JSON parse error - the body is nested too deeply.")) from None


class MetadataField(serializers.JSONField):
    """A JSON object (or, in a multipart form, its text), checked before anything is stored."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, str):  # multipart forms send it as text
            try:
                data = json.loads(data)
            except RecursionError:
                raise serializers.ValidationError(gettext("metadata is nested too deeply; flatten it.")) from None
            except ValueError:
                raise serializers.ValidationError(METADATA_HINT) from None
        if not isinstance(data, dict):
            raise serializers.ValidationError(METADATA_HINT)
        try:
            return check_metadata_setting(data)
        except InvalidMetadataError as exc:
            raise serializers.ValidationError(str(exc)) from None
