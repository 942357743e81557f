"""OpenAPI annotations through drf-spectacular when it is installed (``django-slashml[api]``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # checked against drf-spectacular's own types (the lint extra installs it)
    from django_stubs_ext import StrOrPromise
    from drf_spectacular.types import OpenApiTypes
    from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
else:
    try:
        from drf_spectacular.types import OpenApiTypes
        from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
    except ImportError:  # the API works without it; only the schema is less detailed

        def extend_schema(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:
            return lambda view: view

        OpenApiParameter = OpenApiResponse = OpenApiTypes = None


def query_parameters(descriptions: Mapping[str, StrOrPromise]) -> list[Any]:
    if OpenApiParameter is None:
        return []
    return [
        OpenApiParameter(name, str, OpenApiParameter.QUERY, description=text) for name, text in descriptions.items()
    ]


def described(text: StrOrPromise, serializer: Any = None) -> Any:
    return OpenApiResponse(serializer, description=text) if OpenApiResponse is not None else text


__all__ = ["OpenApiTypes", "described", "extend_schema", "query_parameters"]
