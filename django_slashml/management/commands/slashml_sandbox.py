from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from django_slashml.sandbox.cli import add_arguments, run


class Command(BaseCommand):
    help = "Run a local SlashML-compatible API (sandbox) with a real offline engine and fault injection."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: Any) -> None:
        add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        run(options, out=self.stdout)
