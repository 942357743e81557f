"""The sandbox speaks SlashML's API as documented, with every fault switch working.

Plain ``requests`` here, not the app's client: these tests pin the wire format.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from django_slashml.sandbox import make_sandbox
from django_slashml.sandbox.control import SandboxControl

from .conftest import SPEECH_SCRIPT, SPEECH_WAV

AUTH = {"Authorization": "Token sandbox-key"}


@pytest.fixture
def api(sandbox, sandbox_control) -> Any:
    class Api:
        base = sandbox.url + "/speech-to-text/v1"
        session = requests.Session()

        def upload(
            self,
            data: bytes = SPEECH_WAV.read_bytes(),
            name: str = "speech.wav",
            provider: str | None = "assembly",
            **kw: Any,
        ) -> requests.Response:
            form = {"service_provider": provider} if provider is not None else {}
            return self.session.post(
                f"{self.base}/upload/",
                headers=AUTH,
                files={"audio": (name, data, "audio/wav")},
                data=form,
                timeout=5,
                **kw,
            )

        def submit(self, url: str, provider: str = "assembly", path: str = "/jobs/") -> requests.Response:
            return self.session.post(
                f"{self.base}{path}",
                headers=AUTH,
                data={"uploaded_audio_url": url, "service_provider": provider},
                timeout=5,
                allow_redirects=False,
            )

        def status(self, job_id: str, provider: str = "assembly", timeout: float = 5) -> requests.Response:
            return self.session.get(
                f"{self.base}/jobs/{job_id}/", headers=AUTH, params={"service_provider": provider}, timeout=timeout
            )

        def finish(self, job_id: str, provider: str = "assembly") -> dict[str, Any]:
            for _ in range(200):
                body = self.status(job_id, provider).json()
                if body["status"] in ("COMPLETED", "ERROR"):
                    return body
                time.sleep(0.02)
            raise AssertionError("job did not finish")

    return Api()


def error_message(response: requests.Response) -> str:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message"}
    return body["error"]["message"]


def test_the_documented_lifecycle_and_shapes(api) -> None:
    uploaded = api.upload().json()
    assert set(uploaded) == {"uploaded_url"}
    submitted = api.submit(uploaded["uploaded_url"]).json()
    assert set(submitted) == {"id", "status", "audio_duration", "audio_url", "text"}
    assert submitted["status"] in ("QUEUED", "IN_PROGESS") and submitted["text"] is None
    running = api.status(submitted["id"]).json()
    assert running["status"] in ("QUEUED", "IN_PROGESS")
    assert set(running) == {
        "id",
        "status",
        "acoustic_model",
        "language_model",
        "audio_duration",
        "audio_url",
        "confidence",
        "dual_channel",
        "text",
        "words",
    }
    assert running["words"] is None and running["acoustic_model"] == "assembly_default"
    done = api.finish(submitted["id"])
    assert done["status"] == "COMPLETED" and done["text"].split() == SPEECH_SCRIPT
    assert done["audio_duration"] == pytest.approx(5.37, abs=0.01)
    assert 0 < done["confidence"] <= 1
    word = done["words"][1]
    assert (
        set(word) == {"text", "start", "end", "confidence"}
        and isinstance(word["start"], int)
        and word["end"] > word["start"]
    )


def test_urls_answer_with_and_without_trailing_slash_and_posts_never_redirect(api, sandbox) -> None:
    url = api.upload().json()["uploaded_url"]
    response = api.submit(url, path="/jobs")
    assert response.status_code == 200
    no_slash = api.session.get(
        f"{api.base}/jobs/{response.json()['id']}", headers=AUTH, params={"service_provider": "assembly"}
    )
    assert no_slash.status_code == 200 and not no_slash.history
    upload = api.session.post(
        f"{api.base}/upload",
        headers=AUTH,
        files={"audio": ("a.wav", SPEECH_WAV.read_bytes())},
        data={"service_provider": "aws"},
        allow_redirects=False,
    )
    assert upload.status_code == 200


def test_upload_accepts_a_missing_provider_as_the_vendor_client_sends_it(api) -> None:
    assert api.upload(provider=None).status_code == 200


def test_uploads_are_served_back_at_their_url(api) -> None:
    url = api.upload().json()["uploaded_url"]
    served = requests.get(url, timeout=5)
    assert served.status_code == 200 and served.content == SPEECH_WAV.read_bytes()


def test_a_missing_or_wrong_token_is_a_401_in_the_error_shape(api) -> None:
    for headers in ({}, {"Authorization": "Token nope"}, {"Authorization": "Bearer sandbox-key"}):
        response = requests.post(
            f"{api.base}/jobs/",
            headers=headers,
            data={"uploaded_audio_url": "https://x/a.wav", "service_provider": "aws"},
            timeout=5,
        )
        assert response.status_code == 401
        assert "API key" in error_message(response)
    assert requests.get(api.base.replace("/speech-to-text/v1", "/_sandbox/stats"), timeout=5).status_code == 401


@pytest.mark.parametrize(
    ("request_kwargs", "message"),
    [
        ({"provider": ""}, "'service_provider' is required"),
        ({"provider": "openai"}, "Unknown service_provider 'openai'"),
        ({"data": b""}, "is empty"),
        ({"data": b"just some text, definitely not audio"}, "not audio"),
    ],
)
def test_bad_uploads_get_a_400_and_the_server_keeps_serving(api, sandbox_control, request_kwargs, message) -> None:
    response = api.upload(**request_kwargs)
    assert response.status_code == 400 and message in error_message(response)
    assert sandbox_control.stats()["uploads"] == 0
    assert api.upload().status_code == 200


def test_an_upload_over_the_size_limit_is_refused() -> None:
    with make_sandbox(max_upload_size=1000) as server:
        response = requests.post(
            f"{server.url}/speech-to-text/v1/upload/",
            headers=AUTH,
            files={"audio": ("a.wav", SPEECH_WAV.read_bytes())},
            data={"service_provider": "aws"},
            timeout=5,
        )
        assert response.status_code == 400 and "larger than" in error_message(response)
        assert requests.get(f"{server.url}/_sandbox/health", timeout=5).json()["ok"] is True


def test_bad_submits_and_status_calls_get_400s(api, sandbox) -> None:
    cases = [
        (api.submit(f"{sandbox.url}/upload/00000000-0000-0000-0000-000000000000"), "Unknown uploaded_audio_url"),
        (
            api.session.post(f"{api.base}/jobs/", headers=AUTH, data={"service_provider": "aws"}),
            "'uploaded_audio_url' is required",
        ),
        (api.submit("ftp://example.com/a.wav"), "http(s)"),
        (api.status("no-such-job"), "Unknown job id"),
    ]
    job_id = api.submit(api.upload().json()["uploaded_url"]).json()["id"]
    cases.append((api.status(job_id, provider="google"), "was submitted to 'assembly', not 'google'"))
    for response, message in cases:
        assert response.status_code == 400 and message in error_message(response)


def test_uploads_are_deleted_after_their_lifetime() -> None:
    with make_sandbox(upload_ttl=0.3, processing_time=0) as server:
        control = SandboxControl(server.url, "sandbox-key")
        url = requests.post(
            f"{server.url}/speech-to-text/v1/upload/",
            headers=AUTH,
            files={"audio": ("a.wav", SPEECH_WAV.read_bytes())},
            data={"service_provider": "aws"},
            timeout=5,
        ).json()["uploaded_url"]
        assert requests.get(url, timeout=5).status_code == 200
        time.sleep(0.4)
        assert requests.get(url, timeout=5).status_code == 404
        late = requests.post(
            f"{server.url}/speech-to-text/v1/jobs/",
            headers=AUTH,
            data={"uploaded_audio_url": url, "service_provider": "aws"},
            timeout=5,
        )
        assert late.status_code == 400 and "expired" in error_message(late)
        assert control.stats()["uploads"] == 0


def test_quirks_switch_on_and_off(api, sandbox_control) -> None:
    sandbox_control.set_quirks(upload_url_key="upload_url", transcription_data=True, in_progress_spelling="IN_PROGRESS")
    url = api.upload().json()["upload_url"]
    job_id = api.submit(url).json()["id"]
    assert api.status(job_id).json()["status"] in ("QUEUED", "IN_PROGRESS")
    done = api.finish(job_id)
    assert "text" not in done and done["transcription_data"]["transcription"].split() == SPEECH_SCRIPT
    response = api.session.post(
        f"{api.base.replace('/speech-to-text/v1', '')}/_sandbox/quirks", headers=AUTH, json={"upload_url_key": "url"}
    )
    assert response.status_code == 400


def test_finished_at_submit_answers_the_submit_with_the_text_and_no_words(api, sandbox_control) -> None:
    sandbox_control.set_faults(processing_time=0)
    sandbox_control.set_quirks(finished_at_submit=True)
    answer = api.submit(api.upload().json()["uploaded_url"]).json()
    assert answer["status"] == "COMPLETED" and answer["text"].split() == SPEECH_SCRIPT and "words" not in answer
    sandbox_control.set_faults(processing_time=5)
    assert api.submit(api.upload().json()["uploaded_url"]).json()["status"] in ("QUEUED", "IN_PROGESS")


# -- fault switches, each through the admin endpoint ------------------------------------------


def test_latency_delays_every_request(api, sandbox_control) -> None:
    sandbox_control.set_faults(latency=0.3)
    started = time.monotonic()
    api.upload()
    assert time.monotonic() - started >= 0.3


def test_error_rate_answers_500_with_a_non_json_body(api, sandbox_control) -> None:
    sandbox_control.set_faults(error_rate=1.0)
    response = api.upload()
    assert response.status_code == 500 and response.headers["Content-Type"] == "text/html"
    assert sandbox_control.stats()["uploads"] == 0


def test_rate_limit_rate_answers_429_with_retry_after(api, sandbox_control) -> None:
    sandbox_control.set_faults(rate_limit_rate=1.0, retry_after=12)
    response = api.upload()
    assert response.status_code == 429 and response.headers["Retry-After"] == "12"
    assert "Too many" in error_message(response)


def test_slow_bodies_outlast_a_read_timeout_after_doing_the_work(api, sandbox_control) -> None:
    url = api.upload().json()["uploaded_url"]
    sandbox_control.set_faults(slow_body_rate=1.0, slow_body_delay=1.0, endpoints=["submit"])
    with pytest.raises(requests.ConnectionError, match="timed out"):
        api.session.post(
            f"{api.base}/jobs/",
            headers=AUTH,
            data={"uploaded_audio_url": url, "service_provider": "aws"},
            timeout=(2, 0.3),
        )
    time.sleep(1.0)
    assert len(sandbox_control.stats()["jobs"]) == 1, "the job exists although its answer never arrived"


def test_drop_rate_closes_the_connection_without_an_answer(api, sandbox_control) -> None:
    sandbox_control.set_faults(drop_rate=1.0, endpoints=["upload"])
    with pytest.raises(requests.ConnectionError):
        api.upload()
    sandbox_control.set_faults(drop_rate=0.0)
    assert api.upload().status_code == 200


def test_job_error_rate_ends_jobs_in_error_with_the_error_key(api, sandbox_control) -> None:
    sandbox_control.set_faults(job_error_rate=1.0)
    done = api.finish(api.submit(api.upload().json()["uploaded_url"]).json()["id"])
    assert done["status"] == "ERROR" and "could not process" in done["ERROR"] and done["text"] is None


def test_never_finish_rate_leaves_jobs_running(api, sandbox_control) -> None:
    sandbox_control.set_faults(never_finish_rate=1.0, processing_time=0)
    job_id = api.submit(api.upload().json()["uploaded_url"]).json()["id"]
    time.sleep(0.3)
    assert api.status(job_id).json()["status"] == "IN_PROGESS"


def test_processing_time_fixed_and_per_audio_second(api, sandbox_control) -> None:
    sandbox_control.set_faults(processing_time=0.1, processing_time_per_audio_second=0.1)  # 0.1 + 0.537 s
    started = time.monotonic()
    api.finish(api.submit(api.upload().json()["uploaded_url"]).json()["id"])
    assert time.monotonic() - started >= 0.6
    stats = sandbox_control.stats()
    (job,) = stats["jobs"].values()
    assert job["finished_at"] - job["submitted_at"] == pytest.approx(0.637, abs=0.05)


def test_scripted_faults_are_consumed_in_order(api, sandbox_control) -> None:
    sandbox_control.set_faults(script=[{"endpoint": "upload", "fault": "500", "count": 2}])
    assert [api.upload().status_code for _ in range(3)] == [500, 500, 200]


def test_the_fault_endpoint_validates_and_resets(sandbox, sandbox_control) -> None:
    url = f"{sandbox.url}/_sandbox/faults"
    for bad in (
        {"error_rate": 2},
        {"latency": -1},
        {"nonsense": 1},
        {"script": [{"endpoint": "upload", "fault": "no_words"}]},
    ):
        response = requests.post(url, headers=AUTH, json=bad, timeout=5)
        assert response.status_code == 400, bad
    assert sandbox_control.set_faults(error_rate=0.5)["error_rate"] == 0.5
    assert sandbox_control.replace_faults(latency=0.01) == {
        **sandbox_control.faults(),
        "error_rate": 0.0,
        "latency": 0.01,
    }
    assert requests.delete(url, headers=AUTH, timeout=5).json()["latency"] == 0.0


def test_seeded_rates_are_repeatable(api, sandbox_control) -> None:
    def run() -> list[int]:
        sandbox_control.set_faults(error_rate=0.5, seed=7)
        return [api.upload().status_code for _ in range(12)]

    first = run()
    assert first == run() and 500 in first and 200 in first


def test_counters_count_what_was_served(api, sandbox_control) -> None:
    url = api.upload().json()["uploaded_url"]
    first = api.submit(url).json()["id"]
    api.submit(url)
    api.status(first)
    api.status(first)
    stats = sandbox_control.stats()
    assert stats["calls"] == {"upload": 1, "submit": 2, "status": 2}
    assert stats["polls_per_job"] == {first: 2}
    assert list(stats["submits_per_audio"].values()) == [2]
    assert stats["bytes_uploaded"] == SPEECH_WAV.stat().st_size
    assert stats["responses"]["200"] == 5
