"""The rules a transcript is cleaned by: the project's settings plus a job's own spelling table."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django_slashml.conf import slashml_settings
from django_slashml.privacy import detectors, spelling


@dataclass(frozen=True)
class Rules:
    """What to respell and what to redact; empty rules change nothing."""

    spelling: spelling.SpellingTable = field(default_factory=spelling.SpellingTable)
    kinds: frozenset[str] = frozenset()
    patterns: tuple[tuple[str, re.Pattern[str]], ...] = ()

    @property
    def redacts(self) -> bool:
        return bool(self.kinds)

    def without_spelling(self) -> Rules:
        """The same redaction, no spelling: for a reviewer's correction, which is never respelled."""
        return Rules(kinds=self.kinds, patterns=self.patterns)


def job_limits() -> spelling.Limits:
    """The bounds of a job's own spelling table, from the settings."""
    return spelling.Limits(
        entries=int(slashml_settings.SPELLING_MAX_ENTRIES), chars=int(slashml_settings.SPELLING_MAX_CHARS)
    )


def parse_job_spelling(value: Any) -> list[dict[str, Any]]:
    """A job's own table as given to ``transcribe()`` or the API, checked and bounded."""
    return spelling.parse(value, where="spelling", limits=job_limits())


def patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """The project's own patterns, compiled (the system checks have refused ones that do not compile)."""
    configured = slashml_settings.REDACTION_PATTERNS or {}
    return tuple((str(name).upper(), re.compile(regex)) for name, regex in configured.items())


def for_job(job_spelling: Sequence[dict[str, Any]] = ()) -> Rules:
    """The rules of a job with its own table ``job_spelling``: its entries win over the project's."""
    project = spelling.table(spelling.parse(slashml_settings.SPELLING, where="SLASHML['SPELLING']"))
    own = spelling.table(job_spelling)
    return Rules(
        spelling=own.then(project),
        kinds=frozenset(str(kind).upper() for kind in slashml_settings.REDACT or ()),
        patterns=patterns(),
    )


def problems() -> list[tuple[str, str, str]]:
    """What is wrong with the redaction and spelling settings, as (check id, message, hint)."""
    found: list[tuple[str, str, str]] = []
    configured = slashml_settings.REDACTION_PATTERNS
    names: set[str] = set()
    if not isinstance(configured, dict):
        found.append(
            (
                "slashml.E090",
                f"SLASHML['REDACTION_PATTERNS'] = {configured!r} must be a dict of label -> regular expression.",
                'For example {"EMPLOYEE_ID": r"EMP-\\d{6}"}.',
            )
        )
    else:
        for name, regex in configured.items():
            if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,31}", name):
                found.append(
                    (
                        "slashml.E091",
                        f"SLASHML['REDACTION_PATTERNS'] has the label {name!r}; labels are letters, digits and _.",
                        "The label is what replaces the words, as [LABEL]: keep it short, starting with a letter.",
                    )
                )
                continue
            names.add(name.upper())
            try:
                compiled = re.compile(regex) if isinstance(regex, str) else None
            except re.error as exc:
                compiled, reason = None, str(exc)
            else:
                reason = "it is not a string" if compiled is None else ""
            if compiled is not None and compiled.match(""):
                reason = "it matches the empty string"
            if reason:
                found.append(
                    (
                        "slashml.E092",
                        f"SLASHML['REDACTION_PATTERNS'][{name!r}] = {regex!r} is not a usable pattern: {reason}.",
                        "Give a regular expression (Python's re syntax) that matches the words to redact.",
                    )
                )
    kinds = slashml_settings.REDACT
    known = set(detectors.BUILT_IN) | names
    if not isinstance(kinds, (list, tuple)) or not all(isinstance(kind, str) for kind in kinds):
        found.append(
            (
                "slashml.E093",
                f"SLASHML['REDACT'] = {kinds!r} must be a list of kinds to redact.",
                f"Kinds: {', '.join(detectors.BUILT_IN)} and the labels of REDACTION_PATTERNS.",
            )
        )
    else:
        unknown = [kind for kind in kinds if kind.upper() not in known]
        if unknown:
            found.append(
                (
                    "slashml.E093",
                    f"SLASHML['REDACT'] names {', '.join(map(repr, unknown))}, which no detector finds.",
                    f"Kinds: {', '.join(detectors.BUILT_IN)} and the labels of REDACTION_PATTERNS.",
                )
            )
    try:
        spelling.parse(slashml_settings.SPELLING, where="SLASHML['SPELLING']")
    except spelling.SpellingError as exc:
        found.append(("slashml.E094", str(exc), 'Each entry is {"from": ["slash ml"], "to": "SlashML"}.'))
    return found
