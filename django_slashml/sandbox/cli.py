"""Command-line options shared by ``python -m django_slashml.sandbox`` and ``manage.py slashml_sandbox``."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from typing import Any, Protocol

from django_slashml.sandbox import DEFAULT_API_KEY, make_sandbox
from django_slashml.sandbox.engines import ENGINE_NAMES
from django_slashml.sandbox.faults import FaultConfigError
from django_slashml.sandbox.requirements import SandboxSetupError


class Output(Protocol):
    """Where the banner goes: a text stream, or a management command's ``self.stdout``."""

    def write(self, text: str, /) -> object: ...

    def flush(self) -> object: ...


_FAULT_FLAGS: dict[str, tuple[type, str]] = {
    "latency": (float, "seconds added to every API request"),
    "error_rate": (float, "fraction of API requests answered 500"),
    "rate_limit_rate": (float, "fraction answered 429 with Retry-After"),
    "retry_after": (float, "the Retry-After seconds of a 429"),
    "slow_body_rate": (float, "fraction whose body is sent only after --slow-body-delay"),
    "slow_body_delay": (float, "seconds a slow body stalls"),
    "drop_rate": (float, "fraction of API requests whose connection is dropped"),
    "job_error_rate": (float, "fraction of jobs that end in ERROR"),
    "never_finish_rate": (float, "fraction of jobs that never finish"),
    "processing_time": (float, "seconds every job takes at least"),
    "processing_time_per_audio_second": (float, "extra seconds per second of audio"),
    "seed": (int, "random seed for repeatable faults"),
}


def shown_key(key: str) -> str:
    """The key as the banner prints it: the public default whole, any other only by its first 4 characters."""
    return key if key == DEFAULT_API_KEY else f"{key[:4]}... ({len(key)} characters, as given to --api-key)"


def _stop(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def add_arguments(parser: argparse.ArgumentParser | Any) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1).")
    parser.add_argument("--port", type=int, default=8765, help="Port (default 8765; 0 picks a free one).")
    parser.add_argument("--engine", choices=ENGINE_NAMES, default="offline", help="Speech engine (default offline).")
    parser.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        help=f"Accepted API key; repeat for several (default {DEFAULT_API_KEY!r}; never $SLASHML_API_KEY).",
    )
    parser.add_argument("--transcripts", help="Folder of <sha256>.txt / <name>.txt transcripts (deterministic engine).")
    parser.add_argument("--upload-ttl", type=float, default=24 * 3600, help="Seconds before uploads are deleted.")
    parser.add_argument("--storage-dir", help="Where uploads are kept (default: a temporary folder).")
    for name, (kind, text) in _FAULT_FLAGS.items():
        parser.add_argument("--" + name.replace("_", "-"), type=kind, dest=name, default=None, help=text)


def prepare(options: dict[str, Any], out: Output = sys.stdout) -> Any:
    """The sandbox the options describe, bound but not serving yet, with its banner written to ``out``."""
    # Never the host's SLASHML_API_KEY: that may be a real key, which the sandbox would then
    # accept, print and echo; a project pointed at the sandbox uses the sandbox's key.
    keys = set(options.get("api_keys") or []) or {DEFAULT_API_KEY}
    faults = {name: options[name] for name in _FAULT_FLAGS if options.get(name) is not None}
    try:
        server = make_sandbox(
            host=options["host"],
            port=options["port"],
            engine=options["engine"],
            api_keys=keys,
            transcripts_dir=options.get("transcripts"),
            upload_ttl=options["upload_ttl"],
            storage_dir=options.get("storage_dir"),
            **faults,
        )
    except FaultConfigError as exc:
        raise SystemExit(f"Bad fault setting: {exc}") from None
    except SandboxSetupError as exc:
        raise SystemExit(str(exc)) from None
    out.write(f"SlashML sandbox ({options['engine']} engine) on {server.url}\n")
    out.write(f"  SLASHML = {{'API_URL': '{server.url}', 'API_KEY': '{shown_key(sorted(keys)[0])}'}}\n")
    out.flush()
    return server


def run(options: dict[str, Any], out: Output = sys.stdout) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s sandbox %(message)s")
    server = prepare(options, out)
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m django_slashml.sandbox", description="A local SlashML API.")
    add_arguments(parser)
    run(vars(parser.parse_args(argv)))
