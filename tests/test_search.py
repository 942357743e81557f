"""Full-text search: segments follow the transcript, one query language on every engine, the REST API.

Marked ``services``: the same tests run on SQLite (FTS5, and plain matching) by default and on
PostgreSQL (tsvector + GIN) in the service tier, so the results agree across engines.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from django_slashml.jobs import lifecycle
from django_slashml.models import JobStatus, ReviewState, TranscriptionJob, TranscriptSegment
from django_slashml.remote.responses import parse_job
from django_slashml.transcripts import review
from django_slashml.transcripts.search import engines, search
from django_slashml.transcripts.search.checks import check_search_settings
from django_slashml.transcripts.search.query import parse

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def timed(text: str, *, gap_after: int | None = None, step: int = 400) -> list[dict[str, Any]]:
    """Words 400 ms apart; a 2 s pause after word ``gap_after``."""
    words, at = [], 0
    for index, word in enumerate(text.split()):
        words.append({"text": word, "start": at, "end": at + step - 50, "confidence": 0.9})
        at += step + (2000 if index == gap_after else 0)
    return words


def finished(text: str, *, owner: Any = None, provider: str = "assembly", **kwargs: Any) -> TranscriptionJob:
    """A job completed the way the pipeline completes one: SlashML's answer through lifecycle."""
    job = TranscriptionJob.objects.create(service_provider=provider, status=JobStatus.IN_PROGRESS, owner=owner)
    words = timed(text, **kwargs)
    body = {"id": f"r-{job.pk}", "status": "COMPLETED", "text": text, "words": words, "audio_duration": 30.0}
    assert lifecycle.complete(job, parse_job(body))
    return job


CORPUS = {
    "storm": "The storm reached the harbour at dawn. Fishermen tied their boats twice.",
    "budget": "Our budget meeting moved to Friday. The harbour project needs more money.",
    "greek": "Καλημέρα κόσμε. Σήμερα η θάλασσα είναι ήρεμη.",
}


@pytest.fixture
def corpus(django_user_model: Any) -> dict[str, TranscriptionJob]:
    owner = django_user_model.objects.create_user("owner", password="pw")
    return {name: finished(text, owner=owner) for name, text in CORPUS.items()}


def found(query: str) -> set[tuple[str, int]]:
    _, segments = search(TranscriptionJob.objects.all(), query)
    names = {job.pk: name for name, job in ((n, TranscriptionJob.objects.get(text=t)) for n, t in CORPUS.items())}
    return {(names[s.job_id], s.start_ms) for s in segments}


# -- segments --------------------------------------------------------------------------------


def test_a_completed_job_is_cut_into_timed_phrases_at_sentence_ends_and_pauses() -> None:
    text = "We met at noon. Then nothing happened for a while and after the pause we left"
    job = finished(text, gap_after=9)  # the pause follows "while"
    segments = list(job.segments.order_by("position").values_list("start_ms", "end_ms", "text"))
    assert [s[2] for s in segments] == [
        "We met at noon.",
        "Then nothing happened for a while",
        "and after the pause we left",
    ]
    assert segments[1][0] == 4 * 400 and segments[2][0] == 10 * 400 + 2000
    assert all(start < end for start, end, _ in segments)


def test_a_review_reindexes_the_corrected_text_with_the_aligned_timings(corpus: dict[str, TranscriptionJob]) -> None:
    job = corpus["storm"]
    assert found("fishermen") == {("storm", 2800)}
    review.review(
        job, reviewer=None, state=ReviewState.APPROVED, corrected_text=CORPUS["storm"].replace("Fishermen", "Sailors")
    )
    assert found("fishermen") == set()
    assert found("sailors") == {("storm", 2800)}


def test_a_retried_job_leaves_the_search_until_it_completes_again(corpus: dict[str, TranscriptionJob]) -> None:
    from django_slashml.jobs import actions

    actions.retry(corpus["budget"])
    assert not TranscriptSegment.objects.filter(job=corpus["budget"]).exists()
    assert found("harbour") == {("storm", 0)}


def test_a_job_that_reuses_a_finished_transcript_is_searchable_as_its_own(
    corpus: dict[str, TranscriptionJob],
) -> None:
    source = corpus["budget"]
    job = TranscriptionJob.objects.create(service_provider="assembly", status=JobStatus.PENDING, lease_owner="w1")
    assert lifecycle.adopt(job, source, lease_owner="w1")
    assert {s.job_id for s in search(TranscriptionJob.objects.all(), "friday")[1]} == {source.pk, job.pk}


def test_reindex_builds_segments_for_existing_jobs_with_a_progress_bar(
    corpus: dict[str, TranscriptionJob], capsys: pytest.CaptureFixture[str]
) -> None:
    TranscriptSegment.objects.all().delete()
    assert found("harbour") == set()
    with CaptureQueriesContext(connection) as queries:
        call_command("slashml_reindex", "--batch-size", "2")
    assert found("harbour") == {("storm", 0), ("budget", 2400)}
    # Jobs are read two at a time, each batch after the last one's key: never all at once, never OFFSET.
    quote = connection.ops.quote_name
    table = f"FROM {quote(TranscriptionJob._meta.db_table)}"
    reads = [q["sql"] for q in queries.captured_queries if table in q["sql"]]
    batches = [sql for sql in reads if "LIMIT 2" in sql]
    assert len(batches) == 3 and all("OFFSET" not in sql for sql in batches)
    assert quote("words") in batches[0] and quote("last_response") not in batches[0]
    out = capsys.readouterr()
    assert "3/3" in out.err and "Indexed 3 completed job(s)." in out.out


# -- one query language, every engine ---------------------------------------------------------

QUERIES = {
    "harbour": {("storm", 0), ("budget", 2400)},
    "HARBOUR": {("storm", 0), ("budget", 2400)},
    '"harbour project"': {("budget", 2400)},
    '"project harbour"': set(),
    "harbour -storm": {("budget", 2400)},
    "harbour money": {("budget", 2400)},
    "fishermen OR friday": {("storm", 2800), ("budget", 0)},
    "θάλασσα": {("greek", 800)},
    "zebra": set(),
}


@pytest.mark.parametrize("query", list(QUERIES))
def test_web_search_syntax_finds_the_same_phrases(corpus: dict[str, TranscriptionJob], query: str) -> None:
    assert found(query) == QUERIES[query]


@pytest.mark.parametrize("query", ["harbour", '"harbour project"', "harbour -storm", "fishermen OR friday"])
def test_plain_matching_agrees_where_full_text_search_is_missing(
    corpus: dict[str, TranscriptionJob], monkeypatch: pytest.MonkeyPatch, query: str
) -> None:
    monkeypatch.setattr(engines, "engine", lambda alias: "plain")
    assert found(query) == QUERIES[query]


def test_the_engine_is_the_databases_own_where_it_has_one() -> None:
    expected = {"postgresql": "postgresql", "sqlite": "fts5"}.get(connection.vendor, "plain")
    assert engines.engine("default") == expected


def test_fts5_is_used_only_while_its_triggers_keep_it_in_step() -> None:
    """Every migration leaves the FTS5 table's triggers in place; without them search matches plainly."""
    if connection.vendor != "sqlite" or engines.engine("default") != "fts5":
        pytest.skip("SQLite with FTS5 only")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER {engines.FTS_TRIGGERS[0]}")
    assert engines.engine("default") == "plain"


def test_the_vector_column_is_postgresqls_own_type_there_and_text_elsewhere() -> None:
    """MySQL, MariaDB and Oracle know no ``tsvector``: the table must still be created there."""
    from types import SimpleNamespace

    column = TranscriptSegment._meta.get_field("search_vector")
    assert column.db_type(SimpleNamespace(vendor="postgresql")) == "tsvector"
    assert {column.db_type(SimpleNamespace(vendor=vendor)) for vendor in ("mysql", "oracle", "sqlite")} == {"text"}
    assert column.check() == []  # no project needs django.contrib.postgres for it (Django 6's postgres.E005)


def test_hostile_text_is_only_ever_words() -> None:
    parsed = parse("a'; DROP TABLE x;-- OR NEAR(b c) * ^col:d \"e")
    expression = engines.fts5_expression(parsed)
    assert expression == '("a" AND "drop" AND "table" AND "x") OR ("near" AND "b" AND "c" AND "col" AND "d" AND "e")'
    assert parsed.websearch() == "a drop table x OR near b c col d e"


# -- the REST API ----------------------------------------------------------------------------


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_results_carry_the_job_the_times_the_marked_snippet_and_a_link_that_plays_from_there(
    corpus: dict[str, TranscriptionJob],
) -> None:
    owner = corpus["storm"].owner
    response = client_for(owner).get("/api/slashml/search/", {"q": "fishermen"})
    assert response.status_code == 200, response.content
    assert response.data["count"] == 1
    [result] = response.data["results"]
    assert result["job"] == str(corpus["storm"].pk)
    assert (result["start"], result["at"], result["end"]) == (2800, 2800, 4750)
    assert result["text"] == "Fishermen tied their boats twice."
    assert result["snippet"] == "<mark>Fishermen</mark> tied their boats twice."
    assert result["url"].endswith(f"/api/slashml/transcripts/{corpus['storm'].pk}/?t=2.8")


def test_the_link_plays_from_the_matched_word_inside_its_phrase(corpus: dict[str, TranscriptionJob]) -> None:
    job = corpus["storm"]
    results = client_for(job.owner).get("/api/slashml/search/", {"q": "harbour", "service_provider": "assembly"})
    [result] = [r for r in results.data["results"] if r["job"] == str(job.pk)]
    assert (result["start"], result["at"]) == (0, 4 * 400)  # "The storm reached the harbour"
    assert result["url"].endswith("?t=1.6")
    review.review(job, reviewer=None, state=ReviewState.APPROVED, corrected_text="Yesterday " + CORPUS["storm"])
    [result] = [
        r
        for r in client_for(job.owner).get("/api/slashml/search/", {"q": "harbour"}).data["results"]
        if r["job"] == str(job.pk)
    ]
    assert result["at"] == 4 * 400  # the inserted word shares the first word's time; harbour keeps its own


def test_owners_see_their_own_staff_with_the_view_permission_all_anonymous_none(
    corpus: dict[str, TranscriptionJob], django_user_model: Any
) -> None:
    stranger = django_user_model.objects.create_user("stranger", password="pw")
    staff = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    assert client_for(stranger).get("/api/slashml/search/", {"q": "harbour"}).data["count"] == 0
    assert client_for(staff).get("/api/slashml/search/", {"q": "harbour"}).data["count"] == 0
    staff.user_permissions.add(Permission.objects.get(codename="view_transcriptionjob"))
    staff = django_user_model.objects.get(pk=staff.pk)
    assert client_for(staff).get("/api/slashml/search/", {"q": "harbour"}).data["count"] == 2
    assert APIClient().get("/api/slashml/search/", {"q": "harbour"}).status_code in (401, 403)


def test_a_project_on_django_model_permissions_can_search(corpus: dict[str, TranscriptionJob], settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **getattr(settings, "REST_FRAMEWORK", {}),
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.DjangoModelPermissions"],
    }
    answer = client_for(corpus["storm"].owner).get("/api/slashml/search/", {"q": "harbour"})
    assert answer.status_code == 200 and answer.data["count"] >= 1


def test_filters_and_pages_like_the_job_list(corpus: dict[str, TranscriptionJob]) -> None:
    client = client_for(corpus["storm"].owner)
    TranscriptionJob.objects.filter(pk=corpus["budget"].pk).update(service_provider="whisper")
    assert client.get("/api/slashml/search/", {"q": "harbour", "service_provider": "whisper"}).data["count"] == 1
    assert client.get("/api/slashml/search/", {"q": "harbour", "review_state": "approved"}).data["count"] == 0
    assert client.get("/api/slashml/search/", {"q": "harbour", "created_after": "2999-01-01"}).data["count"] == 0
    bad = client.get("/api/slashml/search/", {"q": "harbour", "created_after": "soon"})
    assert bad.status_code == 400 and "created_after" in bad.data
    page = client.get("/api/slashml/search/", {"q": "harbour", "page_size": 1})
    assert page.data["count"] == 2 and len(page.data["results"]) == 1 and page.data["next"]


@pytest.mark.parametrize(
    "query",
    [
        "x" * 1000,
        "",
        "   ",
        "-storm",
        '"unbalanced harbour',
        "harbour OR",
        "OR OR -",
        "' OR 1=1; DROP TABLE django_slashml_transcriptsegment; --",
        'NEAR("a" "b") AND * ^ : ( )',
        "東京 会議",
        "مرحبا بالعالم",
        "\x00\u202e",
    ],
)
def test_odd_queries_give_a_400_naming_q_or_a_result_never_a_500(
    corpus: dict[str, TranscriptionJob], query: str
) -> None:
    response = client_for(corpus["storm"].owner).get("/api/slashml/search/", {"q": query})
    assert response.status_code in (200, 400), response.content
    if response.status_code == 400:
        assert response.data["q"][0]
    assert TranscriptSegment.objects.count() == 6


def test_an_unbalanced_quote_searches_the_rest_as_a_phrase(corpus: dict[str, TranscriptionJob]) -> None:
    response = client_for(corpus["storm"].owner).get("/api/slashml/search/", {"q": '"harbour project'})
    assert [r["start"] for r in response.data["results"]] == [2400]


# -- settings --------------------------------------------------------------------------------


def test_a_configuration_postgresql_does_not_know_is_a_clear_503_and_a_logged_reason(
    corpus: dict[str, TranscriptionJob], settings: Any, admin_client: Any, caplog: Any
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's text search configurations (the service tier)")
    settings.SLASHML = {**settings.SLASHML, "SEARCH_CONFIG": "englsh"}
    response = client_for(corpus["storm"].owner).get("/api/slashml/search/", {"q": "harbour"})
    assert response.status_code == 503 and "configuration" in str(response.data["detail"])
    assert "'englsh' is not a text search configuration" in caplog.text
    page = admin_client.get("/admin/django_slashml/transcriptionjob/search/", {"q": "harbour"})
    assert page.status_code == 503 and "slashml_reindex" in page.content.decode()


def test_a_search_config_that_is_not_a_name_is_reported(settings: Any) -> None:
    settings.SLASHML = {**settings.SLASHML, "SEARCH_CONFIG": "english; drop", "SEARCH_MAX_MATCHES": 0}
    assert [message.id for message in check_search_settings()] == ["slashml.E040", "slashml.E041"]


# -- the admin -------------------------------------------------------------------------------


def test_the_admin_lists_matching_phrases_each_linking_into_the_viewer_at_its_second(
    corpus: dict[str, TranscriptionJob], admin_client: Any
) -> None:
    listing = admin_client.get("/admin/django_slashml/transcriptionjob/", {"q": "harbour"})
    assert b'formaction="/admin/django_slashml/transcriptionjob/search/"' in listing.content  # the one box's button
    page = admin_client.get("/admin/django_slashml/transcriptionjob/search/", {"q": "fishermen"})
    assert page.status_code == 200
    html = page.content.decode()
    change = f"/admin/django_slashml/transcriptionjob/{corpus['storm'].pk}/change/"
    assert f'href="{change}?t=2.8"' in html and "▶ 0:02" in html
    assert "<mark>Fishermen</mark> tied their boats twice." in html
    assert admin_client.get(change, {"t": "2.8"}).status_code == 200
    # And the page its owner opens from search, to send on.
    owners = f"/api/slashml/transcripts/{corpus['storm'].pk}/?t=2.8"
    assert f'href="{owners}"' in html
    owner = Client()
    owner.force_login(corpus["storm"].owner)
    assert owner.get(owners).status_code == 200


def test_the_admin_search_refuses_what_it_cannot_run_and_hides_other_peoples_jobs(
    corpus: dict[str, TranscriptionJob], client: Any, django_user_model: Any
) -> None:
    staff = django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_transcriptionjob"))
    client.force_login(staff)
    assert client.get("/admin/django_slashml/transcriptionjob/search/", {"q": "-storm"}).status_code == 400
    assert (
        "No transcript says that."
        not in client.get("/admin/django_slashml/transcriptionjob/search/", {"q": "harbour"}).content.decode()
    )
    nobody = django_user_model.objects.create_user("nobody", password="pw", is_staff=True)
    client.force_login(nobody)
    assert client.get("/admin/django_slashml/transcriptionjob/search/", {"q": "harbour"}).status_code == 403
