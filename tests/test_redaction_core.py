"""Redaction of personal data in transcripts as engines write them, digits or read aloud."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import override_settings

from django_slashml.privacy import detectors, rules
from django_slashml.privacy.transcript import clean, clean_text, clean_words

from .extras import require

ALL = rules.Rules(kinds=frozenset(detectors.BUILT_IN))


def words(text: str) -> list[dict[str, Any]]:
    return [{"text": w, "start": i * 100, "end": i * 100 + 80, "confidence": 0.9} for i, w in enumerate(text.split())]


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("my card is 4111 1111 1111 1111 thanks", "my card is [CARD] thanks"),
        ("card 4111-1111-1111-1111.", "card [CARD]."),
        ("it's four one one one one one one one one one one one one one one one ok", "it's [CARD] ok"),
        ("number four one one one, 1111 one one one one 1111 please", "number [CARD] please"),
        ("four double one one one one one one one one one one one one one one", "[CARD]"),
        ("call me on 555-867-5309 tomorrow", "call me on [PHONE] tomorrow"),
        ("call (555) 867 5309 tomorrow", "call [PHONE] tomorrow"),
        ("ring oh seven seven double nine one two three four five six", "ring [PHONE]"),
        ("ring +44 20 7946 0958.", "ring [PHONE]."),
        ("write to John.Smith@Example.com, please", "write to [EMAIL], please"),
        ("write to john dot smith at example dot com please", "write to [EMAIL] please"),
        ("write to john at example.org please", "write to [EMAIL] please"),
        ("iban GB82 WEST 1234 5698 7654 32 thanks", "iban [IBAN] thanks"),
        ("iban DE89370400440532013000.", "iban [IBAN]."),
        ("server 192.168.1.20 and 2001:db8::1, down", "server [IP] and [IP], down"),
    ],
)
def test_realistic_transcripts(said: str, expected: str) -> None:
    out, spans = clean_words(words(said), ALL)
    assert " ".join(w["text"] for w in out) == expected
    assert clean_text(said, ALL)[0] == expected
    assert spans


def test_ordinary_numbers_and_words_stay() -> None:
    for said in [
        "we met at 10 and left at 11",
        "one of the two of us paid 1,500,000 in 2024",
        "version 3.5 shipped on 12/05/2024",
        "oh I see, one two three",
        "1234 5678 1234 5678 is not a card",  # 16 digits, none 13 to 19 of them Luhn-valid; too long for a phone
        "meet at home dot later",
    ]:
        out, spans = clean_words(words(said), ALL)
        assert [w["text"] for w in out] == said.split(), said
        assert spans == []


def test_redacted_words_keep_their_timings_and_spans_name_them() -> None:
    out, spans = clean_words(words("card 4111 1111 1111 1111 ok"), ALL)
    assert out[1] == {"text": "[CARD]", "start": 100, "end": 480, "confidence": 0.9}
    assert [s.as_dict() for s in spans] == [{"kind": "CARD", "start_ms": 100, "end_ms": 480}]


def test_only_the_kinds_asked_for() -> None:
    emails_only = rules.Rules(kinds=frozenset({"EMAIL"}))
    out, _ = clean_words(words("a@b.com 555-867-5309"), emails_only)
    assert [w["text"] for w in out] == ["[EMAIL]", "555-867-5309"]


def test_project_patterns_span_words_and_keep_their_label() -> None:
    settings = {"REDACT": ["EMPLOYEE"], "REDACTION_PATTERNS": {"employee": r"EMP-\d{3} \d{3}"}}
    with override_settings(SLASHML=settings):
        found = rules.for_job()
    out, spans = clean_words(words("badge EMP-123 456 please"), found)
    assert [w["text"] for w in out] == ["badge", "[EMPLOYEE]", "please"]
    assert spans[0].kind == "EMPLOYEE"


def test_spelling_comes_first_then_redaction_on_the_respelled_words() -> None:
    with override_settings(SLASHML={"REDACT": ["CARD"], "SPELLING": [{"from": ["visa"], "to": "VISA"}]}):
        both = rules.for_job()
    done = clean("visa 4111111111111111", words("visa 4111111111111111"), both)
    assert done.text == "VISA [CARD]"
    assert [s.kind for s in done.spans] == ["CARD"]


def test_a_correction_is_redacted_not_respelled() -> None:
    with override_settings(SLASHML={"REDACT": ["EMAIL"], "SPELLING": [{"from": ["slash ml"], "to": "SlashML"}]}):
        both = rules.for_job()
    assert clean_text("slash ml: a@b.io", both.without_spelling())[0] == "slash ml: [EMAIL]"


hypothesis = require("hypothesis")
st = hypothesis.strategies

DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
SPOKEN = {str(d): w for d, w in enumerate(DIGIT_WORDS)}


def luhn_card(body: str) -> str:
    for check in "0123456789":
        if detectors.luhn(body + check):
            return body + check
    raise AssertionError


cards = st.builds(luhn_card, st.text(alphabet="0123456789", min_size=12, max_size=18))


@st.composite
def read_out(draw: Any, digits: str) -> list[str]:
    """``digits`` as an engine may write them: groups, dashes, spoken digits, punctuation."""
    out: list[str] = []
    position = 0
    while position < len(digits):
        size = draw(st.integers(min_value=1, max_value=5))
        group = digits[position : position + size]
        position += size
        style = draw(st.sampled_from(["figures", "spoken", "dashed"]))
        if style == "spoken":
            out += [SPOKEN[d] for d in group]
        elif style == "dashed" and out and out[-1][-1].isdigit():
            out[-1] += "-" + group
        else:
            out.append(group)
        if draw(st.booleans()) and draw(st.booleans()):
            out[-1] += ","
    return out


filler = st.lists(st.sampled_from(["the", "card", "is", "yes", "ok.", "and", "my", "number"]), max_size=4)


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(data=st.data(), card=cards, before=filler, after=filler)
def test_no_digit_run_of_a_luhn_valid_card_survives(data: Any, card: str, before: list[str], after: list[str]) -> None:
    spoken = [*before, *data.draw(read_out(card)), *after]
    done = clean(" ".join(spoken), words(" ".join(spoken)), ALL)
    for output in (done.text, " ".join(w["text"] for w in done.words)):
        digits = "".join(re.findall(r"\d", output))
        assert card not in digits, output
        assert "[CARD]" in output
    assert all(w["start"] <= w["end"] for w in done.words)
    assert done.words[0]["start"] == 0 and done.words[-1]["end"] == (len(spoken) - 1) * 100 + 80


@hypothesis.settings(max_examples=200, deadline=None)
@hypothesis.given(
    st.lists(
        st.sampled_from(
            [
                "slash",
                "ml",
                "Slash",
                "ML,",
                "four",
                "one",
                "1111",
                "4111",
                "a@b.io",
                "at",
                "b",
                "dot",
                "com",
                "the",
                "(555)",
            ]
        ),
        max_size=30,
    )
)
def test_text_cleaned_with_the_words_matches_text_cleaned_alone(tokens: list[str]) -> None:
    """The shortcut for a text that is the words joined gives what reading the text alone gives."""
    with override_settings(
        SLASHML={"REDACT": list(detectors.BUILT_IN), "SPELLING": [{"from": ["slash ml"], "to": "SlashML"}]}
    ):
        both = rules.for_job()
    text = " ".join(tokens)
    assert clean(text, words(text), both).text == clean_text(text, both)[0]
