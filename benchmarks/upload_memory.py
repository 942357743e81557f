"""3. Upload memory: peak RSS growth of one upload, each in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.helpers import big_wav

from .harness import ROOT, SandboxProcess
from .report import Section, Target

MiB = 2**20


def _probe(which: str, url: str, path: str) -> int:
    result = subprocess.run(
        [sys.executable, "-m", "tests.upload_probe", which, url, path],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"upload probe ({which}) failed:\n{result.stderr[-2000:]}")
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    if not measured["uploaded"]:
        raise RuntimeError(f"upload probe ({which}) got no uploaded_url")
    return int(measured["after"] - measured["before"])


def run(bench: Any) -> Section:
    section = Section(
        title="3. Upload memory",
        setup=(
            "Peak RSS growth (the process's own VmHWM after the upload minus before it) of one upload to the sandbox, "
            "each in a new Python process: django-slashml's `SlashMLClient.upload` (a streaming multipart "
            "body) against the vendor client's `upload_audio` (requests' `files=`)."
        ),
        headers=["file", "django-slashml", "vendor upload_audio", "ratio"],
    )
    sandbox = SandboxProcess(bench.workdir, "uploads")
    growth_at: dict[int, int] = {}
    try:
        for size in bench.upload_sizes:
            path = str(big_wav(bench.workdir / f"upload-{size}.wav", size))
            ours = _probe("app", sandbox.url, path)
            sandbox.reset()  # deletes the stored copy: two of 1 GiB need not sit on disk
            theirs = _probe("vendor", sandbox.url, path)
            sandbox.reset()
            growth_at[size] = ours
            # Below 1 MiB the app's growth is noise: compare against 1 MiB instead.
            ratio = f"{theirs / ours:.0f}x" if ours >= MiB else f"{theirs / MiB:.0f}x or more"
            section.rows.append([f"{size // MiB} MiB", f"{ours / MiB:.1f} MiB", f"{theirs / MiB:.1f} MiB", ratio])
    finally:
        sandbox.stop()
    largest = max(growth_at)
    section.targets.append(
        Target(
            f"growth under 64 MiB at 1 GiB (largest here: {largest // MiB} MiB)",
            f"{growth_at[largest] / MiB:.1f} MiB",
            growth_at[largest] < 64 * MiB,
        )
    )
    return section
