"""What the REST API reads and writes. Creating goes through ``transcribe()``; nothing else saves."""

from __future__ import annotations

import json
from typing import Any

from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from django_slashml.api.parsing import MetadataField, PayloadTooLarge
from django_slashml.api.schema import extend_schema_field
from django_slashml.exceptions import AudioTooLargeError, InvalidAudioError, InvalidSpellingError
from django_slashml.jobs.access import sees_everything
from django_slashml.jobs.actions import transcribe, validate_audio_url
from django_slashml.jobs.uploads import save_upload, validate_audio
from django_slashml.models import AudioUpload, Comparison, ServiceProvider, TranscriptionJob
from django_slashml.privacy.rules import parse_job_spelling
from django_slashml.remote.protocol import SERVICE_PROVIDERS, provider_problem

PROVIDER_HELP = format_lazy(
    _("One of: {providers}. Defaults to SLASHML['DEFAULT_SERVICE_PROVIDER']."), providers=", ".join(SERVICE_PROVIDERS)
)


def check_audio_file(value: Any, field: str) -> Any:
    """Validate an uploaded file before anything is stored; 413 for size, 400 otherwise."""
    try:
        validate_audio(value, name=getattr(value, "name", field) or field)
    except InvalidAudioError as exc:
        error_class = PayloadTooLarge if isinstance(exc, AudioTooLargeError) else serializers.ValidationError
        raise error_class({field: [str(exc)]}) from None
    return value


@extend_schema_field({"type": "string", "format": "binary", "minLength": 1})
class AudioFileField(serializers.FileField):
    """An audio file, sent as a part of a multipart/form-data body."""


class ProviderField(serializers.ChoiceField):
    """One SlashML provider (an enum in the schema); refused with the one message every entry point gives."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=ServiceProvider.choices, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        problem = provider_problem(data, translate=gettext)
        if problem:
            raise serializers.ValidationError(problem)
        return str(data)


class AudioUploadSerializer(serializers.ModelSerializer[AudioUpload]):
    class Meta:
        model = AudioUpload
        fields = ("id", "original_name", "content_type", "size", "sha256", "duration", "created_at")
        read_only_fields = fields


class AudioUploadCreateSerializer(serializers.Serializer[AudioUpload]):
    audio = AudioFileField(help_text=_("The audio file (wav, mp3, ogg, flac, m4a, webm, aiff)."))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        check_audio_file(attrs["audio"], "audio")
        return attrs

    def create(self, validated_data: dict[str, Any]) -> AudioUpload:
        audio = validated_data["audio"]
        return save_upload(audio, name=audio.name, owner=self.context["request"].user)

    def to_representation(self, instance: AudioUpload) -> dict[str, Any]:
        return AudioUploadSerializer(instance).data


class JobSerializer(serializers.ModelSerializer[TranscriptionJob]):
    """A job as listed: everything but the word timings."""

    upload: serializers.PrimaryKeyRelatedField[AudioUpload] = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text=_("The audio upload transcribed; null for a job from a URL.")
    )
    audio_url = serializers.CharField(
        read_only=True, help_text=_("The audio's URL, for a job from a URL; empty for an uploaded file.")
    )
    reused_from = serializers.SerializerMethodField(
        help_text=_(
            "The earlier job (same audio and provider) whose SlashML work this one shared; "
            "null where that job is not one you may see."
        )
    )
    owner = serializers.SerializerMethodField()
    comparison: serializers.PrimaryKeyRelatedField[Comparison] = serializers.PrimaryKeyRelatedField(
        read_only=True,
        allow_null=True,
        help_text=_("The comparison this job is one provider of, if any (comparisons/{id}/)."),
    )
    text = serializers.CharField(
        source="transcript_text", read_only=True, help_text=_("The transcript; a reviewer's correction if any.")
    )
    original_text = serializers.CharField(source="text", read_only=True, help_text=_("What SlashML returned."))

    class Meta:
        model = TranscriptionJob
        fields: tuple[str, ...] = (
            "id",
            "status",
            "service_provider",
            "upload",
            "audio_url",
            "text",
            "original_text",
            "review_state",
            "reviewed_at",
            "confidence",
            "audio_duration",
            "error_message",
            "owner",
            "metadata",
            "reused_from",
            "comparison",
            "created_at",
            "submitted_at",
            "completed_at",
        )
        read_only_fields: tuple[str, ...] = fields

    def get_reused_from(self, job: TranscriptionJob) -> str | None:
        """Only a job the requester may see: another owner's id would say they have the same recording."""
        if not job.reused_from_id:
            return None
        request = self.context.get("request")
        owner_id = getattr(job, "reused_from_owner", None)
        if not hasattr(job, "reused_from_owner"):
            owner_id = TranscriptionJob.objects.filter(pk=job.reused_from_id).values_list("owner", flat=True).first()
        user = getattr(request, "user", None)
        if user is None or not (owner_id == user.pk or sees_everything(user, TranscriptionJob)):
            return None
        return str(job.reused_from_id)

    def get_owner(self, job: TranscriptionJob) -> str | None:
        return job.owner.get_username() if job.owner_id and job.owner else None


class ListedJobSerializer(JobSerializer):
    """A job in the list: ``text`` and ``original_text`` cut to ``SLASHML['LIST_TEXT_CHARS']``.

    A page of 50 long transcripts would otherwise be tens of megabytes; the whole text is
    in the job's own answer and its downloads. Reads the annotations of :func:`listed_jobs`.
    """

    text = serializers.CharField(
        source="list_text", read_only=True, help_text=_("The start of the transcript; see text_truncated.")
    )
    original_text = serializers.CharField(source="list_original_text", read_only=True)
    text_truncated = serializers.BooleanField(
        read_only=True, help_text=_("Whether text or original_text was cut; GET the job for the whole text.")
    )

    class Meta(JobSerializer.Meta):
        fields = (*JobSerializer.Meta.fields, "text_truncated")
        read_only_fields = fields


class JobDetailSerializer(JobSerializer):
    """A job with its words; ``?words=false`` or ``?fields=a,b`` trim the answer."""

    words = serializers.JSONField(read_only=True, help_text=_("[{text, start, end, confidence}], start/end in ms."))

    class Meta(JobSerializer.Meta):
        fields = (*JobSerializer.Meta.fields, "words")
        read_only_fields = fields

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is None:
            return
        wanted = request.query_params.get("fields")
        if wanted:
            keep = {name.strip() for name in wanted.split(",") if name.strip()}
            unknown = sorted(keep - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {
                        "fields": [
                            gettext("Unknown field(s) %(unknown)s; choose from %(fields)s.")
                            % {"unknown": unknown, "fields": sorted(self.fields)}
                        ]
                    }
                )
            for name in set(self.fields) - keep - {"id"}:
                self.fields.pop(name)
        if request.query_params.get("words", "").lower() in ("false", "0", "no"):
            self.fields.pop("words", None)


class JobCreateSerializer(serializers.Serializer[TranscriptionJob]):
    """Exactly one of ``audio`` (a file), ``audio_url`` or ``upload`` (an upload's id)."""

    audio = AudioFileField(required=False, help_text=_("An audio file to upload and transcribe."))
    audio_url = serializers.CharField(required=False, max_length=1000, help_text=_("An http(s) URL SlashML can fetch."))
    upload = serializers.UUIDField(required=False, help_text=_("The id of one of your audio uploads."))
    service_provider = ProviderField(required=False, help_text=PROVIDER_HELP)
    fresh = serializers.BooleanField(
        required=False,
        default=False,
        help_text=_("Transcribe again even if this provider already transcribed the same audio (by SHA-256)."),
    )
    metadata = MetadataField(
        required=False,
        help_text=_("A JSON object kept with the job (SLASHML['MAX_METADATA_BYTES'], ['MAX_METADATA_DEPTH'])."),
    )
    spelling = serializers.JSONField(
        required=False,
        help_text=_('This job\'s own spelling table: [{"from": ["slash ml"], "to": "SlashML"}].'),
    )

    def validate_spelling(self, value: Any) -> list[dict[str, Any]]:
        if isinstance(value, str):  # multipart forms send it as text
            try:
                value = json.loads(value)
            except ValueError:
                raise serializers.ValidationError(
                    gettext('spelling must be JSON: [{"from": ["slash ml"], "to": "SlashML"}].')
                ) from None
        try:
            return parse_job_spelling(value)
        except InvalidSpellingError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate_audio_url(self, value: str) -> str:
        try:
            return validate_audio_url(value)
        except InvalidAudioError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate_upload(self, value: Any) -> AudioUpload:
        upload = AudioUpload.objects.filter(pk=value, owner=self.context["request"].user).first()
        if upload is None:
            raise serializers.ValidationError(
                gettext("You have no audio upload %(upload)s; upload one at uploads/ first.") % {"upload": value}
            )
        if upload.purged_at:
            raise serializers.ValidationError(
                gettext(
                    "The audio of upload %(upload)s was deleted on %(date)s by the retention policy; "
                    "upload the file again."
                )
                % {"upload": value, "date": f"{upload.purged_at:%Y-%m-%d}"}
            )
        return upload

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        given = [name for name in ("audio", "audio_url", "upload") if attrs.get(name)]
        if len(given) != 1:
            shown = gettext(" and ").join(given) if given else gettext("none of them")
            message = gettext("Send exactly one of 'audio' (a file), 'audio_url' or 'upload'; got %(given)s.")
            raise serializers.ValidationError({"non_field_errors": [message % {"given": shown}]})
        if "audio" in given:
            check_audio_file(attrs["audio"], "audio")
        return attrs

    def create(self, validated_data: dict[str, Any]) -> TranscriptionJob:
        # validate() let exactly one of the three through.
        source = validated_data.get("audio") or validated_data.get("audio_url") or validated_data["upload"]
        return transcribe(
            source,
            service_provider=validated_data.get("service_provider"),
            owner=self.context["request"].user,
            metadata=validated_data.get("metadata"),
            fresh=validated_data.get("fresh", False),
            spelling=validated_data.get("spelling"),
        )

    def to_representation(self, instance: TranscriptionJob) -> dict[str, Any]:
        return JobDetailSerializer(instance, context=self.context).data


class JobFromURLSerializer(JobCreateSerializer):
    """What a JSON or url-encoded body may hold: everything but a file."""

    audio = None  # type: ignore[assignment]
