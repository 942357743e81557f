"""Transcript segments for full-text search.

The engine-specific index is created here by hand, so that the model state stays the same
on every database: a GIN index over ``search_vector`` on PostgreSQL; on SQLite an FTS5 table
over the segments' text, kept in step by triggers, where the SQLite build has FTS5.
"""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models

import django_slashml.models

#: The FTS5 table mirrors the segments' text (external content), and triggers keep it in step.
SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE django_slashml_transcriptsegment_fts USING fts5(text, "
    "content='django_slashml_transcriptsegment', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER django_slashml_transcriptsegment_fts_ai AFTER INSERT ON django_slashml_transcriptsegment "
    "BEGIN INSERT INTO django_slashml_transcriptsegment_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER django_slashml_transcriptsegment_fts_ad AFTER DELETE ON django_slashml_transcriptsegment "
    "BEGIN INSERT INTO django_slashml_transcriptsegment_fts(django_slashml_transcriptsegment_fts, rowid, text) "
    "VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER django_slashml_transcriptsegment_fts_au AFTER UPDATE OF text ON django_slashml_transcriptsegment "
    "BEGIN INSERT INTO django_slashml_transcriptsegment_fts(django_slashml_transcriptsegment_fts, rowid, text) "
    "VALUES ('delete', old.id, old.text); "
    "INSERT INTO django_slashml_transcriptsegment_fts(rowid, text) VALUES (new.id, new.text); END",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS django_slashml_transcriptsegment_fts_ai",
    "DROP TRIGGER IF EXISTS django_slashml_transcriptsegment_fts_ad",
    "DROP TRIGGER IF EXISTS django_slashml_transcriptsegment_fts_au",
    "DROP TABLE IF EXISTS django_slashml_transcriptsegment_fts",
]
POSTGRES_FORWARD = [
    "CREATE INDEX slashml_segment_vector_gin ON django_slashml_transcriptsegment USING GIN (search_vector)"
]
POSTGRES_BACKWARD = ["DROP INDEX IF EXISTS slashml_segment_vector_gin"]


def _sqlite_has_fts5(schema_editor: Any) -> bool:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT sqlite_compileoption_used('ENABLE_FTS5')")
        if cursor.fetchone()[0]:
            return True
        try:  # FTS5 may also be loaded as an extension
            cursor.execute("CREATE VIRTUAL TABLE temp.slashml_fts5_probe USING fts5(x)")
        except Exception:
            return False
        cursor.execute("DROP TABLE temp.slashml_fts5_probe")
        return True


def _run(schema_editor: Any, postgres: list[str], sqlite: list[str]) -> None:
    vendor = schema_editor.connection.vendor
    statements = postgres if vendor == "postgresql" else []
    if vendor == "sqlite" and _sqlite_has_fts5(schema_editor):
        statements = sqlite
    for statement in statements:
        schema_editor.execute(statement)


def create_search_index(apps: Any, schema_editor: Any) -> None:
    _run(schema_editor, POSTGRES_FORWARD, SQLITE_FORWARD)


def drop_search_index(apps: Any, schema_editor: Any) -> None:
    _run(schema_editor, POSTGRES_BACKWARD, SQLITE_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [
        ("django_slashml", "0006_events"),
    ]

    operations = [
        migrations.CreateModel(
            name="TranscriptSegment",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("position", models.PositiveIntegerField(verbose_name="position")),
                ("start_ms", models.IntegerField(help_text="Milliseconds.", verbose_name="start")),
                ("end_ms", models.IntegerField(help_text="Milliseconds.", verbose_name="end")),
                ("text", models.TextField(verbose_name="text")),
                (
                    "word_starts",
                    models.JSONField(
                        default=list, help_text="Where each word of text starts, in ms.", verbose_name="word starts"
                    ),
                ),
                ("search_vector", django_slashml.models.SearchVectorColumn(editable=False, null=True)),
                (
                    "job",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="segments",
                        to="django_slashml.transcriptionjob",
                        verbose_name="job",
                    ),
                ),
            ],
            options={
                "verbose_name": "transcript segment",
                "verbose_name_plural": "transcript segments",
                "ordering": ("job", "position"),
                "constraints": [
                    models.UniqueConstraint(fields=("job", "position"), name="slashml_segment_position_uniq")
                ],
            },
        ),
        migrations.RunPython(create_search_index, drop_search_index, elidable=False),
    ]
