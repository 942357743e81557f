"""Settings for type checking only (`make lint` runs mypy with them): django-stubs' plugin sets
Django up to learn the installed apps and their models. Nothing connects to the database, and
unlike tests.settings nothing is created on disk."""

SECRET_KEY = "type-checking-only-not-secret"
USE_TZ = True
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
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
