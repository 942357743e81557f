"""Issue 18: the normalisation, jiwer's scores, and the sandbox's per-provider mistakes."""

from __future__ import annotations

import jiwer
import pytest

from django_slashml.sandbox.engines.base import Transcript, TranscriptWord
from django_slashml.sandbox.faults import FaultConfigError, Faults
from django_slashml.sandbox.mistakes import DEFAULT_MISTAKE_RATES, with_mistakes
from django_slashml.transcripts.normalise import normalise_text, normalise_timed_words
from django_slashml.transcripts.scoring import disagreements, pairwise_wer, pivot, score


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Hello, World!", "hello world"),
        ("It\u2019s twenty-five past", "it's 25 past"),
        ("1,500 people", "one thousand five hundred people"),
        ("  spaced\tout \n text ", "spaced out text"),
    ],
)
def test_style_differences_are_not_mistakes(a: str, b: str) -> None:
    assert normalise_text(a) == normalise_text(b)
    assert score(normalise_text(a), normalise_text(b)).wer == 0.0  # type: ignore[union-attr]


def test_scores_are_jiwers_with_the_counts() -> None:
    ref = ["the", "cat", "sat", "on", "the", "mat", "today"]
    hyp = ["the", "bat", "sat", "on", "mat", "today", "now"]
    result = score(ref, hyp)
    assert result is not None
    assert (result.substitutions, result.deletions, result.insertions, result.hits) == (1, 1, 1, 5)
    assert result.wer == jiwer.wer(" ".join(ref), " ".join(hyp))
    assert result.cer == pytest.approx(jiwer.cer(" ".join(ref), " ".join(hyp)))
    assert score([], hyp) is None


@pytest.mark.parametrize(
    ("ref", "hyp"),
    [
        ("a b", ""),  # nothing heard
        ("hello", ""),
        ("hello", "hallo"),  # a single word
        ("a b c", "a"),
        ("a", "a b c"),  # all but the first inserted
        ("a b", "x y z w"),
    ],
)
def test_cer_is_jiwers_at_the_edges(ref: str, hyp: str) -> None:
    result = score(ref.split(), hyp.split())
    assert result is not None
    assert result.cer == pytest.approx(jiwer.cer(ref, hyp))


def test_timed_words_map_back_to_the_word_they_came_from() -> None:
    words, sources = normalise_timed_words([{"text": "It's"}, {"text": "—"}, {"text": "25."}])
    assert words == ["it's", "twenty", "five"] and sources == [0, 2, 2]


def test_without_a_reference_the_disagreements_are_found() -> None:
    transcripts = {
        "a": ["the", "cat", "sat", "on", "the", "mat"],
        "b": ["the", "cat", "sat", "on", "the", "mat"],
        "c": ["the", "bat", "sat", "on", "the", "mat"],
    }
    matrix = pairwise_wer(transcripts)
    assert matrix["a"]["b"] == 0 and matrix["a"]["c"] == pytest.approx(1 / 6)
    centre = pivot(transcripts, matrix)
    assert centre in ("a", "b")
    [span] = disagreements(transcripts, centre)
    assert (span.start, span.end) == (1, 2) and span.readings["c"] == "bat" and span.readings[centre] == "cat"


def _transcript(n: int) -> Transcript:
    return Transcript(1.0, [TranscriptWord(f"w{i % 97}", i * 10, i * 10 + 9, 0.9) for i in range(n)])


def test_the_sandbox_providers_err_deterministically_and_rank_by_their_rates() -> None:
    original = _transcript(400)
    words = [w.text for w in original.words]
    assert with_mistakes(original, "assembly", {}) == original
    wers = {}
    for provider in DEFAULT_MISTAKE_RATES:
        once, again = with_mistakes(original, provider, {}), with_mistakes(original, provider, {})
        assert once == again
        wers[provider] = score(words, [w.text for w in once.words]).wer  # type: ignore[union-attr]
    assert sorted(wers, key=wers.__getitem__) == sorted(DEFAULT_MISTAKE_RATES, key=DEFAULT_MISTAKE_RATES.__getitem__)
    assert with_mistakes(original, "google", {"google": 0.0}) == original


def test_mistake_rates_are_validated() -> None:
    assert Faults().updated({"mistakes": {"aws": 0.5}}).mistakes == {"aws": 0.5}
    with pytest.raises(FaultConfigError, match="unknown provider 'ibm'"):
        Faults().updated({"mistakes": {"ibm": 0.1}})
    with pytest.raises(FaultConfigError, match="between 0 and 1"):
        Faults().updated({"mistakes": {"aws": 2}})
