"""A newcomer follows only the README's "Use it in your project" in a brand-new project.

With this checkout's environment; the install tier (tests/install/) does the same with each
documented install line in a clean virtualenv. Without Redis on 127.0.0.1 the broker is a
folder-based transport (in the service tier, the README's Redis URL is used as written).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from .extras import require
from .newcomer import README_BROKER, WHISPER_WORDS, Newcomer, answers, free_port, readme_blocks

pytestmark = [pytest.mark.slow, pytest.mark.services]


def test_the_readme_section_names_every_file_it_changes() -> None:
    paths = [path for path, _, _ in readme_blocks()]
    assert paths == [
        "mysite/settings.py",
        "mysite/urls.py",
        "mysite/celery.py",
        "mysite/__init__.py",
        "notes/receivers.py",
        "notes/apps.py",
    ]


def test_a_new_project_following_the_readme_gets_a_transcript(tmp_path: Path) -> None:
    require("av")  # step 5's sandbox runs the offline engine
    require("pocketsphinx")
    broker = README_BROKER if answers(6379) else "filesystem://"
    newcomer = Newcomer(tmp_path / "project", Path(sys.executable).parent, broker=broker)
    newcomer.create_project()
    newcomer.manage("migrate", "-v", "0")
    assert newcomer.slashml_check_messages() == []
    web_port = free_port()
    with newcomer.processes(web_port=web_port):
        job_id = newcomer.transcribe_with_the_command()
        newcomer.assert_receiver_ran_once(job_id)
        rest_job_id = newcomer.transcribe_over_rest(web_port)
        newcomer.assert_receiver_ran_once(rest_job_id, owner="ann", words=WHISPER_WORDS)
