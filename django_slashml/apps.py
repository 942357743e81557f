from __future__ import annotations

from importlib.util import find_spec

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SlashMLConfig(AppConfig):
    name = "django_slashml"
    verbose_name = _("SlashML speech-to-text")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported for what importing them does: the system checks register, the
        # setting_changed receivers connect; transcript segments follow completed and
        # reviewed jobs. Where Celery is installed (an extra), its tasks go in the Celery
        # app's registry, where the job engine finds them by name, and a Celery worker
        # names the project's receivers when it starts.
        from django_slashml import checks, conf  # noqa: F401
        from django_slashml.audio import storage  # noqa: F401
        from django_slashml.remote import checks as deploy_checks  # noqa: F401
        from django_slashml.remote import client  # noqa: F401
        from django_slashml.transcripts.search import checks as search_checks  # noqa: F401
        from django_slashml.transcripts.search import receivers  # noqa: F401

        if find_spec("celery") is not None:
            from django_slashml import tasks, worker  # noqa: F401
