"""The HTTP server behind ``bont serve``: waitress in one process (any operating system), gunicorn's threaded
workers for several processes (Linux and macOS), both believing a reverse proxy's ``X-Forwarded-*`` headers
the same way: only from ``BONT_TRUSTED_PROXY``, and dropped from anyone else. Before gunicorn forks its workers,
the first process loads what each worker would otherwise load on its first requests, so that they share it."""

from __future__ import annotations

import gc
import importlib
import threading
from collections.abc import Callable
from typing import Any

from bont.cli.common import fail

THREADS = 8  # requests served at once by each process
# The proxy's headers bont believes when BONT_BEHIND_TLS_PROXY is set: scheme (https), host, client address
# (which the access log records and sign-in throttling counts by).
PROXY_HEADERS = frozenset({"x-forwarded-proto", "x-forwarded-host", "x-forwarded-for"})

Application = Callable[..., Any]  # a WSGI application


def serve_http(application: Application, host: str, port: int, workers: int, trusted_proxy: str | None) -> None:
    """Serve ``application`` on ``host:port`` until stopped, in ``workers`` processes; ``trusted_proxy``: the
    address whose ``X-Forwarded-*`` headers are believed (None: no proxy, the headers mean nothing)."""
    if workers == 1:
        import waitress

        # The first chart need not wait for the views and ICD-10-CM: loaded beside the first requests (an import
        # is done once, under the import lock, whichever thread asks first).
        threading.Thread(target=_load_views_and_code_sets, name="bont-load-ahead", daemon=True).start()

        proxy: dict[str, Any] = {}
        if trusted_proxy is not None:
            proxy = {
                "trusted_proxy": trusted_proxy,
                "trusted_proxy_count": 1,
                "trusted_proxy_headers": " ".join(sorted(PROXY_HEADERS)),
            }
        waitress.serve(application, host=host, port=port, threads=THREADS, _quiet=True, **proxy)
        return
    from waitress.proxy_headers import proxy_headers_middleware

    if trusted_proxy is not None:
        # Waitress's own translation of the proxy's headers, as one process gets it: one rule for both servers.
        application = proxy_headers_middleware(
            application, trusted_proxy=trusted_proxy, trusted_proxy_count=1, trusted_proxy_headers=set(PROXY_HEADERS)
        )
    _load_before_forking()
    _serve_with_gunicorn(application, f"{host}:{port}", workers)


def _load_views_and_code_sets() -> None:
    """Every view (the URL configuration imports them) and ICD-10-CM (about 3 s and 180 MB, parsed at the first
    chart with a coded condition otherwise)."""
    from django.conf import settings

    from bont.knowledge.icd10cm import load_code_set

    importlib.import_module(settings.ROOT_URLCONF)
    load_code_set()


def _load_before_forking() -> None:
    """The views and ICD-10-CM loaded once and shared by the workers rather than by each on a patient's chart.
    Then the objects loaded so far are left out of garbage collection (``gc.freeze``): the workers' collections
    would walk them all on every full pass and copy every memory page they touch."""
    _load_views_and_code_sets()
    gc.freeze()


def _serve_with_gunicorn(application: Application, bind: str, workers: int) -> None:
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError:  # not installed on Windows: gunicorn needs a POSIX system, waitress does not
        fail("--workers: more than one process needs gunicorn, which runs on Linux and macOS; use --workers 1")

    options = {
        "bind": bind,
        "workers": workers,
        "worker_class": "gthread",  # threads in each process, as waitress serves
        "threads": THREADS,
        # gunicorn believes no forwarded header itself: the proxy's are translated as above, or not at all.
        "forwarded_allow_ips": "",
        "secure_scheme_headers": {},
        "accesslog": None,  # as quiet as waitress: a request line can name a patient
        "errorlog": "-",
        "loglevel": "warning",
    }

    class Workers(BaseApplication):  # type: ignore[misc]
        """gunicorn with the settings above, not read from its command line or a configuration file."""

        def load_config(self) -> None:
            for name, value in options.items():
                self.cfg.set(name, value)

        def load(self) -> Application:
            return application

    Workers().run()
