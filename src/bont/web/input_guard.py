"""A guard in front of every view: a URL, a query or a form field holding a NUL character is refused with a 400
naming the field, before any view or the database sees it. PostgreSQL stores no NUL in a text column and raised
an error for it (a 500); no person types one, so it is refused, not stripped. JSON bodies are read by
``bont.interop.strict_json``, which refuses NUL there."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBadRequest, HttpResponseBase, QueryDict

NUL = "\x00"
FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


class RefusesNul:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        field = _field_with_nul(request)
        if field is not None:
            return HttpResponseBadRequest(f"{field}: contains a NUL character", content_type="text/plain")
        return self.get_response(request)


def _field_with_nul(request: HttpRequest) -> str | None:
    if NUL in request.path:
        return "(address)"
    forms: list[QueryDict] = [request.GET]
    if request.method == "POST" and request.content_type in FORMS:
        forms.append(request.POST)
    for form in forms:
        for key, values in form.lists():
            if NUL in key or any(NUL in value for value in values):
                return key.replace(NUL, "\\0")[:80]
    return None
