"""Custom spelling, as AssemblyAI defines it: one or several words become one replacement.

A table is a list of ``{"from": ["slash ml", "slash m l"], "to": "SlashML"}``. ``from`` phrases
match whole words, case-insensitive, punctuation around the words ignored; the longest phrase
wins where several start at the same word. The replacement keeps the first word's start, the
last word's end, and the lowest confidence of the words it replaces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django_slashml.exceptions import InvalidSpellingError
from django_slashml.privacy.tokens import Token, split

#: A spelling table that cannot be used; the message says what to fix.
SpellingError = InvalidSpellingError


@dataclass(frozen=True)
class Limits:
    """The most entries, ``from`` phrases per entry, words per phrase and characters per phrase."""

    entries: int = 100
    phrases: int = 20
    words: int = 10
    chars: int = 100


@dataclass(frozen=True)
class Match:
    """Words ``first`` up to (not including) ``stop`` become ``replacement``."""

    first: int
    stop: int
    replacement: str


class SpellingTable:
    """A validated table, indexed by the first word of each phrase."""

    def __init__(self, entries: Sequence[tuple[Sequence[str], str]] = ()) -> None:
        self._index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for phrases, replacement in entries:
            for phrase in phrases:
                words = tuple(split(word).core for word in phrase.split())
                if words and words[0]:
                    self._index.setdefault(words[0], []).append((words, replacement))
        for candidates in self._index.values():
            candidates.sort(key=lambda item: -len(item[0]))  # longest phrase first; stable otherwise

    def __bool__(self) -> bool:
        return bool(self._index)

    def then(self, other: SpellingTable) -> SpellingTable:
        """This table's phrases first (a job's own table), then ``other``'s (the project's)."""
        merged = SpellingTable()
        for source in (self, other):
            for first, candidates in source._index.items():
                merged._index.setdefault(first, []).extend(candidates)
        for candidates in merged._index.values():
            candidates.sort(key=lambda item: -len(item[0]))
        return merged

    def matches(self, tokens: Sequence[Token]) -> list[Match]:
        """Where ``tokens`` hold a phrase of the table, left to right, never overlapping."""
        found: list[Match] = []
        index, count = 0, len(tokens)
        while index < count:
            candidates = self._index.get(tokens[index].core)
            hit = None
            if candidates:
                for words, replacement in candidates:
                    stop = index + len(words)
                    if stop <= count and all(tokens[index + k].core == word for k, word in enumerate(words)):
                        hit = Match(index, stop, replacement)
                        break
            if hit is None:
                index += 1
            else:
                found.append(hit)
                index = hit.stop
        return found


def parse(value: Any, *, where: str, limits: Limits | None = None) -> list[dict[str, Any]]:
    """``value`` checked as a spelling table and returned in its stored form; :class:`SpellingError` if unusable.

    ``where`` names the table in messages ("SLASHML['SPELLING']", "spelling"). ``limits`` bound a job's
    own table; the project's is the project's business.
    """
    if value is None:
        return []
    if not isinstance(value, list):
        raise SpellingError(
            f'{where} must be a list of {{"from": [...], "to": "..."}} entries, not {type(value).__name__}.'
        )
    if limits and len(value) > limits.entries:
        raise SpellingError(f"{where} has {len(value)} entries; at most {limits.entries} are allowed.")
    stored = []
    for number, entry in enumerate(value):
        label = f"{where}[{number}]"
        if not isinstance(entry, dict) or set(entry) != {"from", "to"}:
            raise SpellingError(f'{label} must be an object with exactly the keys "from" and "to".')
        phrases, replacement = entry["from"], entry["to"]
        if not isinstance(replacement, str) or not replacement.strip():
            raise SpellingError(f'{label}["to"] must be a non-empty string.')
        if not isinstance(phrases, list) or not phrases or not all(isinstance(p, str) and p.strip() for p in phrases):
            raise SpellingError(f'{label}["from"] must be a non-empty list of non-empty strings.')
        if limits:
            if len(phrases) > limits.phrases:
                raise SpellingError(
                    f'{label}["from"] has {len(phrases)} phrases; at most {limits.phrases} are allowed.'
                )
            for text in [*phrases, replacement]:
                if len(text) > limits.chars:
                    raise SpellingError(f"{label}: {text[:40]!r}... is longer than {limits.chars} characters.")
            for phrase in phrases:
                if len(phrase.split()) > limits.words:
                    raise SpellingError(f"{label}: {phrase[:40]!r} has more than {limits.words} words.")
        stored.append({"from": [p.strip() for p in phrases], "to": replacement.strip()})
    return stored


def table(stored: Sequence[dict[str, Any]]) -> SpellingTable:
    """The :class:`SpellingTable` of a table already checked by :func:`parse`."""
    return SpellingTable([(entry["from"], entry["to"]) for entry in stored])
