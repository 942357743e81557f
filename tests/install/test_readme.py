"""The README's "Use it in your project", replayed as written, reaches the receiver's line and a passing test.

In a clean virtualenv made by the README's own install line from the built wheel, far from this
checkout: every block in order (tests/install/readme.py says how each kind of block is run, and
the three departures from the text). It is the one run of the README's scenario from start to
finish; tests/install/test_install_lines.py gives the other install lines the README's files.
Needs Redis on 127.0.0.1, the README's broker.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from .conftest import CleanEnv, Dist, documented_install_lines
from .readme import (
    SAMPLE_WORDS,
    ReadmeProject,
    answers,
    job_id_in,
    project_blocks,
    readme_blocks,
    task_framework_changes,
)

pytestmark = pytest.mark.install

README_LINE = documented_install_lines()[0]
TASKS_LINE = 'pip install "django-slashml[tasks]"'


def test_the_readme_section_is_steps_a_replay_can_follow() -> None:
    blocks = readme_blocks()
    assert [block.path for block in blocks if block.path] == [
        "mysite/settings.py",
        "mysite/settings.py",
        "mysite/urls.py",
        "mysite/celery.py",
        "mysite/__init__.py",
        "notes/receivers.py",
        "notes/apps.py",
        "pytest.ini",
        "notes/test_transcripts.py",
    ]
    order = [block.path or ("processes" if block.background else block.commands[0]) for block in blocks]
    # The receivers are written, and their app installed, before the worker starts.
    assert order.index("notes/apps.py") < order.index("processes")
    assert '"notes"' in blocks[order.index("mysite/settings.py")].code
    assert blocks[0].commands[0] == README_LINE
    # Celery's settings are a block of their own, which the task framework's page replaces.
    settings = [block for block in blocks if block.path == "mysite/settings.py"]
    assert "CELERY_" not in settings[0].code and "SLASHML = {" in settings[0].code
    assert settings[1].code.splitlines()[1].startswith("CELERY_")


def test_the_task_framework_page_lists_changes_a_replay_can_make() -> None:
    install, settings, processes = task_framework_changes()
    assert install.commands == [TASKS_LINE] and TASKS_LINE in documented_install_lines()
    assert settings.path == "mysite/settings.py" and settings.append and "TASKS = {" in settings.code
    assert processes.background
    assert [command.split()[2] for command in processes.commands] == ["slashml_sandbox", "db_worker", "slashml_sweep"]
    blocks = project_blocks("tasks")
    assert blocks[0].commands[0] == TASKS_LINE
    celery = re.compile(r"CELERY_|import celery|from celery|celery -A")
    assert not any(celery.search(block.code) for block in blocks), "nothing of Celery is left"
    assert len(blocks) == len(readme_blocks()) - 2  # celery.py and __init__.py


@pytest.mark.parametrize(
    ("line", "django"), [(TASKS_LINE, None), (TASKS_LINE, "6.0")], ids=["newest Django", "Django 6.0"]
)
def test_the_task_framework_page_followed_as_written_finishes_a_job_without_celery(
    line: str, django: str | None, clean_env, dist: Dist, tmp_path: Path
) -> None:
    """On this Python's newest Django (5.2 through the django-tasks backport), and on Django 6.0's own
    ``django.tasks``, where the page's settings leave the backport out."""
    env: CleanEnv = clean_env(line, django)
    if django is not None:
        installed = env.run_python("import django; print(django.get_version())", cwd=tmp_path)
        assert installed.startswith(f"{django}."), installed
    no_celery = subprocess.run([env.python, "-c", "import celery"], capture_output=True, text=True)
    assert no_celery.returncode != 0 and "No module named 'celery'" in no_celery.stderr
    project = ReadmeProject(tmp_path / "work", env.bin, find_links=str(dist.folder), queue="tasks")
    with project.replayed():
        transcribed = next(output for output in project.outputs if "Created job" in output)
        job_id = job_id_in(transcribed)
        assert "COMPLETED" in transcribed, transcribed
        # Step 4's receiver ran in db_worker, once, and its on_commit line after it.
        project.assert_receiver_ran_once(job_id, words="")
        project.wait_for(lambda: "Sweeping every 10 s" in project.log("sweeper"), "the sweeper's loop")
        assert project.slashml_check_messages("--deploy") == []
        # Every step went through the database backend's table, and db_worker ran each one.
        rows = project.manage(
            "shell",
            "-c",
            "from django_tasks_db.models import DBTaskResult; "
            "print(sorted({(r.task_path, r.status) for r in DBTaskResult.objects.all()}))",
        ).stdout
        assert "('django_slashml.task_framework.start_job', 'SUCCESSFUL')" in rows, rows
        assert "('django_slashml.task_framework.poll_job', 'SUCCESSFUL')" in rows, rows
        assert "'FAILED'" not in rows, rows
        if django is not None:  # Django's own django.tasks, not the backport the extra also brings
            used = project.manage("shell", "-c", "from django_slashml.jobs import queues; print(queues.framework())")
            assert "module 'django.tasks'" in used.stdout, used.stdout
    tested = project.outputs[-1]
    assert "1 passed" in tested, tested


def test_the_readme_followed_as_written_reaches_the_receiver_and_a_passing_test(
    clean_env, dist: Dist, tmp_path: Path
) -> None:
    assert answers(6379), "Redis must answer on 127.0.0.1:6379, the README's broker"
    env: CleanEnv = clean_env(README_LINE)
    installed = env.run_python("import importlib.metadata as m; print(m.version('django-slashml'))", cwd=tmp_path)
    assert installed.strip() == dist.version  # the wheel just built, not another release
    project = ReadmeProject(tmp_path / "work", env.bin, find_links=str(dist.folder))
    with project.replayed():
        transcribed = next(output for output in project.outputs if "Created job" in output)
        job_id = job_id_in(transcribed)
        assert "COMPLETED" in transcribed and SAMPLE_WORDS in transcribed, transcribed
        # Step 4's receiver ran in the worker, and the worker named it when it started.
        ready = f"Transcript {job_id} is ready: {SAMPLE_WORDS}"
        project.wait_for(lambda: ready in project.log("worker"), "the receiver's line")
        assert (
            "django-slashml: your receivers in this worker: transcription_completed: notes.receivers.transcript_ready; "
            "transcription_failed: notes.receivers.transcript_failed." in project.log("worker")
        )
        assert project.slashml_check_messages() == []
    # Step 7's test passed, and kept the audio it stored out of the project's MEDIA_ROOT.
    tested = project.outputs[-1]
    assert "1 passed" in tested, tested
    stored = sorted(path.name for path in (project.cwd / "media").rglob("*") if path.is_file())
    assert len(stored) == 1 and stored[0].endswith(".wav"), stored  # step 6's recording only
