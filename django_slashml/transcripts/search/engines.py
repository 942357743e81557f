"""The same parsed query on three engines: PostgreSQL full-text search, SQLite FTS5, plain matching.

Each engine answers two questions: which segments match, each with a score, in one pass that
stops at ``SEARCH_MAX_MATCHES`` (so a very common word costs what a rare one does; the
:class:`.results.RankedSegments` sorts them), and how each of a page's segments reads with its
matched words marked. Snippets are made only for the page that is shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db import connections
from django.db.models import F, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Replace
from django.db.models.query_utils import Q
from django.utils.html import escape

from django_slashml.conf import slashml_settings
from django_slashml.exceptions import ConfigurationError
from django_slashml.models import TranscriptSegment
from django_slashml.transcripts.search.query import ParsedQuery, Term
from django_slashml.transcripts.search.results import Candidate, RankedSegments

if TYPE_CHECKING:
    from django.contrib.postgres.search import SearchQuery

FTS_TABLE = "django_slashml_transcriptsegment_fts"
FTS_TRIGGERS = tuple(f"{FTS_TABLE}_{suffix}" for suffix in ("ai", "ad", "au"))
#: Private-use characters that stand for <mark> and </mark> until the text is escaped.
OPEN, CLOSE = "\ue000", "\ue001"
_MARKERS = re.compile(f"({OPEN}|{CLOSE})")

Segments = QuerySet[TranscriptSegment]


def engine(alias: str) -> str:
    """``postgresql``, ``fts5`` (SQLite with the FTS5 table of migration 0007) or ``plain``."""
    connection = connections[alias]
    if connection.vendor == "postgresql":
        return "postgresql"
    if connection.vendor == "sqlite":
        # The table and the three triggers that keep it in step: a later migration that rebuilds
        # the segments' table drops the triggers, and a stale FTS table would miss new phrases.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE (type = 'table' AND name = %s) "
                "OR (type = 'trigger' AND name IN (%s, %s, %s))",
                [FTS_TABLE, *FTS_TRIGGERS],
            )
            if cursor.fetchone()[0] == 1 + len(FTS_TRIGGERS):
                return "fts5"
    return "plain"


#: (alias, configuration) pairs PostgreSQL has confirmed, so the question costs one query per process.
_confirmed_configs: set[tuple[str, str]] = set()


def require_search_config(alias: str) -> None:
    """Raise a clear ConfigurationError if PostgreSQL does not know ``SLASHML['SEARCH_CONFIG']``.

    The system check can only see that the setting is a well-formed name (checks never touch the
    database); without this, a misspelt one fails every search with a database error.
    """
    config = slashml_settings.SEARCH_CONFIG
    if connections[alias].vendor != "postgresql" or (alias, config) in _confirmed_configs:
        return
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_ts_config WHERE cfgname = %s", [config.rsplit(".", 1)[-1]])
        known = cursor.fetchone() is not None
    if not known:
        raise ConfigurationError(
            f"SLASHML['SEARCH_CONFIG'] = {config!r} is not a text search configuration of this PostgreSQL "
            "database (psql's \\dF lists them: 'english', 'simple', ...). Set a known one, then run "
            "manage.py slashml_reindex."
        )
    _confirmed_configs.add((alias, config))


def marked(text: str) -> str:
    """``text`` HTML-escaped, its matched words in ``<mark>``, every ``<mark>`` closed.

    A transcript may hold OPEN or CLOSE itself (they are ordinary private-use characters): one
    that would open a mark inside a mark, or close one never opened, is dropped.
    """
    parts: list[str] = []
    open_mark = False
    for piece in _MARKERS.split(text):
        if piece == OPEN:
            if not open_mark:
                parts.append("<mark>")
            open_mark = True
        elif piece == CLOSE:
            if open_mark:
                parts.append("</mark>")
            open_mark = False
        else:
            parts.append(str(escape(piece)))
    if open_mark:
        parts.append("</mark>")
    return "".join(parts)


# -- PostgreSQL ----------------------------------------------------------------------------


# django.contrib.postgres is imported here, where PostgreSQL is the database: from Django 6.0
# its search module needs a PostgreSQL driver, which a project on another database may lack.


def _tsquery(parsed: ParsedQuery) -> SearchQuery:
    from django.contrib.postgres.search import SearchQuery

    return SearchQuery(parsed.websearch(), search_type="websearch", config=slashml_settings.SEARCH_CONFIG)


def _postgresql_matches(segments: Segments, parsed: ParsedQuery, limit: int) -> list[Candidate]:
    # One pass over the GIN index, in no particular order (sorting every match of a common word
    # would cost more than the search), ranking each candidate while its row is at hand.
    from django.contrib.postgres.search import SearchRank

    query = _tsquery(parsed)
    rows = (
        segments.filter(search_vector=query)
        .order_by()
        .annotate(rank=SearchRank(F("search_vector"), query))
        .values_list("pk", "rank", "job_id", "position")[:limit]
    )
    return [(pk, rank, str(job), position) for pk, rank, job, position in rows]


def _postgresql_snippets(alias: str, parsed: ParsedQuery, ids: list[int]) -> dict[int, str]:
    from django.contrib.postgres.search import SearchHeadline

    headline = SearchHeadline(
        Replace(Replace("text", Value(OPEN), Value("")), Value(CLOSE), Value("")),
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


def _fts5_matches(segments: Segments, parsed: ParsedQuery, limit: int) -> list[Candidate]:
    # One FTS5 query finds and scores the candidates (bm25 is only cheap inside the MATCH that
    # computes it; lower is better); the jobs' filter, if any, narrows it by id.
    table = TranscriptSegment._meta.db_table
    sql = (
        f"SELECT s.id, bm25({FTS_TABLE}), s.job_id, s.position FROM {FTS_TABLE} "  # noqa: S608
        f"JOIN {table} s ON s.id = {FTS_TABLE}.rowid WHERE {FTS_TABLE} MATCH %s"
    )
    params: list[Any] = [fts5_expression(parsed)]
    if segments.query.where:
        inner, inner_params = segments.order_by().values("pk").query.sql_with_params()
        sql += f" AND s.id IN ({inner})"
        params += inner_params
    with connections[segments.db].cursor() as cursor:
        cursor.execute(sql + " LIMIT %s", [*params, limit])
        return [(pk, -float(score), str(job), position) for pk, score, job, position in cursor.fetchall()]


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


def _plain_condition(parsed: ParsedQuery) -> Q:
    condition = Q()
    for group in parsed.groups:
        wanted = Q()
        for term in group:
            wanted &= ~_contains(term) if term.negated else _contains(term)
        condition |= wanted
    return condition


def _plain_matches(segments: Segments, parsed: ParsedQuery, limit: int) -> list[Candidate]:
    rows = segments.filter(_plain_condition(parsed)).order_by().values_list("pk", "job__created_at", "position")[:limit]
    # No score: the newest job's phrases first, each job's in order.
    return [(pk, 0.0, -created.timestamp(), position) for pk, created, position in rows]


def plain_snippet(text: str, terms: Iterable[Term]) -> str:
    """``text`` with every case-insensitive occurrence of ``terms`` between OPEN and CLOSE."""
    alternatives = sorted({re.escape(term.text) for term in terms}, key=len, reverse=True)
    text = text.replace(OPEN, "").replace(CLOSE, "")
    if not alternatives:
        return text
    return re.sub("|".join(alternatives), lambda m: f"{OPEN}{m.group(0)}{CLOSE}", text, flags=re.IGNORECASE)


def matches(segments: Segments, parsed: ParsedQuery) -> RankedSegments:
    """The segments of ``segments`` that match ``parsed``, best first, at most ``SEARCH_MAX_MATCHES``."""
    limit = int(slashml_settings.SEARCH_MAX_MATCHES)
    name = engine(segments.db)
    find = {"postgresql": _postgresql_matches, "fts5": _fts5_matches}.get(name, _plain_matches)
    return RankedSegments(segments.db, find(segments, parsed, limit))


def segment_condition(alias: str, parsed: ParsedQuery) -> Q:
    """A filter on segments that keeps those matching ``parsed``, all of them, through the engine's index."""
    name = engine(alias)
    if name == "postgresql":
        return Q(search_vector=_tsquery(parsed))
    if name == "fts5":
        # The table's name is ours; the expression travels as a parameter.
        found = RawSQL(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s", [fts5_expression(parsed)])  # noqa: S608, S611
        return Q(pk__in=found)
    return _plain_condition(parsed)


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
