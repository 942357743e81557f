"""What PyPI shows of the package: a description whose every link and picture works there.

PyPI renders the long description away from the repository, so a relative link or picture
(``docs/api.md``, ``docs/example-page.png``) is a dead end on the project's page. ``make
package-check`` builds the distributions and runs twine, check-wheel-contents and pyroma on them.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Markdown links and pictures, ``[text](target)`` and ``![alt](target)``, and HTML ``src``/``href``.
LINK_TARGETS = re.compile(r"\]\(([^)\s]+)[^)]*\)|(?:src|href)=[\"']([^\"']+)[\"']")


def metadata() -> configparser.SectionProxy:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    return parser["metadata"]


def long_description_files() -> list[Path]:
    value = metadata()["long_description"]
    assert value.startswith("file:"), value
    return [ROOT / name.strip() for name in value.removeprefix("file:").split(",")]


def test_the_pypi_description_has_no_relative_link_or_picture() -> None:
    for path in long_description_files():
        targets = [a or b for a, b in LINK_TARGETS.findall(path.read_text())]
        relative = [target for target in targets if not target.startswith("https://")]
        assert relative == [], f"{path.name}: PyPI cannot follow {relative}"


def test_the_metadata_names_an_author_and_keywords_and_invents_no_address() -> None:
    data = metadata()
    assert data["author"].strip() and len(data["keywords"].split(",")) >= 5
    # No public repository or documentation host exists yet: no URL is published until one does.
    assert "project_urls" not in data and "url" not in data and "author_email" not in data
