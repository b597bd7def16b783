"""bont's validated settings, read from the environment (``BONT_*`` and ``DATABASE_URL``)."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    return Path(user_data_dir("bont", appauthor=False))


class BontSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BONT_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    secret_key: str = "bont-development-key-change-me-in-production"
    debug: bool = False
    secure_cookies: bool = False  # set BONT_SECURE_COOKIES=true behind HTTPS
    allowed_hosts: list[str] = []

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "bont.sqlite3"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"
