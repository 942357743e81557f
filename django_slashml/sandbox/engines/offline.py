"""A real recogniser: PocketSphinx's bundled US-English model, audio decoded by PyAV.

Both come from PyPI wheels (``pip install django-slashml[sandbox]``); nothing is
downloaded at run time. One decoder per thread: PocketSphinx decoders are not
thread-safe, and building one takes about a second, so they are reused.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from django_slashml.sandbox.engines.base import EngineError, Transcript, TranscriptWord
from django_slashml.sandbox.requirements import require

SAMPLE_RATE = 16_000
FRAMES_PER_SECOND = 100  # PocketSphinx's default frame rate
_FILLER = re.compile(r"^(<.*>|\[.*\]|\+\+.*\+\+)$")
_ALTERNATE_PRONUNCIATION = re.compile(r"\(\d+\)$")


def decode_to_pcm(path: str) -> bytes:
    """Mono 16 kHz signed 16-bit PCM from any container PyAV can read."""
    av = require("av", "decoding audio in the offline engine")
    pcm = bytearray()
    try:
        with av.open(path) as container:
            if not container.streams.audio:
                raise EngineError("the file has no audio stream")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(container.streams.audio[0]):
                for out in resampler.resample(frame):
                    pcm += bytes(out.planes[0])[: out.samples * 2]
            for out in resampler.resample(None):
                pcm += bytes(out.planes[0])[: out.samples * 2]
    except EngineError:
        raise
    except Exception as exc:  # PyAV raises many kinds; all mean "cannot decode"
        raise EngineError(f"could not decode the audio ({type(exc).__name__}: {exc})") from None
    return bytes(pcm)


class OfflineEngine:
    name = "offline"

    def __init__(self) -> None:
        alternative = " (or start the sandbox with --engine deterministic, which needs neither PyAV nor PocketSphinx)"
        require("av", "decoding audio in the offline engine", alternative=alternative)
        require("pocketsphinx", "the offline engine's speech recognition", alternative=alternative)
        self._local = threading.local()

    def _decoder(self) -> Any:
        decoder = getattr(self._local, "decoder", None)
        if decoder is None:
            from pocketsphinx import Decoder

            decoder = self._local.decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")
        return decoder

    def transcribe(self, path: str, *, filename: str, sha256: str) -> Transcript:
        pcm = decode_to_pcm(path)
        duration = len(pcm) / (2 * SAMPLE_RATE)
        if not pcm:
            raise EngineError("the audio decodes to no samples")
        decoder = self._decoder()
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        words = []
        for segment in decoder.seg():
            token = _ALTERNATE_PRONUNCIATION.sub("", segment.word)
            if _FILLER.match(token):
                continue
            start = segment.start_frame * 1000 // FRAMES_PER_SECOND
            end = (segment.end_frame + 1) * 1000 // FRAMES_PER_SECOND
            words.append(TranscriptWord(token, start, end, min(1.0, max(0.0, float(segment.prob)))))
        return Transcript(duration=duration, words=words)
