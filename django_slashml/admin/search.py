"""The admin's transcript search: matching phrases, each a link into the viewer at its second.

Each also links the owners' page at that second (what the API's search gives owners), to send on.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext

from django_slashml.exceptions import ConfigurationError, SearchQueryError
from django_slashml.transcripts.search import annotate_snippets, search
from django_slashml.viewer import transcript_url

PER_PAGE = 50


def clock(ms: int) -> str:
    seconds = max(0, ms // 1000)
    return f"{seconds // 60}:{seconds % 60:02d}"


def search_view(model_admin: Any, request: HttpRequest) -> HttpResponse:
    """Jobs are those the change list shows this user; a query that cannot run is a 400 with its reason."""
    if not model_admin.has_view_or_change_permission(request):
        raise PermissionDenied
    query = request.GET.get("q", "")
    context: dict[str, Any] = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": gettext("Search transcripts"),
        "query": query,
        "results": [],
    }
    status = 200
    if query.strip():
        try:
            parsed, segments = search(model_admin.get_queryset(request), query)
        except SearchQueryError as exc:
            context["error"], status = str(exc), 400
        except ConfigurationError as exc:  # staff see what the operator must fix
            context["error"], status = str(exc), 503
        else:
            page = Paginator(segments, PER_PAGE).get_page(request.GET.get("page"))
            rows = annotate_snippets(list(page.object_list), parsed)
            context.update(
                page=page,
                results=[
                    (
                        row,
                        clock(row.at_ms),
                        f"{row.at_ms / 1000:g}",
                        transcript_url(row.job_id, seconds=row.at_ms / 1000),
                    )
                    for row in rows
                ],
            )
    return TemplateResponse(request, "admin/django_slashml/transcriptionjob/search.html", context, status=status)
