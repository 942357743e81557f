from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from django_slashml.management.base import TranslatedHelpCommand
from django_slashml.sandbox.cli import add_arguments, run


class Command(TranslatedHelpCommand):
    help = _("Run a local SlashML-compatible API (sandbox) with a real offline engine and fault injection.")
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: Any) -> None:
        add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        run(options, out=self.stdout)
