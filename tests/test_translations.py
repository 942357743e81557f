"""Translations: the shipped catalog holds exactly the marked strings, and marked strings come out translated.

The catalog test runs ``makemessages`` (GNU gettext) on a copy of the package: a string marked
or unmarked without ``make messages`` afterwards fails it. The behaviour tests need no gettext
tools: they write a pseudo-translation (every message prefixed with ``[xx]``) of the shipped
catalog as a ``.mo`` file, point ``LOCALE_PATHS`` at it and switch to language ``xx``.
"""

from __future__ import annotations

import ast
import gettext
import os
import re
import shutil
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.management import load_command_class
from django.test import Client
from django.utils import timezone, translation
from rest_framework.test import APIClient

import django_slashml
from django_slashml.exceptions import InvalidAudioError
from django_slashml.models import JobStatus, ServiceProvider, TranscriptionJob

PACKAGE = Path(django_slashml.__file__).parent
CATALOG = PACKAGE / "locale" / "en" / "LC_MESSAGES" / "django.po"
COMPILED = CATALOG.with_suffix(".mo")
#: What makemessages runs (compilemessages needs msgfmt too, which ``make messages`` calls).
GETTEXT_TOOLS = ("xgettext", "msguniq", "msgmerge", "msgattrib")
#: The options ``make messages`` passes; the catalog is compared with what they produce.
MAKEMESSAGES = ("makemessages", "--locale", "en", "--add-location=file")

Key = tuple[str | None, str, str | None]  # (msgctxt, msgid, msgid_plural)


def require_gettext() -> None:
    """Skip without GNU gettext; under CI=true fail instead, so the check cannot quietly vanish."""
    missing = [tool for tool in GETTEXT_TOOLS if shutil.which(tool) is None]
    if not missing:
        return
    reason = f"needs GNU gettext ({', '.join(missing)} not found; apt-get install gettext)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (required in CI)", pytrace=False)
    pytest.skip(reason)


_LINE = re.compile(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) "(.*)"$')


def read_po(path: Path) -> dict[Key, list[str]]:
    """The live (not obsolete) entries of a .po file, the header left out: key -> msgstr(s)."""
    entries: dict[Key, list[str]] = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, str] = {}
        field = None
        for line in block.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):  # comments, flags, locations, obsolete (#~) entries
                continue
            match = _LINE.match(line)
            if match:
                field = match.group(1)
                fields[field] = ast.literal_eval(f'"{match.group(2)}"')
            elif line.startswith('"') and field is not None:
                fields[field] += ast.literal_eval(line)
        if fields.get("msgid"):
            key = (fields.get("msgctxt"), fields["msgid"], fields.get("msgid_plural"))
            entries[key] = [value for name, value in sorted(fields.items()) if name.startswith("msgstr")]
    return entries


def test_the_catalog_is_what_makemessages_extracts_and_it_runs_clean(tmp_path: Path) -> None:
    require_gettext()
    copy = tmp_path / "django_slashml"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    # Without settings, as `make messages` runs it: makemessages configures what it needs itself.
    env = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-m", "django", *MAKEMESSAGES],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", f"makemessages warned:\n{result.stderr}"
    fresh, shipped = read_po(copy / CATALOG.relative_to(PACKAGE)), read_po(CATALOG)
    unshipped = sorted(set(fresh) - set(shipped), key=str)
    stale = sorted(set(shipped) - set(fresh), key=str)
    assert not unshipped and not stale, (
        f"django_slashml/locale is out of date: run `make messages` and commit the result.\n"
        f"Marked but not in the catalog: {unshipped}\nIn the catalog but no longer marked: {stale}"
    )


def test_the_compiled_catalog_is_shipped_beside_the_template() -> None:
    with COMPILED.open("rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)
    assert catalog.info()["language"] == "en"
    translated = {key[1]: strings[0] for key, strings in read_po(CATALOG).items() if key[2] is None and strings[0]}
    assert all(catalog.gettext(msgid) == msgstr for msgid, msgstr in translated.items())


# -- marked strings come out translated, in the language active when they are shown ---------------


def write_mo(path: Path, messages: dict[str, str]) -> None:
    """A GNU .mo file of ``messages`` (the layout CPython's Tools/i18n/msgfmt.py writes)."""
    keys = sorted(messages)
    ids = strs = b""
    spans = []
    for key in keys:
        key_bytes, value_bytes = key.encode(), messages[key].encode()
        spans.append((len(ids), len(key_bytes), len(strs), len(value_bytes)))
        ids += key_bytes + b"\0"
        strs += value_bytes + b"\0"
    key_start = 7 * 4 + 16 * len(keys)
    value_start = key_start + len(ids)
    key_table: list[int] = []
    value_table: list[int] = []
    for id_offset, id_length, str_offset, str_length in spans:
        key_table += [id_length, id_offset + key_start]
        value_table += [str_length, str_offset + value_start]
    header = struct.pack("Iiiiiii", 0x950412DE, 0, len(keys), 7 * 4, 7 * 4 + len(keys) * 8, 0, 0)
    path.parent.mkdir(parents=True)
    path.write_bytes(header + struct.pack(f"{len(key_table) * 2}i", *key_table, *value_table) + ids + strs)


@pytest.fixture
def pseudo(tmp_path: Path, settings: Any) -> Iterator[None]:
    """Language ``xx``: every message of the shipped catalog, prefixed with ``[xx] ``."""
    messages = {"": "Content-Type: text/plain; charset=UTF-8\nPlural-Forms: nplurals=2; plural=(n != 1);\n"}
    for context, msgid, plural in read_po(CATALOG):
        key = msgid if context is None else f"{context}\x04{msgid}"
        if plural is None:
            messages[key] = f"[xx] {msgid}"
        else:
            messages[f"{key}\x00{plural}"] = f"[xx] {msgid}\x00[xx] {plural}"
    write_mo(tmp_path / "xx" / "LC_MESSAGES" / "django.mo", messages)
    settings.LOCALE_PATHS = [str(tmp_path)]
    yield


def test_labels_made_at_import_are_translated_when_shown(pseudo: None) -> None:
    with translation.override("xx"):
        assert str(JobStatus.COMPLETED.label) == "[xx] Completed"
        assert str(TranscriptionJob._meta.verbose_name_plural) == "[xx] transcription jobs"
        assert str(TranscriptionJob._meta.get_field("service_provider").verbose_name) == "[xx] service provider"
        assert str(dict(ServiceProvider.choices)["aws"]) == "[xx] AWS Transcribe"
    assert str(JobStatus.COMPLETED.label) == "Completed"
    assert str(dict(ServiceProvider.choices)["aws"]) == "AWS Transcribe"


@pytest.mark.django_db
def test_api_errors_are_translated_and_plain_json(pseudo: None, django_user_model: Any) -> None:
    client = APIClient()
    client.force_authenticate(django_user_model.objects.create_user("ann", password="pw"))
    with translation.override("xx"):
        response = client.post(
            "/api/slashml/jobs/", {"audio_url": "https://x.example/a.wav", "service_provider": "openai"}, format="json"
        )
        nothing = client.post("/api/slashml/jobs/", {}, format="json")
    assert response.status_code == 400
    assert response.json()["service_provider"] == [
        "[xx] Unknown service provider 'openai'; use one of: assembly, aws, whisper, deepgram, google, rev."
    ]
    assert nothing.json()["non_field_errors"][0].startswith("[xx] Send exactly one of 'audio'")
    assert nothing.json()["non_field_errors"][0].endswith("got [xx] none of them.")


@pytest.mark.django_db
def test_admin_messages_columns_and_templates_are_translated(pseudo: None, django_user_model: Any, settings) -> None:
    settings.SLASHML = {"API_KEY": "k"}
    reviewer = django_user_model.objects.create_user("rita", password="pw", is_staff=True)
    for codename in ("view_transcriptionjob", "change_transcriptionjob"):
        reviewer.user_permissions.add(Permission.objects.get(codename=codename))
    job = TranscriptionJob.objects.create(
        audio_url="https://example.com/talk.wav",
        service_provider="assembly",
        status=JobStatus.COMPLETED,
        text="hello",
        completed_at=timezone.now(),
    )
    client = Client()
    client.force_login(reviewer)
    url = "/admin/django_slashml/transcriptionjob/"
    with translation.override("xx"):
        page = client.get(url)
        acted = client.post(url, {"action": "resubmit", "_selected_action": [str(job.pk)]}, follow=True)
    content = page.content.decode()
    assert "[xx] Jobs by status" in content  # the dashboard template
    assert "[xx] Ask SlashML for the status now" in content  # an action's description
    said = [str(message) for message in acted.context["messages"]]
    assert said == [f"[xx] [xx] Resubmitted: 1 job ({job.pk})."], said


def test_check_messages_exceptions_and_command_help_are_translated(pseudo: None, settings: Any) -> None:
    from django_slashml import checks, transcribe

    settings.SLASHML = {**settings.SLASHML, "DEFAULT_SERVICE_PROVIDER": "openai"}
    with translation.override("xx"):
        problems = {check_id: (message, hint) for check_id, message, hint in checks.settings_problems()}
        with pytest.raises(InvalidAudioError) as refused:
            transcribe("ftp://x.example/a.wav", service_provider="aws")
        command = load_command_class("django_slashml", "slashml_sweep")
        help_text = command.create_parser("manage.py", "slashml_sweep").format_help()
    message, hint = problems["slashml.E003"]
    assert type(message) is str and type(hint) is str
    assert message == "[xx] SLASHML['DEFAULT_SERVICE_PROVIDER'] = 'openai' is not a SlashML provider."
    assert hint.startswith("[xx] Unknown service provider 'openai'")
    assert str(refused.value) == (
        "[xx] Cannot transcribe 'ftp://x.example/a.wav': [xx] only http:// and https:// URLs are accepted, not ftp://."
    )
    assert "[xx] Send a task for every" in help_text and "[xx] List overdue jobs" in help_text


@pytest.mark.django_db
def test_the_owners_transcript_page_is_translated(pseudo: None, django_user_model: Any) -> None:
    owner = django_user_model.objects.create_user("ann", password="pw")
    job = TranscriptionJob.objects.create(
        audio_url="https://example.com/talk.wav",
        service_provider="assembly",
        status=JobStatus.COMPLETED,
        owner=owner,
        text="hello",
        words=[{"text": "hello", "start": 0, "end": 400, "confidence": 0.9}],
        completed_at=timezone.now(),
    )
    client = Client()
    client.force_login(owner)
    with translation.override("xx"):
        content = client.get(f"/api/slashml/transcripts/{job.pk}/").content.decode()
    assert '<html lang="xx">' in content
    assert "[xx] Transcript of https://example.com/talk.wav" in content
    assert "[xx] From the keyboard: Tab to the words" in content
    assert 'aria-label="[xx] Transcript words"' in content
