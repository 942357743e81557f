"""A caller reads out a card, an email and a phone number: no output of the job holds them.

Through the real pipeline with the in-process fake SlashML; spelling applied with the timings.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from django_slashml import transcribe
from django_slashml.exceptions import InvalidSpellingError
from django_slashml.jobs import pipeline
from django_slashml.jobs.pipeline import Step
from django_slashml.models import JobEvent, JobStatus, RedactedSpan, TranscriptionJob, TranscriptSegment
from django_slashml.transcripts import exports
from django_slashml.transcripts.review import review

pytestmark = pytest.mark.django_db

CALL = (
    "Hi this is Ann from slash ml. My card is four one one one 1111 1111 1111, "
    "email ann.lee@example.com and my number is 555-867-5309. Thanks."
)
#: What the caller read out, as it could survive in any output (digit groups as whole words, in JSON too).
SECRETS = ["one one one", "1111 1111", '"1111', '"four"', "ann.lee", "example.com", "867-5309", "555-867"]
RULES = {"REDACT": ["CARD", "EMAIL", "PHONE"], "SPELLING": [{"from": ["slash ml"], "to": "SlashML"}]}
AUDIO = b"RIFF....WAVEfmt " + bytes(64)


@pytest.fixture
def redacting(fake_slashml: Any, settings: Any) -> Any:
    settings.SLASHML = {**settings.SLASHML, **RULES}
    return fake_slashml


def audio() -> SimpleUploadedFile:
    return SimpleUploadedFile("call.wav", AUDIO, content_type="audio/wav")


def run(fake: Any, job: TranscriptionJob) -> TranscriptionJob:
    fake.run_jobs()
    job.refresh_from_db()
    return job


def assert_clean(value: Any) -> None:
    shown = value if isinstance(value, str) else json.dumps(value, default=str)
    for secret in SECRETS:
        assert secret not in shown, (secret, shown[:300])


def test_nothing_the_caller_read_out_is_stored_and_spelling_keeps_the_timings(
    redacting: Any, signal_log: Any, caplog: Any, admin_client: Any, django_user_model: Any
) -> None:
    caplog.set_level(logging.DEBUG, logger="django_slashml")
    redacting.next_result(CALL)
    owner = django_user_model.objects.create_user("ann")
    job = run(redacting, transcribe(audio(), owner=owner))
    assert job.status == JobStatus.COMPLETED
    assert "[CARD]," in job.text and "[EMAIL]" in job.text and "[PHONE]." in job.text
    assert "Ann from SlashML." in job.text
    texts = [w["text"] for w in job.words]
    spelled = job.words[texts.index("SlashML.")]
    assert (spelled["start"], spelled["end"]) == (5 * 400, 6 * 400 + 350)
    card = job.words[texts.index("[CARD],")]
    assert (card["start"], card["end"]) == (10 * 400, 16 * 400 + 350)
    assert_clean(job.text)
    assert_clean(job.words)
    assert job.unredacted is None, "not kept unless a setting says so"
    spans = list(job.redacted_spans.values_list("kind", "start_ms", "end_ms"))
    assert spans == [("CARD", 4000, 6750), ("EMAIL", 7200, 7550), ("PHONE", 9200, 9550)]
    events = list(JobEvent.objects.filter(job=job))
    assert any(e.answer and "words" in e.answer for e in events), "the completed answer is kept, redacted"
    for event in events:
        assert_clean(event.answer)
        assert_clean(event.detail)
    assert_clean(job.last_response)
    assert_clean(list(TranscriptSegment.objects.filter(job=job).values_list("text", flat=True)))
    for fmt in ("txt", "srt", "vtt", "json"):
        assert_clean(exports.render(job, fmt))
    api = APIClient()
    api.force_authenticate(owner)
    answer = api.get(f"/api/slashml/jobs/{job.pk}/")
    assert answer.status_code == 200 and "[CARD]" in answer.content.decode()
    assert_clean(answer.content.decode())
    page = admin_client.get(f"/admin/django_slashml/transcriptionjob/{job.pk}/change/")
    assert page.status_code == 200
    assert_clean(page.content.decode())
    assert '<table class="slashml-redacted">' in page.content.decode() and "<td>CARD</td>" in page.content.decode()
    completed = [kw["job"] for name, kw in signal_log if name == "transcription_completed"]
    assert completed and completed[0].text == job.text
    assert completed[0].redacted_spans.count() == 3, "the spans are there when receivers run"
    assert_clean(caplog.text)


def test_a_reviewers_correction_is_redacted_again_never_respelled(redacting: Any) -> None:
    redacting.next_result("call me soon")
    job = run(redacting, transcribe(audio()))
    job = review(job, reviewer=None, state="approved", corrected_text="slash ml: card 4111111111111111")
    assert job.corrected_text == "slash ml: card [CARD]"


def test_keep_original_keeps_it_for_staff_with_the_permission_only(
    redacting: Any, settings: Any, django_user_model: Any
) -> None:
    from django.contrib.auth.models import Permission
    from django.test import Client

    settings.SLASHML = {**settings.SLASHML, "REDACTION_KEEP_ORIGINAL": True}
    redacting.next_result("mail ann@example.com")
    job = run(redacting, transcribe(audio()))
    assert job.text == "mail [EMAIL]"
    assert job.unredacted["text"] == "mail ann@example.com"
    page = f"/admin/django_slashml/transcriptionjob/{job.pk}/change/"
    pages = {}
    for name, codenames in {
        "viewer": ["view_transcriptionjob"],
        "trusted": ["view_transcriptionjob", "view_unredacted_transcript"],
    }.items():
        user = django_user_model.objects.create_user(name, is_staff=True)
        user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
        client = Client()
        client.force_login(user)
        pages[name] = client.get(page).content.decode()
    assert "ann@example.com" not in pages["viewer"]
    assert "ann@example.com" in pages["trusted"]
    api = APIClient()
    api.force_authenticate(django_user_model.objects.create_superuser("root"))
    assert "ann@example.com" not in api.get(f"/api/slashml/jobs/{job.pk}/").content.decode()


def test_reuse_gives_each_job_its_own_spelling(redacting: Any) -> None:
    redacting.next_result("ask slash ml about 4111111111111111")
    first = run(redacting, transcribe(audio()))
    assert first.text == "ask SlashML about [CARD]"
    same = transcribe(audio())
    assert pipeline.advance(same.pk) == Step.REUSED, "same rules: the stored transcript is copied"
    same.refresh_from_db()
    assert same.text == first.text and same.redacted_spans.count() == 1
    own = transcribe(audio(), spelling=[{"from": ["slash ml"], "to": "Slash-ML"}])
    assert pipeline.advance(own.pk) == Step.FOLLOWING, "other rules: SlashML's answer is fetched again"
    own = run(redacting, own)
    assert own.status == JobStatus.COMPLETED and own.reused_from_id in (first.pk, same.pk)
    assert own.text == "ask Slash-ML about [CARD]"
    assert [c.method for c in redacting.calls].count("submit") == 1, "nothing transcribed twice"
    assert RedactedSpan.objects.filter(job=own).count() == 1


def test_a_job_spelling_table_out_of_bounds_is_refused_before_anything_is_saved(
    redacting: Any, django_user_model: Any
) -> None:
    with pytest.raises(InvalidSpellingError, match="at most 100"):
        transcribe(audio(), spelling=[{"from": ["a"], "to": "b"}] * 101)
    assert not TranscriptionJob.objects.exists()
    api = APIClient()
    api.force_authenticate(django_user_model.objects.create_user("bob"))
    answer = api.post(
        "/api/slashml/jobs/", {"audio_url": "https://example.com/a.wav", "spelling": [{"from": "x"}]}, format="json"
    )
    assert answer.status_code == 400
    assert "spelling" in answer.json()
    good = api.post(
        "/api/slashml/jobs/",
        {"audio_url": "https://example.com/a.wav", "spelling": [{"from": ["x y"], "to": "XY"}]},
        format="json",
    )
    assert good.status_code == 201, good.content
    assert TranscriptionJob.objects.get().spelling == [{"from": ["x y"], "to": "XY"}]


def test_the_command_applies_todays_rules_to_existing_transcripts_and_resumes(fake_slashml: Any, settings: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    fake_slashml.next_result("ask slash ml about 4111111111111111")
    fake_slashml.next_result("mail ann@example.com")
    jobs = [run(fake_slashml, transcribe(audio(), fresh=True)) for _ in range(2)]
    assert "4111111111111111" in jobs[0].text, "no rules yet"
    settings.SLASHML = {**settings.SLASHML, **RULES}
    first_key = min(str(job.pk) for job in jobs)
    out = StringIO()
    call_command("slashml_redact", "--after", first_key, stdout=out, stderr=StringIO())
    assert "1 changed" in out.getvalue(), "resumed after the first key: only the other job"
    call_command("slashml_redact", "--batch-size", "1", stdout=out, stderr=StringIO())
    texts = sorted(TranscriptionJob.objects.values_list("text", flat=True))
    assert texts == ["ask SlashML about [CARD]", "mail [EMAIL]"]
    assert RedactedSpan.objects.count() == 2
    assert_clean(list(TranscriptSegment.objects.values_list("text", flat=True)))
    out = StringIO()
    call_command("slashml_redact", stdout=out, stderr=StringIO())
    assert "0 changed" in out.getvalue(), "a second run changes nothing"


def test_spans_are_counted_by_kind_in_the_metrics(redacting: Any, settings: Any, client: Any) -> None:
    from .extras import require

    require("prometheus_client")
    settings.SLASHML = {**settings.SLASHML, "METRICS_TOKEN": "t" * 20}
    redacting.next_result(CALL)
    run(redacting, transcribe(audio()))
    body = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {'t' * 20}").content.decode()
    for kind in ("CARD", "EMAIL", "PHONE"):
        assert f'slashml_redacted_spans{{kind="{kind}"}} 1.0' in body


def test_a_comparisons_reference_text_is_redacted_not_respelled(redacting: Any) -> None:
    from django_slashml.jobs.comparisons import validate_reference

    assert validate_reference(" slash ml card 4111 1111 1111 1111 ") == "slash ml card [CARD]"


def test_the_audio_player_plays_a_copy_with_a_tone_over_the_card(
    redacting: Any, django_user_model: Any, admin_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    import io
    import wave
    from array import array
    from pathlib import Path

    from django.test import Client

    from .extras import require

    require("av")
    redacting.next_result("card 4111111111111111 ok")  # the card's word: 400 to 750 ms
    owner = django_user_model.objects.create_user("ann", is_staff=True)
    speech = (Path(__file__).parent / "fixtures" / "speech.wav").read_bytes()
    job = run(redacting, transcribe(SimpleUploadedFile("call.wav", speech, content_type="audio/wav"), owner=owner))
    assert job.text == "card [CARD] ok" and job.redacted_audio is not None
    assert job.redacted_audio.owner == owner
    client = Client()
    client.force_login(owner)
    url = f"/admin/django_slashml/transcriptionjob/{job.pk}/audio/"
    played = client.get(url)
    assert played.status_code == 200
    with wave.open(io.BytesIO(b"".join(played.streaming_content))) as toned:
        rate = toned.getframerate()
        samples = array("h", toned.readframes(toned.getnframes()))
    card = samples[int(0.45 * rate) : int(0.7 * rate)]
    assert max(card) == 6553 and min(card) == -6553
    original = client.get(url + "?original=1")
    assert b"".join(original.streaming_content) != speech, "the original only for the permission"
    assert b"".join(admin_client.get(url + "?original=1").streaming_content) == speech
    owners_page = client.get(f"/api/slashml/transcripts/{job.pk}/audio/?original=1")
    assert b"".join(owners_page.streaming_content) == b"".join(client.get(url).streaming_content), "the copy there too"
    upload_url = f"/admin/django_slashml/audioupload/{job.upload_id}/audio/"
    assert client.get(upload_url).status_code == 403, "the upload's own player would play the original"
    assert b"".join(admin_client.get(upload_url).streaming_content) == speech
    from django_slashml.jobs import actions

    copy = job.redacted_audio
    with django_capture_on_commit_callbacks(execute=True):
        actions.retry(job)
    job.refresh_from_db()
    copy.refresh_from_db()
    assert job.redacted_audio is None and copy.purged_at is not None, "a retry drops the old transcript's copy"


def test_the_original_audio_goes_once_no_active_job_needs_it(redacting: Any, settings: Any) -> None:
    from pathlib import Path

    from django_slashml.models import AudioUpload

    from .extras import require

    require("av")
    settings.SLASHML = {**settings.SLASHML, "REDACTION_DELETE_ORIGINAL_AUDIO": True}
    speech = (Path(__file__).parent / "fixtures" / "speech.wav").read_bytes()
    redacting.next_result("card 4111111111111111 ok")
    job = run(redacting, transcribe(SimpleUploadedFile("call.wav", speech, content_type="audio/wav")))
    original = AudioUpload.objects.get(pk=job.upload_id)
    assert original.purged_at is not None and not original.file.name
    assert job.redacted_audio is not None and job.redacted_audio.file.name


def test_the_command_never_overwrites_a_review_saved_after_it_read_the_job(
    fake_slashml: Any, settings: Any, admin_user: Any
) -> None:
    from django_slashml.jobs.redacting import apply_current_rules
    from django_slashml.transcripts.review import review

    fake_slashml.next_result("card 4111111111111111")
    job = run(fake_slashml, transcribe(audio(), fresh=True))
    settings.SLASHML = {**settings.SLASHML, **RULES}
    as_read = TranscriptionJob.objects.get(pk=job.pk)  # the command's batch
    review(job, reviewer=admin_user, state="approved", corrected_text="the card number read out")
    assert apply_current_rules(as_read) is False, "the review came after the read: this batch leaves the job"
    job.refresh_from_db()
    assert job.corrected_text == "the card number read out"
    assert apply_current_rules(job) is True and job.text == "card [CARD]", "the next run redacts it"
