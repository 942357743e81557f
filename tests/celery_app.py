"""The tests' Celery app, configured the way the README tells host projects to."""

from celery import Celery

app = Celery("slashml_tests")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
