"""SlashML's three endpoints as the sandbox answers them (upload, submit, status), the faults it
injects into them, and the uploaded files it serves back."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django_slashml.audio.formats import sniff
from django_slashml.remote.protocol import API_PREFIX, SERVICE_PROVIDERS, RemoteStatus, provider_problem
from django_slashml.sandbox.state import SandboxJob, StoredUpload
from django_slashml.sandbox.wire import CHUNK, Answered, BadRequest, ClientGone, RequestHandlerBase

logger = logging.getLogger("django_slashml.sandbox")

JOB_PATH = re.compile(rf"^{re.escape(API_PREFIX)}/jobs/([^/]+)/?$")
UPLOAD_FILE_PATH = re.compile(r"^/upload/([0-9a-f-]{36})$")


class SlashMLEndpoints(RequestHandlerBase):
    """What a client of SlashML's API meets, quirks and injected faults included."""

    def _endpoint(self, method: str, path: str) -> tuple[str | None, str | None]:
        if method == "POST" and path.rstrip("/") == f"{API_PREFIX}/upload":
            return "upload", None
        if method == "POST" and path.rstrip("/") == f"{API_PREFIX}/jobs":
            return "submit", None
        match = JOB_PATH.match(path)
        if method == "GET" and match:
            return "status", match.group(1)
        return None, None

    def _inject(self, endpoint: str) -> bool:
        """Apply latency and this request's fault; returns whether to send the body slowly."""
        latency = self.state.faults.faults.latency
        if latency:
            time.sleep(latency)
        fault = self.state.faults.request_fault(endpoint)
        if fault is None:
            return False
        self.state.count("faults", fault)
        self.state.count("faults_by_endpoint", f"{endpoint}:{fault}")
        if fault == "drop":
            raise ClientGone
        if fault in ("500", "429", "malformed", "truncated"):
            self._drain()
            if fault == "500":
                self._send(
                    500, raw=b"<html><body><h1>500 Internal Server Error</h1></body></html>", content_type="text/html"
                )
            elif fault == "429":
                retry_after = self.state.faults.faults.retry_after
                self._send(
                    429, {"error": {"message": "Too many requests."}}, headers={"Retry-After": f"{retry_after:g}"}
                )
            elif fault == "malformed":
                self._send(200, raw=b"<html>Service temporarily degraded</html>", content_type="text/html")
            else:
                self._send(200, raw=b'{"id": "trunc', content_type="application/json")
            raise Answered
        return fault == "slow"

    def _provider(self, value: str | None) -> str:
        if not value:
            raise BadRequest("The field 'service_provider' is required.")
        if provider_problem(value):  # worded as SlashML words it, which tests of the client rely on
            raise BadRequest(f"Unknown service_provider {value!r}; use one of: {', '.join(SERVICE_PROVIDERS)}.")
        return value

    def _upload(self, slow: bool) -> None:
        if not self.headers.get("Content-Type", "").startswith("multipart/form-data"):
            raise BadRequest("Send the audio as multipart/form-data with the file in the field 'audio'.")
        fields, audio = self._multipart(stream_file=True)
        try:
            # Optional here: the vendor's own client (0.1.6) never sends it on upload.
            provider = self._provider(fields["service_provider"]) if "service_provider" in fields else "unspecified"
            if audio is None:
                raise BadRequest("The file field 'audio' is required.")
            if audio.size == 0:
                raise BadRequest("The uploaded audio is empty.")
            if sniff(audio.head) is None:
                raise BadRequest("The uploaded file is not audio (wav, mp3, ogg, flac, m4a, webm or aiff).")
        except BadRequest:
            if audio is not None:
                audio.discard()
            raise
        upload = StoredUpload(
            id=audio.id,
            path=audio.path,
            filename=audio.filename,
            content_type=audio.content_type,
            size=audio.size,
            sha256=audio.sha256,
            created_at=time.time(),
        )
        self.state.add_upload(upload)
        logger.info("Sandbox upload %s (%s bytes, %s) for %s", upload.id, upload.size, upload.filename, provider)
        key = self.state.quirks["upload_url_key"]
        self._send(200, {key: f"{self.server.base_url}/upload/{upload.id}"}, slow=slow)

    def _submit(self, slow: bool) -> None:
        form = self._form()
        provider = self._provider(form.get("service_provider"))
        audio_url = form.get("uploaded_audio_url") or form.get("audio_url")
        if not audio_url:
            raise BadRequest("The field 'uploaded_audio_url' is required.")
        upload = None
        parts = urlsplit(audio_url)
        if parts.scheme not in ("http", "https"):
            raise BadRequest("uploaded_audio_url must be an http(s) URL.")
        if audio_url.startswith(self.server.base_url + "/upload/"):
            match = UPLOAD_FILE_PATH.match(parts.path)
            upload = self.state.get_upload(match.group(1)) if match else None
            if upload is None:
                raise BadRequest(f"Unknown uploaded_audio_url {audio_url!r}: no such upload, or it has expired.")
        job = self.state.submit(provider=provider, audio_url=audio_url, upload=upload)
        body = self._job_body(job, full=False)
        self._send(200, body, slow=slow)

    def _status(self, job_id: str, query: dict[str, list[str]], slow: bool) -> None:
        given: Sequence[str | None] = query.get("service_provider") or [None]
        provider = self._provider(given[-1])
        job = self.state.get_job(job_id)
        if job is None:
            raise BadRequest(f"Unknown job id {job_id!r}.")
        if job.provider != provider:
            raise BadRequest(f"Job {job_id!r} was submitted to {job.provider!r}, not {provider!r}.")
        self.state.record_poll(job)
        body = self._job_body(job, full=True)
        fault = self.state.faults.body_fault()
        if fault:
            self.state.count("faults", fault)
            body = _distort(body, fault)
        self._send(200, body, slow=slow)

    def _job_body(self, job: SandboxJob, *, full: bool) -> dict[str, Any]:
        status = job.status(time.time())
        done = status == RemoteStatus.COMPLETED
        shown = self.state.quirks["in_progress_spelling"] if status == RemoteStatus.IN_PROGRESS else status
        body: dict[str, Any] = {
            "id": job.id,
            "status": shown,
            "audio_duration": round(job.transcript.duration, 6) if done and job.transcript else None,
            "audio_url": job.audio_url,
            "text": job.transcript.text if done and job.transcript else None,
        }
        if full:
            model = f"{job.provider}_default"
            body.update(
                acoustic_model=model,
                language_model=model,
                confidence=job.transcript.confidence if done and job.transcript else None,
                dual_channel=None,
                words=[w.as_dict() for w in job.transcript.words] if done and job.transcript else None,
            )
        if status == RemoteStatus.ERROR:
            body["ERROR"] = job.error
        if self.state.quirks["transcription_data"] and "text" in body:
            body["transcription_data"] = {"transcription": body.pop("text")}
        return body

    def _serve_upload(self, upload_id: str) -> None:
        upload = self.state.get_upload(upload_id)
        if upload is None:
            self._error(404, "No such upload, or it has expired.")
            return
        self.state.count("calls", "download")
        self.send_response(200)
        self.send_header("Content-Type", upload.content_type)
        self.send_header("Content-Length", str(upload.size))
        self.end_headers()
        with open(upload.path, "rb") as fileobj:
            while chunk := fileobj.read(CHUNK):
                self.wfile.write(chunk)


def _distort(body: dict[str, Any], fault: str) -> dict[str, Any]:
    body = dict(body)
    if fault == "unknown_status":
        body["status"] = "PAUSED_FOR_REVIEW"
    elif fault == "no_words":
        body.update(status=RemoteStatus.COMPLETED, text=None, words=None)
    elif fault == "missing_word_fields":
        body.update(
            status=RemoteStatus.COMPLETED,
            text=body.get("text") or "hello",
            words=[{"text": "hello", "confidence": 0.9}],
        )
    return body
