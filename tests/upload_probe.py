"""One upload in a process of its own, reporting its peak RSS before and after (JSON on stdout).

python -m benchmarks.upload_probe app|vendor SANDBOX_URL FILE
"""

from __future__ import annotations

import json
import sys


def peak_rss() -> int:
    """This process's own peak RSS (VmHWM).

    Not ``ru_maxrss``: Linux carries that high-water mark across fork and exec, so a
    child of a large parent starts with the parent's peak and hides its own growth.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def main(which: str, url: str, path: str) -> None:
    if which == "app":
        from django_slashml.remote.client import SlashMLClient

        client = SlashMLClient(url, "sandbox-key", upload_read_timeout=600)
        before = peak_rss()
        with open(path, "rb") as fileobj:
            remote = client.upload(fileobj, filename="long.wav", content_type="audio/wav", service_provider="assembly")
        uploaded = remote.url
    else:
        from .vendor_client import speech_to_text

        client = speech_to_text(url)(api_key="sandbox-key")
        before = peak_rss()
        uploaded = client.upload_audio(path).uploaded_url
    print(json.dumps({"before": before, "after": peak_rss(), "uploaded": bool(uploaded)}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
