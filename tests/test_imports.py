"""Every module of the package imports, whatever extras the environment has.

Optional packages are imported where a feature uses them, never at a module's top: this is
what ``make test-no-extras`` checks where none is installed (the install tier does it again
in each clean virtualenv, from the wheel).
"""

from __future__ import annotations

import importlib
import pkgutil

import django_slashml

from .extras import import_failures_not_explained


def test_every_module_of_the_package_imports() -> None:
    names, failed = [], {}
    for module in pkgutil.walk_packages(django_slashml.__path__, "django_slashml."):
        names.append(module.name)
        try:
            importlib.import_module(module.name)
        except Exception as exc:  # each failure is reported, not only the first
            failed[module.name] = f"{type(exc).__name__}: {exc}"
    assert import_failures_not_explained(failed) == {}
    expected = {"django_slashml.sandbox.engines.offline", "django_slashml.api.schema", "django_slashml.metrics.views"}
    assert expected <= set(names)
