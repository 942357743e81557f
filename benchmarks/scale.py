"""9. A million jobs: every admin page and API list a reviewer opens, at two table sizes.

``python -m benchmarks.scale`` (``make bench-scale``) generates each size once in a database of
its own (``slashml_scale_1000000`` ...; benchmarks/scale_data.py), reused by later runs, then
times each page through Django's test client in a process per database: one warm-up, then the
median and p95 of ``--repeat`` requests, the number of queries and the slowest of them. The
ratio column compares each figure with the smallest size's.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(os.environ.get("SLASHML_SCALE_RESULTS", "/tmp/slashml-scale"))
START, END = "<!-- scale: start (written by benchmarks/scale.py) -->", "<!-- scale: end -->"

#: Targets at the smallest size on PostgreSQL, by the kind of page (milliseconds, median).
#: Page numbers have no target: the cursor is the fast path, and ``?page=`` is kept for the clients
#: that ask for it, at the cost of a COUNT and an OFFSET (docs/api.md).
TARGETS = {"admin list": 150.0, "admin search": 300.0, "job page": 300.0, "api": 50.0, "api search": 300.0}
GROWTH = 1.5


def database_name(vendor: str, size: int) -> str:
    if vendor == "sqlite":
        return f"/var/tmp/slashml_scale_{size}.sqlite3"
    return f"slashml_scale_{size}"


def prepare_database(vendor: str, name: str) -> None:
    """Create the database unless it exists (a finished one is reused; an unfinished one restarts)."""
    if vendor == "postgresql":
        import psycopg

        with psycopg.connect(host="127.0.0.1", dbname="postgres", user=os.environ.get("PGUSER", "postgres")) as conn:
            conn.autocommit = True
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{name}"')
    elif vendor == "mariadb":
        subprocess.run(
            ["mariadb", "-uroot", "-h127.0.0.1", "-e", f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4"],
            check=True,
        )


def drop_database(vendor: str, name: str) -> None:
    if vendor == "postgresql":
        import psycopg

        with psycopg.connect(host="127.0.0.1", dbname="postgres", user=os.environ.get("PGUSER", "postgres")) as conn:
            conn.autocommit = True
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    elif vendor == "mariadb":
        subprocess.run(
            ["mariadb", "-uroot", "-h127.0.0.1", "-e", f"DROP DATABASE IF EXISTS `{name}`; CREATE DATABASE `{name}`"],
            check=True,
        )
    elif os.path.exists(name):
        os.remove(name)


# -- one database, in its own process -----------------------------------------------------------


def nearest_rank(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def cursor_at(position: Any) -> str:
    """A DRF cursor that starts at ``position`` (as CursorPagination encodes one)."""
    return base64.b64encode(urlencode({"p": str(position)}).encode("ascii")).decode("ascii")


def pages(total: int) -> list[tuple[str, str, str, str]]:
    """(kind, request, user, URL) for every page measured."""
    from datetime import timedelta

    from django.utils import timezone

    from django_slashml.models import TranscriptionJob

    from .scale_data import BIG_JOB_REMOTE_ID, word

    jobs = TranscriptionJob.objects.order_by("-created_at", "-id")
    big = TranscriptionJob.objects.get(remote_id=BIG_JOB_REMOTE_ID)
    ordinary = jobs.filter(status="COMPLETED").only("pk").first()
    middle = jobs.values_list("created_at", flat=True)[total // 2]
    owner_jobs = jobs.filter(owner__username="owner3")
    owner_middle = owner_jobs.values_list("created_at", flat=True)[total // 20]
    week = (timezone.now() - timedelta(days=7)).date().isoformat()
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
    common, rare = word(1), word(7001)
    phrase = f'"{word(2)} {word(3)}"'
    admin = "/admin/django_slashml/transcriptionjob/"
    api = "/api/slashml/jobs/"
    return [
        ("admin list", "admin job list", "staff", admin),
        ("admin list", "admin job list, page 2", "staff", admin + "?p=2"),
        ("admin list", "admin job list, status ERROR", "staff", admin + "?status__exact=ERROR"),
        ("admin list", "admin job list, status QUEUED", "staff", admin + "?status__exact=QUEUED"),
        ("admin list", "admin job list, provider aws", "staff", admin + "?service_provider__exact=aws"),
        ("admin list", "admin job list, approved", "staff", admin + "?review_state__exact=approved"),
        (
            "admin list",
            "admin job list, past 7 days",
            "staff",
            admin + f"?created_at__gte={week}&created_at__lt={tomorrow}",
        ),
        ("admin search", f"admin job list, search a common word ({common})", "staff", admin + f"?q={common}"),
        ("admin search", f"admin job list, search a rare word ({rare})", "staff", admin + f"?q={rare}"),
        ("admin search", "admin transcript search, common word", "staff", admin + f"search/?q={common}"),
        ("admin search", "admin transcript search, rare word", "staff", admin + f"search/?q={rare}"),
        ("admin search", "admin transcript search, phrase", "staff", admin + f"search/?q={phrase}"),
        ("job page", "admin job page, 20,000 words", "staff", admin + f"{big.pk}/change/"),
        ("job page", "admin job page, 36 words", "staff", admin + f"{ordinary.pk}/change/"),
        ("admin list", "admin comparison list", "staff", "/admin/django_slashml/comparison/"),
        ("admin list", "admin upload list", "staff", "/admin/django_slashml/audioupload/"),
        ("api", "API jobs, staff, first page", "staff", api),
        ("api", "API jobs, staff, middle of the table (cursor)", "staff", api + f"?cursor={cursor_at(middle)}"),
        ("api page number", "API jobs, staff, page 500 (page number)", "staff", api + "?page=500"),
        ("api", "API jobs, staff, status ERROR", "staff", api + "?status=ERROR"),
        ("api", "API jobs, staff, provider aws, 7 days", "staff", api + f"?service_provider=aws&created_after={week}"),
        ("api", "API jobs, owner, first page", "owner3", api),
        (
            "api",
            "API jobs, owner, a tenth of the way (cursor)",
            "owner3",
            api + f"?cursor={cursor_at(owner_middle)}",
        ),
        ("api page number", "API jobs, owner, page 500 (page number)", "owner3", api + "?page=500"),
        ("api", f"API jobs, owner, search={rare}", "owner3", api + f"?search={rare}"),
        ("api search", "API search, owner, common word", "owner3", f"/api/slashml/search/?q={common}"),
        ("api", "API uploads, owner", "owner3", "/api/slashml/uploads/"),
        ("api", "API comparisons, owner", "owner3", "/api/slashml/comparisons/"),
    ]


def measure(vendor: str, size: int, repeat: int, only: str | None, skip: str | None = None) -> dict[str, Any]:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    clients: dict[str, Client] = {}
    for username in ("staff", "owner3"):
        client = Client()
        client.force_login(User.objects.get(username=username))
        clients[username] = client
    results: dict[str, Any] = {}
    for kind, name, user, url in pages(size):
        if (only and only not in name) or (skip and skip in name):
            continue
        client = clients[user]
        response = client.get(url)  # warm-up
        if response.status_code != 200:
            print(f"  {name}: HTTP {response.status_code} {url}", flush=True)
            results[name] = {"kind": kind, "status": response.status_code}
            continue
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        queries = list(captured.captured_queries)  # the next request resets the connection's log
        timed = [float(query["time"]) for query in queries]
        slowest = max(range(len(timed)), key=timed.__getitem__) if timed else None
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        results[name] = {
            "kind": kind,
            "median": statistics.median(times),
            "p95": nearest_rank(times, 0.95),
            "queries": len(timed),
            "slowest_ms": timed[slowest] * 1000 if slowest is not None else 0,
            "slowest_sql": queries[slowest]["sql"][:300] if slowest is not None else "",
        }
        row = results[name]
        print(
            f"  {name}: {row['median']:.0f} ms median, {row['p95']:.0f} ms p95, {row['queries']} queries; "
            f"slowest {row['slowest_ms']:.0f} ms: {row['slowest_sql'][:140]}",
            flush=True,
        )
    return results


def one(
    vendor: str, size: int, repeat: int, out: Path, generate_only: bool, only: str | None, skip: str | None = None
) -> None:
    name = database_name(vendor, size)
    prepare_database(vendor, name)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="benchmarks.settings", SLASHML_BENCH_DATABASE=name, SLASHML_BENCH_VENDOR=vendor
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from .scale_data import generate, is_finished

    started = time.monotonic()
    call_command("migrate", verbosity=1)
    migrated = time.monotonic() - started
    print(f"{vendor} {size:,}: migrate took {migrated:.1f} s", flush=True)
    if not is_finished(name):
        from django.db import connection

        connection.close()
        drop_database(vendor, name)
        call_command("migrate", verbosity=0)
        print(f"{vendor} {size:,}: generating", flush=True)
        generate(size)
    if generate_only:
        return
    upgrade = time_migrations(UPGRADE_FROM)
    for migration, seconds in upgrade.items():
        print(f"{vendor} {size:,}: {migration} took {seconds:.1f} s", flush=True)
    results = measure(vendor, size, repeat, only, skip)
    out.parent.mkdir(parents=True, exist_ok=True)
    run = {"vendor": vendor, "size": size, "migrate_s": migrated, "upgrade": upgrade, "pages": results}
    out.write_text(json.dumps(run, indent=1))


#: The last migration before this release's: the ones after it are taken down and applied again.
UPGRADE_FROM = "0009_job_audio_sha256"


def time_migrations(since: str) -> dict[str, float]:
    """Seconds each of the app's migrations after ``since`` takes on the full table, as an upgrade runs it."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    graph = MigrationExecutor(connection).loader.graph
    plan = graph.forwards_plan(graph.leaf_nodes("django_slashml")[0])
    later = [name for app, name in plan if app == "django_slashml" and name > since]
    call_command("migrate", "django_slashml", since, verbosity=0)
    timings = {}
    for name in later:
        started = time.monotonic()
        call_command("migrate", "django_slashml", name, verbosity=0)
        timings[name] = time.monotonic() - started
    return timings


# -- the report ---------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def table(runs: list[dict[str, Any]]) -> list[str]:
    """One row per page: each run's median, p95 and queries, and the growth of the first vendor's median
    from its smallest size to its largest (the other vendors are measured at one size, beside it)."""
    first = runs[0]
    same_vendor = [run for run in runs if run["vendor"] == first["vendor"]]
    headers = ["request"]
    for run in runs:
        label = f"{run['vendor']} {run['size'] / 1e6:g}M"
        headers += [f"{label} median ms", "p95", "queries"]
    if len(same_vendor) > 1:
        headers.append(f"{first['vendor']} ratio")
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    for name in first["pages"]:
        cells = [name]
        for run in runs:
            row = run["pages"].get(name)
            if row is None:
                cells += ["not run", "", ""]
                continue
            if "median" not in row:
                cells += [f"HTTP {row.get('status', '-')}", "", ""]
                continue
            cells += [_ms(row["median"]), _ms(row["p95"]), str(row["queries"])]
        if len(same_vendor) > 1:
            base, last = first["pages"][name].get("median"), same_vendor[-1]["pages"].get(name, {}).get("median")
            cells.append(f"{last / base:.2f}" if base and last else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def targets(runs: list[dict[str, Any]]) -> list[str]:
    """Each PostgreSQL page against its target, and the largest size against GROWTH times the smallest."""
    postgres = [run for run in runs if run["vendor"] == "postgresql"]
    if not postgres:
        return []
    lines = ["| request | target | measured | met |", "| --- | --- | --- | --- |"]
    base = postgres[0]
    for name, row in base["pages"].items():
        if "median" not in row:
            continue
        goal = TARGETS.get(row["kind"])
        if goal is None:
            continue
        lines.append(
            f"| {name} | ≤ {goal:.0f} ms at {base['size'] / 1e6:g}M | {_ms(row['median'])} ms | "
            f"{'yes' if row['median'] <= goal else '**no**'} |"
        )
        for run in postgres[1:]:
            later = run["pages"].get(name, {}).get("median")
            if later is None:
                continue
            ratio = later / row["median"]
            lines.append(
                f"| {name} | ≤ {GROWTH}x at {run['size'] / 1e6:g}M | {ratio:.2f}x | "
                f"{'yes' if ratio <= GROWTH else '**no**'} |"
            )
    return lines


def slowest(runs: list[dict[str, Any]]) -> list[str]:
    """Where each page's time goes at the largest PostgreSQL size: its slowest query."""
    run = [run for run in runs if run["vendor"] == "postgresql"][-1:] or runs[-1:]
    lines = []
    for name, row in run[0]["pages"].items():
        if row.get("slowest_sql"):
            sql = " ".join(row["slowest_sql"].split())[:160].replace("|", "\\|")
            lines.append(f"- {name}: {_ms(row['slowest_ms'])} ms, `{sql}`")
    return lines


def write(path: Path, runs: list[dict[str, Any]], command: str) -> None:
    from .report import reproduce_and_machine

    block = [
        START,
        "",
        *reproduce_and_machine(command),
        *[f"- `migrate` on the {run['vendor']} {run['size']:,} database: {run['migrate_s']:.1f} s" for run in runs],
        *[
            f"- upgrade from {UPGRADE_FROM} on the {run['vendor']} {run['size']:,} database: "
            + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in run.get("upgrade", {}).items())
            for run in runs
            if run.get("upgrade")
        ],
        "",
        *table(runs),
        "",
        *targets(runs),
        "",
        "The slowest query of each page:",
        "",
        *slowest(runs),
        "",
        END,
    ]
    text = path.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{path} has no {START!r} ... {END!r} markers to write between")
    before, rest = text.split(START, 1)
    path.write_text(before + "\n".join(block) + rest.split(END, 1)[1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,4000000")
    parser.add_argument("--vendors", default="postgresql", help="postgresql, sqlite, mariadb (comma-separated)")
    parser.add_argument("--beside", default="", help="vendors measured at the smallest size only, beside --vendors")
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--only", help="measure only the requests whose name contains this")
    parser.add_argument("--skip", help="leave out the requests whose name contains this")
    parser.add_argument("--generate-only", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="report the stored results without measuring")
    parser.add_argument("--write", help="rewrite the scale section of this file (docs/benchmarks.md)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.one:
        vendor, size = options.one.split(":")
        one(vendor, int(size), options.repeat, Path(options.out), options.generate_only, options.only, options.skip)
        return
    runs = []
    sizes = [int(value) for value in options.sizes.split(",")]
    grid = [(vendor, size) for vendor in options.vendors.split(",") for size in sizes]
    grid += [(vendor, sizes[0]) for vendor in options.beside.split(",") if vendor]
    for vendor, size in grid:
        out = RESULTS / f"{vendor}-{size}.json"
        if not options.reuse:
            command = [sys.executable, "-m", "benchmarks.scale", "--one", f"{vendor}:{size}", "--out", str(out)]
            command += ["--repeat", str(options.repeat)]
            command += ["--generate-only"] if options.generate_only else []
            command += ["--only", options.only] if options.only else []
            command += ["--skip", options.skip] if options.skip else []
            subprocess.run(command, cwd=ROOT, check=True)
        if out.exists() and not options.generate_only:
            runs.append(json.loads(out.read_text()))
    if not runs:
        return
    print("\n".join(table(runs)))
    print("\n".join(targets(runs)))
    if options.write:
        arguments = " ".join(argv if argv is not None else sys.argv[1:])
        write(ROOT / options.write, runs, f"python -m benchmarks.scale {arguments}")
        print(f"wrote {options.write}")


if __name__ == "__main__":
    main()
