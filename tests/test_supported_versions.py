"""The Django and Python releases the package claims are the ones CI runs, and the README says so.

setup.cfg's classifiers are the promise; tests/install/matrix.py's pairs must run each release
at least once (the default and service tiers run .venv's pair, the matrix the others), and the
README's "Requires" line and the install_requires floor must name the same releases.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

from tests.install.matrix import PAIRS

ROOT = Path(__file__).resolve().parent.parent


def classifier_versions(framework: str) -> set[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    prefix = f"{framework} :: "
    found = set()
    for line in config["metadata"]["classifiers"].split("\n"):
        if line.strip().startswith(prefix):
            version = line.strip().removeprefix(prefix)
            if re.fullmatch(r"\d+\.\d+", version):
                found.add(version)
    return found


def test_the_matrix_runs_every_django_and_python_release_the_classifiers_name() -> None:
    djangos = classifier_versions("Framework :: Django")
    pythons = classifier_versions("Programming Language :: Python")
    assert djangos and pythons
    assert {pair.split(":")[0] for pair in PAIRS} == djangos
    assert {pair.split(":")[1] for pair in PAIRS} == pythons


def test_the_readme_and_install_requires_name_the_same_django_releases() -> None:
    djangos = sorted(classifier_versions("Framework :: Django"), key=lambda v: tuple(map(int, v.split("."))))
    requires = re.search(r"^Requires Python [^,]+, Django ([\d. /]+)", (ROOT / "README.md").read_text(), re.M)
    assert requires, "the README's Requires line"
    assert requires.group(1).strip().split(" / ") == djangos
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    assert f"Django>={djangos[0]}" in config["options"]["install_requires"].split()
