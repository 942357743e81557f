"""A copy of an audio with a tone in place of each redacted span, where PyAV is installed.

Decoded, toned and encoded frame by frame, so memory does not grow with the audio's length.
The copy is 16-bit mono WAV at the source's sample rate: what a compliance reviewer needs to
listen to, readable everywhere, and written without a codec's look-ahead.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from typing import IO, Any

#: The tone: a 1 kHz sine at a fifth of full scale, the broadcast "bleep".
FREQUENCY = 1000.0
LEVEL = 0.2


def merged(spans_ms: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans sorted, overlapping or touching ones joined, empty ones left out."""
    out: list[tuple[int, int]] = []
    for start, end in sorted((s, e) for s, e in spans_ms if e > s):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _tone(samples: array[int], first: int, rate: int, spans: Sequence[tuple[int, int]]) -> None:
    """Replace ``samples`` (the audio's samples from number ``first``) inside ``spans`` by the tone."""
    last = first + len(samples)
    step = 2 * math.pi * FREQUENCY / rate
    peak = LEVEL * 32767
    for start_ms, end_ms in spans:
        start, end = max(first, start_ms * rate // 1000), min(last, -(-end_ms * rate // 1000))
        for number in range(start, end):
            samples[number - first] = int(peak * math.sin(step * number))


def tone_over(source: IO[bytes], target: IO[bytes], spans_ms: Sequence[tuple[int, int]]) -> int:
    """Write ``source``'s first audio stream to ``target`` (seekable) as WAV, toned over ``spans_ms``.

    Returns the number of samples written. Raises ``ImportError`` without PyAV and PyAV's own
    errors for audio it cannot decode.
    """
    import av

    spans = merged(spans_ms)
    written = 0
    with av.open(source, mode="r") as given, av.open(target, mode="w", format="wav") as copy:
        stream = given.streams.audio[0]
        rate = int(stream.codec_context.sample_rate or 16000)
        resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
        out: Any = copy.add_stream("pcm_s16le", rate=rate, layout="mono")

        def write(frames: Sequence[Any]) -> None:
            nonlocal written
            for frame in frames:
                samples = array("h", bytes(frame.planes[0])[: frame.samples * 2])
                _tone(samples, written, rate, spans)
                toned = av.AudioFrame(format="s16", layout="mono", samples=len(samples))
                plane = toned.planes[0]
                plane.update(samples.tobytes().ljust(plane.buffer_size, b"\0"))
                toned.sample_rate = rate
                toned.pts = written
                for packet in out.encode(toned):
                    copy.mux(packet)
                written += len(samples)

        for decoded in given.decode(stream):
            write(resampler.resample(decoded))
        write(resampler.resample(None))
        for packet in out.encode(None):
            copy.mux(packet)
    return written
