"""Migrations that add an index to the job table stay safe on a table of millions of rows.

How long each takes at a million jobs: benchmarks/scale.py, and docs/deployment.md's Upgrading.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from django_slashml.models import TranscriptionJob

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


def _indexed_columns() -> list[list[str]]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, TranscriptionJob._meta.db_table)
    return [constraint["columns"] for constraint in found.values() if constraint["index"]]


def test_the_redacted_audio_index_is_built_outside_a_transaction_and_taken_down_again() -> None:
    # On PostgreSQL it is built (and dropped) CONCURRENTLY, which refuses to run inside a
    # transaction: the migration must say atomic = False, or this raises NotSupportedError.
    call_command("migrate", "django_slashml", "0010_redaction", verbosity=0)
    try:
        if connection.vendor != "mysql":  # InnoDB indexes every foreign key itself
            assert ["redacted_audio_id"] not in _indexed_columns()
        call_command("migrate", "django_slashml", "0011_redacted_audio_index", verbosity=0)
        assert ["redacted_audio_id"] in _indexed_columns()
    finally:
        call_command("migrate", "django_slashml", verbosity=0)
