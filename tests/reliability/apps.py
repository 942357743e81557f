from __future__ import annotations

from django.apps import AppConfig


class ReliabilityConfig(AppConfig):
    """Connects a recorder to every django-slashml signal, in every process of the service tier."""

    name = "tests.reliability"
    label = "slashml_reliability"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import recorder

        recorder.connect()
