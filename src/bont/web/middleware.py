"""What every response and every page of the clinic carries, whoever is signed in: nothing is kept by a
browser or a cache (patient pages, the JSON API, the diary), and the demo clinic says on every page that it is
one. Static files are answered by WhiteNoise before this middleware and stay cacheable."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import add_never_cache_headers


class NotStored:
    """``Cache-Control: no-store`` (with Django's ``never_cache`` headers) and ``Pragma: no-cache`` on every
    response: a page of a chart left in a shared workstation's browser cache, or in a proxy's, is a disclosure;
    the login page and the error pages lose nothing by not being cached."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        add_never_cache_headers(response)
        response["Pragma"] = "no-cache"  # HTTP/1.0 caches, which do not read Cache-Control
        return response


def demo_clinic(request: HttpRequest) -> dict[str, bool]:
    """Whether the fictional demo clinic is loaded (``BONT_DEMO``, set by ``bont serve --demo``)."""
    return {"demo_clinic": bool(getattr(settings, "BONT_DEMO", False))}
