"""REST endpoints for uploads and transcription jobs.

Views never change a job's status themselves: retry and cancel go through
:mod:`django_slashml.jobs.lifecycle`, creation through :func:`django_slashml.transcribe`.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from django.db.models import F, Model, QuerySet
from django.http import HttpResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.pagination import BasePagination, PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from django_slashml.api.filters import JOB_FILTER_SCHEMAS, JOB_FILTERS, filter_jobs, listed_jobs
from django_slashml.api.pagination import JobPagination
from django_slashml.api.parsing import SafeJSONParser, SizeLimitedUploadHandler
from django_slashml.api.permissions import OwnerOrStaffWithPermission, visible_to
from django_slashml.api.schema import (
    bodies,
    comma_separated,
    described,
    errors,
    extend_schema,
    id_parameter,
    one_of,
    path_parameters,
    query_parameters,
    whole_number,
)
from django_slashml.api.serializers import (
    AudioUploadCreateSerializer,
    AudioUploadSerializer,
    JobCreateSerializer,
    JobDetailSerializer,
    JobFromURLSerializer,
    ListedJobSerializer,
)
from django_slashml.api.throttles import throttles_for
from django_slashml.exceptions import InvalidCaptionParameterError, InvalidTransitionError
from django_slashml.jobs import actions as job_actions
from django_slashml.jobs.access import is_reviewed, may_discard_review
from django_slashml.models import AudioUpload, TranscriptionJob
from django_slashml.transcripts import exports
from django_slashml.transcripts.audit import audit_job
from django_slashml.transcripts.presets import PARAMETER_HELP, PARAMETERS, PRESETS, CueLimits, caption_limits


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


_RowT = TypeVar("_RowT", bound=Model)


class OwnedRowsViewSet(viewsets.GenericViewSet[_RowT]):
    """Authenticated users, their own rows; DRF's default permission classes still apply."""

    pagination_class: type[BasePagination] | None = Pagination
    lookup_value_regex = "[^/]+"

    def initialize_request(self, request: Any, *args: Any, **kwargs: Any) -> Request:
        if request.method == "POST":  # before anything (CSRF, authentication) reads the body
            request.upload_handlers.insert(0, SizeLimitedUploadHandler(request))
        return super().initialize_request(request, *args, **kwargs)

    def get_throttles(self) -> list[Any]:
        return [*super().get_throttles(), *throttles_for(self.action)]

    def get_permissions(self) -> list[Any]:
        # Typed as dotted paths by some releases of djangorestframework-stubs; api_settings imports them.
        classes: Any = api_settings.DEFAULT_PERMISSION_CLASSES
        configured = [permission() for permission in classes]
        return [IsAuthenticated(), *configured, OwnerOrStaffWithPermission()]

    def get_object(self) -> _RowT:
        value = self.kwargs[self.lookup_field]
        try:
            uuid.UUID(str(value))
        except ValueError:
            raise ValidationError(
                {"id": [gettext("%(value)s is not a valid id; ids are UUIDs.") % {"value": repr(value)}]}
            ) from None
        return super().get_object()


class AudioUploadViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, OwnedRowsViewSet[AudioUpload]
):
    """Audio files, validated and stored before any job uses them."""

    parser_classes = (MultiPartParser, FormParser)

    def get_queryset(self) -> QuerySet[AudioUpload]:
        return visible_to(self.request.user, AudioUpload.objects.all()).order_by("-created_at")

    def get_serializer_class(self) -> Any:
        return AudioUploadCreateSerializer if self.action == "create" else AudioUploadSerializer

    @extend_schema(responses={200: AudioUploadSerializer(many=True), **errors(404)})
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request={"multipart/form-data": AudioUploadCreateSerializer},
        responses={201: AudioUploadSerializer, **errors(400, 413, 429)},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().create(request, *args, **kwargs)

    @extend_schema(parameters=id_parameter(), responses={200: AudioUploadSerializer, **errors(400, 404)})
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)


#: How the transcript's export and caption audit are chosen.
EXPORT_PARAMETERS = {
    "version": _("reviewed (default: a reviewer's correction where there is one) or original."),
    **PARAMETER_HELP,
}
EXPORT_SCHEMAS = {
    "version": one_of(exports.VERSIONS),
    "preset": one_of(PRESETS),
    **{name: whole_number(low, high) for name, (_field, low, high) in PARAMETERS.items()},
}


def _job_answer_parameters() -> list[Any]:
    """``?words=`` and ``?fields=`` of every answer that is a job."""
    return query_parameters(
        {"words": _("false leaves out the word timings."), "fields": _("Comma-separated fields to return.")},
        {"fields": comma_separated(JobDetailSerializer.Meta.fields)},
    )


class JobViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, OwnedRowsViewSet[TranscriptionJob]
):
    """Transcription jobs: start one, follow it, read or download its transcript."""

    parser_classes = (SafeJSONParser, MultiPartParser, FormParser)
    pagination_class = JobPagination

    def get_queryset(self) -> QuerySet[TranscriptionJob]:
        jobs: QuerySet[TranscriptionJob] = visible_to(
            self.request.user, TranscriptionJob.objects.select_related("owner")
        ).annotate(reused_from_owner=F("reused_from__owner"))
        if self.action == "list":
            jobs = filter_jobs(listed_jobs(jobs), self.request.query_params)
        return jobs

    def get_serializer_class(self) -> Any:
        if self.action == "create":
            return JobCreateSerializer
        return ListedJobSerializer if self.action == "list" else JobDetailSerializer

    @extend_schema(
        parameters=query_parameters(JOB_FILTERS, JOB_FILTER_SCHEMAS),
        responses={200: ListedJobSerializer(many=True), **errors(400, 404)},
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=bodies(JobCreateSerializer, JobFromURLSerializer),
        parameters=_job_answer_parameters(),
        responses={201: JobDetailSerializer, **errors(400, 413, 429)},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().create(request, *args, **kwargs)

    @extend_schema(
        parameters=[*id_parameter(), *_job_answer_parameters()],
        responses={200: JobDetailSerializer, **errors(400, 404)},
    )
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)

    def _transition(self, change: Any) -> Response:
        job = self.get_object()
        try:
            change(job)
        except InvalidTransitionError as exc:
            raise Conflict(str(exc)) from None
        return Response(JobDetailSerializer(job, context=self.get_serializer_context()).data)

    @extend_schema(
        request=None,
        parameters=[*id_parameter(), *_job_answer_parameters()],
        responses={
            200: JobDetailSerializer,
            **errors(400, 404, 429),
            403: described(_("Not allowed, or the job was reviewed and you may not discard the review.")),
            409: described(_("The job is still active.")),
        },
    )
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        """Run a finished, failed or cancelled job again (a reviewed one only with the change permission)."""

        def retry_unless_reviewed(job: TranscriptionJob) -> None:
            if is_reviewed(job) and not may_discard_review(request.user):
                raise PermissionDenied(
                    gettext(
                        "Job %(job)s was reviewed (%(review_state)s); retrying would discard the review. "
                        "Ask a reviewer (staff with the change permission on transcription jobs) to resubmit it."
                    )
                    % {"job": job.pk, "review_state": job.review_state}
                )
            job_actions.retry(job)

        return self._transition(retry_unless_reviewed)

    @extend_schema(
        request=None,
        parameters=[*id_parameter(), *_job_answer_parameters()],
        responses={200: JobDetailSerializer, **errors(400, 404), 409: described(_("The job has already ended."))},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Stop following an active job (SlashML itself has no cancel call)."""
        return self._transition(job_actions.cancel)

    def _export_options(self, request: Request) -> tuple[str, CueLimits]:
        """The transcript version and caption limits a request asks for; a 400 naming a bad one."""
        version = request.query_params.get("version", "reviewed")
        if version not in exports.VERSIONS:
            raise ValidationError(
                {"version": [gettext("Use one of: %(allowed)s.") % {"allowed": ", ".join(exports.VERSIONS)}]}
            )
        try:
            return version, caption_limits(request.query_params)
        except InvalidCaptionParameterError as exc:
            raise ValidationError({exc.parameter: [exc.message]}) from None

    @extend_schema(
        responses={
            (200, "text/plain"): str,
            (200, "application/x-subrip"): str,
            (200, "text/vtt"): str,
            (200, "application/json"): dict,
            **errors(400, 404),
            409: described(_("The job has no transcript yet.")),
        },
        parameters=[
            *id_parameter(),
            *query_parameters(EXPORT_PARAMETERS, EXPORT_SCHEMAS),
            *path_parameters({"fmt": (_("txt, srt, vtt or json."), one_of(("txt", "srt", "vtt", "json")))}),
        ],
    )
    @action(detail=True, methods=["get"], url_path=r"transcript\.(?P<fmt>txt|srt|vtt|json)", url_name="transcript")
    def transcript(self, request: Request, pk: str | None = None, fmt: str = "txt") -> HttpResponse:
        """The transcript as plain text, SRT or WebVTT subtitles, or JSON with word timings.

        The caption parameters (docs/captions.md) shape SRT and WebVTT cues; they are checked for every format.
        """
        job = self.get_object()
        version, limits = self._export_options(request)
        reason = exports.unavailable(job)
        if reason:
            raise Conflict(reason)
        return exports.download(job, fmt, version=version, limits=limits)

    @extend_schema(
        responses={200: dict, **errors(400, 404), 409: described(_("The job has no transcript yet."))},
        parameters=[*id_parameter(), *query_parameters(EXPORT_PARAMETERS, EXPORT_SCHEMAS)],
    )
    @action(detail=True, methods=["get"], url_path="caption-audit", url_name="caption-audit")
    def caption_audit(self, request: Request, pk: str | None = None) -> Response:
        """The subtitle cues that break the chosen caption limits (too fast, too short, too long, too wide)."""
        job = self.get_object()
        version, limits = self._export_options(request)
        reason = exports.unavailable(job)
        if reason:
            raise Conflict(reason)
        return Response(audit_job(job, limits, version=version))
