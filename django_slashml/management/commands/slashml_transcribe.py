from __future__ import annotations

import time
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from django_slashml.exceptions import ConfigurationError, SlashMLError
from django_slashml.jobs import pipeline
from django_slashml.jobs.actions import transcribe
from django_slashml.management.base import TranslatedHelpCommand
from django_slashml.models import JobStatus, TranscriptionJob


def format_words(words: list[dict[str, Any]]) -> list[str]:
    lines = []
    for word in words:
        confidence = word.get("confidence")
        shown = f"  ({confidence:.2f})" if isinstance(confidence, (int, float)) else ""
        lines.append(f"  {word['start'] / 1000:8.2f}s - {word['end'] / 1000:8.2f}s  {word['text']}{shown}")
    return lines


class Command(TranslatedHelpCommand):
    help = _("Transcribe an audio file or http(s) URL with SlashML, optionally waiting for the transcript.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("audio", help=gettext("A path to an audio file, or an http(s) URL SlashML can fetch."))
        parser.add_argument(
            "--provider", default=None, help=gettext("Service provider (default: DEFAULT_SERVICE_PROVIDER).")
        )
        parser.add_argument(
            "--wait", action="store_true", help=gettext("Wait for the job to finish and print the transcript.")
        )
        parser.add_argument(
            "--timeout", type=float, default=900.0, help=gettext("Seconds to wait with --wait (default 900).")
        )
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help=gettext("With --wait, run the job's steps in this process instead of waiting for a Celery worker."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            job = transcribe(options["audio"], service_provider=options["provider"])
        except (SlashMLError, ConfigurationError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Created job {job.pk} ({job.service_provider}).")
        if not options["wait"]:
            return
        job = self._wait(job, timeout=options["timeout"], drive=options["no_worker"])
        if job.status == JobStatus.COMPLETED:
            self.stdout.write(self.style.SUCCESS("Transcript:"))
            self.stdout.write(job.text)
            if job.words:
                self.stdout.write("Words (start - end, confidence):")
                self.stdout.write("\n".join(format_words(job.words)))
            return
        raise CommandError(f"Job {job.pk} ended {job.status}: {job.error_message or 'no message'}")

    def _wait(self, job: TranscriptionJob, *, timeout: float, drive: bool) -> TranscriptionJob:
        deadline = time.monotonic() + timeout
        last_status = None
        while True:
            job.refresh_from_db()
            if job.status != last_status:
                self.stdout.write(f"[{timezone.localtime():%H:%M:%S}] {job.status}")
                last_status = job.status
            if job.is_terminal:
                return job
            if time.monotonic() > deadline:
                raise CommandError(
                    f"Job {job.pk} is still {job.status} after {timeout:.0f} s. Is a Celery worker running? "
                    "(Use --no-worker to run it from this command.)"
                )
            if drive and job.next_poll_at and job.next_poll_at <= timezone.now():
                pipeline.advance(job.pk)
                continue
            time.sleep(0.5)
