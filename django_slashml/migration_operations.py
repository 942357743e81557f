"""Migration operations that stay safe on a job table of millions of rows.

``CREATE INDEX`` holds a lock that stops every INSERT and UPDATE on the table until the index is
built: on a busy job table, workers and uploads would wait for the whole build. PostgreSQL can
build an index without that lock (``CREATE INDEX CONCURRENTLY``, outside a transaction); the
other databases build it the usual way, MariaDB's InnoDB already without blocking writes.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations


class AddIndexConcurrently(migrations.AddIndex):
    """``AddIndex`` that does not lock writes out on PostgreSQL; its migration needs ``atomic = False``."""

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        self._on(schema_editor).database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        self._on(schema_editor).database_backwards(app_label, schema_editor, from_state, to_state)

    def _on(self, schema_editor: Any) -> migrations.AddIndex:
        """The operation that does the work on this database: PostgreSQL's concurrent one, else ``AddIndex``."""
        if schema_editor.connection.vendor != "postgresql":
            return migrations.AddIndex(self.model_name, self.index)
        # Imported here: django.contrib.postgres needs a PostgreSQL driver, which other installs lack.
        from django.contrib.postgres.operations import AddIndexConcurrently as PostgreSQLOperation

        return PostgreSQLOperation(self.model_name, self.index)
