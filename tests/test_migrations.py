"""Migrations that add an index or a column to the job table stay safe on a table of millions of rows.

How long each takes at a million jobs: benchmarks/scale.py, and docs/deployment.md's Upgrading.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

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


def _job_table_online(rewritten: list[str]) -> Callable[..., Any]:
    """An execute wrapper under which MariaDB refuses a change to the job table that would copy it or stop writes."""
    table = connection.ops.quote_name(TranscriptionJob._meta.db_table)

    def execute(run: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        if sql.startswith(f"ALTER TABLE {table} "):
            sql = f"{sql}, ALGORITHM=NOCOPY, LOCK=NONE"
            rewritten.append(sql)
        elif sql.startswith("CREATE INDEX") and f" ON {table} " in sql:
            sql = f"{sql} ALGORITHM=NOCOPY LOCK=NONE"
            rewritten.append(sql)
        return run(sql, params, many, context)

    return execute


def test_the_upgrade_keeps_the_jobs_and_never_copies_the_job_table() -> None:
    # On MariaDB each ALTER of the job table says ALGORITHM=NOCOPY, LOCK=NONE, which MariaDB refuses
    # for a change that would rebuild the table, as adding a foreign key with its checks on does.
    # Elsewhere the same upgrade runs as it is.
    on_mariadb = connection.vendor == "mysql"
    jobs = [TranscriptionJob.objects.create(audio_url=f"https://example.com/{n}.wav") for n in range(3)]
    call_command("migrate", "django_slashml", "0009_job_audio_sha256", verbosity=0)
    rewritten: list[str] = []
    try:
        with connection.execute_wrapper(_job_table_online(rewritten)) if on_mariadb else nullcontext():
            call_command("migrate", "django_slashml", verbosity=0)
    finally:
        call_command("migrate", "django_slashml", verbosity=0)
    if on_mariadb:
        assert len(rewritten) >= 5, rewritten  # the columns, the key, the default dropped, the index
    assert sorted(TranscriptionJob.objects.values_list("pk", "spelling")) == sorted((job.pk, []) for job in jobs)
    # The foreign key is there, and its checks are on again.
    with pytest.raises(IntegrityError), transaction.atomic():
        TranscriptionJob.objects.filter(pk=jobs[0].pk).update(redacted_audio_id=uuid.uuid4())
