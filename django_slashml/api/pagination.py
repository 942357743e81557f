"""The job list's pages: a cursor by default, page numbers where a client asks for them.

A page number costs a ``COUNT(*)`` of every matching job and an ``OFFSET`` that reads every
skipped row, both growing with the table; a cursor reads only the page, through the
``created_at`` indexes, however deep it is. Clients that send ``?page=`` (or order by a column
that can be empty, which a cursor cannot step through) keep the numbered answer with its
``count``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
#: Orderings a cursor can step through: a column that is never empty, then the id to break ties.
CURSOR_ORDERINGS = {"-created_at": ("-created_at", "-id"), "created_at": ("created_at", "id")}


class NumberedPagination(PageNumberPagination):
    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE


class JobPagination(CursorPagination):
    """``?cursor=`` pages in ``created_at`` order (``next`` and ``previous`` links, no count);
    ``?page=`` and the other orderings get :class:`NumberedPagination`."""

    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    ordering = CURSOR_ORDERINGS["-created_at"]
    numbered: NumberedPagination | None = None

    def paginate_queryset(
        self, queryset: QuerySet[Any, Any] | Sequence[Any], request: Request, view: APIView | None = None
    ) -> Any:
        wanted = request.query_params.get("ordering") or "-created_at"
        if "page" in request.query_params or wanted not in CURSOR_ORDERINGS:
            self.numbered = NumberedPagination()
            return self.numbered.paginate_queryset(queryset, request, view)
        self.ordering = CURSOR_ORDERINGS[wanted]
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data: Any) -> Response:
        if self.numbered is not None:
            return self.numbered.get_paginated_response(data)
        return super().get_paginated_response(data)

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        cursor = super().get_schema_operation_parameters(view)
        names = {parameter["name"] for parameter in cursor}
        numbered = NumberedPagination().get_schema_operation_parameters(view)
        return cursor + [parameter for parameter in numbered if parameter["name"] not in names]
