"""Uploads stream: the uploading process's memory does not grow with the file's size.

Measured, not assumed: a child process (:mod:`tests.upload_probe`, which the benchmarks
use too) uploads a 256 MiB file to the sandbox and reports its own peak RSS before and
after (VmHWM, not ru_maxrss: see there); the sandbox, in this process,
is traced with tracemalloc while it receives the file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from .helpers import big_wav

pytestmark = pytest.mark.slow

SIZE = 256 * 1024 * 1024
LIMIT = 64 * 1024 * 1024

ROOT = Path(__file__).resolve().parents[1]


def test_a_256_mib_upload_grows_the_uploader_by_less_than_64_mib(sandbox, sandbox_control, tmp_path) -> None:
    path = big_wav(tmp_path / "long.wav", SIZE)
    tracemalloc.start()  # the sandbox receives in this process: its Python allocations are traced
    result = subprocess.run(
        [sys.executable, "-m", "tests.upload_probe", "app", sandbox.url, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    _, sandbox_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    measured = json.loads(result.stdout)
    growth = measured["after"] - measured["before"]
    print(f"peak RSS growth while uploading {SIZE >> 20} MiB: {growth / 2**20:.1f} MiB")
    print(f"sandbox's peak traced allocations while receiving it: {sandbox_peak / 2**20:.1f} MiB")
    assert growth < LIMIT
    assert sandbox_peak < LIMIT, "the sandbox streams uploads to disk too"
    assert sandbox_control.stats()["bytes_uploaded"] == SIZE
