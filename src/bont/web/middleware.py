"""What every response and every page of the clinic carries, whoever is signed in: nothing is kept by a
browser or a cache (patient pages, the JSON API, the diary), and the demo clinic says on every page that it is
one. Static files are answered by WhiteNoise before this middleware and stay cacheable. A signed-in session's
idle timeout is renewed as the user works, without a database write on every request."""

from __future__ import annotations

import time
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


# When a session's expiry was last renewed (seconds since the epoch), kept in the session itself.
RENEWED_AT = "bont_renewed_at"
# A session's expiry is renewed at most this often: one write a minute per user instead of one per request, so
# a session ends between SESSION_COOKIE_AGE less this and SESSION_COOKIE_AGE after the user's last request.
RENEWAL_INTERVAL = 60


class RenewsSession:
    """The idle timeout (``SESSION_COOKIE_AGE``) counts from the user's last activity, as Django's
    ``SESSION_SAVE_EVERY_REQUEST`` makes it, but the session (its stored expiry and its cookie's) is saved only
    when the last renewal is ``RENEWAL_INTERVAL`` old. Requests without a session (API tokens) write nothing."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        session = request.session
        # After the view, so that a sign-in (a new session key) or a sign-out (an emptied session) is seen.
        if session.session_key is not None and not session.is_empty():
            now = int(time.time())
            if session.modified or now - int(session.get(RENEWED_AT, 0)) >= RENEWAL_INTERVAL:
                session[RENEWED_AT] = now  # modified: SessionMiddleware saves it with a new expiry
        return response


def demo_clinic(request: HttpRequest) -> dict[str, bool]:
    """Whether the fictional demo clinic is loaded (``BONT_DEMO``, set by ``bont serve --demo``)."""
    return {"demo_clinic": bool(getattr(settings, "BONT_DEMO", False))}
