"""Where a transcript holds personal data: each detector names the words it covers.

Detectors read the words as engines write them (``4111-1111``, ``john@example.com``) and as
people say them (``four one one one``, ``john at example dot com``). Earlier detectors claim
words first: IBAN, email, IP address, the project's patterns, then runs of digits (a card
number when some 13 to 19 of them pass the Luhn check, else a phone number of 7 to 15).
"""

from __future__ import annotations

import ipaddress
import re
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from django_slashml.privacy.tokens import (
    JOINERS,
    REPEATS,
    TEENS,
    TENS,
    UNITS,
    Token,
    may_be_number,
    written_digits,
)

EMAIL, PHONE, CARD, IBAN, IP = "EMAIL", "PHONE", "CARD", "IBAN", "IP"
#: The kinds the app knows; a project's patterns add their own names.
BUILT_IN = (EMAIL, PHONE, CARD, IBAN, IP)

_TLDS = frozenset(
    [
        "com",
        "org",
        "net",
        "edu",
        "gov",
        "io",
        "co",
        "uk",
        "de",
        "fr",
        "es",
        "it",
        "nl",
        "eu",
        "info",
        "biz",
        "me",
        "us",
        "ca",
        "au",
        "ie",
        "ch",
        "at",
        "be",
        "se",
        "dk",
        "no",
        "fi",
        "pl",
        "pt",
    ]
)
_WRITTEN_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}")
_DOMAIN = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)*\.([a-z]{2,})")
_NAME = re.compile(r"[\w+.-]+")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_IBAN_START = re.compile(r"[a-z]{2}\d{2}[a-z0-9]*")
_ALNUM = re.compile(r"[a-z0-9]+")
_IPV6_TRIM = " ,.;:!?()[]<>\"'"


@dataclass(frozen=True)
class Found:
    """Words ``first`` up to (not including) ``stop`` hold personal data of ``kind``."""

    first: int
    stop: int
    kind: str


def luhn(digits: str) -> bool:
    """Whether ``digits`` pass the Luhn check that payment card numbers carry."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def holds_card(digits: str) -> bool:
    """Whether some 13 to 19 consecutive ``digits`` are a Luhn-valid card number."""
    count = len(digits)
    for size in range(13, min(19, count) + 1):
        for start in range(count - size + 1):
            if luhn(digits[start : start + size]):
                return True
    return False


def iban_valid(text: str) -> bool:
    """Whether ``text`` (letters and digits, no spaces) is an IBAN: its mod-97 check is 1."""
    if not 15 <= len(text) <= 34:
        return False
    moved = (text[4:] + text[:4]).upper()
    remainder = 0
    for char in moved:
        value = int(char, 36)
        remainder = (remainder * (100 if value > 9 else 10) + value) % 97
    return remainder == 1


class _Joined:
    """The words joined by single spaces, with the word each character came from."""

    def __init__(self, words: Sequence[str]) -> None:
        self.text = " ".join(words)
        self.starts: list[int] = []
        position = 0
        for word in words:
            self.starts.append(position)
            position += len(word) + 1

    def words_of(self, start: int, end: int) -> tuple[int, int]:
        """The words (first, stop) characters ``start`` to ``end`` of the joined text fall in."""
        return bisect_right(self.starts, start) - 1, bisect_right(self.starts, max(start, end - 1))


def find(
    tokens: Sequence[Token],
    words: Sequence[str],
    *,
    kinds: frozenset[str],
    patterns: Sequence[tuple[str, re.Pattern[str]]] = (),
) -> list[Found]:
    """The personal data in ``tokens`` (``words`` as written), of the ``kinds`` asked for, in order."""
    claimed = [False] * len(tokens)
    found: list[Found] = []

    def claim(first: int, stop: int, kind: str) -> None:
        if first < stop and not any(claimed[first:stop]):
            claimed[first:stop] = [True] * (stop - first)
            found.append(Found(first, stop, kind))

    if IBAN in kinds:
        for first, stop in _ibans(tokens):
            claim(first, stop, IBAN)
    if EMAIL in kinds:
        for first, stop in _emails(tokens):
            claim(first, stop, EMAIL)
    if IP in kinds:
        for index, token in enumerate(tokens):
            core = token.core
            if ("." in core and _IPV4.fullmatch(core) and _is_address(core)) or (
                core.count(":") >= 2 and _is_address(words[index].strip(_IPV6_TRIM), version=6)
            ):
                claim(index, index + 1, IP)
    if patterns:
        written = _Joined(list(words))
        for name, pattern in patterns:
            if name in kinds:
                for hit in pattern.finditer(written.text):
                    if hit.end() > hit.start():
                        claim(*written.words_of(hit.start(), hit.end()), name)
    if CARD in kinds or PHONE in kinds:
        for first, stop, digits in _digit_runs(tokens, claimed):
            if CARD in kinds and len(digits) >= 13 and holds_card(digits):
                claim(first, stop, CARD)
            elif PHONE in kinds and 7 <= len(digits) <= 15:
                claim(first, stop, PHONE)
    found.sort(key=lambda item: item.first)
    return found


def _is_address(text: str, version: int = 4) -> bool:
    try:
        return ipaddress.ip_address(text).version == version
    except ValueError:
        return False


def _emails(tokens: Sequence[Token]) -> Iterator[tuple[int, int]]:
    """Emails as written (one word with ``@``) and read aloud ("ann dot lee at example dot com")."""
    count = len(tokens)
    for index, token in enumerate(tokens):
        core = token.core
        if "@" in core and _WRITTEN_EMAIL.fullmatch(core):
            yield index, index + 1
        elif core == "at" and 0 < index < count - 1:
            stop = _domain_end(tokens, index + 1)
            if stop is not None and _is_name(tokens[index - 1].core):
                first = index - 1
                while first >= 2 and tokens[first - 1].core == "dot" and _is_name(tokens[first - 2].core):
                    first -= 2
                yield first, stop


def _is_name(core: str) -> bool:
    return core not in ("dot", "at") and _NAME.fullmatch(core) is not None


def _domain_end(tokens: Sequence[Token], index: int) -> int | None:
    """Where a domain starting at ``index`` ends ("example dot com", "example.com"), or None."""
    core = tokens[index].core
    written = _DOMAIN.fullmatch(core)
    if written:
        return index + 1 if written.group(1) in _TLDS else None
    if not _is_name(core):
        return None
    end = None
    while index + 2 < len(tokens) and tokens[index + 1].core == "dot" and _is_name(tokens[index + 2].core):
        index += 2
        if tokens[index].core in _TLDS:
            end = index + 1
    return end


def _ibans(tokens: Sequence[Token]) -> Iterator[tuple[int, int]]:
    index, count = 0, len(tokens)
    while index < count:
        core = tokens[index].core
        if 4 <= len(core) <= 34 and core[2].isdigit() and _IBAN_START.fullmatch(core):
            text, best, stop = core, None, index + 1
            if iban_valid(text):
                best = stop
            while stop < count and _ALNUM.fullmatch(tokens[stop].core) and len(text) + len(tokens[stop].core) <= 34:
                text += tokens[stop].core
                stop += 1
                if iban_valid(text):
                    best = stop
            if best is not None:
                yield index, best
                index = best
                continue
        index += 1


def _digit_runs(tokens: Sequence[Token], claimed: Sequence[bool]) -> Iterator[tuple[int, int, str]]:
    """Runs of words that are numbers (figures or digits read aloud), each with its digits."""
    index, count = 0, len(tokens)
    while index < count:
        if not may_be_number(tokens[index].core):
            index += 1
            continue
        first, digits, stop = index, "", index
        while index < count and not claimed[index]:
            core = tokens[index].core
            step, value = _number_at(tokens, index, claimed)
            if value is not None:
                digits += value
                index += step
                stop = index
            elif digits and core in JOINERS:
                index += 1  # a dash between groups; the run ends before it unless digits follow
            else:
                break
        if digits:
            yield first, stop, digits
            index = stop
        else:
            index += 1


def _number_at(tokens: Sequence[Token], index: int, claimed: Sequence[bool]) -> tuple[int, str | None]:
    """How many words, from ``index``, make one number, and its digits ("forty two" -> 2, "42")."""
    core = tokens[index].core
    written = written_digits(core)
    if written:
        return 1, written
    if core in UNITS:
        return 1, UNITS[core]
    if core in TEENS:
        return 1, TEENS[core]
    has_next = index + 1 < len(tokens) and not claimed[index + 1]
    following = tokens[index + 1].core if has_next else ""
    if core in TENS:
        if following in UNITS and UNITS[following] != "0" and following not in ("o", "oh"):
            return 2, TENS[core] + UNITS[following]
        return 1, TENS[core] + "0"
    if core in REPEATS:
        digit = UNITS.get(following) or (following if len(following) == 1 and following.isdigit() else None)
        if digit:
            return 2, digit * REPEATS[core]
    return 1, None
