from django.db import migrations, models

import django_slashml.migration_operations


class Migration(migrations.Migration):
    # PostgreSQL builds the index concurrently, which cannot run in a transaction.
    atomic = False

    dependencies = [
        ("django_slashml", "0010_redaction"),
    ]

    operations = [
        django_slashml.migration_operations.AddIndexConcurrently(
            model_name="transcriptionjob",
            index=models.Index(
                condition=models.Q(("redacted_audio__isnull", False)),
                fields=["redacted_audio"],
                name="slashml_job_redacted_idx",
            ),
        ),
    ]
