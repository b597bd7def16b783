"""Roles and the permissions every page enforces (not only hidden in menus)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase

IDENTIFIED = ("clinician", "nurse", "admin")  # may open identified charts
PATIENT_LIST = (*IDENTIFIED, "billing")
RESEARCH = ("researcher", "admin")
RECORDING = ("clinician", "nurse")  # may record a session (only a clinician may override a block)
# Only a clinician withdraws (or corrects) a session that was given; clinicians and nurses, who record them,
# correct and withdraw adverse events and outcome measurements.
SESSION_WITHDRAWAL = ("clinician",)
CORRECTING = RECORDING
PATIENT_EDITING = RECORDING  # register patients and change their records
BILLING = ("billing", "admin", "clinician")
INVENTORY = ("clinician", "nurse", "billing", "admin")
EVIDENCE = ("clinician", "nurse", "billing", "researcher", "admin")  # the evidence library: every role
STAFF = ("clinician", "nurse", "billing", "researcher", "admin")  # any signed-in staff role: the style guide


# Where a request keeps the roles of its user once read: the guard, the menu and the API ask several times.
_ROLES = "_bont_roles"


def remember_roles(request: HttpRequest, roles: frozenset[str]) -> None:
    """Give the request's current user these roles without reading them (a bearer token's holder, whose
    roles came with the token)."""
    setattr(request, _ROLES, (getattr(request, "user", None), roles))


def roles_of(request: HttpRequest) -> frozenset[str]:
    """The roles of the request's user, read once per request (again only if the request's user changes, as
    at sign-in or sign-out)."""
    user = getattr(request, "user", None)  # absent on a 400 page refused before authentication ran
    known = getattr(request, _ROLES, None)
    if known is not None and known[0] is user:
        roles: frozenset[str] = known[1]
        return roles
    if user is None or not user.is_authenticated:
        roles = frozenset()
    else:
        roles = frozenset(user.groups.values_list("name", flat=True)) | ({"admin"} if user.is_superuser else set())
    remember_roles(request, roles)
    return roles


def require_role(*roles: str) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    def decorate(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @login_required
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not roles_of(request) & set(roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return guarded

    return decorate


def navigation(request: HttpRequest) -> dict[str, set[str]]:
    """A template context processor: the menu shows the pages the user's role may open (the pages check
    again themselves)."""
    roles = roles_of(request)
    pages = {
        "patients": PATIENT_LIST,
        "plan": IDENTIFIED,
        "follow_up": IDENTIFIED,
        "events": IDENTIFIED,
        "inventory": INVENTORY,
        "billing": BILLING,
        "research": RESEARCH,
        "evidence": EVIDENCE,
        "users": ("admin",),
        "audit": ("admin",),
    }
    return {"nav": {page for page, allowed in pages.items() if roles & set(allowed)}}
