"""Reads of patient data logged from the web pages and the JSON API: one call per view, with the request.

Who is the signed-in user (or the API token's user); where from is the client's address: the connection's,
or behind the clinic's TLS proxy (``BONT_BEHIND_TLS_PROXY=true``, which sets Django's
``SECURE_PROXY_SSL_HEADER``) the address the proxy appended last to ``X-Forwarded-For``, the only entry a
client cannot forge.
"""

from __future__ import annotations

from ipaddress import ip_address

from django.conf import settings
from django.http import HttpRequest

from bont.bootstrap import access_log
from bont.services.access_log import Access, Action, Channel, log_access

__all__ = ["Action", "client_address", "log_read"]


def client_address(request: HttpRequest) -> str | None:
    """The client's IP address, or None when what the connection or proxy gives is not one."""
    address = request.META.get("REMOTE_ADDR", "")
    if settings.SECURE_PROXY_SSL_HEADER:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if forwarded[-1]:
            address = forwarded[-1]
    try:
        return str(ip_address(address))
    except ValueError:
        return None


def log_read(
    request: HttpRequest, target: str, mrn: str | None = None, object_id: object = "", action: Action = Action.READ
) -> None:
    """Append who read ``target`` (``object_id``) of the patient ``mrn``, by web or API, from where."""
    api_prefixes = ("/api/", "/fhir/")  # the JSON API and the FHIR API
    log_access(
        access_log(),
        Access(
            # A bearer token's username (django-ninja's request.auth) spares loading its lazy user.
            actor=auth if isinstance(auth := getattr(request, "auth", None), str) else request.user.get_username(),
            channel=Channel.API if request.path_info.startswith(api_prefixes) else Channel.WEB,
            action=action,
            target=target,
            patient_mrn=mrn,
            object_id=str(object_id),
            remote_address=client_address(request),
        ),
    )
