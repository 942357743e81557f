"""A SlashML-compatible server that is not the sandbox, for timing the polls on a real clock.

    python -m benchmarks.steady_server PORT QUEUED PROCESSING [SPREAD [LATENCY]]

Every job is QUEUED for QUEUED seconds after its submit, then IN_PROGRESS for PROCESSING
seconds (times up to SPREAD of it, either way, drawn per job), then COMPLETED; every answer
takes LATENCY seconds, as a distant server's would. It answers the three calls the app makes
(upload, submit, status) and ``GET /_stats``: when each job was submitted and finished and
when each status call arrived, by this server's clock (epoch seconds), so the benchmark can
say where a transcript's delay went.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFIX = "/speech-to-text/v1"
WORDS = [{"text": "steady", "start": 0.0, "end": 0.4, "confidence": 0.9}]


class Jobs:
    def __init__(self, queued: float, processing: float, spread: float) -> None:
        self.queued, self.processing, self.spread = queued, processing, spread
        self.rng = random.Random(0)
        self.lock = threading.Lock()
        self.jobs: dict[str, dict[str, Any]] = {}

    def submit(self) -> dict[str, Any]:
        now = time.time()
        with self.lock:
            took = self.processing * self.rng.uniform(1 - self.spread, 1 + self.spread)
            job = {"id": str(uuid.uuid4()), "submitted": now, "finished": now + self.queued + took, "polls": []}
            self.jobs[job["id"]] = job
        return job

    def status(self, job_id: str) -> dict[str, Any] | None:
        now = time.time()
        with self.lock:
            job = self.jobs.get(job_id)
            if job is not None:
                job["polls"].append(now)
        return job

    def answer(self, job: dict[str, Any]) -> dict[str, Any]:
        now = time.time()
        if now >= job["finished"]:
            return {"id": job["id"], "status": "COMPLETED", "text": "steady", "words": WORDS}
        status = "QUEUED" if now < job["submitted"] + self.queued else "IN_PROGRESS"
        return {"id": job["id"], "status": status}


def handler(jobs: Jobs, latency: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, code: int, body: Any) -> None:
            if latency and self.path != "/_stats":
                time.sleep(latency)
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _read_body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def do_POST(self) -> None:
            self._read_body()
            if self.path == f"{PREFIX}/upload/":
                self._send(200, {"uploaded_url": f"https://steady.invalid/{uuid.uuid4()}.wav"})
            elif self.path == f"{PREFIX}/jobs/":
                self._send(200, jobs.answer(jobs.submit()))
            else:
                self._send(404, {"detail": "not found"})

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/_stats":
                with jobs.lock:
                    self._send(200, jobs.jobs)
                return
            if path.startswith(f"{PREFIX}/jobs/"):
                job = jobs.status(path[len(PREFIX) + 6 :].strip("/"))
                if job is not None:
                    self._send(200, jobs.answer(job))
                    return
            self._send(404, {"detail": "not found"})

    return Handler


def main(port: int, queued: float, processing: float, spread: float = 0.0, latency: float = 0.0) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", port), handler(Jobs(queued, processing, spread), latency))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), *(float(a) for a in sys.argv[4:6]))
