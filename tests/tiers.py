"""The parts of the suite that a tier runs again somewhere else, and why each file is there.

The default tier and the service tier take the whole suite (by marks, see setup.cfg); the
matrix and the run without extras take a part of it, each in an environment of its own, and
only the files where that environment can change the outcome. CONTRIBUTING.md explains every tier.

    python -m tests.tiers no-extras     # the files, one a line, for the Makefile
    python -m tests.tiers mariadb
"""

from __future__ import annotations

import sys

#: On each Django x Python pair other than the default one (tests/install/matrix.py), against
#: PostgreSQL and Redis: what leans on Django's ORM, admin, checks, migrations, startproject
#: template and DRF, or on the Python release's standard library.
MATRIX = {
    "tests/test_end_to_end.py": "a real Celery worker and the sandbox over HTTP, with Django's transactions",
    "tests/test_pipeline.py": "the engine's conditional updates, leases and transitions on this ORM",
    "tests/test_task_framework.py": "jobs on django.tasks from Django 6.0, on the django-tasks backport on 5.2",
    "tests/test_lifecycle.py": "the only place a status changes: its filter(...).update(...)",
    "tests/test_closing_write.py": "the closing write's statements, which each Django release may build apart",
    "tests/test_statements.py": "the statements a job costs, as this Django builds them",
    "tests/test_dedupe.py": "the reuse lookup's query and its converters",
    "tests/test_search.py": "PostgreSQL full-text search through the ORM and its one raw query",
    "tests/test_api.py": "DRF's views and serializers on this Django",
    "tests/test_admin.py": "the admin's templates and actions on this Django",
    "tests/test_admin_browser.py": "the admin's transcript viewer in Chromium, on this Django's admin",
    "tests/test_configuration.py": "system checks on this Django, and migrations that match its autodetector",
    "tests/test_optional_dependencies.py": "the import machinery that hides a missing extra, on this Python",
    "tests/test_bad_input.py": "the URL guard leans on ipaddress, whose tables differ between Pythons",
    "tests/test_sandbox.py": "the sandbox is the standard library's HTTP server and threads, on this Python",
}

#: On the same pairs, again on SQLite: the files of the code that takes another path there than on
#: PostgreSQL (the closing write's statements, FTS5 search), and the system checks, which from
#: Django 6.1 read SQLite's features.
MATRIX_SQLITE = {
    "tests/test_closing_write.py": "the closing write in two statements where PostgreSQL takes one",
    "tests/test_statements.py": "the statements a job costs, as this Django builds them for SQLite",
    "tests/test_search.py": "FTS5 search, its triggers and its raw query",
    "tests/test_configuration.py": "from Django 6.1 the checks query SQLite's features: the guard lets Django's",
}

#: Against MariaDB (``make test-mariadb``), with Celery's in-memory transport: the files where the
#: database changes the outcome (its SQL, types, time zones, locking and errors), and the hostile input;
#: their reliability runs afterwards, alone, with worker processes on a Redis server of their own.
MARIADB = {
    "tests/test_pipeline.py": "the claim and every transition, filter(...).update(...) returning 1, on MySQL's SQL",
    "tests/test_lifecycle.py": "the only place a status changes, and its races",
    "tests/test_closing_write.py": "the step's closing UPDATE and its events, the same rows as elsewhere",
    "tests/test_statements.py": "what a job's statements do, and their count on this database as a regression guard",
    "tests/test_events.py": "an event never commits without its change (MySQL's DataError, others' IntegrityError)",
    "tests/test_dedupe.py": "the reuse lookup's Case/When ranking and ordering (NULLs sort first on MySQL)",
    "tests/test_comparisons.py": "a shared upload's claim, a conditional UPDATE",
    "tests/test_search.py": "the plain matching engine, the one a database without full-text search uses",
    "tests/test_sweeper.py": "SELECT ... FOR UPDATE SKIP LOCKED, which MariaDB has from 10.6",
    "tests/test_api.py": "the API's filters and pagination on this database",
    "tests/test_review.py": "a reviewer's corrections and their conditional writes",
    "tests/test_admin.py": "the admin's date filters under USE_TZ, which need the time zone tables",
    "tests/test_migrations.py": "the upgrade changes the job table in place (NOCOPY); no partial indexes here",
    "tests/test_bad_input.py": "hostile input: 4-byte characters (utf8mb4), long values, bad types end in clear errors",
    "tests/test_reliability_recovery.py": "a worker SIGKILLed mid-step: its jobs back within a minute, on this SQL",
}

#: Where none of the optional extras is installed (``make test-no-extras``): every module imports,
#: the checks and migrations, and each fallback for a missing extra, really missing this time.
NO_EXTRAS = {
    "tests/test_imports.py": "every module of the package imports with the base install alone",
    "tests/test_configuration.py": "no check finds fault with a base install; migrations match the models",
    "tests/test_optional_dependencies.py": "each feature steps aside, naming its extra",
    "tests/test_durations.py": "durations from mutagen without PyAV, and none rather than an error",
    "tests/test_metrics.py": "the metrics URL and check without prometheus-client",
    "tests/test_api.py": "the API without drf-spectacular (its schema test skips, naming the extra)",
    "tests/test_sandbox.py": "the sandbox's deterministic engine, which needs no extra",
    "tests/test_testing_kit.py": "the fake client and simulate_* helpers a host project's tests use",
}

SUBSETS = {"matrix": MATRIX, "matrix-sqlite": MATRIX_SQLITE, "mariadb": MARIADB, "no-extras": NO_EXTRAS}

if __name__ == "__main__":
    print("\n".join(SUBSETS[sys.argv[1]]))
