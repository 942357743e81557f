"""Run the benchmarks and print (and optionally write) the tables: ``python -m benchmarks.run``.

Needs PostgreSQL and Redis on 127.0.0.1 (as the service test tier does). Each run
creates its own database (``--database``, dropped and created again) and uses Redis
databases 13 and 14, which it empties.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ("occupancy", "uploads", "throughput", "api", "polling", "compare", "search", "learning", "clock")


class Bench:
    """What every benchmark needs: options, a scratch folder, settings for workers, resets."""

    def __init__(self, options: argparse.Namespace, workdir: Path) -> None:
        from django_slashml.conf import DEFAULTS

        self.options = options
        self.workdir = workdir
        self.defaults = DEFAULTS
        self.processing_times = [float(value) for value in options.processing_times.split(",")]
        self.upload_sizes = [int(value) * 2**20 for value in options.upload_sizes.split(",")]

    def slashml(self, url: str) -> dict[str, Any]:
        from .harness import API_KEY

        return {
            "API_URL": url,
            "API_KEY": API_KEY,
            "ALLOW_PRIVATE_AUDIO_URLS": True,
            "ALLOW_PRIVATE_STORAGE_URLS": True,
        }

    def flush(self) -> None:
        from django.conf import settings

        from .harness import flush_redis

        flush_redis(settings.CELERY_BROKER_URL, os.environ["SLASHML_BENCH_TALLY"])


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--only", help=f"comma-separated sections to run, of: {', '.join(SECTIONS)}")
    parser.add_argument("--jobs", type=int, default=200, help="occupancy: jobs (default 200)")
    parser.add_argument("--processing-time", type=float, default=5.0, help="occupancy: seconds per job (default 5)")
    parser.add_argument("--processing-times", default="5,60,600", help="status calls: processing times (s)")
    parser.add_argument("--polling-jobs", type=int, default=20, help="status calls: jobs per row (default 20)")
    parser.add_argument("--clock-jobs", type=int, default=30, help="real-clock polls: jobs after warm-up")
    parser.add_argument("--upload-sizes", default="256,1024", help="upload memory: file sizes in MiB")
    parser.add_argument("--throughput-jobs", type=int, default=1000, help="throughput: jobs (default 1000)")
    parser.add_argument("--api-jobs", type=int, default=100_000, help="REST API: jobs in the table (default 100000)")
    parser.add_argument("--search-jobs", type=int, default=100_000, help="search: transcripts (default 100000)")
    parser.add_argument("--search-repeat", type=int, default=40, help="search: requests per query (default 40)")
    parser.add_argument("--search-sqlite-jobs", type=int, default=10_000, help="search: SQLite transcripts")
    parser.add_argument("--search-index-jobs", type=int, default=200, help="search: jobs indexed to time it")
    parser.add_argument("--database", default="slashml_bench", help="PostgreSQL database to (re)create")
    parser.add_argument("--write", metavar="PATH", help="also write the tables as Markdown, e.g. docs/benchmarks.md")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run (minutes, not half an hour)")
    options = parser.parse_args(argv)
    if options.quick:  # smaller sizes, where not given on the command line
        quick = {"jobs": 40, "processing_times": "5,60", "polling_jobs": 6, "clock_jobs": 10, "upload_sizes": "64",
                 "throughput_jobs": 200, "api_jobs": 10_000, "search_jobs": 10_000,
                 "search_sqlite_jobs": 2_000}  # fmt: skip
        for name, value in quick.items():
            if getattr(options, name) == parser.get_default(name):
                setattr(options, name, value)
    options.sections = options.only.split(",") if options.only else list(SECTIONS)
    unknown = set(options.sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}")
    return options


def main(argv: list[str] | None = None) -> None:
    options = parse(argv)
    workdir = Path(tempfile.mkdtemp(prefix="slashml-bench-"))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="benchmarks.settings",
        SLASHML_BENCH_DATABASE=options.database,
        SLASHML_BENCH_MEDIA_ROOT=str(workdir / "media"),
        SLASHML_BENCH_TALLY=os.environ.get("SLASHML_BENCH_TALLY", "redis://127.0.0.1:6379/13"),
    )
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    from .harness import fresh_database
    from .report import write

    fresh_database(options.database)
    django.setup()
    from . import (
        api_requests,
        comparisons,
        learning,
        learning_clock,
        occupancy,
        polling,
        search,
        throughput,
        upload_memory,
    )

    call_command("migrate", verbosity=0)
    bench = Bench(options, workdir)
    started = time.monotonic()
    print(f"benchmarks in {workdir}; sections: {', '.join(options.sections)}", flush=True)
    # The vendor's real-time 5 s loop runs in threads during everything else.
    vendor = polling.VendorPolling(bench, bench.processing_times) if "polling" in options.sections else None
    runners = {
        "occupancy": occupancy.run,
        "uploads": upload_memory.run,
        "throughput": throughput.run,
        "api": api_requests.run,
        "polling": lambda b: polling.run(b, vendor),
        "compare": comparisons.run,
        "search": search.run,
        "learning": learning.run,
        "clock": learning_clock.run,
    }
    sections = []
    try:
        for name in options.sections:
            section = runners[name](bench)
            sections.append(section)
            print(section.text(), flush=True)
            for note in section.notes:
                print(f"  {note}", flush=True)
    finally:
        bench.flush()
    print(f"done in {time.monotonic() - started:.0f} s", flush=True)
    if options.write:
        arguments = " ".join(argv if argv is not None else sys.argv[1:])
        command = "make bench" if arguments == "--write docs/benchmarks.md" else f"python -m benchmarks.run {arguments}"
        write(ROOT / options.write, sections, command)
        print(f"wrote {options.write}")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
