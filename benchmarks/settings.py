"""Django settings for the benchmark driver and its worker processes.

PostgreSQL and Redis on 127.0.0.1, as a deployment would use. Worker processes get
what varies per run from the environment: ``SLASHML_BENCH_DATABASE``,
``SLASHML_BENCH_MEDIA_ROOT`` and ``SLASHML_BENCH_SLASHML`` (JSON merged over ``SLASHML``).
"""

from __future__ import annotations

import json
import os
import tempfile

SECRET_KEY = "benchmarks-only-not-secret"  # noqa: S105
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "benchmarks.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "rest_framework",
    "django_slashml",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.contrib.auth.context_processors.auth"]},
    }
]
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
}

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("SLASHML_BENCH_DATABASE", "slashml_bench"),
        "USER": os.environ.get("PGUSER", "postgres"),
        "HOST": "127.0.0.1",
        "PORT": 5432,
        # Workers keep their connection, as a deployment with CONN_MAX_AGE would.
        "CONN_MAX_AGE": 600,
    }
}

# The scale benchmark (benchmarks/scale.py) also measures SQLite and MariaDB as the default database.
if os.environ.get("SLASHML_BENCH_VENDOR") == "sqlite":
    DATABASES["default"] = {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["SLASHML_BENCH_DATABASE"]}
elif os.environ.get("SLASHML_BENCH_VENDOR") == "mariadb":
    DATABASES["default"] = {
        "ENGINE": "django.db.backends.mysql",
        "NAME": os.environ["SLASHML_BENCH_DATABASE"],
        "USER": os.environ.get("SLASHML_BENCH_MYSQL_USER", "root"),
        "HOST": "127.0.0.1",
        "PORT": 3306,
        "OPTIONS": {"charset": "utf8mb4"},
    }

# Search's SQLite figures (benchmarks/search.py) use a file of their own beside PostgreSQL.
DATABASES["search_sqlite"] = {
    "ENGINE": "django.db.backends.sqlite3",
    "NAME": os.path.join(tempfile.mkdtemp(prefix="slashml-bench-sqlite-"), "search.sqlite3"),
}

CELERY_BROKER_URL = os.environ.get("SLASHML_BENCH_BROKER", "redis://127.0.0.1:6379/14")
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_BACKEND = None
# Without it Celery's Django fixup closes the database connection before and after every task,
# whatever CONN_MAX_AGE says: two new PostgreSQL connections per job step (docs/configuration.md).
CELERY_DB_REUSE_MAX = int(os.environ.get("SLASHML_BENCH_DB_REUSE_MAX", "1000")) or None
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": os.environ.get("SLASHML_BENCH_MEDIA_ROOT") or tempfile.mkdtemp(prefix="slashml-bench-")
        },
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

SLASHML = {
    "API_KEY": "sandbox-key",
    "API_URL": "http://127.0.0.1:9",
    "ALLOW_PRIVATE_AUDIO_URLS": True,
    "ALLOW_PRIVATE_STORAGE_URLS": True,
}
SLASHML.update(json.loads(os.environ.get("SLASHML_BENCH_SLASHML") or "{}"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django_slashml": {"level": "WARNING", "handlers": ["console"]}},
}
STATIC_URL = "/static/"
