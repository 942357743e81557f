"""Migration operations that stay safe on a job table of millions of rows.

``CREATE INDEX`` holds a lock that stops every INSERT and UPDATE on the table until the index is
built: on a busy job table, workers and uploads would wait for the whole build. PostgreSQL can
build an index without that lock (``CREATE INDEX CONCURRENTLY``, outside a transaction); the
other databases build it the usual way, MariaDB's InnoDB already without blocking writes.

InnoDB adds a foreign key in place only with ``foreign_key_checks`` off; with the checks on it
copies the whole table, and writes wait for the copy. A new nullable column's key has no row to
check, so :class:`AddNullableForeignKey` adds it with the checks off there.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations


class _ConcurrentlyOnPostgreSQL:
    """Runs ``django.contrib.postgres.operations``' ``concurrent`` operation on PostgreSQL, ``plain`` elsewhere."""

    plain: type[migrations.AddIndex] | type[migrations.RemoveIndex]
    #: The name of the operation in ``django.contrib.postgres.operations`` that does it concurrently.
    concurrent: str

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        self._on(schema_editor).database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        self._on(schema_editor).database_backwards(app_label, schema_editor, from_state, to_state)

    def _on(self, schema_editor: Any) -> Any:
        """The operation that does the work on this database, made from this one's arguments."""
        _name, _args, kwargs = self.deconstruct()  # type: ignore[attr-defined]
        if schema_editor.connection.vendor != "postgresql":
            return self.plain(**kwargs)
        # Imported here: django.contrib.postgres needs a PostgreSQL driver, which other installs lack.
        from django.contrib.postgres import operations

        return getattr(operations, self.concurrent)(**kwargs)


class AddIndexConcurrently(_ConcurrentlyOnPostgreSQL, migrations.AddIndex):
    """``AddIndex`` that does not lock writes out on PostgreSQL; its migration needs ``atomic = False``."""

    plain = migrations.AddIndex
    concurrent = "AddIndexConcurrently"


class RemoveIndexConcurrently(_ConcurrentlyOnPostgreSQL, migrations.RemoveIndex):
    """``RemoveIndex`` that does not lock writes out on PostgreSQL; its migration needs ``atomic = False``."""

    plain = migrations.RemoveIndex
    concurrent = "RemoveIndexConcurrently"


class AddNullableForeignKey(migrations.AddField):
    """``AddField`` for a nullable foreign key that does not copy the table on MySQL and MariaDB.

    There it adds the column alone (instant), then the key with ``foreign_key_checks`` off, which
    InnoDB builds in place while writes go on. Skipping the check is safe because the column is new:
    every row holds NULL. Other databases add the field as ``AddField`` does.
    """

    def __init__(self, model_name: str, name: str, field: Any, preserve_default: bool = True) -> None:
        if not field.null:
            raise ValueError(f"AddNullableForeignKey adds a null=True foreign key; {name} is not nullable")
        super().__init__(model_name, name, field, preserve_default)

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        model = to_state.apps.get_model(app_label, self.model_name)
        if schema_editor.connection.vendor != "mysql" or not self.allow_migrate_model(
            schema_editor.connection.alias, model
        ):
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        _name, _path, args, kwargs = self.field.deconstruct()
        without_key = type(self.field)(*args, **{**kwargs, "db_constraint": False})
        add_column = migrations.AddField(self.model_name, self.name, without_key)
        with_column = from_state.clone()
        add_column.state_forwards(app_label, with_column)
        add_column.database_forwards(app_label, schema_editor, from_state, with_column)
        # Through the schema editor, so that sqlmigrate prints them with the key they let in place.
        schema_editor.execute("SET foreign_key_checks = 0")
        try:
            add_key = migrations.AlterField(self.model_name, self.name, self.field)
            add_key.database_forwards(app_label, schema_editor, with_column, to_state)
        finally:
            schema_editor.execute("SET foreign_key_checks = 1")
