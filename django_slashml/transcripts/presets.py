"""Caption limits: the named presets and the request parameters that choose and adjust them.

One parser for the REST API and the admin, so a parameter means the same thing, and is refused
with the same words, wherever it is given. Values and their sources: docs/captions.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from django_slashml.exceptions import InvalidCaptionParameterError

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


@dataclass(frozen=True)
class CueLimits:
    """What a cue may hold and how long it stays. ``None`` turns a rule off.

    The defaults are the export as it was before presets (``preset=default``): greedy line
    filling and no reading-speed, minimum-duration or gap rule, so its output is unchanged.
    """

    max_line_chars: int = 42
    max_lines: int = 2
    max_cue_ms: int = 7000
    pause_ms: int = 700
    min_sentence_cue_chars: int = 15  # a sentence end closes a cue only if it holds this much
    preset: str = "default"
    max_cps: int | None = None  # characters per second, spaces and punctuation included
    min_word_ms: int | None = None  # on screen at least this long per word (BBC's rate rule)
    min_cue_ms: int | None = None
    min_gap_ms: int = 0  # between one cue's end and the next one's start
    natural_breaks: bool = False  # lines and cues break at natural points (linebreaks.py)

    @property
    def retimes(self) -> bool:
        """Whether cue times are adjusted at all; the default preset keeps the words' own times."""
        return bool(self.max_cps or self.min_word_ms or self.min_cue_ms or self.min_gap_ms)

    def reading_ms(self, chars: int, words: int) -> int:
        """How long ``chars`` characters in ``words`` words must stay up to be read at this rate."""
        needed = self.min_cue_ms or 0
        if self.max_cps:
            needed = max(needed, math.ceil(chars * 1000 / self.max_cps))
        if self.min_word_ms:
            needed = max(needed, words * self.min_word_ms)
        return needed

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def frames_ms(frames: int, fps: float) -> int:
    """``frames`` at ``fps`` in whole milliseconds, rounded up so a gap is never under that many frames."""
    return math.ceil(frames * 1000 / fps)


#: Netflix Timed Text Style Guide (General Requirements; English template), at 24 fps: 5/6 s is
#: 20 frames; 2 frames are 83.3 ms, rounded up to 84 ms.
NETFLIX_FPS = 24
#: BBC Subtitle Guidelines, at the UK's 25 fps: 2 frames are 80 ms (a house choice, see docs).
BBC_FPS = 25

#: The export as it was before presets; the default of every function that takes limits.
DEFAULT_LIMITS = CueLimits()

PRESETS: dict[str, CueLimits] = {
    "default": DEFAULT_LIMITS,
    "netflix": CueLimits(
        preset="netflix",
        max_line_chars=42,
        max_lines=2,
        max_cps=17,
        min_cue_ms=frames_ms(20, NETFLIX_FPS),  # 5/6 s = 834 ms
        max_cue_ms=7000,
        min_gap_ms=frames_ms(2, NETFLIX_FPS),  # 84 ms
        natural_breaks=True,
    ),
    "bbc": CueLimits(
        preset="bbc",
        max_line_chars=37,
        max_lines=2,
        min_word_ms=300,  # 0.3 s a word = 200 words a minute, the top of BBC's reading rates
        max_cue_ms=7000,  # kept from the default: the guidelines give no hard maximum
        min_gap_ms=frames_ms(2, BBC_FPS),  # 80 ms
        natural_breaks=True,
    ),
}

#: Request parameter -> (CueLimits field, smallest, largest allowed).
PARAMETERS: dict[str, tuple[str, int, int]] = {
    "max_line_chars": ("max_line_chars", 10, 200),
    "max_lines": ("max_lines", 1, 10),
    "max_cps": ("max_cps", 1, 100),
    "min_duration_ms": ("min_cue_ms", 1, 60_000),
    "max_duration_ms": ("max_cue_ms", 100, 600_000),
    "min_gap_ms": ("min_gap_ms", 0, 10_000),
}

CAPTION_PARAMETERS = ("preset", *PARAMETERS)

_INTEGER = re.compile(r"[+-]?\d{1,12}")


def _integer(name: str, raw: str) -> int:
    _field, low, high = PARAMETERS[name]
    allowed = gettext("a whole number from %(low)s to %(high)s") % {"low": low, "high": high}
    if not _INTEGER.fullmatch(raw.strip()):
        raise InvalidCaptionParameterError(
            name,
            gettext("%(value)s is not a whole number; use %(allowed)s.") % {"value": repr(raw), "allowed": allowed},
        )
    value = int(raw)
    if not low <= value <= high:
        raise InvalidCaptionParameterError(
            name, gettext("%(value)s is out of range; use %(allowed)s.") % {"value": value, "allowed": allowed}
        )
    return value


def caption_limits(params: Mapping[str, Any]) -> CueLimits:
    """The limits a request asks for: its ``preset`` (default ``default``), then each explicit parameter.

    ``params`` is a ``QueryDict`` or ``request.POST``, or any mapping of names to strings; other
    names are ignored and an empty value counts as not given (an HTML form sends its blank
    fields). Raises :class:`InvalidCaptionParameterError` naming the first bad parameter.
    """
    name = str(params.get("preset") or "").strip() or "default"
    if name not in PRESETS:
        raise InvalidCaptionParameterError(
            "preset",
            gettext("unknown preset %(name)s; use one of: %(presets)s.")
            % {"name": repr(name), "presets": ", ".join(PRESETS)},
        )
    limits = PRESETS[name]
    given: dict[str, int] = {}
    for parameter in PARAMETERS:
        raw = params.get(parameter)
        if raw is not None and str(raw).strip():
            given[parameter] = _integer(parameter, str(raw))
    changes: dict[str, Any] = {PARAMETERS[parameter][0]: value for parameter, value in given.items()}
    limits = replace(limits, **changes)
    low, high = limits.min_cue_ms, limits.max_cue_ms
    if low is not None and low > high:
        if "max_duration_ms" in given and "min_duration_ms" not in given:
            raise InvalidCaptionParameterError(
                "max_duration_ms",
                gettext("%(high)s is below min_duration_ms (%(low)s, from preset %(name)s); use at least %(low)s.")
                % {"high": high, "low": low, "name": repr(name)},
            )
        if "max_duration_ms" in given:
            message = gettext("%(low)s is above max_duration_ms (%(high)s); use at most %(high)s.")
        else:
            message = gettext(
                "%(low)s is above max_duration_ms (%(high)s, from preset %(name)s); use at most %(high)s."
            )
        raise InvalidCaptionParameterError("min_duration_ms", message % {"low": low, "high": high, "name": repr(name)})
    return limits


#: One line per parameter, for the API schema and the admin's form.
PARAMETER_HELP: dict[str, StrOrPromise] = {
    "preset": format_lazy(
        _("Caption rules: {presets} (default: default, the export as before presets)."), presets=", ".join(PRESETS)
    ),
    **{
        name: format_lazy(
            _("{what}; a whole number from {low} to {high}; overrides the preset."), what=what, low=low, high=high
        )
        for (name, (_field, low, high)), what in zip(
            PARAMETERS.items(),
            (
                _("Characters per line"),
                _("Lines per cue"),
                _("Characters per second a cue may ask readers to read"),
                _("Shortest time a cue stays on screen, in ms"),
                _("Longest time a cue stays on screen, in ms"),
                _("Shortest gap between cues, in ms"),
            ),
            strict=True,
        )
    },
}
