# Imported first, as a host project's proj/__init__.py imports its Celery app.
from .celery_app import app as celery_app

__all__ = ["celery_app"]
