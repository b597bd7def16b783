"""Django settings for ``bench/http_check.py`` alone (``DJANGO_SETTINGS_MODULE=bench.http_site``): bont's own
settings and pages, plus two routes that no clinic's server has, the benchmark's baselines:

- ``POST /bench/bare``: a bare Django view (no authentication, no body read), through the same middleware;
- ``POST /bench-api/empty``: an empty django-ninja operation behind the API's bearer-token authentication and
  the role check ``/api/check`` makes.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from bont.clinic.django_settings import *  # noqa: F403 (bont's settings, unchanged but for the URLs)

ROOT_URLCONF = __name__  # the routes come from ``urlpatterns`` below


@cache
def _urlpatterns() -> list[Any]:
    # Built at the first request, not at import: Django imports its settings before the apps are ready.
    from django.http import HttpRequest, HttpResponse
    from django.urls import include, path
    from django.views.decorators.csrf import csrf_exempt
    from ninja import NinjaAPI
    from ninja.errors import HttpError

    from bont.web import urls
    from bont.web.access import IDENTIFIED, roles_of
    from bont.web.api import BearerToken

    @csrf_exempt
    def bare(request: HttpRequest) -> HttpResponse:
        return HttpResponse(b"{}", content_type="application/json")

    empty_api = NinjaAPI(auth=[BearerToken()], urls_namespace="bench-api", docs_url=None)

    @empty_api.post("/empty")
    def empty(request: HttpRequest) -> dict[str, Any]:
        if not roles_of(request) & set(IDENTIFIED):
            raise HttpError(403, "your role does not allow this")
        return {}

    return [path("bench/bare", bare), path("bench-api/", empty_api.urls), path("", include(urls))]


def __getattr__(name: str) -> Any:
    """``urlpatterns``, built when Django's URL resolver first asks for it."""
    if name == "urlpatterns":
        return _urlpatterns()
    raise AttributeError(name)
