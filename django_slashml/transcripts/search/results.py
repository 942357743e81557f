"""Matches in rank order, held as ids: rows are read only for the slice that is shown.

Every engine finds at most ``SEARCH_MAX_MATCHES`` candidates in one pass and scores them as it
goes; sorting those ids in Python costs less than asking the database to sort and count them
again, and a page then reads its own 50 rows by primary key. Django's and DRF's paginators take
this sequence as they take a queryset (``len()`` and slicing).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

from django_slashml.models import TranscriptSegment

#: (id, score: higher is better, tie-breakers...) as an engine finds a candidate.
Candidate = tuple[Any, ...]


class RankedSegments(Sequence[TranscriptSegment]):
    def __init__(self, alias: str, candidates: list[Candidate]) -> None:
        self.alias = alias
        self.ids = [candidate[0] for candidate in sorted(candidates, key=lambda c: (-c[1], *c[2:]))]

    def __len__(self) -> int:
        return len(self.ids)

    def _rows(self, ids: list[int]) -> list[TranscriptSegment]:
        found = TranscriptSegment.objects.using(self.alias).in_bulk(ids)
        return [found[pk] for pk in ids if pk in found]

    @overload
    def __getitem__(self, index: int) -> TranscriptSegment: ...

    @overload
    def __getitem__(self, index: slice) -> list[TranscriptSegment]: ...

    def __getitem__(self, index: int | slice) -> TranscriptSegment | list[TranscriptSegment]:
        if isinstance(index, slice):
            return self._rows(self.ids[index])
        return self._rows([self.ids[index]])[0]

    def __iter__(self) -> Iterator[TranscriptSegment]:
        for start in range(0, len(self.ids), 500):
            yield from self[start : start + 500]
