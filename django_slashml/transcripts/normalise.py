"""The one normalisation applied before any two transcripts are scored against each other.

Scores should count what a listener would call a mistake, not a style difference. So each
side is, in this order: case-folded; curly quotes and dashes made plain; thousands
separators removed from numbers (``1,500`` -> ``1500``); every run of characters that is not
a letter, a digit or an apostrophe inside a word turned into a space (so punctuation and
hyphens go, ``don't`` stays); whole numbers from 0 to 999,999 spelled out in English
(``25`` -> ``twenty five``), so ``25`` and ``twenty-five`` agree; whitespace collapsed.
Larger numbers stay digits; a decimal point is punctuation (``3.5`` -> ``three five``). The regexes are compiled once:
this runs over tens of thousands of words per page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["normalise_text", "normalise_timed_words", "spell_number"]

_PLAIN = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2013": "-", "\u2014": "-"})
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_NOT_WORD = re.compile(r"[^\w']+|(?<!\w)'|'(?!\w)|_")

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def _below_thousand(n: int) -> list[str]:
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words += [_ONES[hundreds], "hundred"]
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        words.append(_TENS[tens])
        if ones:
            words.append(_ONES[ones])
    elif rest or not words:
        words.append(_ONES[rest])
    return words


def spell_number(token: str) -> list[str]:
    """``token``'s words if it is a whole number below a million, else ``[token]``."""
    if not token.isascii() or not token.isdigit() or len(token) > 6:
        return [token]
    n = int(token)
    thousands, rest = divmod(n, 1000)
    if not thousands:
        return _below_thousand(rest)
    return [*_below_thousand(thousands), "thousand", *(_below_thousand(rest) if rest else [])]


def _tokens(text: str) -> list[str]:
    text = _THOUSANDS.sub("", text.casefold().translate(_PLAIN))
    return _NOT_WORD.sub(" ", text).split()


def normalise_text(text: str) -> list[str]:
    """``text`` as the normalised words that are scored."""
    words: list[str] = []
    for token in _tokens(text):
        if token[0].isdigit():
            words.extend(spell_number(token))
        else:
            words.append(token)
    return words


def normalise_timed_words(words: Iterable[Mapping[str, Any]]) -> tuple[list[str], list[int]]:
    """The normalised words of a job's timed ``words``, and for each the index of the word it came from.

    One recognised word may become none (a lone punctuation mark) or several (``25``), so
    the page that plays the audio from a clicked word maps it back through these indices.
    """
    normalised: list[str] = []
    sources: list[int] = []
    for index, word in enumerate(words):
        for token in normalise_text(str(word.get("text", ""))):
            normalised.append(token)
            sources.append(index)
    return normalised, sources
