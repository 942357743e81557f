"""Who sees and acts on which jobs and uploads, as DRF permissions (rule in :mod:`..access`).

Everyone must be authenticated (on top of whatever DRF's DEFAULT_PERMISSION_CLASSES add).
Users see their own rows only: another user's id is a 404, not a 403, so ids leak nothing.
Staff with the model's ``view`` permission see every row, and with ``change`` may retry or
cancel any job.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission

from django_slashml.jobs.access import is_allowed, visible_to

__all__ = ["OwnerOrStaffWithPermission", "visible_to"]


class OwnerOrStaffWithPermission(BasePermission):
    """Object level: owners act on their rows; others need staff status and the model permission."""

    message = _("You may only change your own jobs and uploads.")

    def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
        return is_allowed(request.user, "view" if request.method in SAFE_METHODS else "change", obj)
