"""The import rule of docs/architecture.md holds, and the linter that enforces it catches a break.

Each break is made in a copy of the package, the way a careless change would make it (an
import inside a function included), and ``lint-imports`` must fail on it with the layer it
breaks. The flat import paths of before the first release are gone.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.extras import require

ROOT = Path(__file__).resolve().parent.parent


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    require("importlinter")
    command = [
        sys.executable,
        "-c",
        "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())",
    ]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [*command, "--config", str(tree / ".importlinter"), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "django_slashml", tmp_path / "django_slashml", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


def add_function_import(module: Path, statement: str) -> None:
    with module.open("a") as handle:
        handle.write(f"\n\ndef _careless() -> None:\n    {statement}  # noqa\n")


def test_the_package_keeps_its_contracts(package_copy: Path) -> None:
    result = lint_imports(package_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "statement", "broken"),
    [
        # The HTTP edge reaching up into the job engine, from inside a function.
        (
            "remote/responses.py",
            "from django_slashml.jobs import lifecycle",
            "django_slashml.remote is not allowed to import django_slashml.jobs",
        ),
        # conf importing a module that reads settings: the cycle this layout removed.
        (
            "conf.py",
            "from django_slashml.remote import client",
            "django_slashml.conf is not allowed to import django_slashml.remote",
        ),
        # The engine importing the tasks that call it.
        (
            "jobs/dispatch.py",
            "from django_slashml.tasks import start_job",
            "django_slashml.jobs is not allowed to import django_slashml.tasks",
        ),
        # Audio touching the database.
        (
            "audio/storage.py",
            "from django_slashml.models import AudioUpload",
            "django_slashml.audio is not allowed to import django_slashml.models",
        ),
    ],
)
def test_a_back_arrow_fails_the_lint(package_copy: Path, module: str, statement: str, broken: str) -> None:
    add_function_import(package_copy / "django_slashml" / module, statement)
    result = lint_imports(package_copy)
    assert result.returncode != 0
    assert broken in result.stdout


def test_a_cycle_inside_a_layer_fails_the_lint(package_copy: Path) -> None:
    # jobs.reuse is below nothing in jobs/; pipeline imports it, so this closes a loop.
    add_function_import(
        package_copy / "django_slashml" / "jobs" / "reuse.py", "from django_slashml.jobs import pipeline"
    )
    result = lint_imports(package_copy)
    assert result.returncode != 0
    assert "No import cycles between sibling modules" in result.stdout and "BROKEN" in result.stdout


@pytest.mark.parametrize("old", ["django_slashml.lifecycle", "django_slashml.intake", "django_slashml.client"])
def test_the_flat_paths_of_before_the_first_release_do_not_import(old: str) -> None:
    sys.modules.pop(old, None)
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(old)


def test_the_public_api_is_at_the_top() -> None:
    import django_slashml
    from django_slashml.jobs import actions

    assert (django_slashml.transcribe, django_slashml.retry, django_slashml.cancel) == (
        actions.transcribe,
        actions.retry,
        actions.cancel,
    )
    with pytest.raises(AttributeError):
        django_slashml.lifecycle_helpers  # noqa: B018


# -- the engine on the public ORM ---------------------------------------------------------------

#: The only modules that may write SQL by hand, each behind one function with a plain fallback: a
#: search engine's own syntax (FTS5, PostgreSQL's text search catalogue) and a database's own
#: statistics (MySQL's estimate of a table's rows).
RAW_SQL_ALLOWED = {"django_slashml/transcripts/search/engines.py", "django_slashml/admin/counts.py"}
#: Methods that reach past Django's documented ORM or hand it SQL, and the expression that does.
RAW_SQL_METHODS = {"cursor", "raw", "extra", "get_compiler", "sql_with_params"}
RAW_SQL_NAMES = {"RawSQL"}


def orm_violations(root: Path) -> list[str]:
    """Where the package imports django.db.models.sql, or writes SQL outside ``RAW_SQL_ALLOWED``."""
    import ast

    found = []
    for path in sorted((root / "django_slashml").rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if "/migrations/" in relative:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=relative)):
            modules = []
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            if any(module.startswith("django.db.models.sql") for module in modules):
                found.append(f"{relative}:{node.lineno}: imports django.db.models.sql")
            if relative in RAW_SQL_ALLOWED:
                continue
            call = node.func if isinstance(node, ast.Call) else None
            if isinstance(call, ast.Attribute) and call.attr in RAW_SQL_METHODS:
                found.append(f"{relative}:{node.lineno}: {call.attr}()")
            names = [alias.name for alias in node.names] if isinstance(node, ast.ImportFrom) else []
            names += [node.attr] if isinstance(node, ast.Attribute) else [node.id] if isinstance(node, ast.Name) else []
            found += [f"{relative}:{node.lineno}: {name}" for name in names if name in RAW_SQL_NAMES]
    return found


def test_the_engine_uses_only_the_public_orm() -> None:
    assert orm_violations(ROOT) == []


@pytest.mark.parametrize(
    ("statement", "broken"),
    [
        ("from django.db.models.sql.subqueries import UpdateQuery", "imports django.db.models.sql"),
        ("from django.db import connection; connection.cursor()", "cursor"),
        ("from django.db.models.expressions import RawSQL", "RawSQL"),
    ],
)
def test_sql_by_hand_outside_the_search_engines_fails_the_rule(package_copy: Path, statement: str, broken: str) -> None:
    add_function_import(package_copy / "django_slashml" / "jobs" / "pipeline.py", statement)
    assert any("jobs/pipeline.py" in found and broken in found for found in orm_violations(package_copy))


#: What the engine no longer does: reach into Django's query compiler, write PostgreSQL's JSON
#: record functions, or carry a step's state (its calls, its job's id) in context variables.
RETIRED = re.compile(r"models\.sql|get_compiler|ContextVar|contextvars|jsonb_populate")


def retired_mentions(root: Path) -> list[str]:
    """Each line of the package's files (code, comments, templates) that names what :data:`RETIRED` matches."""
    found = []
    for path in sorted((root / "django_slashml").rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix in {".mo", ".pyc"}:
            continue
        relative = path.relative_to(root).as_posix()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
            if RETIRED.search(line):
                found.append(f"{relative}:{number}: {line.strip()}")
    return found


def test_a_step_passes_its_state_along_instead_of_context_variables() -> None:
    assert retired_mentions(ROOT) == []


def test_a_context_variable_in_the_package_fails_the_rule(package_copy: Path) -> None:
    add_function_import(package_copy / "django_slashml" / "remote" / "client.py", "from contextvars import ContextVar")
    assert any("remote/client.py" in found and "ContextVar" in found for found in retired_mentions(package_copy))


def test_every_exception_the_app_raises_on_purpose_is_public() -> None:
    from django_slashml import exceptions

    defined = {
        name
        for name, value in vars(exceptions).items()
        if isinstance(value, type) and issubclass(value, Exception) and value.__module__ == exceptions.__name__
    }
    assert defined == set(exceptions.__all__)
