"""Web-search syntax (words, "quoted phrases", OR, -word) read into one safe, normalised form.

Every engine renders the same :class:`ParsedQuery`, so a query means the same thing on
PostgreSQL, SQLite's FTS5 and plain matching. Only word characters survive into a term:
whatever else a query holds (SQL, FTS5 or tsquery operators, stray quotes) is a separator,
never syntax passed to the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext

from django_slashml.exceptions import SearchQueryError

#: Longer queries are refused with a 400 rather than searched.
MAX_QUERY_CHARS = 500
#: At most this many words and phrases in one query.
MAX_TERMS = 32

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_TOKEN = re.compile(r'"(?P<phrase>[^"]*)(?:"|$)|(?P<minus>-)?(?P<bare>[^\s"]+)')


@dataclass(frozen=True)
class Term:
    """A word, or a phrase of consecutive words; ``negated`` excludes segments holding it."""

    words: tuple[str, ...]
    negated: bool = False

    @property
    def text(self) -> str:
        return " ".join(self.words)


@dataclass(frozen=True)
class ParsedQuery:
    """Groups joined by OR; the terms of a group are all required (or excluded, if negated)."""

    groups: tuple[tuple[Term, ...], ...]

    @property
    def positive_terms(self) -> list[Term]:
        return [term for group in self.groups for term in group if not term.negated]

    def websearch(self) -> str:
        """The query again in web-search syntax, built only from word characters."""
        rendered = []
        for group in self.groups:
            parts = []
            for term in group:
                # A lone word "or" is quoted: PostgreSQL would read it as OR in any case.
                body = f'"{term.text}"' if len(term.words) > 1 or term.text == "or" else term.text
                parts.append(f"-{body}" if term.negated else body)
            rendered.append(" ".join(parts))
        return " OR ".join(rendered)


def _words(text: str) -> tuple[str, ...]:
    return tuple(word.lower() for word in _WORD.findall(text))


def parse(raw: str) -> ParsedQuery:
    """``raw`` in web-search syntax; a :class:`SearchQueryError` saying what to fix if it finds nothing."""
    if len(raw) > MAX_QUERY_CHARS:
        raise SearchQueryError(
            gettext("The query is %(length)d characters long; at most %(limit)d are allowed.")
            % {"length": len(raw), "limit": MAX_QUERY_CHARS}
        )
    groups: list[list[Term]] = [[]]
    for match in _TOKEN.finditer(raw):
        if match.group("phrase") is not None:
            terms = [Term(_words(match.group("phrase")))]
        elif match.group("bare") == "OR" and not match.group("minus"):
            if groups[-1]:
                groups.append([])
            continue
        else:
            bare = _words(match.group("bare"))
            # "-word" excludes; "a-b" or "e-mail" stay words to find, one term each.
            terms = [Term(bare[:1], negated=bool(match.group("minus")))] + [Term((word,)) for word in bare[1:]]
        groups[-1].extend(term for term in terms if term.words)
    kept = [tuple(group) for group in groups if any(not term.negated for term in group)]
    if not kept:
        message = (
            gettext("Exclusions (-word) need at least one word to find as well.")
            if any(groups[0]) or len(groups) > 1
            else gettext("Give at least one word to search for.")
        )
        raise SearchQueryError(message)
    if sum(len(group) for group in kept) > MAX_TERMS:
        raise SearchQueryError(gettext("Use at most %(limit)d words and phrases.") % {"limit": MAX_TERMS})
    return ParsedQuery(tuple(kept))
