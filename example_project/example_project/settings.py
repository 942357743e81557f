"""A small project using django-slashml exactly as the README says.

Everything that differs between machines comes from the environment:
DATABASE_URL (default: SQLite here), CELERY_BROKER_URL (default: a folder-based transport
that needs no server), SLASHML_API_URL and SLASHML_API_KEY (default: the local sandbox), and
SLASHML_QUEUE: "celery" (the default) or "tasks", Django's task framework with its database
backend, set up as docs/task-framework.md says (``make demo QUEUE=tasks``).
"""

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

import django

BASE_DIR = Path(__file__).resolve().parent.parent
STATE_DIR = Path(os.environ.get("EXAMPLE_STATE_DIR", BASE_DIR / ".state"))

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-project-not-for-production")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_slashml",
    "transcriber",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "example_project.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
WSGI_APPLICATION = "example_project.wsgi.application"


def database_from_url(url: str) -> dict:
    """The few DATABASE_URL forms this example needs: sqlite:///path and postgres://..."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        options = {"timeout": 30}
        if django.VERSION >= (5, 1):
            options["transaction_mode"] = "IMMEDIATE"  # the worker writes too
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": unquote(parts.path[1:]) or ":memory:",
            "OPTIONS": options,
        }
    if parts.scheme in ("postgres", "postgresql"):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": parts.path.lstrip("/"),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": parts.port or "",
        }
    raise ValueError(f"Unsupported DATABASE_URL scheme {parts.scheme!r}: use sqlite:///path or postgres://...")


STATE_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {"default": database_from_url(os.environ.get("DATABASE_URL", f"sqlite:///{STATE_DIR / 'db.sqlite3'}"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_TZ = True
STATIC_URL = "static/"
MEDIA_ROOT = STATE_DIR / "media"
MEDIA_URL = "media/"
LOGIN_URL = "admin:login"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
}

# --- django-slashml -------------------------------------------------------------------------
SLASHML = {
    "API_URL": os.environ.get("SLASHML_API_URL", "http://127.0.0.1:8765"),
    # A callable is read when the key is first needed, so the key never sits in settings
    # (``manage.py diffsettings`` and error pages show the function, not the key).
    "API_KEY": lambda: os.environ.get("SLASHML_API_KEY", "sandbox-key"),
    "DEFAULT_SERVICE_PROVIDER": "assembly",
    # The sandbox fetches audio URLs on this machine; a real deployment leaves this False.
    "ALLOW_PRIVATE_AUDIO_URLS": True,
}

# --- The queue: Django's task framework, or Celery --------------------------------------------
QUEUE = os.environ.get("SLASHML_QUEUE", "celery")
if QUEUE not in ("celery", "tasks"):
    raise ValueError(f"SLASHML_QUEUE is {QUEUE!r}: use celery or tasks")
if QUEUE == "tasks":
    INSTALLED_APPS += ["django_tasks_db"]  # the database backend: tasks wait in the database
    if django.VERSION < (6, 0):
        INSTALLED_APPS += ["django_tasks"]  # Django 5.2: django-tasks, the backport of django.tasks
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    SLASHML["QUEUE"] = "tasks"  # Celery is installed too, in make demo's environment

# Without CELERY_BROKER_URL, messages go through folders on disk: no broker server needed.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL == "filesystem://" and QUEUE == "celery":
    _queue = STATE_DIR / "broker"
    for _folder in ("out", "processed", "control"):
        (_queue / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue / "out"),
        "data_folder_out": str(_queue / "out"),
        "processed_folder": str(_queue / "processed"),
        # kombu's exchange tables; left out, they land in "control/" under the working directory.
        "control_folder": str(_queue / "control"),
    }
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE = {"slashml-sweep": {"task": "django_slashml.sweep", "schedule": 10.0}}
