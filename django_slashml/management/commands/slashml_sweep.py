from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from django_slashml.jobs.sweeper import overdue_jobs, sweep
from django_slashml.management.base import TranslatedHelpCommand


class Command(TranslatedHelpCommand):
    help = _(
        "Send a Celery message for every SlashML job whose next step is overdue, and schedule steps due "
        "before the next sweep that were too far off for a countdown (run from cron or beat)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help=gettext("List overdue jobs without sending anything.")
        )
        parser.add_argument(
            "--limit", type=int, default=None, help=gettext("At most this many jobs (default SWEEP_BATCH_SIZE).")
        )

    def handle(self, *args: Any, dry_run: bool = False, limit: int | None = None, **options: Any) -> None:
        if dry_run:
            rows = overdue_jobs().order_by("next_poll_at").values_list("pk", "status", "next_poll_at")
            count = 0
            for job_id, status, due in rows[: limit or None]:
                self.stdout.write(f"{job_id}  {status:<12} due {due.isoformat()}")
                count += 1
            self.stdout.write(f"{count} overdue job(s).")
            return
        sent = sweep(limit=limit)
        self.stdout.write(self.style.SUCCESS(f"Dispatched {sent} message(s) for overdue or soon-due job(s)."))
