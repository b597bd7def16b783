"""Roles and the permissions every page enforces (not only hidden in menus)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

IDENTIFIED = ("clinician", "nurse", "admin")  # may open identified charts
PATIENT_LIST = (*IDENTIFIED, "billing")
RESEARCH = ("researcher", "admin")


def roles_of(request: HttpRequest) -> set[str]:
    user = request.user
    if not user.is_authenticated:
        return set()
    return set(user.groups.values_list("name", flat=True)) | ({"admin"} if user.is_superuser else set())


def require_role(*roles: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not roles_of(request) & set(roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return guarded

    return decorate
