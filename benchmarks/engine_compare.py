"""The engine of a git ref beside this checkout's: statements per job and jobs/s, runs interleaved.

    python -m benchmarks.engine_compare --ref main --jobs 200 --repeat 3

Each run is a fresh process on PostgreSQL (127.0.0.1, a scratch database of its own) that imports
``django_slashml`` from one tree: the ref's, exported with ``git archive``, or this checkout's. The
test settings and ``tests/statements.py`` come from this checkout for both. A run creates ``--jobs``
jobs from an audio URL and takes both steps of each (submit, then the poll that completes it) in
its own process against an in-process sandbox that finishes in 20 ms: the engine's own cost, with
no Celery worker or broker in the way. Runs alternate between the two trees, because this
machine's speed moves within a minute. Figures only: there is no goal.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "slashml_bench_engine"


def _child(jobs: int) -> dict[str, object]:
    import django

    django.setup()
    from dataclasses import asdict

    from django.core.management import call_command
    from django.test import override_settings
    from django.utils import timezone

    from django_slashml import transcribe
    from django_slashml.jobs import pipeline
    from django_slashml.models import JobStatus, TranscriptionJob
    from django_slashml.remote.client import SlashMLClient, reset_default_client
    from django_slashml.testing import sandbox_settings, start_sandbox
    from tests.statements import count_job_statements

    call_command("migrate", verbosity=0)
    # The service tier's settings install the reliability suite's signal recorder: not the engine's cost.
    from django_slashml import signals
    from tests.reliability import recorder

    for name in recorder.SIGNALS:
        getattr(signals, name).disconnect(dispatch_uid=f"reliability-{name}")
    TranscriptionJob.objects.all().delete()
    sandbox = start_sandbox(processing_time=0.02)
    instant = {"POLL_INITIAL_DELAY": 0.02, "POLL_MIN_INTERVAL": 0.02, "POLL_JITTER": 0.0}
    try:
        with override_settings(SLASHML=sandbox_settings(sandbox, **instant)):
            reset_default_client()
            wav = ROOT / "tests" / "fixtures" / "speech.wav"
            with wav.open("rb") as fileobj:
                client = SlashMLClient(sandbox.url, "sandbox-key")
                url = client.upload(
                    fileobj, filename="s.wav", content_type="audio/wav", service_provider="assembly"
                ).url
            statements = asdict(count_job_statements(url, processing_wait=0.05))
            ids = [transcribe(url, service_provider="assembly").pk for _ in range(jobs)]
            started = time.perf_counter()
            for job_id in ids:
                pipeline.advance(job_id)
            time.sleep(0.05)  # the sandbox finishes the last ones
            TranscriptionJob.objects.filter(pk__in=ids).update(next_poll_at=timezone.now())
            for job_id in ids:
                pipeline.advance(job_id)
            elapsed = time.perf_counter() - started
            done = TranscriptionJob.objects.filter(pk__in=ids, status=JobStatus.COMPLETED).count()
            reset_default_client()
    finally:
        sandbox.stop()
    import django_slashml

    return {
        "engine": django_slashml.__file__,
        "statements": statements,
        "done": done,
        "seconds": elapsed,
        "jobs_per_second": done / elapsed,
    }


def _psql(*commands: str) -> None:
    user = os.environ.get("PGUSER", "postgres")
    for command in commands:
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", user, "-q", "-c", command], capture_output=True, check=True)


def _export(ref: str, into: Path) -> Path:
    archive = subprocess.run(["git", "archive", ref, "django_slashml"], cwd=ROOT, capture_output=True, check=True)
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into


def _run(tree: Path, database: str, jobs: int) -> dict[str, object]:
    env = {
        **os.environ,
        "PYTHONPATH": f"{tree}{os.pathsep}{ROOT}",
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "SLASHML_TEST_TIER": "services",
        "SLASHML_TEST_DATABASE": database,
        "SLASHML_TEST_BROKER": "memory://",
    }
    command = [sys.executable, "-m", "benchmarks.engine_compare", "--child", "--jobs", str(jobs)]
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"a run in {tree} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ref", default="main", help="the git ref whose engine runs beside this one")
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        print(json.dumps(_child(options.jobs)))
        return
    # A database per tree: each tree migrates its own schema, and an older tree's INSERTs would
    # miss the columns a newer tree's migrations add.
    databases = [f"{DATABASE}_{index}" for index in range(2)]
    for database in databases:
        _psql(f"DROP DATABASE IF EXISTS {database}", f"CREATE DATABASE {database}")
    with tempfile.TemporaryDirectory(prefix="slashml-engine-") as folder:
        trees = {options.ref: _export(options.ref, Path(folder)), "this checkout": ROOT}
        results: dict[str, list[dict[str, object]]] = {name: [] for name in trees}
        for _ in range(options.repeat):
            for (name, tree), database in zip(trees.items(), databases, strict=True):
                results[name].append(_run(tree, database, options.jobs))
    print(f"| engine | statements per job (create + submit + poll) | jobs/s, {options.repeat} runs | median |")
    print("| --- | --- | --- | ---: |")
    for name, runs in results.items():
        counts = runs[0]["statements"]
        assert isinstance(counts, dict)
        rates = [float(str(run["jobs_per_second"])) for run in runs]
        total = sum(int(value) for value in counts.values())
        split = " + ".join(str(counts[key]) for key in ("create", "submit", "poll"))
        print(
            f"| {name} | {total} ({split}) | {', '.join(f'{r:.0f}' for r in rates)} | {statistics.median(rates):.0f} |"
        )


if __name__ == "__main__":
    main()
