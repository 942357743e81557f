"""Filtering the job list by query parameters, with 400s that name the parameter."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Length, NullIf, Substr
from django.db.models.lookups import GreaterThan
from django.http import QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ValidationError

from django_slashml.api.schema import comma_separated, one_of
from django_slashml.conf import slashml_settings
from django_slashml.models import JobStatus, ReviewState, TranscriptionJob
from django_slashml.remote.protocol import SERVICE_PROVIDERS, shown_value
from django_slashml.transcripts.search import find_jobs
from django_slashml.transcripts.search.query import MAX_QUERY_CHARS

#: Query parameters the job list understands, for the docs and the schema.
JOB_FILTERS: dict[str, Any] = {
    "status": format_lazy(_("One or more statuses, comma-separated: {values}."), values=", ".join(JobStatus.values)),
    "service_provider": format_lazy(
        _("One or more providers, comma-separated: {values}."), values=", ".join(SERVICE_PROVIDERS)
    ),
    "created_after": _("ISO date or datetime; jobs created at or after it."),
    "created_before": _("ISO date or datetime; jobs created before it."),
    "review_state": format_lazy(
        _("One or more review states, comma-separated: {values}."), values=", ".join(ReviewState.values)
    ),
    "has_words": _("true or false: only jobs with (or without) word timings."),
    "search": _(
        'A SlashML job id, or words the transcript says (search syntax: words, "a phrase", OR, -word); '
        "whole words, not parts of words."
    ),
    "ordering": _("created_at, -created_at (default), completed_at, -completed_at, audio_duration, -audio_duration."),
}
ORDERINGS = ("created_at", "-created_at", "completed_at", "-completed_at", "audio_duration", "-audio_duration")

#: The filters' types and allowed values, for the API schema.
JOB_FILTER_SCHEMAS: dict[str, dict[str, Any]] = {
    "status": comma_separated(JobStatus.values),
    "service_provider": comma_separated(SERVICE_PROVIDERS),
    "review_state": comma_separated(ReviewState.values),
    "created_after": {"type": "string", "format": "date-time"},
    "created_before": {"type": "string", "format": "date-time"},
    "has_words": one_of(("true", "false")),
    "search": {"type": "string", "maxLength": MAX_QUERY_CHARS, "pattern": "^[^\\u0000]*$"},
    "ordering": one_of(ORDERINGS),
}


def _use_one_of(allowed: tuple[str, ...] | list[str]) -> str:
    return gettext("Use one of: %(allowed)s.") % {"allowed": ", ".join(allowed)}


def listed_jobs(jobs: QuerySet[TranscriptionJob]) -> QuerySet[TranscriptionJob]:
    """Jobs as the list shows them: no words or raw answers, and only the start of each transcript.

    The database cuts the texts, so a page of long transcripts never travels whole.
    """
    limit = int(slashml_settings.LIST_TEXT_CHARS)
    transcript = Coalesce(NullIf("corrected_text", Value("")), "text")
    longest = Coalesce(NullIf(Length("corrected_text"), 0), Length("text"))
    return jobs.defer("words", "last_response", "text", "corrected_text").annotate(
        list_text=Substr(transcript, 1, limit),
        list_original_text=Substr("text", 1, limit),
        text_truncated=ExpressionWrapper(
            GreaterThan(longest, limit) | GreaterThan(Length("text"), limit), output_field=BooleanField()
        ),
    )


def _choices(params: QueryDict, name: str, allowed: list[str] | tuple[str, ...]) -> list[str] | None:
    raw = params.get(name)
    if not raw:
        return None
    values = [value.strip() for value in raw.split(",") if value.strip()]
    unknown = [value for value in values if value not in allowed]
    if unknown:
        raise ValidationError(
            {
                name: [
                    gettext("Unknown value(s) %(values)s; use: %(allowed)s.")
                    % {"values": ", ".join(shown_value(value) for value in unknown[:5]), "allowed": ", ".join(allowed)}
                ]
            }
        )
    return values


def _moment(params: QueryDict, name: str) -> datetime | None:
    raw = params.get(name)
    if not raw:
        return None
    try:
        value = parse_datetime(raw)  # a bare date reads as its midnight
    except ValueError:
        value = None
    if value is None:
        raise ValidationError(
            {
                name: [
                    gettext("%(value)s is not an ISO date (2026-11-23) or datetime (2026-11-23T10:00:00Z).")
                    % {"value": repr(raw)}
                ]
            }
        )
    try:
        value = timezone.make_aware(value) if timezone.is_naive(value) else value
        # In UTC: PostgreSQL refuses offsets past +-15:59, which ISO 8601 allows (up to +-23:59).
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValidationError(
            {name: [gettext("%(value)s is out of the range of dates.") % {"value": shown_value(raw)}]}
        ) from None


def _search_text(params: QueryDict) -> str:
    """``?search=``, refused when no database could compare it (NUL) or it is longer than a query may be."""
    search = params.get("search", "").strip()
    if "\x00" in search:
        raise ValidationError({"search": [gettext("The search text has a NUL character (%00); remove it.")]})
    if len(search) > MAX_QUERY_CHARS:
        raise ValidationError(
            {
                "search": [
                    gettext("The search text is %(length)d characters long; at most %(limit)d are allowed.")
                    % {"length": len(search), "limit": MAX_QUERY_CHARS}
                ]
            }
        )
    return search


def filter_jobs(queryset: QuerySet[TranscriptionJob], params: QueryDict) -> QuerySet[TranscriptionJob]:
    statuses = _choices(params, "status", JobStatus.values)
    if statuses:
        queryset = queryset.filter(status__in=statuses)
    providers = _choices(params, "service_provider", SERVICE_PROVIDERS)
    if providers:
        queryset = queryset.filter(service_provider__in=providers)
    review_states = _choices(params, "review_state", ReviewState.values)
    if review_states:
        queryset = queryset.filter(review_state__in=review_states)
    after, before = _moment(params, "created_after"), _moment(params, "created_before")
    if after is not None:
        queryset = queryset.filter(created_at__gte=after)
    if before is not None:
        queryset = queryset.filter(created_at__lt=before)
    has_words = params.get("has_words")
    if has_words:
        if has_words.lower() not in ("true", "false"):
            raise ValidationError({"has_words": [gettext("Use true or false.")]})
        with_words = Q(status=JobStatus.COMPLETED) & ~Q(words=[])
        queryset = queryset.filter(with_words) if has_words.lower() == "true" else queryset.exclude(with_words)
    search = _search_text(params)
    if search:
        queryset = find_jobs(queryset, search)
    ordering = params.get("ordering")
    if ordering:
        if ordering not in ORDERINGS:
            raise ValidationError({"ordering": [_use_one_of(ORDERINGS)]})
        queryset = queryset.order_by(ordering, "-created_at")
    return queryset
