"""Uploads stream: the uploading process's memory does not grow with the file's size.

Measured, not assumed: a child process uploads a 256 MiB file to the sandbox and
reports its peak RSS before and after (VmHWM); the sandbox, in this process,
is traced with tracemalloc while it receives the file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc

import pytest

from .helpers import big_wav

pytestmark = pytest.mark.slow

SIZE = 256 * 1024 * 1024
LIMIT = 64 * 1024 * 1024

# The child's own peak RSS is VmHWM: ru_maxrss would start at this (larger) process's peak,
# which Linux carries across fork and exec, and hide the child's growth below it.
CHILD = """
import json, sys
from django_slashml.client import SlashMLClient
def peak():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
url, path = sys.argv[1], sys.argv[2]
client = SlashMLClient(url, "sandbox-key", upload_read_timeout=120)
before = peak()
with open(path, "rb") as fileobj:
    remote = client.upload(fileobj, filename="long.wav", content_type="audio/wav", service_provider="assembly")
after = peak()
print(json.dumps({"before": before, "after": after, "url": remote.url}))
"""


def test_a_256_mib_upload_grows_the_uploader_by_less_than_64_mib(sandbox, sandbox_control, tmp_path) -> None:
    path = big_wav(tmp_path / "long.wav", SIZE)
    tracemalloc.start()  # the sandbox receives in this process: its Python allocations are traced
    result = subprocess.run(
        [sys.executable, "-c", CHILD, sandbox.url, str(path)], capture_output=True, text=True, timeout=300, check=True
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
