from __future__ import annotations

import logging
import time
from typing import Any

from django.core.management.base import CommandError
from django.db import DatabaseError, close_old_connections
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from django_slashml.conf import slashml_settings
from django_slashml.jobs.sweeper import overdue_jobs, sweep
from django_slashml.management.base import TranslatedHelpCommand

logger = logging.getLogger("django_slashml.jobs.sweeper")


class Command(TranslatedHelpCommand):
    help = _(
        "Send a task for every SlashML job whose next step is overdue, and schedule steps due "
        "before the next sweep that were too far off for a countdown (run from cron or beat, or with --loop)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help=gettext("List overdue jobs without sending anything.")
        )
        parser.add_argument(
            "--limit", type=int, default=None, help=gettext("At most this many jobs (default SWEEP_BATCH_SIZE).")
        )
        parser.add_argument(
            "--loop",
            action="store_true",
            help=gettext("Sweep again and again until stopped: the sweeper where no beat or cron runs it."),
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=None,
            help=gettext("Seconds between sweeps with --loop (default SWEEP_INTERVAL)."),
        )

    def handle(
        self,
        *args: Any,
        dry_run: bool = False,
        limit: int | None = None,
        loop: bool = False,
        interval: float | None = None,
        **options: Any,
    ) -> None:
        if dry_run:
            rows = overdue_jobs().order_by("next_poll_at").values_list("pk", "status", "next_poll_at")
            count = 0
            for job_id, status, due in rows[: limit or None]:
                self.stdout.write(f"{job_id}  {status:<12} due {due.isoformat()}")
                count += 1
            self.stdout.write(f"{count} overdue job(s).")
            return
        if interval is not None and not (interval > 0):
            raise CommandError(gettext("--interval must be a number of seconds > 0."))
        if not loop:
            sent = sweep(limit=limit)
            self.stdout.write(self.style.SUCCESS(f"Dispatched {sent} message(s) for overdue or soon-due job(s)."))
            return
        pause = interval if interval is not None else float(slashml_settings.SWEEP_INTERVAL)
        self.stdout.write(f"Sweeping every {pause:g} s; stop with Ctrl+C.")
        try:
            while True:
                close_old_connections()
                try:
                    sweep(limit=limit)
                except DatabaseError:
                    logger.warning("Sweep failed; trying again in %g s.", pause, exc_info=True)
                time.sleep(pause)
        except KeyboardInterrupt:
            return
