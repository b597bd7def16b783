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
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "simple_history",
    "bont.clinic",
]
DATABASES = {"default": database_config(_settings.effective_database_url)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # SQL parameters can hold patient data: never log queries.
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
