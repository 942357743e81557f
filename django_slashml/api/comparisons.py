"""``comparisons/``: one audio sent to several providers, and their scores side by side."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import mixins, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from django_slashml.api.parsing import MetadataField, SafeJSONParser
from django_slashml.api.permissions import visible_to
from django_slashml.api.schema import bodies, errors, extend_schema, extend_schema_field, id_parameter
from django_slashml.api.serializers import AudioFileField, check_audio_file
from django_slashml.api.views import OwnedRowsViewSet
from django_slashml.conf import slashml_settings
from django_slashml.exceptions import InvalidAudioError, InvalidComparisonError
from django_slashml.jobs.access import sees_everything
from django_slashml.jobs.actions import validate_audio_url
from django_slashml.jobs.comparisons import (
    MAX_PROVIDERS,
    MIN_PROVIDERS,
    compare,
    validate_providers,
    validate_reference,
)
from django_slashml.models import Comparison, JobStatus, ServiceProvider, TranscriptionJob
from django_slashml.remote.protocol import SERVICE_PROVIDERS
from django_slashml.transcripts.comparisons import ComparisonScores


@extend_schema_field(
    {
        "type": "array",
        "items": {"$ref": "#/components/schemas/ServiceProviderEnum"},
        "minItems": MIN_PROVIDERS,
        "maxItems": MAX_PROVIDERS,
        "uniqueItems": True,
    }
)
class ProvidersField(serializers.ListField):
    """A JSON list, repeated form fields, or one comma-separated form value."""

    def to_internal_value(self, data: Any) -> list[str]:
        if isinstance(data, str):
            data = [data]
        if isinstance(data, list) and len(data) == 1 and isinstance(data[0], str) and "," in data[0]:
            data = [part.strip() for part in data[0].split(",") if part.strip()]
        try:
            return validate_providers(data)
        except InvalidComparisonError as exc:
            raise serializers.ValidationError(str(exc)) from None


class ComparisonCreateSerializer(serializers.Serializer[Comparison]):
    audio = AudioFileField(required=False, help_text=_("An audio file to upload once and send to each provider."))
    audio_url = serializers.CharField(required=False, max_length=1000, help_text=_("An http(s) URL SlashML can fetch."))
    providers = ProvidersField(
        child=serializers.CharField(),
        help_text=format_lazy(_("2 to 6 distinct providers of: {providers}."), providers=", ".join(SERVICE_PROVIDERS)),
    )
    reference_text = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text=_("What was said; scores are computed against it. Leave out to use a reviewed transcript."),
    )
    metadata = MetadataField(required=False, help_text=_("A JSON object kept with the comparison and its jobs."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # For the schema; validate_reference() enforces it (the setting is read per request).
        reference = self.fields["reference_text"]
        if isinstance(reference, serializers.CharField):
            reference.max_length = int(slashml_settings.MAX_REFERENCE_CHARS)

    def validate_audio_url(self, value: str) -> str:
        try:
            return validate_audio_url(value)
        except InvalidAudioError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate_reference_text(self, value: str) -> str:
        try:
            return validate_reference(value)
        except InvalidComparisonError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        given = [name for name in ("audio", "audio_url") if attrs.get(name)]
        if len(given) != 1:
            raise serializers.ValidationError(
                {"non_field_errors": [gettext("Send exactly one of 'audio' (a file) or 'audio_url'.")]}
            )
        if "audio" in given:
            check_audio_file(attrs["audio"], "audio")
        return attrs

    def create(self, validated_data: dict[str, Any]) -> Comparison:
        try:
            return compare(
                validated_data.get("audio") or validated_data["audio_url"],
                providers=validated_data["providers"],
                reference_text=validated_data.get("reference_text"),
                owner=self.context["request"].user,
                metadata=validated_data.get("metadata"),
            )
        except (InvalidComparisonError, InvalidAudioError) as exc:
            raise serializers.ValidationError({getattr(exc, "field", "audio"): [str(exc)]}) from None


class ProviderStateSerializer(serializers.Serializer[TranscriptionJob]):
    service_provider = serializers.ChoiceField(choices=ServiceProvider.choices)
    job = serializers.UUIDField(help_text=_("The provider's job (jobs/{id}/)."))
    status = serializers.ChoiceField(choices=JobStatus.choices)


class ComparisonSerializer(serializers.Serializer[Comparison]):
    """A comparison as listed: its providers' jobs and their statuses. Documents what the view builds."""

    id = serializers.UUIDField()
    upload = serializers.UUIDField(allow_null=True, help_text=_("The audio upload sent; null for a URL."))
    audio_url = serializers.CharField(help_text=_("The audio's URL; empty for an uploaded file."))
    reference_text = serializers.CharField(help_text=_("The reference given; empty for none."))
    metadata = serializers.JSONField()
    created_at = serializers.DateTimeField()
    providers = ProviderStateSerializer(many=True)


class ProviderScoreSerializer(serializers.Serializer[Any]):
    """A :class:`~django_slashml.transcripts.comparisons.ProviderScore` as the API answers it."""

    service_provider = serializers.CharField()
    job = serializers.UUIDField(source="job.pk")
    status = serializers.CharField()
    wer = serializers.FloatField(allow_null=True, help_text=_("Word error rate against the reference, 0 to 1+."))
    cer = serializers.FloatField(allow_null=True, help_text=_("Character error rate against the reference."))
    substitutions = serializers.IntegerField(allow_null=True)
    deletions = serializers.IntegerField(allow_null=True)
    insertions = serializers.IntegerField(allow_null=True)
    words = serializers.IntegerField(help_text=_("Words in the transcript, as scored."))
    audio_seconds = serializers.FloatField(allow_null=True)
    seconds_to_transcript = serializers.FloatField(allow_null=True)
    is_reference = serializers.BooleanField(help_text=_("This job's reviewed transcript is the reference."))

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        for name in ("wer", "cer"):  # four places: what a reader compares, not float noise
            data[name] = None if data[name] is None else round(data[name], 4)
        return data


class DisagreementSerializer(serializers.Serializer[Any]):
    start_ms = serializers.IntegerField(allow_null=True)
    readings = serializers.DictField(child=serializers.CharField())


class AgreementSerializer(serializers.Serializer[Any]):
    pairwise_wer = serializers.DictField(child=serializers.DictField(child=serializers.FloatField()))
    pivot = serializers.CharField()
    disagreements = DisagreementSerializer(many=True)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        data["pairwise_wer"] = {a: {b: round(v, 4) for b, v in row.items()} for a, row in data["pairwise_wer"].items()}
        return data


class ComparisonScoresSerializer(serializers.Serializer[ComparisonScores]):
    """``Comparison.scores()`` as the API answers it: reference, providers, agreement."""

    reference = serializers.SerializerMethodField()
    providers = ProviderScoreSerializer(many=True)
    agreement = AgreementSerializer(allow_null=True)

    def get_reference(self, scores: ComparisonScores) -> dict[str, Any] | None:
        if scores.reference_source is None:
            return None
        job = scores.reference_job
        return {"source": scores.reference_source, "job": str(job.pk) if job else None}


def scores_data(comparison: Comparison) -> dict[str, Any]:
    return dict(ComparisonScoresSerializer(comparison.scores()).data)


class ReferenceSerializer(serializers.Serializer[Comparison]):
    # The answer's key is "source"; the stubs type Field.source as the attribute path it reads.
    source = serializers.ChoiceField(choices=("given", "review"))  # type: ignore[assignment]
    job = serializers.UUIDField(allow_null=True, help_text=_("The reviewed job, for a reference from a review."))


class ComparisonDetailSerializer(ComparisonSerializer):
    """A comparison with its scores (documents the header and :class:`ComparisonScoresSerializer` together)."""

    reference = ReferenceSerializer(allow_null=True)
    providers = ProviderScoreSerializer(many=True)  # type: ignore[assignment]
    agreement = AgreementSerializer(allow_null=True, help_text=_("Without a reference; null with one."))


class ComparisonFromURLSerializer(ComparisonCreateSerializer):
    """What a JSON or url-encoded body may hold: everything but a file."""

    audio = None  # type: ignore[assignment]


def _header(comparison: Comparison) -> dict[str, Any]:
    return {
        "id": str(comparison.pk),
        "upload": str(comparison.upload_id) if comparison.upload_id else None,
        "audio_url": comparison.audio_url,
        "reference_text": comparison.reference_text,
        "metadata": comparison.metadata,
        "created_at": serializers.DateTimeField().to_representation(comparison.created_at),
    }


class ComparisonViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, OwnedRowsViewSet[Comparison]
):
    """Comparisons of providers on one audio: create one, list yours, read one's scores."""

    parser_classes = (SafeJSONParser, MultiPartParser, FormParser)

    def get_serializer_class(self) -> Any:
        if self.action == "create":
            return ComparisonCreateSerializer
        return ComparisonSerializer if self.action == "list" else ComparisonDetailSerializer

    def throttle_cost(self, request: Request) -> int:
        """Submit-throttle tokens a request spends: one per provider it would create a job for."""
        if self.action != "create":
            return 1
        data = request.data if isinstance(request.data, Mapping) else {}
        field = ComparisonCreateSerializer(data=data).fields["providers"]
        try:
            return len(field.to_internal_value(field.get_value(data)))
        except serializers.ValidationError:
            return 1  # refused with a 400 anyway; it costs what a bad job request costs

    def get_queryset(self) -> QuerySet[Comparison]:
        user = self.request.user
        comparisons = visible_to(user, Comparison.objects.all()).order_by("-created_at")
        if not sees_everything(user, TranscriptionJob):  # others' comparisons show their jobs' transcripts
            comparisons = comparisons.filter(owner_id=user.pk)
        if self.action == "list":
            brief = TranscriptionJob.objects.only("id", "comparison_id", "service_provider", "status")
            comparisons = comparisons.prefetch_related(Prefetch("jobs", queryset=brief.order_by("created_at", "pk")))
        return comparisons

    @extend_schema(responses={200: ComparisonSerializer(many=True), **errors(400, 404)})
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        rows = [
            {
                **_header(c),
                "providers": [
                    {"service_provider": j.service_provider, "job": str(j.pk), "status": j.status} for j in c.jobs.all()
                ],
            }
            for c in (page or [])
        ]
        return self.get_paginated_response(rows)

    @extend_schema(parameters=id_parameter(), responses={200: ComparisonDetailSerializer, **errors(400, 404)})
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        comparison = self.get_object()
        return Response({**_header(comparison), **scores_data(comparison)})

    @extend_schema(
        request=bodies(ComparisonCreateSerializer, ComparisonFromURLSerializer),
        responses={201: ComparisonDetailSerializer, **errors(400, 413, 429)},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comparison = serializer.save()
        return Response({**_header(comparison), **scores_data(comparison)}, status=status.HTTP_201_CREATED)
