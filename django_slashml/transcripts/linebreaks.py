"""Where a caption line (or a cue) may break, by English rules, and the wrap that uses them.

Readers take in a line as a phrase: a break after punctuation or before a conjunction or a
preposition reads naturally, one between "the" and its noun or inside "Mary Ann Evans" makes
them hold the first line in mind. The rules are cheap heuristics on the words alone (no
part-of-speech tagger); where they find nothing better the greedy fill is used unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

SENTENCE_END = (".", "?", "!", "…")
CLAUSE_END = (",", ";", ":", "\u2014", "\u2013")  # em and en dashes
CLOSERS = "\"')]}\u00bb\u201d\u2019"  # quotes and brackets that close

DETERMINERS = frozenset(
    [
        "a",
        "an",
        "the",
        "this",
        "these",
        "those",
        "my",
        "your",
        "his",
        "her",
        "its",
        "our",
        "their",
        "some",
        "any",
        "no",
        "every",
        "each",
        "either",
        "neither",
        "another",
        "such",
        "what",
        "whose",
        "which",
    ]
)
#: Titles end with a full stop but never a sentence, and belong to the name after them.
TITLES = frozenset(["mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "mt.", "sr.", "jr."])
CONJUNCTIONS = frozenset(
    [
        "and",
        "but",
        "or",
        "nor",
        "so",
        "yet",
        "because",
        "although",
        "though",
        "while",
        "whereas",
        "if",
        "unless",
        "until",
        "when",
        "whenever",
        "where",
        "wherever",
        "since",
        "that",
        "whether",
        "than",
        "as",
    ]
)
PREPOSITIONS = frozenset(
    [
        "about",
        "above",
        "across",
        "after",
        "against",
        "along",
        "among",
        "around",
        "at",
        "before",
        "behind",
        "below",
        "beneath",
        "beside",
        "between",
        "beyond",
        "by",
        "despite",
        "during",
        "except",
        "for",
        "from",
        "in",
        "inside",
        "into",
        "like",
        "near",
        "of",
        "off",
        "on",
        "onto",
        "out",
        "outside",
        "over",
        "past",
        "through",
        "throughout",
        "to",
        "toward",
        "towards",
        "under",
        "underneath",
        "upon",
        "with",
        "within",
        "without",
    ]
)
NOT_NAMES = frozenset(["i", "i'm", "i'll", "i've", "i'd"])

#: Costs of a break: lower is better; the greedy fill's breaks all cost 0.
AFTER_SENTENCE = -30.0
AFTER_CLAUSE = -20.0
BEFORE_CONJUNCTION = -12.0
BEFORE_PREPOSITION = -8.0
FORBIDDEN = math.inf
#: Balance: squared unused width of each line, so lines of similar length win...
RAGGEDNESS = 0.02
#: ... and a first line longer than the second costs a little more (a bottom-heavy pyramid).
TOP_HEAVY = 0.1


def _bare(word: str) -> str:
    return word.strip(CLOSERS + "\"'([{\u00ab\u201c\u2018").lower()


def _capitalised(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return bool(letters) and letters[0].isupper() and _bare(word) not in NOT_NAMES


def sentence_starts(words: Sequence[str]) -> list[bool]:
    """For each word, whether it opens a sentence (the first word, or one after ``.``, ``?``, ``!``)."""
    starts: list[bool] = []
    for index in range(len(words)):
        starts.append(not index or _ends_sentence(words[index - 1]))
    return starts


def _ends_sentence(word: str) -> bool:
    return word.rstrip(CLOSERS).endswith(SENTENCE_END) and _bare(word) not in TITLES


def break_cost(before: str, after: str, before_opens_sentence: bool = False) -> float:
    """The cost of breaking between ``before`` and ``after``; :data:`FORBIDDEN` where it must not."""
    if _ends_sentence(before):
        return AFTER_SENTENCE
    if before.rstrip(CLOSERS).endswith(CLAUSE_END):
        return AFTER_CLAUSE
    word = _bare(before)
    if word in DETERMINERS or word in TITLES:
        return FORBIDDEN
    # Consecutive capitalised words are a name, unless the first is capitalised only because
    # it opens a sentence ("Yesterday John ..."); "New York" at a sentence start is missed.
    if _capitalised(before) and _capitalised(after) and not before_opens_sentence:
        return FORBIDDEN
    following = _bare(after)
    if following in CONJUNCTIONS:
        return BEFORE_CONJUNCTION
    if following in PREPOSITIONS:
        return BEFORE_PREPOSITION
    return 0.0


def greedy_wrap(words: Sequence[str], width: int) -> list[str]:
    """Fill each line with as many words as fit: the export's behaviour before presets."""
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if current and len(candidate) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


def break_costs(words: Sequence[str]) -> list[float]:
    """The :func:`break_cost` of a break before each word (0 before the first)."""
    opens = sentence_starts(words)
    return [0.0] + [break_cost(words[j - 1], words[j], opens[j - 1]) for j in range(1, len(words))]


def natural_wrap(
    words: Sequence[str],
    width: int,
    max_lines: int,
    *,
    costs: Sequence[float] | None = None,
) -> list[str]:
    """``words`` in as many lines as the greedy fill needs, broken at the cheapest natural points.

    Never worse than :func:`greedy_wrap`: the same number of lines, none wider than ``width``;
    one line stays one line, and the greedy lines are kept when every other choice would break
    a forbidden pair or when a single word is wider than a line. ``costs``: the :func:`break_cost`
    before each word, when the caller has them already (a cue builder weighs each pair once).
    """
    greedy = greedy_wrap(words, width)
    count = len(greedy)
    if count < 2 or count > max_lines or any(len(word) > width for word in words):
        return greedy
    n = len(words)
    cut = list(costs) if costs is not None else break_costs(words)  # cut[j]: a break before words[j]
    prefix = [0]
    for word in words:
        prefix.append(prefix[-1] + len(word))

    def length(i: int, j: int) -> int:
        return prefix[j] - prefix[i] + (j - i - 1)

    # best[m][j]: (cost, previous cut, length of the last line) for words[:j] in m lines.
    best: list[dict[int, tuple[float, int, int]]] = [{0: (0.0, -1, 0)}]
    for lines in range(1, count + 1):
        row: dict[int, tuple[float, int, int]] = {}
        for i, (cost, _prev, last) in best[lines - 1].items():
            for j in range(i + 1, n + 1):
                size = length(i, j)
                if size > width:
                    break
                if (lines == count) != (j == n):
                    continue
                step = (cut[i] if i else 0.0) + RAGGEDNESS * (width - size) ** 2
                if lines > 1:
                    step += TOP_HEAVY * max(0, last - size)
                total = cost + step
                if total < row.get(j, (math.inf, 0, 0))[0]:
                    row[j] = (total, i, size)
        best.append(row)
    if n not in best[count] or math.isinf(best[count][n][0]):
        return greedy
    bounds = [n]
    for lines in range(count, 0, -1):
        bounds.append(best[lines][bounds[-1]][1])
    bounds.reverse()
    return [" ".join(words[a:b]) for a, b in pairwise(bounds)]
