"""The base of the app's management commands: help texts translated when shown, not at import."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.management.base import BaseCommand, CommandParser

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class TranslatedHelpCommand(BaseCommand):
    """``help`` may be a lazy translation: argparse needs a ``str``, made here in the active language."""

    help: StrOrPromise = ""  # type: ignore[assignment]  # BaseCommand's stubs say str; a lazy one is made str below

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        self.help = str(self.help)
        return super().create_parser(prog_name, subcommand, **kwargs)
