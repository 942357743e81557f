"""The install tier: what users get from ``pip install``, not this checkout.

Builds the sdist and the wheel once (the wheel from the sdist, as ``python -m build`` does),
checks them with twine, then gives each install line the docs show a clean virtualenv of
its own, outside the source tree: from the wheel, but the base install's from the sdist, so
both artifacts are installed. ``make test-install`` runs it; the default and service tiers
leave this folder out (tests/conftest.py).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import venv
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .matrix import interpreter

ROOT = Path(__file__).resolve().parent.parent.parent
#: A documented install line: the package, alone or with extras, as users type it, in a code block or inline.
INSTALL_LINE = re.compile(r"""^pip install (?:"django-slashml(?:\[[a-z0-9,]+\])?"|django-slashml)$""")
#: Any install command that names the package, up to the end of its line, inline code or comment.
ANY_INSTALL = re.compile(r"pip install [^`\n#]*django-slashml[^`\n#]*")
#: The base install (the app and its queue, Celery): pip builds it from the sdist
#: (PIP_NO_BINARY, the line itself unchanged).
SDIST_LINE = 'pip install "django-slashml[celery]"'
#: A host project's test environment: the package as users install it, pytest and pytest-django.
HOST_TEST_LINE = 'pip install "django-slashml[celery]" "pytest>=8" "pytest-django>=4.8"'


def documented_install_lines() -> list[str]:
    """Every distinct install line in the README and docs/, the README's first.

    A command naming the package in any other form (single quotes, other arguments, a
    version) is an error here, so no documented line escapes the install tier.
    """
    lines: list[str] = []
    for document in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for command in ANY_INSTALL.findall(document.read_text()):
            line = command.strip()
            if not INSTALL_LINE.match(line):
                raise AssertionError(f"{document.name}: the install tier cannot run {line!r} word for word")
            if line not in lines:
                lines.append(line)
    return lines


def extras_of(line: str) -> set[str]:
    match = re.search(r"\[([a-z0-9,]+)\]", line)
    return set(match.group(1).split(",")) if match else set()


class Dist:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        (self.wheel,) = folder.glob("django_slashml-*.whl")
        (self.sdist,) = folder.glob("django_slashml-*.tar.gz")
        self.version = self.wheel.name.split("-")[1]


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    folder = tmp_path_factory.mktemp("dist")
    build = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(folder), str(ROOT)], capture_output=True, text=True
    )
    assert build.returncode == 0, build.stdout[-5000:] + build.stderr[-5000:]
    built = Dist(folder)
    check = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(built.wheel), str(built.sdist)],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    return built


#: A Django release a test may ask for, with the Python it runs on: the line is installed into a
#: virtualenv of that Python with Django held to that release, as in a project that pins it.
DJANGO_PYTHON = {"6.0": "3.12"}


class CleanEnv:
    """A virtualenv made as a user makes one, holding only what one install line brought."""

    def __init__(self, folder: Path, line: str, django: str | None = None) -> None:
        self.folder = folder
        self.line = line
        self.django = django
        self.bin = folder / "bin"
        self.python = str(self.bin / "python")
        self.extras = extras_of(line)
        self.pip_output = ""

    def install(self, dist: Dist) -> CleanEnv:
        # The line as the docs give it; pip finds the package in the folder the build wrote to,
        # as it would on PyPI, and everything else where the machine's pip finds it.
        environ = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
        if self.django is None:
            venv.EnvBuilder(with_pip=True).create(self.folder)
        else:
            python = interpreter(DJANGO_PYTHON[self.django])
            subprocess.run([python, "-m", "venv", str(self.folder)], check=True, capture_output=True)
            pinned = self.folder / "constraints.txt"
            pinned.write_text(f"Django~={self.django}.0\n")
            environ["PIP_CONSTRAINT"] = str(pinned)
        environ["PATH"] = f"{self.bin}{os.pathsep}{environ['PATH']}"
        environ["PIP_FIND_LINKS"] = " ".join(filter(None, [environ.get("PIP_FIND_LINKS", ""), str(dist.folder)]))
        # Python compiles the modules a test imports when it imports them; compiling every
        # installed file up front proves nothing here.
        environ["PIP_NO_COMPILE"] = "1"
        if self.line == SDIST_LINE:
            environ["PIP_NO_BINARY"] = "django-slashml"
        result = subprocess.run(
            ["bash", "-c", self.line], cwd=self.folder, env=environ, capture_output=True, text=True, timeout=900
        )
        assert result.returncode == 0, f"{self.line}\n{result.stdout[-5000:]}\n{result.stderr[-5000:]}"
        self.pip_output = result.stdout + result.stderr
        return self

    def run_python(self, code: str, cwd: Path) -> str:
        env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")}
        result = subprocess.run([self.python, "-c", code], cwd=cwd, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout


@pytest.fixture(scope="session")
def clean_env(
    dist: Dist, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Callable[[str], CleanEnv]:
    """Install lines, each run word for word in its own new virtualenv, made once per session.

    Every line a collected test names (its ``line`` parameter) is installed at the first call,
    two at a time: pip waits on files as much as on a core, and the tests then run in turn.
    """
    base = tmp_path_factory.mktemp("envs")
    wanted: list[tuple[str, str | None]] = []
    for item in request.session.items:
        params = item.callspec.params if hasattr(item, "callspec") else {}
        if params.get("line") and (params["line"], params.get("django")) not in wanted:
            wanted.append((params["line"], params.get("django")))
    made: dict[tuple[str, str | None], CleanEnv] = {}

    def make(line: str, django: str | None = None) -> CleanEnv:
        if not made:
            missing = [key for key in wanted if key != (line, django)]
            with ThreadPoolExecutor(max_workers=2) as pool:
                envs = [CleanEnv(base / f"env{index}", *key) for index, key in enumerate([(line, django), *missing])]
                for env in pool.map(lambda env: env.install(dist), envs):
                    made[env.line, env.django] = env
        if (line, django) not in made:
            made[line, django] = CleanEnv(base / f"env{len(made)}", line, django).install(dist)
        return made[line, django]

    return make
