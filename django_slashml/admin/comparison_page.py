"""The markup of the comparison page and the provider report's chart, built in Python.

Six transcripts of 5,000 words are 30,000 spans: one ``html.escape`` per word and one
``join`` per transcript, not a template include per word, keep the page in budget
(docs/benchmarks.md). Each transcript is aligned once, to the reference or, without one,
to the transcript closest to all the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from django.utils.safestring import SafeString, mark_safe

from django_slashml.transcripts.comparisons import Entry
from django_slashml.transcripts.report import ProviderRow
from django_slashml.transcripts.scoring import align

__all__ = ["aligned_html", "wer_chart"]


def _start(entry: Entry, index: int) -> str:
    source = entry.sources[index] if index < len(entry.sources) else -1
    if source < 0:
        return ""
    start = entry.job.words[source].get("start")
    return f' data-start="{int(start)}"' if isinstance(start, (int, float)) else ""


def aligned_html(entry: Entry, base: Sequence[str]) -> SafeString:
    """``entry``'s words aligned to ``base``: substitutions, deletions and insertions marked."""
    words = entry.words
    out: list[str] = []
    for chunk in align(base, words):
        if chunk.kind == "equal":
            out.extend(
                f'<span class="w"{_start(entry, j)}>{escape(words[j])}</span>'
                for j in range(chunk.hyp_start, chunk.hyp_end)
            )
        elif chunk.kind == "substitute":
            refs = base[chunk.ref_start : chunk.ref_end]
            for offset, j in enumerate(range(chunk.hyp_start, chunk.hyp_end)):
                heard = escape(refs[min(offset, len(refs) - 1)], quote=True)
                out.append(f'<span class="w sub" title="{heard}"{_start(entry, j)}>{escape(words[j])}</span>')
        elif chunk.kind == "insert":
            out.extend(
                f'<ins class="w ins"{_start(entry, j)}>{escape(words[j])}</ins>'
                for j in range(chunk.hyp_start, chunk.hyp_end)
            )
        else:
            out.extend(f'<del class="del">{escape(base[i])}</del>' for i in range(chunk.ref_start, chunk.ref_end))
    return mark_safe(" ".join(out))  # noqa: S308 - every word was escaped above


def wer_chart(rows: Sequence[ProviderRow], *, width: int = 480, bar: int = 22) -> SafeString:
    """A horizontal bar per provider with a mean WER, as inline SVG (no script, no CDN)."""
    scored = [row for row in rows if row.mean_wer is not None]
    if not scored:
        return mark_safe("")
    label_width, gap = 90, 6
    top = max(row.mean_wer or 0.0 for row in scored) or 1.0
    height = len(scored) * (bar + gap) + gap
    parts = [
        f'<svg class="slashml-wer-chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for n, row in enumerate(scored):
        y = gap + n * (bar + gap)
        value = row.mean_wer or 0.0
        length = max(1.0, (width - label_width - 70) * value / top)
        name = escape(row.provider)
        parts.append(
            f'<text x="0" y="{y + bar * 0.7:.1f}">{name}</text>'
            f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{bar}" fill="#417690">'
            f"<title>{name}: {value:.1%}</title></rect>"
            f'<text x="{label_width + length + 6:.1f}" y="{y + bar * 0.7:.1f}">{value:.1%}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - built from numbers and escaped names
