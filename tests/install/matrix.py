"""The Django x Python pairs the classifiers promise, each in a virtualenv of its own.

``make test-matrix`` runs the end-to-end subset (a real worker, the sandbox, the REST API,
the admin, a browser) on each pair; ``make test`` runs the whole suite on
the default one. Interpreters come from PATH or from pyenv (``$PYENV_ROOT/versions``).

    python -m tests.install.matrix 4.2:3.11 5.2:3.12 6.0:3.13
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

ROOT = Path(__file__).resolve().parent.parent.parent
VENVS = ROOT / ".venv-matrix"
EXTRAS = "sandbox,api,s3,test"
END_TO_END = [
    "tests/test_end_to_end.py",
    "tests/test_pipeline.py",
    "tests/test_sandbox.py",
    "tests/test_api.py",
    "tests/test_admin.py",
    "tests/test_admin_browser.py",
    "tests/test_configuration.py",
    "tests/test_optional_dependencies.py",
    "tests/test_bad_input.py",  # the URL guard leans on ipaddress, whose tables differ between Pythons
    "tests/test_closing_write.py",  # the closing write's statements apart (SQLite) on each Django
    "tests/test_dedupe.py",  # the reuse lookup's written-out SQL and its converters
]


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


def environment(django: str, python: str) -> Path:
    """A virtualenv with this checkout's extras and Django ``django``.x, rebuilt when setup.cfg changes."""
    folder = VENVS / f"django{django.replace('.', '')}-py{python.replace('.', '')}"
    wanted = hashlib.sha256((ROOT / "setup.cfg").read_bytes() + django.encode()).hexdigest()
    stamp = folder / ".installed"
    if stamp.exists() and stamp.read_text() == wanted:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    subprocess.run([interpreter(python), "-m", "venv", str(folder)], check=True)
    pip = [str(folder / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    major, minor = django.split(".")
    subprocess.run([*pip, "-e", f"{ROOT}[{EXTRAS}]", f"Django>={django},<{major}.{int(minor) + 1}"], check=True)
    stamp.write_text(wanted)
    return folder


def main(pairs: list[str]) -> int:
    results = []
    for pair in pairs:
        django, python = pair.split(":")
        started = time.monotonic()
        folder = environment(django, python)
        version = subprocess.run(
            [str(folder / "bin" / "python"), "-c", "import django, sys; print(django.get_version(), sys.version[:6])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        print(f"==> Django {django} on Python {python} ({version}): the end-to-end subset", flush=True)
        code = subprocess.run(
            [str(folder / "bin" / "pytest"), "-p", "no:cacheprovider", "-q", *END_TO_END], cwd=ROOT
        ).returncode
        results.append((pair, version, code, time.monotonic() - started))
    print("\nDjango x Python matrix:")
    for pair, version, code, seconds in results:
        print(f"  {pair:10} {version:16} {'passed' if code == 0 else f'FAILED (exit {code})'} in {seconds:.0f} s")
    return 0 if all(code == 0 for _, _, code, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["4.2:3.11", "5.2:3.12", "6.0:3.13"]))
