"""Bad redaction and spelling settings are refused at startup, each with a stable id."""

from __future__ import annotations

from typing import Any

import pytest

from django_slashml.checks import settings_problems


def ids(settings: Any, **values: Any) -> list[str]:
    settings.SLASHML = {**settings.SLASHML, **values}
    return [check_id for check_id, _, _ in settings_problems() if check_id.startswith("slashml.E09")]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"REDACT": ["CARD", "EMAIL"], "REDACTION_PATTERNS": {"TICKET": r"T-\d+"}}, []),
        ({"REDACT": ["TICKET"], "REDACTION_PATTERNS": {"TICKET": r"T-\d+"}}, []),
        ({"REDACTION_PATTERNS": [r"T-\d+"]}, ["slashml.E090"]),
        ({"REDACTION_PATTERNS": {"bad label": r"T-\d+"}}, ["slashml.E091"]),
        ({"REDACTION_PATTERNS": {"TICKET": r"T-(\d+"}}, ["slashml.E092"]),
        ({"REDACTION_PATTERNS": {"TICKET": r"\d*"}}, ["slashml.E092"]),
        ({"REDACT": ["PASSPORT"]}, ["slashml.E093"]),
        ({"REDACT": "CARD"}, ["slashml.E093"]),
        ({"SPELLING": [{"from": "slash ml", "to": "SlashML"}]}, ["slashml.E094"]),
        ({"SPELLING_MAX_ENTRIES": -1}, []),  # a number setting: slashml.E004
    ],
)
def test_each_bad_setting_has_its_id(settings: Any, values: dict[str, Any], expected: list[str]) -> None:
    assert ids(settings, **values) == expected


def test_the_message_says_what_is_wrong(settings: Any) -> None:
    settings.SLASHML = {**settings.SLASHML, "REDACTION_PATTERNS": {"TICKET": r"T-(\d+"}}
    (message,) = [m for i, m, _ in settings_problems() if i == "slashml.E092"]
    assert "TICKET" in message and "missing )" in message
