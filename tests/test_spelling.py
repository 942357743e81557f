"""Custom spelling on the word timings: AssemblyAI's semantics, whatever the provider."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from django_slashml.privacy import rules, spelling
from django_slashml.privacy.transcript import clean, clean_text, clean_words


def words(text: str, *, confidence: float | None = 0.9) -> list[dict[str, Any]]:
    return [
        {"text": w, "start": i * 100, "end": i * 100 + 80, "confidence": confidence} for i, w in enumerate(text.split())
    ]


def table(*entries: tuple[list[str], str]) -> rules.Rules:
    stored = spelling.parse([{"from": f, "to": t} for f, t in entries], where="spelling")
    return rules.Rules(spelling=spelling.table(stored))


def test_several_words_become_one_with_first_start_last_end_and_lowest_confidence() -> None:
    given = words("we use slash ml daily")
    given[3]["confidence"] = 0.4
    out, spans = clean_words(given, table((["slash ml"], "SlashML")))
    assert [w["text"] for w in out] == ["we", "use", "SlashML", "daily"]
    assert (out[2]["start"], out[2]["end"], out[2]["confidence"]) == (200, 380, 0.4)
    assert spans == []


def test_matches_ignore_case_and_punctuation_and_keep_the_punctuation() -> None:
    out, _ = clean_words(words("Ask SLASH ML, then Slash. ml"), table((["slash ml"], "SlashML")))
    assert [w["text"] for w in out] == ["Ask", "SlashML,", "then", "SlashML"]


def test_whole_words_only() -> None:
    out, _ = clean_words(words("slashes mlx slash"), table((["slash ml"], "SlashML"), (["ml"], "ML")))
    assert [w["text"] for w in out] == ["slashes", "mlx", "slash"]


def test_longest_phrase_wins_and_a_job_entry_beats_the_project_entry() -> None:
    given = words("slash m l and slash m")
    out, _ = clean_words(given, table((["slash m"], "S/M"), (["slash m l"], "SlashML")))
    assert [w["text"] for w in out] == ["SlashML", "and", "S/M"]
    with override_settings(SLASHML={"SPELLING": [{"from": ["kay eight"], "to": "K8"}]}):
        own = rules.for_job([{"from": ["kay eight"], "to": "k8s"}])
        project = rules.for_job()
    assert [w["text"] for w in clean_words(words("run kay eight"), own)[0]] == ["run", "k8s"]
    assert [w["text"] for w in clean_words(words("run kay eight"), project)[0]] == ["run", "K8"]


def test_unknown_confidence_stays_unknown() -> None:
    out, _ = clean_words(words("slash ml", confidence=None), table((["slash ml"], "SlashML")))
    assert out == [{"text": "SlashML", "start": 0, "end": 180, "confidence": None}]


def test_text_is_respelled_and_everything_else_left_as_it_was() -> None:
    text = "Hello,  we use  Slash ML!\nBye."
    assert clean_text(text, table((["slash ml"], "SlashML")))[0] == "Hello,  we use  SlashML!\nBye."


def test_clean_applies_to_text_and_words_alike() -> None:
    done = clean("slash ml rocks", words("slash ml rocks"), table((["slash ml"], "SlashML")))
    assert done.text == "SlashML rocks"
    assert [w["text"] for w in done.words] == ["SlashML", "rocks"]


def test_no_rules_change_nothing() -> None:
    given = words("four one one one")
    assert clean("four one one one", given, rules.Rules()).words == given


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("SlashML", "must be a list"),
        ([{"from": "slash ml", "to": "SlashML"}], 'spelling[0]["from"] must be a non-empty list'),
        ([{"from": ["slash ml"], "to": ""}], 'spelling[0]["to"] must be a non-empty string'),
        ([{"from": ["a"], "to": "b", "extra": 1}], 'exactly the keys "from" and "to"'),
        ([{"from": ["a"], "to": "b"}] * 101, "101 entries; at most 100"),
        ([{"from": ["a" * 101], "to": "b"}], "longer than 100 characters"),
        ([{"from": [" ".join(["a"] * 11)], "to": "b"}], "more than 10 words"),
    ],
)
def test_a_job_table_out_of_bounds_is_refused_with_what_to_fix(value: Any, message: str) -> None:
    with pytest.raises(spelling.SpellingError, match=message.replace("[", r"\[").replace("]", r"\]")):
        rules.parse_job_spelling(value)
