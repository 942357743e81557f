"""Settings for the app's own tests.

Default tier: SQLite in a file (so a worker thread shares it) and Celery's
in-memory transport. ``SLASHML_TEST_TIER=services``: PostgreSQL and Redis on
127.0.0.1 (``SLASHML_TEST_BROKER`` may name another broker, e.g. RabbitMQ).
``SLASHML_TEST_TIER=mariadb``: MariaDB on 127.0.0.1:3306 (root, no password; utf8mb4, its time
zone tables loaded by ``make test-mariadb``) and the in-memory transport (the reliability suite's
workers there use a Redis server the test starts, named by ``SLASHML_TEST_BROKER``).

Worker processes that the reliability suite starts read the rest from the environment:
``SLASHML_TEST_DATABASE`` (the test database's name), ``SLASHML_TEST_MEDIA_ROOT``,
``SLASHML_TEST_SLASHML`` (JSON merged over ``SLASHML``) and, on PostgreSQL,
``SLASHML_TEST_DATABASE_PORT`` (a relay the suite can cut, for its database outage).

Under pytest-xdist (``pytest -n 2``) each worker process reads this file on its own, and gets
services of its own, so that two workers never share one (CONTRIBUTING.md, "Parallel runs"):

* databases: pytest-django appends the worker's name to each test database's name
  (``test_django_slashml_gw0``, ``test.sqlite3_gw0``); the SQLite files and the media folder
  also live in a temporary folder of the worker's own (``BASE``);
* Redis: a database number of the worker's own (:func:`redis_number`), so one worker's Celery
  worker never takes another's messages and a purge empties only its own queue.
"""

from __future__ import annotations

import importlib.util
import json
import os
import tempfile

TIER = os.environ.get("SLASHML_TEST_TIER", "default")
#: "gw0", "gw1"... in a pytest-xdist worker, "" in a run without xdist. Processes a test starts
#: (the reliability suite's Celery workers) inherit it, and with it the same Redis number.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
BASE = tempfile.mkdtemp(prefix=f"slashml-tests-{XDIST_WORKER}-" if XDIST_WORKER else "slashml-tests-")


def redis_number(worker: str) -> int:
    """The Redis database number of the service tier's broker for an xdist ``worker`` ("" without xdist).

    15 without xdist; 1, 2... for gw0, gw1... Numbers 0 (the README's broker, which the install
    tier's projects share, each with a queue of its own), 13 and 14 (the benchmarks') are left alone.
    """
    if not worker:
        return 15
    number = 1 + int(worker.removeprefix("gw"))
    if number > 12:
        raise RuntimeError(f"xdist worker {worker}: Redis has no free database number for it (at most -n 12)")
    return number


SECRET_KEY = "tests-only-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "tests.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_slashml",
]
REST_FRAMEWORK: dict[str, object] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
}
# The API works without the `api` extra; the schema test needs it (and skips without it).
HAS_SPECTACULAR = importlib.util.find_spec("drf_spectacular") is not None
if HAS_SPECTACULAR:
    INSTALLED_APPS.insert(-1, "drf_spectacular")
    REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] = "drf_spectacular.openapi.AutoSchema"
# Django's task framework, for the jobs on SLASHML["QUEUE"] = "tasks": the database backend,
# whose db_worker the reliability suite runs (django-tasks is its backport before Django 6.0).
HAS_TASK_FRAMEWORK = importlib.util.find_spec("django_tasks_db") is not None
if HAS_TASK_FRAMEWORK:
    import django

    if django.VERSION < (6, 0):
        INSTALLED_APPS.insert(-1, "django_tasks")
    INSTALLED_APPS.insert(-1, "django_tasks_db")
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
SPECTACULAR_SETTINGS = {"TITLE": "django-slashml", "VERSION": "1"}
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "tests.csp.StrictContentSecurityPolicy",  # the owners' transcript pages only
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
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

# Workers write from other threads: take the write lock when a transaction starts, or a
# reader that later writes fails with "database is locked" instead of waiting.
SQLITE_OPTIONS: dict[str, object] = {"timeout": 30, "transaction_mode": "IMMEDIATE"}

if TIER == "services":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "test",
            "USER": os.environ.get("PGUSER", "postgres"),
            "HOST": "127.0.0.1",
            "PORT": 5432,
            "TEST": {"NAME": "test_django_slashml"},
        }
    }
    CELERY_BROKER_URL = os.environ.get("SLASHML_TEST_BROKER", f"redis://127.0.0.1:6379/{redis_number(XDIST_WORKER)}")
    # Records every signal in a table, so runs with worker processes can count them.
    INSTALLED_APPS.append("tests.reliability")
    if os.environ.get("SLASHML_TEST_DATABASE"):
        DATABASES["default"]["NAME"] = os.environ["SLASHML_TEST_DATABASE"]
    if os.environ.get("SLASHML_TEST_DATABASE_PORT"):  # the reliability suite's cuttable path to the server
        DATABASES["default"]["PORT"] = int(os.environ["SLASHML_TEST_DATABASE_PORT"])
elif TIER == "mariadb":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.mysql",
            "NAME": "test",
            "USER": os.environ.get("SLASHML_TEST_MYSQL_USER", "root"),
            "HOST": "127.0.0.1",
            "PORT": 3306,
            "OPTIONS": {"charset": "utf8mb4"},
            "TEST": {"NAME": "test_django_slashml", "CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"},
        }
    }
    # The reliability suite's workers share a Redis server of the test's own (SLASHML_TEST_BROKER).
    CELERY_BROKER_URL = os.environ.get("SLASHML_TEST_BROKER", "memory://")
    INSTALLED_APPS.append("tests.reliability")
    if os.environ.get("SLASHML_TEST_DATABASE"):
        DATABASES["default"]["NAME"] = os.environ["SLASHML_TEST_DATABASE"]
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.path.join(BASE, "db.sqlite3"),
            "TEST": {"NAME": os.path.join(BASE, "test.sqlite3")},
            "OPTIONS": SQLITE_OPTIONS,
        }
    }
    CELERY_BROKER_URL = "memory://"

CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_BACKEND = None
# The test process fails fast without a broker; worker processes that the reliability suite
# starts wait for it, as a deployed worker must: they may be (re)started while it is down.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = bool(os.environ.get("SLASHML_TEST_DATABASE"))

STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": os.environ.get("SLASHML_TEST_MEDIA_ROOT") or os.path.join(BASE, "media")},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

SLASHML = {
    "API_KEY": "test-key-not-real",
    "API_URL": "http://127.0.0.1:9",
    "ALLOW_PRIVATE_AUDIO_URLS": True,
    "ALLOW_PRIVATE_STORAGE_URLS": True,
}
SLASHML.update(json.loads(os.environ.get("SLASHML_TEST_SLASHML") or "{}"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "loggers": {"django_slashml": {"level": "DEBUG", "handlers": ["null"], "propagate": True}},
}

STATIC_URL = "/static/"
