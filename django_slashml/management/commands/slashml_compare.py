from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from django_slashml.exceptions import ConfigurationError, SlashMLError
from django_slashml.jobs import pipeline
from django_slashml.jobs.comparisons import compare
from django_slashml.management.base import TranslatedHelpCommand
from django_slashml.models import Comparison
from django_slashml.transcripts.comparisons import ComparisonScores, comparison_jobs


def _number(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def format_scores(scores: ComparisonScores) -> list[str]:
    """The providers' rows as a plain table, best WER first."""
    rows = sorted(scores.providers, key=lambda r: (r.wer is None, r.wer or 0.0))
    lines = [f"  {'provider':<10} {'status':<11} {'WER':>6} {'CER':>6} {'S':>3} {'D':>3} {'I':>3} {'seconds':>8}"]
    for r in rows:
        lines.append(
            f"  {r.service_provider:<10} {r.status:<11} {_number(r.wer, '.1%'):>6} "
            f"{_number(r.cer, '.1%'):>6} {_number(r.substitutions, 'd'):>3} {_number(r.deletions, 'd'):>3} "
            f"{_number(r.insertions, 'd'):>3} {_number(r.seconds_to_transcript, '.1f'):>8}"
        )
    if scores.agreement:
        lines.append(gettext("  Where they disagree:"))
        for span in scores.agreement.disagreements:
            when = f"{span.start_ms / 1000:7.2f}s" if span.start_ms is not None else "        "
            lines.append(f"  {when}  " + " | ".join(f"{p}: {t!r}" for p, t in span.readings.items()))
    return lines


class Command(TranslatedHelpCommand):
    help = _("Send one audio to several providers and print their scores side by side.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("audio", help=gettext("A path to an audio file, or an http(s) URL SlashML can fetch."))
        parser.add_argument(
            "--providers", required=True, help=gettext("2 to 6 distinct providers, comma-separated: assembly,google.")
        )
        parser.add_argument("--reference", default=None, help=gettext("What was said, to score against."))
        parser.add_argument("--reference-file", default=None, help=gettext("A text file holding what was said."))
        parser.add_argument("--wait", action="store_true", help=gettext("Wait for every job and print the scores."))
        parser.add_argument(
            "--timeout", type=float, default=900.0, help=gettext("Seconds to wait with --wait (default 900).")
        )
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help=gettext("With --wait, run the jobs' steps in this process instead of waiting for a Celery worker."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        reference = options["reference"]
        if options["reference_file"]:
            try:
                reference = Path(options["reference_file"]).read_text(encoding="utf-8")
            except OSError as exc:
                raise CommandError(str(exc)) from None
        providers = [p.strip() for p in options["providers"].split(",") if p.strip()]
        try:
            comparison = compare(options["audio"], providers=providers, reference_text=reference)
        except (SlashMLError, ConfigurationError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Created comparison {comparison.pk} ({', '.join(providers)}).")
        if not options["wait"]:
            return
        self._wait(comparison, timeout=options["timeout"], drive=options["no_worker"])
        self.stdout.write(self.style.SUCCESS(gettext("Comparison:")))
        self.stdout.write("\n".join(format_scores(comparison.scores())))

    def _wait(self, comparison: Comparison, *, timeout: float, drive: bool) -> None:
        deadline = time.monotonic() + timeout
        while True:
            jobs = comparison_jobs(comparison)
            active = [job for job in jobs if not job.is_terminal]
            if not active:
                return
            if time.monotonic() > deadline:
                raise CommandError(
                    f"Comparison {comparison.pk}: {len(active)} job(s) still running after {timeout:.0f} s. "
                    "Is a Celery worker running? (Use --no-worker to run them from this command.)"
                )
            if drive:
                for job in active:
                    pipeline.advance(job.pk)  # a step not yet due is skipped
            time.sleep(0.05 if drive else 0.5)
