"""The same parsed query on three engines: PostgreSQL full-text search, SQLite FTS5, plain matching.

Each engine answers two questions: which segments match, best first (at most
``SEARCH_MAX_MATCHES`` of them are ranked, so a very common word costs what a rare one does),
and how each of a page's segments reads with its matched words marked. Snippets are made only
for the page that is shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.db import connections
from django.db.models import Case, ExpressionWrapper, F, FloatField, QuerySet, Value, When
from django.db.models.query_utils import Q
from django.utils.html import escape

from django_slashml.conf import slashml_settings
from django_slashml.models import TranscriptSegment
from django_slashml.transcripts.search.query import ParsedQuery, Term

FTS_TABLE = "django_slashml_transcriptsegment_fts"
#: Private-use characters that stand for <mark> and </mark> until the text is escaped.
OPEN, CLOSE = "\ue000", "\ue001"

Segments = QuerySet[TranscriptSegment]


def engine(alias: str) -> str:
    """``postgresql``, ``fts5`` (SQLite with the FTS5 table of migration 0005) or ``plain``."""
    connection = connections[alias]
    if connection.vendor == "postgresql":
        return "postgresql"
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s", [FTS_TABLE])
            if cursor.fetchone():
                return "fts5"
    return "plain"


def marked(text: str) -> str:
    """``text`` HTML-escaped, its matched words in ``<mark>``."""
    return escape(text).replace(OPEN, "<mark>").replace(CLOSE, "</mark>")


# -- PostgreSQL ----------------------------------------------------------------------------


def _tsquery(parsed: ParsedQuery) -> SearchQuery:
    return SearchQuery(parsed.websearch(), search_type="websearch", config=slashml_settings.SEARCH_CONFIG)


def _postgresql_matches(segments: Segments, parsed: ParsedQuery, limit: int) -> Segments:
    query = _tsquery(parsed)
    # One pass over the GIN index, in no particular order: sorting every match of a common word
    # (the model's ordering follows the job's) would cost more than the search.
    candidates = list(segments.filter(search_vector=query).order_by().values_list("pk", flat=True)[:limit])
    return (
        TranscriptSegment.objects.using(segments.db)
        .filter(pk__in=candidates)
        .annotate(rank=SearchRank(F("search_vector"), query))
        .order_by("-rank", "-job__created_at", "position")
    )


def _postgresql_snippets(alias: str, parsed: ParsedQuery, ids: list[int]) -> dict[int, str]:
    headline = SearchHeadline(
        "text",
        _tsquery(parsed),
        config=slashml_settings.SEARCH_CONFIG,
        start_sel=OPEN,
        stop_sel=CLOSE,
        highlight_all=True,
    )
    rows = TranscriptSegment.objects.using(alias).filter(pk__in=ids).annotate(headline=headline)
    return dict(rows.values_list("pk", "headline"))


# -- SQLite FTS5 ---------------------------------------------------------------------------


def fts5_expression(parsed: ParsedQuery) -> str:
    """The query in FTS5's syntax; every term is a quoted string of word characters."""
    groups = []
    for group in parsed.groups:
        wanted = " AND ".join(f'"{term.text}"' for term in group if not term.negated)
        unwanted = "".join(f' NOT "{term.text}"' for term in group if term.negated)
        groups.append(f"({wanted}{unwanted})")
    return " OR ".join(groups)


def _fts5_matches(segments: Segments, parsed: ParsedQuery, limit: int) -> Segments:
    # One FTS5 query finds the candidates and scores them (bm25 is only cheap inside the MATCH
    # that computes it); the jobs' filter, if any, narrows it by rowid.
    sql = f"SELECT rowid, bm25({FTS_TABLE}) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"  # noqa: S608
    params: list[Any] = [fts5_expression(parsed)]
    if segments.query.where:
        inner, inner_params = segments.order_by().values("pk").query.sql_with_params()
        sql += f" AND rowid IN ({inner})"
        params += inner_params
    with connections[segments.db].cursor() as cursor:
        cursor.execute(sql + " LIMIT %s", [*params, limit])
        scores = {int(rowid): -float(score) for rowid, score in cursor.fetchall()}
    # bm25() is better when lower; negated, it sorts like PostgreSQL's rank.
    rank = Case(*(When(pk=pk, then=Value(score)) for pk, score in scores.items()), default=Value(0.0))
    return (
        TranscriptSegment.objects.using(segments.db)
        .filter(pk__in=list(scores))
        .annotate(rank=ExpressionWrapper(rank, output_field=FloatField()))
        .order_by("-rank", "-job__created_at", "position")
    )


def _fts5_snippets(alias: str, parsed: ParsedQuery, ids: list[int]) -> dict[int, str]:
    placeholders = ", ".join(["%s"] * len(ids))
    with connections[alias].cursor() as cursor:
        cursor.execute(
            f"SELECT rowid, highlight({FTS_TABLE}, 0, %s, %s) FROM {FTS_TABLE} "  # noqa: S608
            f"WHERE {FTS_TABLE} MATCH %s AND rowid IN ({placeholders})",
            [OPEN, CLOSE, fts5_expression(parsed), *ids],
        )
        return {int(row[0]): str(row[1]) for row in cursor.fetchall()}


# -- plain matching ------------------------------------------------------------------------


def _contains(term: Term) -> Q:
    return Q(text__icontains=term.text)


def _plain_matches(segments: Segments, parsed: ParsedQuery, limit: int) -> Segments:
    condition = Q()
    for group in parsed.groups:
        wanted = Q()
        for term in group:
            wanted &= ~_contains(term) if term.negated else _contains(term)
        condition |= wanted
    candidates = list(segments.filter(condition).order_by().values_list("pk", flat=True)[:limit])
    return (
        TranscriptSegment.objects.using(segments.db)
        .filter(pk__in=candidates)
        .annotate(rank=Value(0.0))
        .order_by("-job__created_at", "position")
    )


def plain_snippet(text: str, terms: Iterable[Term]) -> str:
    """``text`` with every case-insensitive occurrence of ``terms`` between OPEN and CLOSE."""
    alternatives = sorted({re.escape(term.text) for term in terms}, key=len, reverse=True)
    if not alternatives:
        return text
    return re.sub("|".join(alternatives), lambda m: f"{OPEN}{m.group(0)}{CLOSE}", text, flags=re.IGNORECASE)


def matches(segments: Segments, parsed: ParsedQuery) -> Segments:
    """The segments of ``segments`` that match ``parsed``, best first, at most ``SEARCH_MAX_MATCHES``."""
    limit = int(slashml_settings.SEARCH_MAX_MATCHES)
    name = engine(segments.db)
    if name == "postgresql":
        return _postgresql_matches(segments, parsed, limit)
    if name == "fts5":
        return _fts5_matches(segments, parsed, limit)
    return _plain_matches(segments, parsed, limit)


def snippets(rows: list[TranscriptSegment], parsed: ParsedQuery, alias: str) -> dict[int, str]:
    """Each row's text with its matched words between OPEN and CLOSE (see :func:`marked`)."""
    ids = [row.pk for row in rows]
    found: dict[int, str] = {}
    if ids:
        name = engine(alias)
        if name == "postgresql":
            found = _postgresql_snippets(alias, parsed, ids)
        elif name == "fts5":
            found = _fts5_snippets(alias, parsed, ids)
    terms = parsed.positive_terms
    return {row.pk: found.get(row.pk) or plain_snippet(row.text, terms) for row in rows}


def first_match_ms(segment: TranscriptSegment, snippet: str) -> int:
    """When the first matched word of ``segment`` is said: its start, or the segment's without word timings."""
    for index, token in enumerate(snippet.split()):
        if OPEN in token:
            starts = segment.word_starts or []
            return int(starts[index]) if index < len(starts) else segment.start_ms
    return segment.start_ms
