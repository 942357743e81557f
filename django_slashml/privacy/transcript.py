"""A transcript cleaned: spelling applied, then personal data replaced by labels, timings kept.

The text and the words are cleaned the same way, each on its own: engines' text carries
punctuation the words may not. Punctuation around replaced words stays ("4111 1111." ->
"[CARD]."); everything between replacements is left exactly as it was.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django_slashml.privacy import detectors
from django_slashml.privacy.rules import Rules
from django_slashml.privacy.tokens import Token, split

_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Span:
    """Where personal data was redacted, in milliseconds (None when there were no word timings)."""

    kind: str
    start_ms: int | None
    end_ms: int | None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "start_ms": self.start_ms, "end_ms": self.end_ms}


@dataclass(frozen=True)
class Cleaned:
    text: str
    words: list[dict[str, Any]]
    spans: list[Span]


@dataclass(frozen=True)
class _Change:
    first: int
    stop: int
    core: str
    kind: str | None = None


def label(kind: str) -> str:
    """What replaces personal data of ``kind``: ``[CARD]``."""
    return f"[{kind}]"


def _spelling_changes(tokens: Sequence[Token], rules: Rules) -> list[_Change]:
    if not rules.spelling:
        return []
    return [_Change(m.first, m.stop, m.replacement) for m in rules.spelling.matches(tokens)]


def _redaction_changes(tokens: Sequence[Token], written: Sequence[str], rules: Rules) -> list[_Change]:
    if not rules.redacts or not tokens:
        return []
    found = detectors.find(tokens, written, kinds=rules.kinds, patterns=rules.patterns)
    return [_Change(f.first, f.stop, label(f.kind), f.kind) for f in found]


def _edges(change: _Change, first: Token, last: Token) -> tuple[str, str]:
    """The punctuation kept around a replacement: brackets around a redacted number go with it."""
    if change.kind is None:
        return first.prefix, last.suffix
    return first.prefix.replace("(", ""), last.suffix.replace(")", "")


def _confidence(words: Sequence[dict[str, Any]]) -> float | None:
    known = [w["confidence"] for w in words if isinstance(w.get("confidence"), (int, float))]
    return min(known) if known else None


def _apply_to_words(
    words: list[dict[str, Any]], tokens: list[Token], changes: Sequence[_Change]
) -> tuple[list[dict[str, Any]], list[Token]]:
    if not changes:
        return words, tokens
    out: list[dict[str, Any]] = []
    out_tokens: list[Token] = []
    position = 0
    for change in changes:
        out += words[position : change.first]
        out_tokens += tokens[position : change.first]
        covered = words[change.first : change.stop]
        prefix, suffix = _edges(change, tokens[change.first], tokens[change.stop - 1])
        merged = dict(covered[0])
        merged.update(
            text=prefix + change.core + suffix,
            start=covered[0].get("start"),
            end=covered[-1].get("end"),
            confidence=_confidence(covered),
        )
        out.append(merged)
        out_tokens.append(Token(prefix, change.core.lower(), suffix))
        position = change.stop
    out += words[position:]
    out_tokens += tokens[position:]
    return out, out_tokens


def _apply_to_text(text: str, changes: Sequence[_Change], tokens: Sequence[Token]) -> str:
    if not changes:
        return text
    places = [m.span() for m in _WORD.finditer(text)]
    out, position = [], 0
    for change in changes:
        start, end = places[change.first][0], places[change.stop - 1][1]
        prefix, suffix = _edges(change, tokens[change.first], tokens[change.stop - 1])
        out += [text[position:start], prefix, change.core, suffix]
        position = end
    out.append(text[position:])
    return "".join(out)


def clean_words(words: Sequence[dict[str, Any]], rules: Rules) -> tuple[list[dict[str, Any]], list[Span]]:
    """``words`` ({text, start, end, confidence}) respelled and redacted, and the spans redacted."""
    cleaned, spans, _ = _clean_words(words, [split(str(w.get("text", ""))) for w in words], rules)
    return cleaned, spans


def _clean_words(
    words: Sequence[dict[str, Any]], tokens: list[Token], rules: Rules
) -> tuple[list[dict[str, Any]], list[Span], list[_Change]]:
    """The words cleaned, their spans, and every change as words ``first`` to ``stop`` of ``words``."""
    spelled = _spelling_changes(tokens, rules)
    current, respelled = _apply_to_words(list(words), tokens, spelled)
    redacted = _redaction_changes(respelled, [str(w.get("text", "")) for w in current], rules)
    spans = [Span(c.kind or "", current[c.first].get("start"), current[c.stop - 1].get("end")) for c in redacted]
    current, _ = _apply_to_words(current, respelled, redacted)
    return current, spans, _in_original_words(len(words), spelled, redacted)


def _in_original_words(count: int, spelled: Sequence[_Change], redacted: Sequence[_Change]) -> list[_Change]:
    """Spelling then redaction as one list of changes to the original words (a redaction covers whole words)."""
    if not spelled:
        return list(redacted)
    origin: list[tuple[int, int]] = []  # each respelled word: the original words it stands for
    position = 0
    for change in spelled:
        origin += [(index, index + 1) for index in range(position, change.first)]
        origin.append((change.first, change.stop))
        position = change.stop
    origin += [(index, index + 1) for index in range(position, count)]
    moved = [_Change(origin[c.first][0], origin[c.stop - 1][1], c.core, c.kind) for c in redacted]
    kept = [c for c in spelled if not any(r.first <= c.first and c.stop <= r.stop for r in moved)]
    return sorted(kept + moved, key=lambda change: change.first)


def clean_text(text: str, rules: Rules) -> tuple[str, list[Span]]:
    """``text`` respelled and redacted, and the spans redacted (without timings)."""
    if not text or not (rules.spelling or rules.redacts):
        return text, []
    written = _WORD.findall(text)
    tokens = [split(w) for w in written]
    changes = _spelling_changes(tokens, rules)
    if changes:
        text = _apply_to_text(text, changes, tokens)
        written = _WORD.findall(text)
        tokens = [split(w) for w in written]
    changes = _redaction_changes(tokens, written, rules)
    return _apply_to_text(text, changes, tokens), [Span(c.kind or "", None, None) for c in changes]


def clean(text: str, words: Sequence[dict[str, Any]], rules: Rules) -> Cleaned:
    """The transcript ``text`` and ``words`` cleaned by ``rules``; spans from the words where there are any.

    Where the text is the words joined (most engines), it is cleaned by the words' changes
    rather than read a second time.
    """
    if not (rules.spelling or rules.redacts):
        return Cleaned(text, list(words), [])
    texts = [str(w.get("text", "")) for w in words]
    if words and _WORD.findall(text) == texts:
        tokens = [split(t) for t in texts]
        new_words, spans, changes = _clean_words(words, tokens, rules)
        return Cleaned(_apply_to_text(text, changes, tokens), new_words, spans)
    new_words, word_spans = clean_words(words, rules)
    new_text, text_spans = clean_text(text, rules)
    return Cleaned(new_text, new_words, word_spans if words else text_spans)
