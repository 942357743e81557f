"""``compare()``: one audio, several providers, one job each, the audio stored and uploaded once.

Everything a caller can get wrong (the providers, the reference, the metadata, the audio)
is checked before the first row is written, and the rows are written in one transaction,
so a refused comparison leaves no comparison, job or upload behind. Uploading to SlashML
once, not once per provider, is the pipeline's business: the jobs share the one
:class:`~django_slashml.models.AudioUpload`, and the first to need SlashML's copy claims
the upload while the others wait for its URL (:mod:`django_slashml.jobs.pipeline`).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext as _

from django_slashml.conf import slashml_settings
from django_slashml.exceptions import InvalidComparisonError
from django_slashml.jobs.actions import (
    AudioSource,
    _looks_like_url,
    ensure_configured,
    store_audio,
    transcribe,
    validate_audio_url,
)
from django_slashml.jobs.metadata import check_metadata_argument
from django_slashml.models import AudioUpload, Comparison, TranscriptionJob
from django_slashml.privacy import rules as privacy_rules
from django_slashml.privacy.transcript import clean_text
from django_slashml.remote.characters import storable_text
from django_slashml.remote.protocol import SERVICE_PROVIDERS, shown_value

if TYPE_CHECKING:
    from django.contrib.auth.models import _User

__all__ = ["MAX_PROVIDERS", "MIN_PROVIDERS", "compare", "validate_providers", "validate_reference"]

MIN_PROVIDERS = 2
MAX_PROVIDERS = len(SERVICE_PROVIDERS)


def validate_providers(providers: Any) -> list[str]:
    """``providers`` as a list of 2 to 6 distinct known providers, or :class:`InvalidComparisonError`.

    The count is checked first and every later check is linear, so a body of hundreds of
    thousands of entries costs one ``len()``, and no message echoes more than a few of them.
    """
    known = ", ".join(SERVICE_PROVIDERS)
    if isinstance(providers, str) or not isinstance(providers, Sequence):
        raise InvalidComparisonError(
            _("Send providers as a list of %(min)d to %(max)d of: %(known)s.")
            % {"min": MIN_PROVIDERS, "max": MAX_PROVIDERS, "known": known}
        )
    if len(providers) > MAX_PROVIDERS:
        raise _wrong_count(len(providers))
    chosen = list(providers)
    unknown = [p for p in chosen if not isinstance(p, str) or p not in SERVICE_PROVIDERS]
    if unknown:
        raise InvalidComparisonError(
            _("Unknown provider(s) %(unknown)s; use %(known)s.")
            % {"unknown": ", ".join(shown_value(p) for p in unknown), "known": known}
        )
    repeated = sorted(p for p, count in Counter(chosen).items() if count > 1)
    if repeated:
        raise InvalidComparisonError(
            _("Each provider once: %(repeated)s is repeated.") % {"repeated": ", ".join(repeated)}
        )
    if len(chosen) < MIN_PROVIDERS:
        raise _wrong_count(len(chosen))
    return chosen


def _wrong_count(count: int) -> InvalidComparisonError:
    return InvalidComparisonError(
        _("A comparison needs %(min)d to %(max)d providers; got %(count)d.")
        % {"min": MIN_PROVIDERS, "max": MAX_PROVIDERS, "count": count}
    )


def validate_reference(reference_text: Any) -> str:
    """The reference to keep ("" for none); an empty or blank string is refused, not taken as none.

    Redacted like the transcripts it is scored against (never respelled: a person typed it), so
    what a caller read out is not stored here either and a label matches a label.
    """
    if reference_text is None:
        return ""
    if not isinstance(reference_text, str) or not reference_text.strip():
        raise InvalidComparisonError(
            _("reference_text is empty; send what was said, or leave it out to score against a reviewed transcript."),
            field="reference_text",
        )
    limit = int(slashml_settings.MAX_REFERENCE_CHARS)
    if len(reference_text) > limit:
        raise InvalidComparisonError(
            _(
                "reference_text is %(length)d characters long; at most %(limit)d are allowed "
                "(SLASHML['MAX_REFERENCE_CHARS'])."
            )
            % {"length": len(reference_text), "limit": limit},
            field="reference_text",
        )
    if storable_text(reference_text) != reference_text:
        raise InvalidComparisonError(
            _(
                "reference_text has a character the database cannot store (NUL, a lone surrogate, or "
                "a 4-byte character where MySQL/MariaDB is not utf8mb4); remove it."
            ),
            field="reference_text",
        )
    return clean_text(reference_text.strip(), privacy_rules.for_job().without_spelling())[0]


def compare(
    audio: AudioSource,
    *,
    providers: Sequence[str],
    reference_text: str | None = None,
    owner: _User | None = None,
    metadata: dict[str, Any] | None = None,
) -> Comparison:
    """Send ``audio`` to each of ``providers`` and return the :class:`Comparison` of their transcripts.

    ``audio`` is anything :func:`~django_slashml.transcribe` takes. One job per provider
    (``comparison.jobs``), each scheduled when the transaction commits. Raises
    :class:`InvalidComparisonError` (or transcribe's errors) before anything is saved.
    """
    chosen = validate_providers(providers)
    reference = validate_reference(reference_text)
    ensure_configured()
    check_metadata_argument(metadata)
    source: AudioSource = audio
    audio_url = ""
    if isinstance(audio, str) and _looks_like_url(audio):
        source = audio_url = validate_audio_url(audio)
    created: AudioUpload | None = None
    try:
        with transaction.atomic():
            if (isinstance(audio, (str, os.PathLike)) and not audio_url) or (
                not isinstance(audio, (str, os.PathLike, AudioUpload)) and hasattr(audio, "read")
            ):
                source = created = store_audio(audio, owner)
            jobs = [
                transcribe(source, service_provider=provider, owner=owner, metadata=metadata) for provider in chosen
            ]
            comparison = Comparison.objects.create(
                upload=jobs[0].upload,
                audio_url=audio_url,
                reference_text=reference,
                owner=owner,
                metadata=metadata or {},
            )
            TranscriptionJob.objects.filter(pk__in=[job.pk for job in jobs]).update(comparison=comparison)
    except BaseException:
        if created is not None:
            created.file.delete(save=False)
        raise
    return comparison
