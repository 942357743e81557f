"""OpenAPI annotations through drf-spectacular when it is installed (``django-slashml[api]``).

The schema describes what the views answer: each operation lists the error statuses it can
return (:func:`errors`), query parameters carry their types and allowed values, and ``{id}``
is a UUID.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:  # checked against drf-spectacular's own types (the lint extra installs it)
    from django_stubs_ext import StrOrPromise
    from drf_spectacular.types import OpenApiTypes
    from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
else:
    try:
        from drf_spectacular.types import OpenApiTypes
        from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
    except ImportError:  # the API works without it; only the schema is less detailed

        def extend_schema(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:
            return lambda view: view

        def extend_schema_field(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:
            return lambda field: field

        OpenApiParameter = OpenApiResponse = OpenApiTypes = None

#: What each error status means, wherever it is answered.
ERROR_MEANINGS: dict[int, StrOrPromise] = {
    400: _("The request is refused; each field named says what to fix."),
    401: _("Not authenticated."),
    403: _("Not allowed: not authenticated, or without the permission."),
    404: _("No such row that you may see, or no such page."),
    409: _("Not in the state this needs."),
    413: _("The upload is larger than SLASHML['MAX_UPLOAD_SIZE']."),
    429: _("Throttled; Retry-After says when to try again."),
    503: _("Not available: the server's configuration is wrong (its log says what to fix)."),
}
#: Every operation may answer these (authentication, DRF's default permission classes).
ALWAYS = (401, 403)

_ERROR_BODY: dict[str, Any] = {
    "type": "object",
    "description": '{"detail": "..."}, or for 400 each field\'s list of messages.',
    "additionalProperties": True,
}


def errors(*statuses: int, meanings: Mapping[int, StrOrPromise] | None = None) -> dict[int, Any]:
    """The error responses of an operation: ``statuses`` and :data:`ALWAYS`, each with its meaning."""
    if OpenApiResponse is None:
        return {}
    told = {**ERROR_MEANINGS, **(meanings or {})}
    return {status: OpenApiResponse(_ERROR_BODY, description=told[status]) for status in sorted({*ALWAYS, *statuses})}


def query_parameters(
    descriptions: Mapping[str, StrOrPromise],
    schemas: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    required: Iterable[str] = (),
) -> list[Any]:
    """Query parameters with their descriptions, and their JSON schemas where ``schemas`` has one (else string)."""
    if OpenApiParameter is None:
        return []
    schemas = schemas or {}
    needed = set(required)
    return [
        OpenApiParameter(
            name,
            dict(schemas[name]) if name in schemas else str,
            OpenApiParameter.QUERY,
            description=text,
            required=name in needed,
        )
        for name, text in descriptions.items()
    ]


def id_parameter() -> list[Any]:
    """``{id}`` in a detail path: the row's UUID."""
    if OpenApiParameter is None:
        return []
    return [OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description=_("The row's id."))]


def path_parameters(parameters: Mapping[str, tuple[StrOrPromise, Mapping[str, Any]]]) -> list[Any]:
    """Path parameters other than ``{id}``: name -> (description, JSON schema)."""
    if OpenApiParameter is None:
        return []
    return [
        OpenApiParameter(name, dict(schema), OpenApiParameter.PATH, description=text)
        for name, (text, schema) in parameters.items()
    ]


def one_of(values: Iterable[str]) -> dict[str, Any]:
    return {"type": "string", "enum": list(values)}


def comma_separated(values: Iterable[str]) -> dict[str, Any]:
    """One or more of ``values``, joined by commas."""
    choice = "|".join(values)
    return {"type": "string", "pattern": f"^({choice})(,({choice}))*$"}


def whole_number(low: int, high: int | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer", "minimum": low}
    if high is not None:
        schema["maximum"] = high
    return schema


def bodies(with_file: Any, without_file: Any) -> dict[str, Any]:
    """A request body by content type: a file only in multipart/form-data."""
    return {
        "multipart/form-data": with_file,
        "application/json": without_file,
        "application/x-www-form-urlencoded": without_file,
    }


def described(text: StrOrPromise, serializer: Any = None) -> Any:
    return OpenApiResponse(serializer, description=text) if OpenApiResponse is not None else text


__all__ = [
    "OpenApiTypes",
    "bodies",
    "comma_separated",
    "described",
    "errors",
    "extend_schema",
    "extend_schema_field",
    "id_parameter",
    "one_of",
    "path_parameters",
    "query_parameters",
    "whole_number",
]
