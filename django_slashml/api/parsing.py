"""Reading request bodies without letting a hostile one turn into a 500."""

from __future__ import annotations

import json
from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from ..exceptions import InvalidMetadataError
from ..metadata import check_metadata_setting

METADATA_HINT = 'Send metadata as a JSON object, e.g. {"ticket": 42}.'


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, answering 400 for JSON nested past Python's recursion limit."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None


class MetadataField(serializers.JSONField):
    """A JSON object (or, in a multipart form, its text), checked before anything is stored."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, str):  # multipart forms send it as text
            try:
                data = json.loads(data)
            except RecursionError:
                raise serializers.ValidationError("metadata is nested too deeply; flatten it.") from None
            except ValueError:
                raise serializers.ValidationError(METADATA_HINT) from None
        if not isinstance(data, dict):
            raise serializers.ValidationError(METADATA_HINT)
        try:
            return check_metadata_setting(data)
        except InvalidMetadataError as exc:
            raise serializers.ValidationError(str(exc)) from None
