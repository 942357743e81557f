"""Migrations that add an index to the job table stay safe on a table of millions of rows.

How long each takes at a million jobs is measured by benchmarks/migrations.py (docs/upgrading.md).
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from django_slashml.models import TranscriptionJob

pytestmark = pytest.mark.django_db(transaction=True)

INDEX = "slashml_job_redacted_idx"


def _indexes() -> set[str]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, TranscriptionJob._meta.db_table)
    return {name for name, constraint in found.items() if constraint["index"]}


def _migrate(target: str) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([("django_slashml", target)])


def test_the_redacted_audio_index_is_built_outside_a_transaction_and_taken_down_again() -> None:
    # On PostgreSQL it is built CONCURRENTLY, which refuses to run inside a transaction: the
    # migration must say atomic = False, or this raises NotSupportedError.
    _migrate("0010_redaction")
    try:
        assert INDEX not in _indexes()
        _migrate("0011_redacted_audio_index")
        if connection.features.supports_partial_indexes:
            assert INDEX in _indexes()
        else:  # MariaDB: no partial indexes; InnoDB indexes the foreign key itself
            assert any("redacted_audio" in name for name in _indexes())
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes("django_slashml")[0][1])
