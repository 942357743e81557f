"""Full-text search over transcripts: which phrase said it, and when (docs/search.md).

:func:`search` finds the segments of some jobs that match a query in web-search syntax;
:func:`annotate_snippets` marks the matched words of the page being shown.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from django_slashml.exceptions import SearchQueryError
from django_slashml.models import TranscriptionJob, TranscriptSegment
from django_slashml.transcripts.search.engines import (
    first_match_ms,
    marked,
    matches,
    require_search_config,
    segment_condition,
    snippets,
)
from django_slashml.transcripts.search.query import ParsedQuery, parse
from django_slashml.transcripts.search.results import RankedSegments

__all__ = ["annotate_snippets", "find_jobs", "matching_jobs", "parse", "search"]


def search(jobs: QuerySet[TranscriptionJob], raw_query: str) -> tuple[ParsedQuery, RankedSegments]:
    """The parsed query and the matching segments of ``jobs``, best first.

    Raises :class:`~django_slashml.exceptions.SearchQueryError` for a query that cannot run, and
    :class:`~django_slashml.exceptions.ConfigurationError` where PostgreSQL lacks ``SEARCH_CONFIG``.
    """
    parsed = parse(raw_query)
    require_search_config(jobs.db)
    segments = TranscriptSegment.objects.using(jobs.db)
    if jobs.query.where:  # all jobs need no join
        segments = segments.filter(job__in=jobs.values("pk"))
    return parsed, matches(segments.all(), parsed)


def matching_jobs(alias: str, raw_query: str) -> QuerySet[TranscriptSegment, Any]:
    """The ids (``job_id``) of the jobs with a segment that matches ``raw_query``, every one of them.

    A subquery for ``pk__in``: the index finds the segments, the caller's query orders and slices
    the jobs. Raises what :func:`search` raises.
    """
    parsed = parse(raw_query)
    require_search_config(alias)
    return TranscriptSegment.objects.using(alias).filter(segment_condition(alias, parsed)).values("job_id")


def find_jobs(jobs: QuerySet[TranscriptionJob], term: str) -> QuerySet[TranscriptionJob]:
    """The jobs of ``jobs`` with this SlashML id if there are any; else those whose transcript holds the words.

    Asked apart: an OR of the two would keep the database from joining the index's matches. A
    term with no word to find (punctuation, only exclusions) finds nothing rather than failing.
    """
    id_length = TranscriptionJob._meta.get_field("remote_id").max_length or 0
    if "\x00" in term or len(term) > id_length:  # no id has it, and PostgreSQL refuses NUL in a comparison
        by_id = jobs.none()
    else:
        by_id = jobs.filter(remote_id=term)
        if by_id.exists():
            return by_id
    try:
        return jobs.filter(pk__in=matching_jobs(jobs.db, term))
    except SearchQueryError:
        return by_id


def annotate_snippets(rows: list[TranscriptSegment], parsed: ParsedQuery) -> list[TranscriptSegment]:
    """Sets ``snippet`` (HTML, matched words in ``<mark>``) and ``at_ms`` (when the first of them is
    said) on each row; only for the rows shown."""
    alias = (rows[0]._state.db if rows else None) or "default"
    found = snippets(rows, parsed, alias)
    for row in rows:
        row.snippet = marked(found[row.pk])
        row.at_ms = first_match_ms(row, found[row.pk])
    return rows
