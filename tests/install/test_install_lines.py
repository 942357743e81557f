"""Each documented install line, in a clean virtualenv, imports, migrates and passes its checks.

For every line: the package really comes from the built artifact (the base install's from the
sdist, every other from the wheel); every module of the package imports. For every line but the
README's own (tests/install/test_readme.py replays that one as written, to finished jobs): the
files of the README's "Use it in your project", written in a new startproject far from this
checkout, migrate and pass ``check --deploy`` with nothing from this app but what the line's
missing extras explain. The base install goes on to finished jobs, one made by step 6's command
and one over REST, step 4's receiver running once for each; it lacks the sandbox extra, so the
sandbox runs from the README line's environment, as a user would run it from another one. The
extras in between change what imports and what the checks say, both proved for each line, not
a job's path.
"""

from __future__ import annotations

import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from ..extras import import_failures_not_explained
from .conftest import ROOT, SDIST_LINE, CleanEnv, Dist, documented_install_lines, extras_of
from .readme import WHISPER_WORDS, ReadmeProject, answers, free_port

pytestmark = pytest.mark.install

LINES = documented_install_lines()
README_LINE = LINES[0]

IMPORT_EVERY_MODULE = """
import importlib, json, pkgutil, sys
import django
from django.conf import settings

settings.configure(
    INSTALLED_APPS=["django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
                    "django.contrib.sessions", "django.contrib.messages", "rest_framework", "django_slashml"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    SLASHML={"API_KEY": "install-tier"},
)
django.setup()
import django_slashml
names, failed = [], {}
for module in pkgutil.walk_packages(django_slashml.__path__, "django_slashml."):
    names.append(module.name)
    try:
        importlib.import_module(module.name)
    except Exception as exc:
        failed[module.name] = f"{type(exc).__name__}: {exc}"
import importlib.metadata as metadata
print(json.dumps({"file": django_slashml.__file__, "version": metadata.version("django-slashml"),
                  "modules": names, "failed": failed}))
"""


def test_the_docs_show_the_package_alone_and_every_extra_they_name() -> None:
    assert README_LINE == 'pip install "django-slashml[sandbox,redis]"'
    assert SDIST_LINE in LINES  # the app and the one queue its README project runs on
    queues = {"celery", "redis", "tasks"}  # redis brings Celery
    assert all(extras_of(line) & queues for line in LINES), "each line installs a working app on its own"
    for extra in ("sandbox", "api", "s3"):
        assert any(f"[{extra}]" in line or f",{extra}]" in line or f"[{extra}," in line for line in LINES), extra


def test_the_wheel_and_the_sdist_hold_what_the_app_needs_at_run_time(dist: Dist) -> None:
    with zipfile.ZipFile(dist.wheel) as wheel:
        names = set(wheel.namelist())
    with tarfile.open(dist.sdist) as sdist:
        sdist_names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    needed = [
        "django_slashml/py.typed",
        "django_slashml/migrations/0001_initial.py",
        "django_slashml/templates/django_slashml/transcript.html",
        "django_slashml/templates/django_slashml/transcript_page.html",
        "django_slashml/templatetags/slashml.py",
        "django_slashml/templates/admin/django_slashml/transcriptionjob/change_form.html",
        "django_slashml/templates/admin/django_slashml/transcriptionjob/change_list.html",
        "django_slashml/static/django_slashml/transcript.js",
        "django_slashml/static/django_slashml/transcript.css",
        "django_slashml/static/django_slashml/admin/slashml.css",
        "django_slashml/locale/en/LC_MESSAGES/django.po",
        "django_slashml/locale/en/LC_MESSAGES/django.mo",
    ]
    for name in needed:
        assert name in names, f"{name} is missing from {dist.wheel.name}"
        assert name in sdist_names, f"{name} is missing from {dist.sdist.name}"
    assert not any(name.startswith(("tests/", "example_project/", "benchmarks/")) for name in names)


@pytest.mark.parametrize("line", LINES)
def test_every_module_comes_from_the_built_package_and_imports(
    line: str, clean_env, dist: Dist, tmp_path: Path
) -> None:
    env: CleanEnv = clean_env(line)
    found = json.loads(env.run_python(IMPORT_EVERY_MODULE, cwd=tmp_path))
    assert found["version"] == dist.version
    assert Path(found["file"]).is_relative_to(env.folder) and not Path(found["file"]).is_relative_to(ROOT)
    assert import_failures_not_explained(found["failed"]) == {}
    assert {"django_slashml.sandbox.engines.offline", "django_slashml.api.schema", "django_slashml.testing"} <= set(
        found["modules"]
    )
    built_from_the_sdist = "Building wheel for django-slashml" in env.pip_output
    assert built_from_the_sdist == (line == SDIST_LINE), env.pip_output[-3000:]


def readme_project(env: CleanEnv, folder: Path, *, runnable: bool) -> ReadmeProject:
    """The README's project in this line's environment, migrated, with the checks its extras earn.

    Without the redis extra the README's broker gets check slashml.W020, which says what to
    install; with ``runnable``, a second project on Celery's folder transport (no package, no
    server) is returned, whose checks are clean. A line that brings the task framework and no
    Celery gets the project docs/task-framework.md makes of the README's, whose checks are clean.
    """
    queue = "tasks" if "tasks" in env.extras and not env.extras & {"celery", "redis"} else "celery"
    project = ReadmeProject(folder / "project", env.bin, queue=queue)
    project.create_files()
    project.manage("migrate", "-v", "0")
    if queue == "tasks":
        assert project.slashml_check_messages("--deploy") == []
        return project
    if "redis" in env.extras:
        assert answers(6379), "Redis must answer on 127.0.0.1:6379 for the README's broker"
        assert project.slashml_check_messages("--deploy") == []
        return project
    warning = project.slashml_check_messages("--deploy")
    assert len(warning) == 1 and "slashml.W020" in warning[0], warning
    assert 'HINT: pip install "django-slashml[redis]"' in project.manage("check", check=False).stderr
    if not runnable:
        return project
    project = ReadmeProject(folder / "project-folder-broker", env.bin, broker="filesystem://")
    project.create_files()
    project.manage("migrate", "-v", "0")
    assert project.slashml_check_messages("--deploy") == []
    return project


@pytest.mark.parametrize("line", [line for line in LINES if line not in (README_LINE, SDIST_LINE)])
def test_each_line_migrates_and_passes_its_checks(line: str, clean_env, tmp_path: Path) -> None:
    env: CleanEnv = clean_env(line)
    project = readme_project(env, tmp_path, runnable=False)
    if "api" in env.extras:  # docs/api.md's OpenAPI section, as written there
        settings = project.folder / "mysite" / "settings.py"
        settings.write_text(
            settings.read_text() + 'INSTALLED_APPS += ["drf_spectacular"]\n'
            'REST_FRAMEWORK = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}\n'
        )
        project.manage("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))


@pytest.mark.parametrize("line", [SDIST_LINE])
def test_the_base_install_takes_the_readmes_project_to_finished_jobs(line: str, clean_env, tmp_path: Path) -> None:
    env: CleanEnv = clean_env(line)
    project = readme_project(env, tmp_path, runnable=True)
    sandbox = [clean_env(README_LINE).python, "-m", "django_slashml.sandbox"]  # no sandbox extra here
    web_port = free_port()
    with project.processes(sandbox, web_port=web_port):
        job_id = project.transcribe_with_the_command()
        project.assert_receiver_ran_once(job_id)
        rest_job_id = project.transcribe_over_rest(web_port)
        project.assert_receiver_ran_once(rest_job_id, owner="ann", words=WHISPER_WORDS)
    project.assert_admin_shows_the_transcript(job_id)


@pytest.mark.parametrize("line", [SDIST_LINE])
def test_without_the_sandbox_extra_the_sandbox_says_what_to_install(line: str, clean_env, tmp_path: Path) -> None:
    env: CleanEnv = clean_env(line)
    project = ReadmeProject(tmp_path / "project", env.bin, broker="memory://")
    project.create_files()
    result = project.manage("slashml_sandbox", "--port", "0", check=False, timeout=60)
    assert result.returncode != 0
    assert "pip install 'django-slashml[sandbox]'" in result.stderr and "--engine deterministic" in result.stderr
    assert "Traceback" not in result.stderr
