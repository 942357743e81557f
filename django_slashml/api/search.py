"""``GET search/?q=...``: the phrases of visible transcripts that match, each with a link that plays it.

Rows are visible as for the job list (owners their own, staff with the view permission all,
anonymous refused), paginated like it. A query that cannot run is a 400 naming ``q``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from rest_framework import generics, serializers
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from django_slashml.api.filters import JOB_FILTER_SCHEMAS, JOB_FILTERS, filter_jobs
from django_slashml.api.permissions import visible_to
from django_slashml.api.schema import errors, extend_schema, query_parameters
from django_slashml.api.views import Pagination
from django_slashml.exceptions import ConfigurationError, SearchQueryError
from django_slashml.models import TranscriptionJob, TranscriptSegment
from django_slashml.transcripts.search import annotate_snippets, search
from django_slashml.transcripts.search.query import MAX_QUERY_CHARS, ParsedQuery
from django_slashml.viewer import transcript_url

logger = logging.getLogger(__name__)

#: The job list's filters that search also takes.
SEARCH_FILTERS = ("service_provider", "created_after", "created_before", "review_state")


class SearchUnavailable(APIException):
    status_code = 503
    default_detail = _("Search is not available: its configuration is wrong. The server's log says what to fix.")
    default_code = "search_unavailable"


def play_url(request: Any, segment: TranscriptSegment) -> str:
    """The owner's transcript page (or the host's, ``TRANSCRIPT_URL``), playing from the first matched word."""
    return str(request.build_absolute_uri(transcript_url(segment.job_id, seconds=segment.at_ms / 1000)))


class SearchResultSerializer(serializers.Serializer[TranscriptSegment]):
    job = serializers.UUIDField(source="job_id", help_text=_("The job's id."))
    start = serializers.IntegerField(source="start_ms", help_text=_("Where the matching phrase starts, in ms."))
    end = serializers.IntegerField(source="end_ms", help_text=_("Where it ends, in ms."))
    at = serializers.IntegerField(
        source="at_ms", help_text=_("When the first matched word is said, in ms (between start and end).")
    )
    text = serializers.CharField(help_text=_("The phrase."))
    snippet = serializers.CharField(help_text=_("The phrase, HTML-escaped, its matched words in <mark>."))
    url = serializers.SerializerMethodField(help_text=_("A page that plays the audio from the matched word (at)."))

    def get_url(self, segment: TranscriptSegment) -> str:
        return play_url(self.context["request"], segment)


SEARCH_PARAMETERS = {
    "q": _('Words to find: "a quoted phrase", OR between alternatives, -word to leave out.'),
    **{name: JOB_FILTERS[name] for name in SEARCH_FILTERS},
}


class SearchView(generics.GenericAPIView[TranscriptSegment]):
    """Where was it said: matching phrases of your transcripts, best first, with when and a link."""

    serializer_class = SearchResultSerializer
    pagination_class = Pagination
    # Not what is searched (that is the visible jobs' segments, below): a model for permission
    # classes such as DjangoModelPermissions, which ask the view for its queryset.
    queryset = TranscriptSegment.objects.none()

    def get_permissions(self) -> list[Any]:
        # Typed as dotted paths by some releases of djangorestframework-stubs; api_settings imports them.
        classes: Any = api_settings.DEFAULT_PERMISSION_CLASSES
        configured = [permission() for permission in classes]
        return [IsAuthenticated(), *configured]

    def _query(self) -> tuple[ParsedQuery, Any]:
        params = self.request.query_params
        filters = QueryDict(mutable=True)
        for name in SEARCH_FILTERS:
            if name in params:
                filters[name] = params[name]
        jobs = filter_jobs(visible_to(self.request.user, TranscriptionJob.objects.all()), filters)
        try:
            return search(jobs, params.get("q", ""))
        except SearchQueryError as exc:
            raise ValidationError({"q": [str(exc)]}) from None
        except ConfigurationError as exc:  # the operator's to fix, and said in the log; not the caller's
            logger.error("Search is unavailable: %s", exc)
            raise SearchUnavailable from None

    @extend_schema(
        parameters=query_parameters(
            SEARCH_PARAMETERS,
            {"q": {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_CHARS}, **JOB_FILTER_SCHEMAS},
            required=("q",),
        ),
        responses={200: SearchResultSerializer(many=True), **errors(400, 404, 503)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        parsed, segments = self._query()
        page = self.paginate_queryset(segments)
        rows = annotate_snippets(list(page if page is not None else segments), parsed)
        data = self.get_serializer(rows, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)
