from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from django_slashml.jobs.redacting import apply_current_rules
from django_slashml.management.base import TranslatedHelpCommand
from django_slashml.models import JobStatus, TranscriptionJob
from django_slashml.transcripts.search.segments import index_job


class Command(TranslatedHelpCommand):
    help = _(
        "Apply today's redaction and spelling rules to finished transcripts, in batches ordered by the "
        "job's key; --after resumes an interrupted run from the last key it printed."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch-size", type=int, default=200, help=gettext("Jobs per batch (default 200)."))
        parser.add_argument("--after", default=None, help=gettext("Start after this job id (resume)."))

    def _bar(self, done: int, total: int) -> None:
        width = 30
        filled = width * done // total if total else width
        self.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}", ending="")
        self.stderr.flush()

    def handle(self, *args: Any, batch_size: int = 200, after: str | None = None, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError(gettext("--batch-size must be at least 1."))
        finished = TranscriptionJob.objects.filter(status=JobStatus.COMPLETED).order_by("pk")
        if after:
            try:
                finished = finished.filter(pk__gt=after)
            except Exception as exc:  # a malformed id
                raise CommandError(gettext("--after must be a job id: %(error)s") % {"error": exc}) from None
        total = finished.count()
        show = options.get("verbosity", 1) >= 1 and total
        done = changed = 0
        last = after
        while True:
            page = finished.filter(pk__gt=last) if last else finished
            batch = list(page[:batch_size])
            if not batch:
                break
            for job in batch:
                if apply_current_rules(job):
                    changed += 1
                    index_job(job)
            done += len(batch)
            last = str(batch[-1].pk)
            if show:
                self._bar(done, total)
                if options.get("verbosity", 1) >= 2:
                    self.stderr.write(f" {gettext('last key')} {last}")
        if show:
            self.stderr.write("")
        self.stdout.write(
            self.style.SUCCESS(
                gettext("Checked %(done)d finished job(s); %(changed)d changed. Last key: %(last)s")
                % {"done": done, "changed": changed, "last": last or "-"}
            )
        )
