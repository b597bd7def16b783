"""Django settings, built from ``BontSettings``. SQLite is the embedded default (WAL, foreign keys on,
immediate write transactions); ``DATABASE_URL`` selects PostgreSQL for a clinic with many users. Connections
are kept between requests (``BONT_CONN_MAX_AGE``) and tested before reuse (``BONT_CONN_HEALTH_CHECKS``).

Secure by default: a secret key of the clinic's own (generated on the first run when BONT_SECRET_KEY is unset),
HttpOnly SameSite cookies, Secure cookies and HSTS over HTTPS, the reverse proxy's word on HTTPS only when
BONT_BEHIND_TLS_PROXY says there is one, and responses not kept by browsers or caches (``bont.web.middleware``)."""

from __future__ import annotations

from typing import Any

import dj_database_url

from bont.settings import BontSettings

_settings = BontSettings()


def database_config(
    url: str, synchronous: str = "NORMAL", conn_max_age: int = 0, conn_health_checks: bool = False
) -> dict[str, Any]:
    """Django's DATABASES entry for ``url``; ``conn_max_age`` keeps a connection open for the next request
    (``BONT_CONN_MAX_AGE``), ``conn_health_checks`` tests a kept one before reusing it."""
    config: dict[str, Any] = dict(
        dj_database_url.parse(url, conn_max_age=conn_max_age, conn_health_checks=conn_health_checks)
    )
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {
            # WAL lets readers work while one writer writes; IMMEDIATE takes the write lock at BEGIN so two
            # writers serialise instead of failing halfway; a busy timeout waits for the lock. synchronous is
            # BONT_SQLITE_SYNCHRONOUS (NORMAL, or FULL so that a power cut loses no committed record).
            "init_command": f"PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous={synchronous};",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    return config


SECRET_KEY = _settings.effective_secret_key()
DEBUG = _settings.debug
ALLOWED_HOSTS = _settings.hosts
CSRF_TRUSTED_ORIGINS = _settings.trusted_origins
BONT_DEMO = _settings.demo  # the pages' demo banner (bont.web.middleware.demo_clinic)
if _settings.behind_tls_proxy:
    # Only the proxy reaches bont (it listens on 127.0.0.1 or a private network) and the proxy replaces these
    # headers, so a client cannot claim HTTPS or another host by sending them itself.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",  # counts of a clinic's size written 100,000
    "simple_history",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "ninja",
    "bont.clinic",
    "bont.web",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "bont.web.middleware.NotStored",  # after WhiteNoise: static files stay cacheable, nothing else is
    "django.contrib.sessions.middleware.SessionMiddleware",
    "bont.web.middleware.RenewsSession",  # the idle timeout, without a write on every request
    "django.middleware.common.CommonMiddleware",
    "bont.web.input_guard.RefusesNul",  # a NUL in a URL, query or form: a 400 before any view reads it
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): signed in with the second factor
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",  # the signed-in user is recorded in the audit trail
    "axes.middleware.AxesMiddleware",
]
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
ROOT_URLCONF = "bont.web.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "bont.web.access.navigation",
                "bont.web.middleware.demo_clinic",
            ]
        },
    }
]
STATIC_URL = "/static/"
WHITENOISE_USE_FINDERS = True  # serve the apps' static files directly; no collectstatic step
# A form's body is refused above 2.5 MiB (Django's default, stated here because templates/400.html states it):
# every text field's maxlength keeps a form far below it, so only a paste past the browser hits it.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"
SESSION_COOKIE_AGE = 30 * 60  # signed out after 30 minutes without activity (renewed by bont.web.middleware)
# Not a database write per page view: bont.web.middleware.RenewsSession renews the expiry at most once a minute.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_HTTPONLY = True  # the forms carry the token in a hidden field; no script reads the cookie
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _settings.served_over_https
# HSTS is sent only on responses over HTTPS (Django's SecurityMiddleware), so local http:// use is unaffected.
SECURE_HSTS_SECONDS = _settings.hsts_seconds if _settings.served_over_https else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = _settings.hsts_include_subdomains
SECURE_SSL_REDIRECT = _settings.ssl_redirect
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
AXES_FAILURE_LIMIT = 5  # sign-in attempts before a cool-off
AXES_COOLOFF_TIME = 0.25  # hours
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/accounts/locked_out.html"  # the app's page, naming no user
# Lock out a username from one address only: five wrong passwords for one user must not lock out every user
# behind the clinic's NAT, and one user's lockout must not follow them to another workstation's address.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The TOTP second factor (django-otp): off, optional for every user, or required for the administration pages.
BONT_TOTP = _settings.totp
OTP_TOTP_ISSUER = "bont"
# The password policy of ``bont user reset-password`` and the Users page (a bont password guards patient data).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
DATABASES = {
    "default": database_config(
        _settings.effective_database_url,
        _settings.sqlite_synchronous,
        _settings.conn_max_age,
        _settings.conn_health_checks,
    )
}
# What a server process last read of an API token and its user (bont.clinic.accounts), in this process only;
# a change to a token or its user touches BONT_TOKEN_CHANGES, which tells the machine's other processes.
BONT_TOKEN_CHANGES = str(_settings.token_changes_file)
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "api-tokens": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "api-tokens",
        "TIMEOUT": _settings.token_cache_seconds,
        "OPTIONS": {"MAX_ENTRIES": 10_000},
    },
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True  # moments are stored in UTC and shown in the clinic's zone
TIME_ZONE = _settings.time_zone
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # SQL parameters can hold patient data: never log queries.
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
