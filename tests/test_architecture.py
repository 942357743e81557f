"""The import rule of docs/architecture.md holds, and the linter that enforces it catches a break.

Each break is made in a copy of the package, the way a careless change would make it (an
import inside a function included), and ``lint-imports`` must fail on it with the layer it
breaks. The old flat import paths still work, with a warning naming the new one.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import warnings
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


@pytest.mark.parametrize(
    ("old", "new", "name"),
    [
        ("django_slashml.lifecycle", "django_slashml.jobs.lifecycle", "transition"),
        ("django_slashml.intake", "django_slashml.jobs.actions", "transcribe"),
        ("django_slashml.constants", "django_slashml.remote.protocol", "SERVICE_PROVIDERS"),
        ("django_slashml.storage", "django_slashml.audio.storage", "get_audio_storage"),
        ("django_slashml.exports", "django_slashml.transcripts.exports", "download"),
    ],
)
def test_old_import_paths_still_work_and_say_where_the_module_went(old: str, new: str, name: str) -> None:
    sys.modules.pop(old, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module(old)
    assert getattr(module, name) is getattr(importlib.import_module(new), name)
    assert [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)] == [
        f"{old} moved to {new}; import it from there (the old path will be removed in a later release)."
    ]


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
