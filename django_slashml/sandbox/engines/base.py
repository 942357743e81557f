from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class EngineError(Exception):
    """The audio could not be transcribed; the message becomes the job's ERROR."""


@dataclass(frozen=True)
class TranscriptWord:
    text: str
    start: int  # milliseconds
    end: int  # milliseconds
    confidence: float

    def as_dict(self) -> dict[str, object]:
        return {"text": self.text, "start": self.start, "end": self.end, "confidence": round(self.confidence, 4)}


@dataclass(frozen=True)
class Transcript:
    duration: float  # seconds
    words: list[TranscriptWord] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)

    @property
    def confidence(self) -> float | None:
        if not self.words:
            return None
        return round(sum(word.confidence for word in self.words) / len(self.words), 4)


class Engine(Protocol):
    name: str

    def transcribe(self, path: str, *, filename: str, sha256: str) -> Transcript:
        """Transcribe the audio file at ``path`` (originally called ``filename``)."""
        ...
