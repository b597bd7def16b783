"""Django settings, built from ``BontSettings``. SQLite is the embedded default (WAL, foreign keys on,
immediate write transactions); ``DATABASE_URL`` selects PostgreSQL for a clinic with many users."""

from __future__ import annotations

from typing import Any

import dj_database_url

from bont.settings import BontSettings

_settings = BontSettings()


def database_config(url: str) -> dict[str, Any]:
    config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=0))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {
            # WAL lets readers work while one writer writes; IMMEDIATE takes the write lock at BEGIN so two
            # writers serialise instead of failing halfway; a busy timeout waits for the lock.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    return config


SECRET_KEY = _settings.secret_key
DEBUG = _settings.debug
ALLOWED_HOSTS = ["127.0.0.1", "localhost", *_settings.allowed_hosts]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "simple_history",
    "axes",
    "ninja",
    "bont.clinic",
    "bont.web",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
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
SESSION_COOKIE_AGE = 30 * 60  # signed out after 30 minutes without activity
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_SAMESITE = "Strict"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _settings.secure_cookies
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
DATABASES = {"default": database_config(_settings.effective_database_url)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True  # moments are stored in UTC and shown in the clinic's zone
TIME_ZONE = _settings.time_zone
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # SQL parameters can hold patient data: never log queries.
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
