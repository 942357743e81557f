"""A real S3 endpoint for tests: moto's server mode in a child process on a loopback port.

A child process, not a thread: its memory (moto keeps objects in RAM) stays out of
the measurements the tests make in this one, and its HTTP is the same any S3
client sees.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .extras import require

BUCKET = "slashml-audio"
CREDENTIALS = {"access_key": "testing", "secret_key": "testing", "region_name": "us-east-1"}
#: What docs/storage.md recommends: signature version 4 (botocore may presign with version 2 otherwise).
SIGNING = {"signature_version": "s3v4"}

_SERVER = """
import logging
import sys
from moto.server import ThreadedMotoServer

logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request

server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()  # serve until the test closes our stdin (or dies)
server.stop()
"""


@contextmanager
def moto_s3() -> Iterator[str]:
    """Start moto's S3 server; yields its endpoint URL, with :data:`BUCKET` created."""
    require("boto3")
    require("moto")
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        if not port.isdigit():
            raise RuntimeError(f"moto's server did not start (it printed {port!r})")
        endpoint = f"http://127.0.0.1:{port}"
        s3_client(endpoint).create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def s3_client(endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=CREDENTIALS["access_key"],
        aws_secret_access_key=CREDENTIALS["secret_key"],
        region_name=CREDENTIALS["region_name"],
    )


def s3_storage_options(endpoint: str, location: str, **overrides: Any) -> dict[str, Any]:
    """``STORAGES`` options for django-storages' S3Storage on the moto endpoint."""
    return {
        "bucket_name": BUCKET,
        "endpoint_url": endpoint,
        "location": location,
        **CREDENTIALS,
        **SIGNING,
        **overrides,
    }


def keys_under(endpoint: str, location: str) -> list[str]:
    listing = s3_client(endpoint).list_objects_v2(Bucket=BUCKET, Prefix=f"{location}/")
    return sorted(item["Key"] for item in listing.get("Contents", []))
