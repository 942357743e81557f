"""6. Comparisons: scoring two 20,000-word transcripts, and the admin page of 6 providers x 5,000 words."""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_slashml.models import Comparison, JobStatus, TranscriptionJob
from django_slashml.transcripts.normalise import normalise_text
from django_slashml.transcripts.scoring import score

from .harness import empty_tables
from .report import Section, Target

VOCABULARY = ("the quick brown fox jumps over a lazy dog while seven bright cats sleep in warm sun").split()  # noqa: SIM905
PROVIDERS = ("assembly", "whisper", "deepgram", "rev", "aws", "google")


def _garbled(words: list[str], rate: float, rng: random.Random) -> list[str]:
    """``words`` with about ``rate`` of them substituted, deleted or followed by an insertion."""
    out: list[str] = []
    for word in words:
        draw = rng.random()
        if draw >= rate:
            out.append(word)
        elif draw < rate / 3:
            out.append(rng.choice(VOCABULARY))
        elif draw < 2 * rate / 3:
            out += [word, rng.choice(VOCABULARY)]
    return out


def _timed(words: list[str]) -> list[dict[str, Any]]:
    return [{"text": w, "start": 400 * i, "end": 400 * i + 350, "confidence": 0.9} for i, w in enumerate(words)]


def _median_ms(action: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def _comparison_page(words: int, admin: User) -> Comparison:
    rng = random.Random(5)
    reference = [rng.choice(VOCABULARY) for _ in range(words)]
    comparison = Comparison.objects.create(reference_text=" ".join(reference), owner=admin)
    now = timezone.now()
    for index, provider in enumerate(PROVIDERS):
        heard = _garbled(reference, 0.03 * index, rng)
        TranscriptionJob.objects.create(
            comparison=comparison, service_provider=provider, status=JobStatus.COMPLETED, owner=admin,
            text=" ".join(heard), words=_timed(heard), audio_duration=words * 0.4, submitted_at=now, completed_at=now,
        )  # fmt: skip
    return comparison


def run(bench: Any) -> Section:
    words, page_words, repeat = 20_000, 5_000, 10
    section = Section(
        title="6. Comparisons",
        setup=(
            f"Scoring: two {words:,}-word transcripts (the second with about 10% of its words changed), "
            f"normalised and scored (WER, CER, S/D/I) in process; median of {repeat}. The page: the admin's "
            f"comparison page for {len(PROVIDERS)} providers of {page_words:,} words each against a reference, "
            f"Django's test client as a superuser, median of {repeat} after one warm-up; queries include the "
            "session and user lookups."
        ),
        headers=["what", "time", "queries"],
    )
    rng = random.Random(3)
    reference_text = " ".join(rng.choice(VOCABULARY) for _ in range(words))
    hypothesis_text = " ".join(_garbled(reference_text.split(), 0.1, rng))
    scoring_ms = _median_ms(lambda: score(normalise_text(reference_text), normalise_text(hypothesis_text)), repeat)
    section.rows.append([f"score a pair of {words:,}-word transcripts", f"{scoring_ms:.1f} ms", "0"])

    empty_tables()
    User.objects.filter(username="bench-admin").delete()
    admin = User.objects.create_superuser("bench-admin", password="unused")  # noqa: S106
    client = Client()
    client.force_login(admin)
    query_counts = []
    page_ms = 0.0
    for providers in (2, len(PROVIDERS)):
        comparison = _comparison_page(page_words, admin)
        TranscriptionJob.objects.filter(comparison=comparison, service_provider__in=PROVIDERS[providers:]).delete()
        url = f"/admin/django_slashml/comparison/{comparison.pk}/change/"
        if client.get(url).status_code != 200:
            raise RuntimeError(f"GET {url} failed")
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        query_counts.append(len(queries.captured_queries))
        page_ms = _median_ms(lambda url=url: client.get(url), repeat)
        section.rows.append(
            [
                f"comparison page, {providers} providers x {page_words:,} words",
                f"{page_ms:.1f} ms",
                str(query_counts[-1]),
            ]
        )
    section.targets += [
        Target(f"scoring two {words:,}-word transcripts in at most 200 ms", f"{scoring_ms:.1f} ms", scoring_ms <= 200),
        Target(
            f"the page for 6 providers x {page_words:,} words in at most 300 ms", f"{page_ms:.1f} ms", page_ms <= 300
        ),
        Target(
            "a constant number of queries (2 providers vs 6)",
            f"{query_counts[0]} vs {query_counts[1]}",
            query_counts[0] == query_counts[1],
        ),
    ]
    empty_tables()
    return section
