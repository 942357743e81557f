from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from django_slashml.management.base import TranslatedHelpCommand
from django_slashml.transcripts.search.reindex import completed_jobs, reindex


class Command(TranslatedHelpCommand):
    help = _(
        "Build the searchable segments of every completed job (after upgrading, or after changing "
        "SLASHML['SEARCH_CONFIG']), in batches and in constant memory."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--batch-size", type=int, default=200, help=gettext("Jobs loaded and indexed together (default 200).")
        )

    def _bar(self, done: int, total: int) -> None:
        width = 30
        filled = width * done // total if total else width
        self.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}", ending="")
        self.stderr.flush()

    def handle(self, *args: Any, batch_size: int = 200, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError(gettext("--batch-size must be at least 1."))
        total = completed_jobs()
        show = options.get("verbosity", 1) >= 1 and total
        done = 0
        for done in reindex(batch_size):
            if show:
                self._bar(min(done, total), total)
        if show:
            self.stderr.write("")
        self.stdout.write(self.style.SUCCESS(gettext("Indexed %(count)d completed job(s).") % {"count": done}))
