"""Tests that need an optional package skip, with the extra that brings it, when it is missing.

The suite also runs in an environment with none of the extras (``make test-no-extras``,
which sets ``SLASHML_TEST_WITHOUT_EXTRAS=1``). Anywhere else under ``CI=true`` a missing
package is a failure, not a skip, so the full run cannot quietly shrink.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from types import ModuleType

import pytest

#: For each optional package: where it comes from, as a user would install it.
EXTRAS = {
    "av": 'pip install "django-slashml[sandbox]"',
    "pocketsphinx": 'pip install "django-slashml[sandbox]"',
    "boto3": 'pip install "django-slashml[s3]"',
    "drf_spectacular": 'pip install "django-slashml[api]"',
    "redis": 'pip install "django-slashml[redis]"',
    "psycopg": 'pip install "django-slashml[postgres]"',
    "moto": "the test extra (moto[s3,server])",
    "webvtt": "the test extra (webvtt-py)",
    "srt": "the test extra (srt)",
    "hypothesis": "the test extra (hypothesis)",
    "playwright": "the test extra (playwright)",
    "addict": "the test extra (addict)",
    "slashml": "make test (pip install --no-deps slashml==0.1.6)",
    "importlinter": "the lint extra (import-linter)",
    "prometheus_client": 'pip install "django-slashml[metrics]"',
    "schemathesis": "the test extra (schemathesis)",
    "django_tasks_db": 'pip install "django-slashml[tasks]"',
}


def require(module: str) -> ModuleType:
    """``module``, or a skip (a failure under CI=true in a full run) that names what installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        reason = f"needs {module!r}, from {EXTRAS[module]}"
        if os.environ.get("CI", "").lower() == "true" and not os.environ.get("SLASHML_TEST_WITHOUT_EXTRAS"):
            pytest.fail(f"{reason} (required in CI's full run)", pytrace=False)
        pytest.skip(reason)
        raise  # unreachable: skip raises


def require_for_module(*modules: str) -> None:
    """:func:`require` for a whole test module, at its top; only looks the packages up, never imports them."""
    for module in modules:
        if importlib.util.find_spec(module) is None:
            try:
                require(module)
            except pytest.skip.Exception as skip:
                pytest.skip(skip.msg, allow_module_level=True)


#: The modules that are Celery's side of the app, which a project on the task framework never imports.
CELERY_MODULES = ("django_slashml.tasks", "django_slashml.worker")


def import_failures_not_explained(failed: dict[str, str]) -> dict[str, str]:
    """The import failures a missing extra does not explain: the task framework's tasks need the
    tasks extra before Django 6.0, and say so when it is missing; Celery's tasks and worker
    report need Celery; nothing else may fail."""
    return {
        name: error
        for name, error in failed.items()
        if not (name == "django_slashml.task_framework" and '"django-slashml[tasks]"' in error)
        and not (name in CELERY_MODULES and "No module named 'celery'" in error)
    }
