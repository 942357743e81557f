"""The vendor client's 5-second loop on jobs of several processing times, in a process of its own.

    python -m benchmarks.vendor_polling SANDBOX_URL RESULTS.json AUDIO [AUDIO ...]

Each ``AUDIO`` is ``SECONDS=PATH``: a file whose job takes SECONDS at the sandbox. Every
file runs in its own thread (a Celery worker slot each, in a real integration). The
client prints every response; that goes to this process's stdout, which the caller
sends to a log file. Writes ``{"detected": {seconds: {remote id: epoch}}, "errors": [...]}``.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import defaultdict
from typing import Any

from .harness import API_KEY
from .vendor import speech_to_text, wait_like_the_vendor


def main(url: str, out: str, audio: list[str]) -> None:
    client_class = speech_to_text(url)
    detected: dict[str, dict[str, float]] = defaultdict(dict)
    errors: list[str] = []

    def one(seconds: str, path: str) -> None:
        try:
            client: Any = client_class(api_key=API_KEY)
            provider = client_class.ServiceProvider.ASSEMBLY
            result = wait_like_the_vendor(client, client.upload_audio(path).uploaded_url, provider)
            detected[seconds][str(result.id)] = time.time()
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=one, args=item.split("=", 1)) for item in audio]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with open(out, "w") as results:
        json.dump({"detected": detected, "errors": errors}, results)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
