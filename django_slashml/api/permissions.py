"""Who sees and acts on which jobs and uploads.

Everyone must be authenticated (on top of whatever DRF's DEFAULT_PERMISSION_CLASSES add).
Users see their own rows only: another user's id is a 404, not a 403, so ids leak nothing.
Staff with the model's ``view`` permission see every row, and with ``change`` may retry or
cancel any job.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from rest_framework.permissions import SAFE_METHODS, BasePermission


def _perm(model: type[Model], action: str) -> str:
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


def sees_everything(user: Any, model: type[Model]) -> bool:
    return bool(user.is_staff and user.has_perm(_perm(model, "view")))


def visible_to(user: Any, queryset: QuerySet[Any]) -> QuerySet[Any]:
    if sees_everything(user, queryset.model):
        return queryset
    return queryset.filter(owner=user)


class OwnerOrStaffWithPermission(BasePermission):
    """Object level: owners act on their rows; others need staff status and the model permission."""

    message = "You may only change your own jobs and uploads."

    def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
        user = request.user
        if getattr(obj, "owner_id", None) == user.pk:
            return True
        action = "view" if request.method in SAFE_METHODS else "change"
        return bool(user.is_staff and user.has_perm(_perm(type(obj), action)))
