from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from django_slashml.audio.formats import human_size
from django_slashml.conf import slashml_settings
from django_slashml.jobs.pruning import prune_events
from django_slashml.jobs.retention import purge_audio
from django_slashml.management.base import TranslatedHelpCommand


class Command(TranslatedHelpCommand):
    help = _(
        "Delete stored audio older than a number of days (run from cron or beat). Upload rows, content "
        "hashes and every transcript are kept; audio an active job still needs is skipped. Also deletes job "
        "events older than SLASHML['EVENT_RETENTION_DAYS'], and the raw answers of jobs finished before then."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--older-than",
            type=float,
            metavar="DAYS",
            default=None,
            help=gettext("Delete audio uploaded more than DAYS ago (default: SLASHML['AUDIO_RETENTION_DAYS'])."),
        )
        parser.add_argument(
            "--dry-run", action="store_true", help=gettext("List what would be deleted; delete nothing.")
        )
        parser.add_argument("--limit", type=int, default=None, help=gettext("At most this many files in this run."))
        parser.add_argument(
            "--events-older-than",
            type=float,
            metavar="DAYS",
            default=None,
            help=gettext("Delete job events older than DAYS (default: SLASHML['EVENT_RETENTION_DAYS'])."),
        )

    def handle(
        self,
        *args: Any,
        older_than: float | None = None,
        dry_run: bool = False,
        limit: int | None = None,
        events_older_than: float | None = None,
        **options: Any,
    ) -> None:
        days = older_than if older_than is not None else slashml_settings.AUDIO_RETENTION_DAYS
        event_days = events_older_than if events_older_than is not None else slashml_settings.EVENT_RETENTION_DAYS
        if days is None and event_days is None:
            raise CommandError("No age given: pass --older-than DAYS or set SLASHML['AUDIO_RETENTION_DAYS'].")
        for value in (days, event_days):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
                raise CommandError(f"The age must be a number of days >= 0, not {value!r}.")
        if event_days is not None and not dry_run:
            self.stdout.write(prune_events(timedelta(days=event_days)).summary())
        if days is None:
            self.stdout.write("Audio kept: pass --older-than DAYS or set SLASHML['AUDIO_RETENTION_DAYS'] to purge it.")
            return
        if limit is not None and limit < 1:
            raise CommandError("--limit must be at least 1.")
        report = purge_audio(timedelta(days=days), dry_run=dry_run, limit=limit)
        verb = "would delete" if dry_run else "deleted"
        if options.get("verbosity", 1) >= 1:
            for item in report.deleted:
                self.stdout.write(
                    f"{verb}  {item.name}  {human_size(item.size)}  (uploaded {item.uploaded_at:%Y-%m-%d})"
                )
        for item, error in report.failed:
            self.stderr.write(f"could not delete {item.name}: {error}")
        self.stdout.write(self.style.SUCCESS(report.summary()))
        if report.failed:
            raise CommandError(
                f"{len(report.failed)} file(s) could not be deleted; their uploads are unchanged and the next "
                "run tries them again."
            )
