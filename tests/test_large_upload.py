"""A 1 GiB file goes through the real pipeline with the worker's memory flat.

A child process plays the worker: with the tests' settings it stores the file
(``transcribe()``, hashing as it copies) and runs the job's first step
(``pipeline.advance()``: the file streamed from storage to the sandbox's upload
endpoint, then submitted). It measures its own resident memory around each part:
the peak (``VmHWM``, reset through ``/proc/self/clear_refs`` before each part, or
``ru_maxrss`` where that is not possible) minus what it held before. A limit on
memory, not on time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import big_wav

pytestmark = pytest.mark.slow

SIZE = 1024**3
LIMIT = 64 * 1024 * 1024
ROOT = Path(__file__).resolve().parent.parent

WORKER = """
import json, os, resource, shutil, sys

import django

django.setup()
from django.conf import settings
from django.core.management import call_command

from django_slashml import transcribe
from django_slashml.jobs import pipeline


def status(field):
    with open("/proc/self/status") as lines:
        for line in lines:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024


def start_measuring():
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # resets VmHWM to the current RSS
        return status("VmRSS"), lambda: status("VmHWM")
    except OSError:  # no way to reset the peak: measure growth of the lifetime peak instead
        maxrss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return maxrss(), maxrss


try:
    call_command("migrate", verbosity=0)
    before, peak = start_measuring()
    job = transcribe(sys.argv[1])
    store_growth = peak() - before
    before, peak = start_measuring()
    step = pipeline.advance(job.pk)
    upload_growth = peak() - before
    job.upload.refresh_from_db()
    print(json.dumps({
        "store_growth": store_growth,
        "upload_growth": upload_growth,
        "step": step,
        "sha256": job.upload.sha256,
        "remote_url": job.upload.remote_url,
    }))
finally:
    shutil.rmtree(settings.BASE, ignore_errors=True)
"""


def test_a_1_gib_file_is_stored_and_uploaded_with_the_worker_growing_by_less_than_64_mib(
    sandbox, sandbox_control, tmp_path
) -> None:
    source = big_wav(tmp_path / "hours.wav", SIZE)
    media = tmp_path / "media"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "SLASHML_TEST_MEDIA_ROOT": str(media),
        "SLASHML_TEST_SLASHML": json.dumps(
            {"API_URL": sandbox.url, "API_KEY": "sandbox-key", "UPLOAD_READ_TIMEOUT": 300}
        ),
    }
    env.pop("SLASHML_TEST_TIER", None)  # the worker's own SQLite database, whatever tier runs this
    try:
        result = subprocess.run(
            [sys.executable, "-c", WORKER, str(source)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        measured = json.loads(result.stdout.strip().splitlines()[-1])
        print(f"storing 1 GiB grew the worker's RSS by {measured['store_growth'] / 2**20:.1f} MiB")
        print(f"uploading 1 GiB grew the worker's RSS by {measured['upload_growth'] / 2**20:.1f} MiB")
        assert measured["step"] == "submitted"
        assert measured["store_growth"] < LIMIT
        assert measured["upload_growth"] < LIMIT
        assert sandbox_control.stats()["bytes_uploaded"] == SIZE
        received = list(sandbox.state.uploads.values())
        assert [upload.sha256 for upload in received] == [measured["sha256"]], "the hash taken while storing"
        assert measured["remote_url"].endswith(received[0].id)
    finally:
        source.unlink(missing_ok=True)
        for stored in media.rglob("*"):
            if stored.is_file():
                stored.unlink()
        sandbox_control.reset()  # the sandbox's received copy
