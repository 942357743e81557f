"""Who may see and act on which jobs and uploads: one rule for the API and the admin.

Owners see and act on their own rows. Anyone else needs staff status and the model's
``view`` permission to see a row, ``change`` to act on it (retry, cancel, review). As in
Django's admin, ``change`` includes ``view``: a reviewer who may resubmit a job may also
read it and play its audio.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from django.db.models import Model, QuerySet

from django_slashml.models import ReviewState, TranscriptionJob

if TYPE_CHECKING:
    # A request's user: the project's AUTH_USER_MODEL as django-stubs resolve it, or AnonymousUser.
    from django.contrib.auth.models import _AnyUser


def permission_name(model: type[Model], action: str) -> str:
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


def _has(user: _AnyUser, model: type[Model], action: str) -> bool:
    actions = ("view", "change") if action == "view" else (action,)
    return any(user.has_perm(permission_name(model, each)) for each in actions)


def sees_everything(user: _AnyUser, model: type[Model]) -> bool:
    return bool(user.is_staff and _has(user, model, "view"))


_RowT = TypeVar("_RowT", bound=Model)


def visible_to(user: _AnyUser, queryset: QuerySet[_RowT]) -> QuerySet[_RowT]:
    if sees_everything(user, queryset.model):
        return queryset
    return queryset.filter(owner=user)


def is_allowed(user: _AnyUser, action: str, obj: Model) -> bool:
    """Whether ``user`` may ``view`` or ``change`` ``obj``."""
    if not user.is_authenticated:
        return False
    if getattr(obj, "owner_id", None) == user.pk:
        return True
    return bool(user.is_staff and _has(user, type(obj), action))


def is_reviewed(job: TranscriptionJob) -> bool:
    return job.review_state != ReviewState.UNREVIEWED or bool(job.corrected_text)


def may_discard_review(user: _AnyUser) -> bool:
    """Retrying a reviewed job throws away a reviewer's work: reviewers only, not the job's owner."""
    return bool(user.is_authenticated and user.is_staff and user.has_perm(permission_name(TranscriptionJob, "change")))
