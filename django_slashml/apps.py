from __future__ import annotations

from django.apps import AppConfig
from django.core.signals import setting_changed


class SlashMLConfig(AppConfig):
    name = "django_slashml"
    verbose_name = "SlashML speech-to-text"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system checks
        from .conf import reload_settings

        setting_changed.connect(reload_settings, dispatch_uid="django_slashml.reload_settings")
