from django.apps import AppConfig


class TranscriberConfig(AppConfig):
    name = "transcriber"
    verbose_name = "Transcriber page"
