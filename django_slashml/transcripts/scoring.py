"""Scores between transcripts, all from jiwer: WER, CER, the S/D/I counts, alignments, agreement.

Every function takes words already normalised by :mod:`~django_slashml.transcripts.normalise`,
so the edit distance is jiwer's (rapidfuzz underneath) and the rules of what counts as the
same word live in one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import jiwer

__all__ = ["Chunk", "Disagreement", "Score", "align", "disagreements", "pairwise_wer", "pivot", "score"]

#: jiwer's default word split after our normalisation (which already removed everything else).
_AS_WORDS = jiwer.ReduceToListOfListOfWords()
_AS_CHARS = jiwer.ReduceToListOfListOfChars()


@dataclass(frozen=True)
class Score:
    wer: float
    cer: float
    substitutions: int
    deletions: int
    insertions: int
    hits: int
    reference_words: int


@dataclass(frozen=True)
class Chunk:
    """One jiwer alignment chunk: ``kind`` is equal, substitute, delete or insert."""

    kind: str
    ref_start: int
    ref_end: int
    hyp_start: int
    hyp_end: int


def _joined(words: Sequence[str]) -> str:
    return " ".join(words)


def score(reference: Sequence[str], hypothesis: Sequence[str]) -> Score | None:
    """``hypothesis`` scored against ``reference``; None when the reference has no words.

    The CER is counted inside the word alignment: jiwer scores the characters of every
    stretch where the words differ (all of them in one call), equal stretches count nothing,
    and a word inserted or deleted whole costs its characters and one space (none when
    it is the whole transcript). A global character alignment of two long transcripts would
    compare every character with every other; this compares only where the words differ, and
    differs from it only where the word alignment is not the best one for characters.
    """
    if not reference:
        return None
    ref, hyp = _joined(reference), _joined(hypothesis)
    words = jiwer.process_words(ref, hyp, reference_transform=_AS_WORDS, hypothesis_transform=_AS_WORDS)
    ref_pieces: list[str] = []
    hyp_pieces: list[str] = []
    whole_word_chars = 0
    for c in words.alignments[0]:
        if c.type == "equal":
            continue
        ref_piece = _joined(reference[c.ref_start_idx : c.ref_end_idx])
        hyp_piece = _joined(hypothesis[c.hyp_start_idx : c.hyp_end_idx])
        if not ref_piece or not hyp_piece:
            # A whole-word run costs its characters and the space that parted it from the rest of
            # its side; when it is all of its side (an empty hypothesis) there is no such space.
            run, side = (
                (c.ref_end_idx - c.ref_start_idx, reference)
                if ref_piece
                else (c.hyp_end_idx - c.hyp_start_idx, hypothesis)
            )
            whole_word_chars += len(ref_piece or hyp_piece) + (1 if run < len(side) else 0)
        else:
            ref_pieces.append(ref_piece)
            hyp_pieces.append(hyp_piece)
    char_errors = whole_word_chars
    if ref_pieces:
        chars = jiwer.process_characters(
            ref_pieces, hyp_pieces, reference_transform=_AS_CHARS, hypothesis_transform=_AS_CHARS
        )
        char_errors += chars.substitutions + chars.deletions + chars.insertions
    return Score(
        wer=float(words.wer),
        cer=char_errors / len(ref),
        substitutions=words.substitutions,
        deletions=words.deletions,
        insertions=words.insertions,
        hits=words.hits,
        reference_words=len(reference),
    )


def align(reference: Sequence[str], hypothesis: Sequence[str]) -> list[Chunk]:
    """jiwer's word alignment of ``hypothesis`` to ``reference``, as plain chunks."""
    if not reference and not hypothesis:
        return []
    if not reference:
        return [Chunk("insert", 0, 0, 0, len(hypothesis))]
    if not hypothesis:
        return [Chunk("delete", 0, len(reference), 0, 0)]
    out = jiwer.process_words(
        _joined(reference), _joined(hypothesis), reference_transform=_AS_WORDS, hypothesis_transform=_AS_WORDS
    )
    return [Chunk(c.type, c.ref_start_idx, c.ref_end_idx, c.hyp_start_idx, c.hyp_end_idx) for c in out.alignments[0]]


def _wer(a: Sequence[str], b: Sequence[str]) -> float:
    if not a:
        return 0.0 if not b else 1.0
    out = jiwer.process_words(_joined(a), _joined(b), reference_transform=_AS_WORDS, hypothesis_transform=_AS_WORDS)
    return float(out.wer)


def pairwise_wer(transcripts: Mapping[str, Sequence[str]]) -> dict[str, dict[str, float]]:
    """Agreement without a reference: each pair's WER, the first of the pair taken as reference.

    WER is not symmetric (its denominator is the reference's length), so both directions are
    given; 0 means the two providers heard exactly the same words.
    """
    matrix: dict[str, dict[str, float]] = {name: {name: 0.0} for name in transcripts}
    for a, b in combinations(transcripts, 2):
        matrix[a][b] = _wer(transcripts[a], transcripts[b])
        matrix[b][a] = _wer(transcripts[b], transcripts[a])
    return matrix


def pivot(transcripts: Mapping[str, Sequence[str]], matrix: Mapping[str, Mapping[str, float]]) -> str:
    """The transcript closest to all the others (the lowest mean WER against them)."""
    return min(transcripts, key=lambda name: (sum(matrix[name].values()), name))


@dataclass(frozen=True)
class Disagreement:
    """Words of the pivot transcript (``start``..``end``) where some provider heard otherwise."""

    start: int
    end: int
    readings: dict[str, str]


def disagreements(transcripts: Mapping[str, Sequence[str]], pivot_name: str) -> list[Disagreement]:
    """The spans of the pivot transcript where at least one other provider differs, in order.

    Each other transcript is aligned to the pivot once; a span is a run of pivot words (an
    insertion counts at the word it precedes) touched by any difference, merged when they touch.
    """
    base = transcripts[pivot_name]
    others = {name: words for name, words in transcripts.items() if name != pivot_name}
    chunks = {name: align(base, words) for name, words in others.items()}
    marks: list[tuple[int, int]] = []
    for name_chunks in chunks.values():
        for c in name_chunks:
            if c.kind != "equal":
                marks.append((c.ref_start, max(c.ref_end, c.ref_start + 1)))
    spans: list[list[int]] = []
    for start, end in sorted(marks):
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    result = []
    for start, end in spans:
        end = min(end, max(len(base), start + 1))
        readings = {pivot_name: " ".join(base[start:end])}
        for name, name_chunks in chunks.items():
            readings[name] = " ".join(others[name][_hyp_index(name_chunks, start) : _hyp_index(name_chunks, end)])
        result.append(Disagreement(start, end, readings))
    return result


def _hyp_index(chunks: Sequence[Chunk], ref_index: int) -> int:
    """Where in the hypothesis the reference position ``ref_index`` falls (insertions before it included)."""
    for c in chunks:
        if c.ref_start <= ref_index < c.ref_end or (c.ref_start == c.ref_end == ref_index and c.kind == "insert"):
            if c.kind == "equal":
                return c.hyp_start + (ref_index - c.ref_start)
            return c.hyp_start
        if c.ref_start > ref_index:
            return c.hyp_start
    return chunks[-1].hyp_end if chunks else 0
