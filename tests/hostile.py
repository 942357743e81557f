"""A hostile SlashML stand-in: every status call answers COMPLETED with as many words as asked.

The body is generated as it is sent (never held whole), with a Content-Length or chunked,
so the tests and the measurement in docs/reliability.md can send an 81 MB answer cheaply.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WORD = '{"text": "word", "start": 1000, "end": 1400, "confidence": 0.9}'


def answer_chunks(words: int, *, text: bool = True) -> Iterator[bytes]:
    """A COMPLETED status body with ``words`` words, in pieces of about 64 KiB."""
    head = {"id": "hostile-1", "status": "COMPLETED", "confidence": 0.9, "audio_duration": 1.0}
    opening = json.dumps(head)[:-1]
    if text:
        yield (opening + ', "text": "').encode()
        for start in range(0, words, 10_000):
            yield ("word " * min(10_000, words - start)).encode()
        yield b'", "words": ['
    else:
        yield (opening + ', "words": [').encode()
    batch = ", ".join([WORD] * 1000)
    for start in range(0, words, 1000):
        count = min(1000, words - start)
        piece = batch if count == 1000 else ", ".join([WORD] * count)
        yield ((", " if start else "") + piece).encode()
    yield b"]}"


def answer_size(words: int, *, text: bool = True) -> int:
    return sum(len(chunk) for chunk in answer_chunks(words, text=text))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Any

    def do_GET(self) -> None:
        options = self.server.options
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if options["declare_length"]:
            self.send_header("Content-Length", str(answer_size(options["words"], text=options["text"])))
        else:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for chunk in answer_chunks(options["words"], text=options["text"]):
                if options["declare_length"]:
                    self.wfile.write(chunk)
                else:
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.server.sent += len(chunk)
            if not options["declare_length"]:
                self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading: what a bounded client does

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def hostile_slashml(words: int, *, declare_length: bool = True, text: bool = True) -> Iterator[Any]:
    """A server on a free loopback port; ``.url`` is its API_URL and ``.sent`` the bytes it wrote."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.options = {"words": words, "declare_length": declare_length, "text": text}
    server.sent = 0
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
