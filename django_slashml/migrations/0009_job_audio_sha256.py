"""Each job carries its upload's sha256, so the reuse lookup is one index probe.

One transaction: the column, its backfill from each job's upload (one UPDATE of every job with
an upload) and the index. On a large job table run it with web and workers stopped: code from
before this migration cannot create jobs once the column exists.
"""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_upload_hashes(apps, schema_editor):
    """Jobs created before this migration take their upload's sha256, as new jobs do when created."""
    job_model = apps.get_model("django_slashml", "TranscriptionJob")
    upload_model = apps.get_model("django_slashml", "AudioUpload")
    sha256 = Subquery(upload_model.objects.filter(pk=OuterRef("upload_id")).values("sha256")[:1])
    job_model.objects.using(schema_editor.connection.alias).filter(upload__isnull=False).update(audio_sha256=sha256)


class Migration(migrations.Migration):
    dependencies = [
        ("django_slashml", "0008_learned_polls"),
    ]

    operations = [
        migrations.AddField(
            model_name="transcriptionjob",
            name="audio_sha256",
            field=models.CharField(blank=True, editable=False, max_length=64, verbose_name="audio sha256"),
        ),
        migrations.RunPython(copy_upload_hashes, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="transcriptionjob",
            index=models.Index(
                condition=models.Q(("audio_sha256", ""), _negated=True),
                fields=["audio_sha256", "service_provider"],
                name="slashml_job_audio_idx",
            ),
        ),
    ]
