"""Headless Chromium for the browser tests: Debian's ``chromium``, driven by Playwright.

Without it a browser test is skipped with the reason, except under CI=true, where
``.ci/run`` installs it and the tests are required.
"""

from __future__ import annotations

import os
import shutil

import pytest

from .extras import require

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


def require_chromium() -> str:
    require("playwright")
    if CHROMIUM:
        return CHROMIUM
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("Chromium is required in CI: .ci/run installs Debian's chromium package.")
    pytest.skip("Browser test skipped: no chromium on PATH (apt-get install chromium; CI installs it).")
