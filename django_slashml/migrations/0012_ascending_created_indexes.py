from django.db import migrations, models

import django_slashml.migration_operations


class Migration(migrations.Migration):
    # PostgreSQL builds and drops the indexes concurrently, which cannot run in a transaction.
    atomic = False

    dependencies = [
        ("django_slashml", "0011_redacted_audio_index"),
    ]

    # Each new index is built before the one it replaces goes, so no list is left without one
    # (and on MariaDB the owner's foreign key always has an index).
    operations = [
        django_slashml.migration_operations.AddIndexConcurrently(
            model_name="transcriptionjob",
            index=models.Index(fields=["created_at"], name="slashml_job_created_at_idx"),
        ),
        django_slashml.migration_operations.RemoveIndexConcurrently(
            model_name="transcriptionjob",
            name="slashml_job_created_idx",
        ),
        django_slashml.migration_operations.AddIndexConcurrently(
            model_name="transcriptionjob",
            index=models.Index(fields=["owner", "created_at"], name="slashml_job_owner_created_idx"),
        ),
        django_slashml.migration_operations.RemoveIndexConcurrently(
            model_name="transcriptionjob",
            name="slashml_job_owner_idx",
        ),
        django_slashml.migration_operations.AddIndexConcurrently(
            model_name="transcriptionjob",
            index=models.Index(fields=["status", "created_at"], name="slashml_job_status_created_idx"),
        ),
        django_slashml.migration_operations.RemoveIndexConcurrently(
            model_name="transcriptionjob",
            name="slashml_job_status_idx",
        ),
    ]
