"""A transcript's words as the detectors read them: punctuation apart, lower case, numbers as digits."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

#: Leading and trailing punctuation of a word, kept around its replacement ("(555)" -> "(" "555" ")").
_EDGES = re.compile(r"^([^\w@+\[]*)(.*?)([^\w\]]*)$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Token:
    """One word: the punctuation before and after it, and its core in lower case."""

    prefix: str
    core: str
    suffix: str


@lru_cache(maxsize=65536)  # a transcript says the same few thousand words again and again
def split(word: str) -> Token:
    """``word`` as a :class:`Token` ("Card:" -> "", "card", ":")."""
    found = _EDGES.match(word)
    if found is None:  # pragma: no cover - the pattern matches any string
        return Token("", word.lower(), "")
    prefix, core, suffix = found.groups()
    return Token(prefix, core.lower(), suffix)


UNITS = {
    "zero": "0",
    "oh": "0",
    "o": "0",
    "nought": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
TEENS = {
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "thirteen": "13",
    "fourteen": "14",
    "fifteen": "15",
    "sixteen": "16",
    "seventeen": "17",
    "eighteen": "18",
    "nineteen": "19",
}
TENS = {
    "twenty": "2",
    "thirty": "3",
    "forty": "4",
    "fifty": "5",
    "sixty": "6",
    "seventy": "7",
    "eighty": "8",
    "ninety": "9",
}
REPEATS = {"double": 2, "triple": 3}

#: A number as engines write it: digits, maybe grouped by dashes or brackets ("555-0100", "(555)0100").
_WRITTEN = re.compile(r"\+?[\d()\-]*\d[\d()\-]*")
_DIGIT = re.compile(r"\d")
#: Filler that may sit inside a number read aloud without ending it.
JOINERS = frozenset({"", "-", "dash", "hyphen"})


@lru_cache(maxsize=65536)
def written_digits(core: str) -> str | None:
    """The digits of a number written in figures ("555-0100" -> "5550100"), or None."""
    if not _WRITTEN.fullmatch(core):
        return None
    return "".join(_DIGIT.findall(core))


@lru_cache(maxsize=65536)
def may_be_number(core: str) -> bool:
    """Whether ``core`` may be part of a number: figures, or a number word."""
    return core in UNITS or core in TEENS or core in TENS or core in REPEATS or written_digits(core) is not None
