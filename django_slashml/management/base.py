"""The base of the app's management commands: help texts translated when shown, not at import."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class TranslatedHelpCommand(BaseCommand):
    """``help`` may be a lazy translation: argparse needs a ``str``, made here in the active language."""

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        self.help = str(self.help)
        return super().create_parser(prog_name, subcommand, **kwargs)
