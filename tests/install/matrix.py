"""The Django x Python pairs the classifiers promise, each in a virtualenv of its own.

Each pair runs the files of ``tests/tiers.py``'s MATRIX (a real worker, the sandbox, the REST
API, the admin, a browser, the README's steps...) against PostgreSQL and Redis, as the service
tier does, on both cores; then MATRIX_SQLITE, the files whose code takes another path on SQLite.
The pair of the interpreter running this (``.venv``'s) is left out: the default and service
tiers run the whole suite on it. Interpreters come from PATH or from pyenv (``$PYENV_ROOT/versions``).

    python -m tests.install.matrix 5.2:3.11 6.0:3.12 6.1:3.13
    python -m tests.install.matrix --prepare 6.0:3.12 6.1:3.13   # only the virtualenvs

``.ci/run`` prepares the virtualenvs in the background while the earlier tiers run: installing
them is mostly waiting on pip, which the tiers' tests need not wait for.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import django

from tests.tiers import MATRIX, MATRIX_SQLITE

ROOT = Path(__file__).resolve().parent.parent.parent
VENVS = ROOT / ".venv-matrix"
EXTRAS = "sandbox,api,s3,test"
#: The classifiers' pairs: each Django release and each Python at least once.
PAIRS = ["5.2:3.11", "6.0:3.12", "6.1:3.13"]
#: As the Makefile's XDIST: two workers, a file's tests on one of them.
XDIST = ["-n", "2", "--dist", "loadfile"]


def interpreter(version: str) -> str:
    found = shutil.which(f"python{version}")
    if found and subprocess.run([found, "--version"], capture_output=True).returncode == 0:
        return found
    pyenv = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates = sorted(
        glob.glob(f"{pyenv}/versions/{version}.*/bin/python{version}"),
        key=lambda path: [int(part) for part in re.findall(r"\d+", Path(path).parent.parent.name)],
    )
    if not candidates:
        raise SystemExit(f"No Python {version}: neither python{version} on PATH nor {pyenv}/versions/{version}.*")
    return candidates[-1]


def environment(django_version: str, python: str) -> Path:
    """A virtualenv with this checkout's extras and Django ``django_version``.x, rebuilt when setup.cfg changes."""
    folder = VENVS / f"django{django_version.replace('.', '')}-py{python.replace('.', '')}"
    wanted = hashlib.sha256((ROOT / "setup.cfg").read_bytes() + django_version.encode()).hexdigest()
    stamp = folder / ".installed"
    if stamp.exists() and stamp.read_text() == wanted:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    subprocess.run([interpreter(python), "-m", "venv", str(folder)], check=True)
    # --no-compile: Python compiles what the tests import when they import it; compiling every
    # installed file up front (boto3's, moto's, playwright's) only slows a clean clone down.
    pip = [str(folder / "bin" / "python"), "-m", "pip", "install", "-q", "--no-compile"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    major, minor = django_version.split(".")
    subprocess.run([*pip, "-e", f"{ROOT}[{EXTRAS}]", f"Django>={django_version},<{major}.{int(minor) + 1}"], check=True)
    stamp.write_text(wanted)
    return folder


def this_pair() -> str:
    """The Django x Python pair of the interpreter running this, e.g. ``5.2:3.11``."""
    return f"{django.VERSION[0]}.{django.VERSION[1]}:{sys.version_info[0]}.{sys.version_info[1]}"


def prepare(pairs: list[str]) -> int:
    """Build each pair's virtualenv (other than this environment's), and run nothing."""
    for pair in pairs:
        if pair != this_pair():
            django_version, python = pair.split(":")
            started = time.monotonic()
            environment(django_version, python)
            print(f"==> Django x Python {pair}: virtualenv ready in {time.monotonic() - started:.0f} s", flush=True)
    return 0


def main(pairs: list[str]) -> int:
    results = []
    for pair in pairs:
        if pair == this_pair():
            print(f"==> Django x Python {pair}: this environment's; the default and service tiers run it", flush=True)
            continue
        django_version, python = pair.split(":")
        started = time.monotonic()
        folder = environment(django_version, python)
        version = subprocess.run(
            [str(folder / "bin" / "python"), "-c", "import django, sys; print(django.get_version(), sys.version[:6])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        pytest = [str(folder / "bin" / "pytest"), "-p", "no:cacheprovider", "-q"]
        print(f"==> Django {django_version} on Python {python} ({version}): tests/tiers.py's MATRIX", flush=True)
        services = {**os.environ, "SLASHML_TEST_TIER": "services"}
        code = subprocess.run([*pytest, *XDIST, *MATRIX], cwd=ROOT, env=services).returncode
        if code == 0:
            print(f"==> Django {django_version} on Python {python}: MATRIX_SQLITE, on SQLite", flush=True)
            sqlite = {**os.environ, "SLASHML_TEST_TIER": "default"}
            code = subprocess.run([*pytest, *MATRIX_SQLITE], cwd=ROOT, env=sqlite).returncode
        results.append((pair, version, code, time.monotonic() - started))
    print("\nDjango x Python matrix:")
    for pair, version, code, seconds in results:
        print(f"  {pair:10} {version:16} {'passed' if code == 0 else f'FAILED (exit {code})'} in {seconds:.0f} s")
    return 0 if all(code == 0 for _, _, code, _ in results) else 1


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if arguments[:1] == ["--prepare"]:
        sys.exit(prepare(arguments[1:] or PAIRS))
    sys.exit(main(arguments or PAIRS))
