"""bont's validated settings, read from the environment (``BONT_*`` and ``DATABASE_URL``).

Deployment behind a reverse proxy that ends TLS (how a clinic serves bont): ``BONT_BEHIND_TLS_PROXY=true``
trusts the proxy's ``X-Forwarded-Proto: https`` and ``X-Forwarded-Host``, ``BONT_TRUSTED_ORIGINS`` names the
addresses people type (``https://bont.clinic.example``; their hosts are allowed too), ``BONT_ALLOWED_HOSTS``
any further host names. Over HTTPS the cookies are Secure and HSTS is sent (``BONT_HSTS_SECONDS``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from platformdirs import user_data_dir
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bont.time_zone import is_time_zone, machine_time_zone


def default_data_dir() -> Path:
    return Path(user_data_dir("bont", appauthor=False))


SECRET_KEY_FILE = "secret-key"
# Django's own check (security.W009) asks for at least 50 characters; a shorter key is refused, not warned about.
SECRET_KEY_LENGTH = 50
ONE_YEAR = 365 * 24 * 60 * 60
TELEPHONE_CHARACTERS = frozenset("0123456789 +-().")
# The fictional demo clinic's name and number (555-01xx numbers are reserved for fiction in North America).
DEMO_CLINIC_NAME = "Riverside Neurology Clinic (fictional)"
DEMO_CLINIC_PHONE = "+1 555-0134"


def private_file(path: Path) -> None:
    """Create ``path`` empty, readable and writable by its owner only (0600); raises ``FileExistsError`` when
    it exists, so that nothing is overwritten. Patient records, backups and keys are created this way, whatever
    the process's umask."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    os.chmod(path, 0o600)  # os.open's mode is narrowed by the umask, never widened; chmod states it exactly


def stored_secret_key(path: Path) -> str:
    """The secret key kept in ``path``, created there (owner-only) on the first run."""
    with contextlib.suppress(FileNotFoundError):
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        private_file(path)
    except FileExistsError:  # another process (the server, a command) created it first: use theirs
        return path.read_text(encoding="utf-8").strip()
    key = secrets.token_urlsafe(SECRET_KEY_LENGTH)
    path.write_text(key + "\n", encoding="utf-8")
    return key


def _listed(value: object) -> object:
    """A list setting from the environment: comma-separated (``a.example,b.example``)."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class BontSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BONT_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    # Unset: generated on the first run and kept owner-only in ``secret_key_file``.
    secret_key: str | None = None
    debug: bool = False
    # The fictional demo clinic is loaded (``bont serve --demo`` sets it): every page says so.
    demo: bool = False
    # Served over HTTPS without a proxy (or a proxy that does not send X-Forwarded-Proto): Secure cookies, HSTS.
    secure_cookies: bool = False
    # A reverse proxy ends TLS and forwards X-Forwarded-Proto/-Host/-For, replacing any the client sent.
    behind_tls_proxy: bool = False
    # The address the proxy connects from: only its X-Forwarded-* headers are believed ("*": any address).
    trusted_proxy: str = "127.0.0.1"
    # The origins people sign in from, e.g. https://bont.clinic.example (CSRF_TRUSTED_ORIGINS; hosts allowed).
    trusted_origins: Annotated[list[str], NoDecode] = []
    allowed_hosts: Annotated[list[str], NoDecode] = []
    hsts_seconds: int = Field(default=ONE_YEAR, ge=0)  # over HTTPS; 0 sends no HSTS
    hsts_include_subdomains: bool = False  # other sites of the clinic's domain may still need plain HTTP
    ssl_redirect: bool = False  # redirect http:// to https:// here (usually the proxy's job)
    # SQLite's durability: NORMAL (WAL's default: a power cut may lose the last commits, never corrupts),
    # FULL (every commit survives a power cut, slower writes), EXTRA.
    sqlite_synchronous: Literal["NORMAL", "FULL", "EXTRA"] = "NORMAL"
    # How long a database connection is kept open for the next request, in seconds (0: one per request).
    # Opening one costs more than most requests (a TLS handshake and a backend process on PostgreSQL).
    conn_max_age: int = Field(default=600, ge=0)
    # A kept connection is tested before a request reuses it, so a restarted database costs no failed request.
    conn_health_checks: bool = True
    # How long a server process trusts what it last read of an API token and its user (seconds, at most one
    # minute; 0: read on every request). Revoking a token, disabling its user or changing their roles takes
    # effect at once on this machine (``token_changes_file``), on another machine's server within this time.
    token_cache_seconds: int = Field(default=30, ge=0, le=60)
    # The clinic's time zone (IANA name): what "today" is, and the wall-clock time forms show and take.
    time_zone: str = Field(default_factory=machine_time_zone)
    # The CMS place-of-service code on the clinic's claims (two digits); unset: the knowledge's default, 11 Office.
    place_of_service: str | None = None
    # The TOTP second factor at sign-in: off; optional (each user may enrol an authenticator app); or
    # required-for-admin (as optional, and the administration pages need a session signed in with it).
    totp: Literal["off", "optional", "required-for-admin"] = "off"
    # Registry analytics: a published count under this many is suppressed (the common small-cell rule: 11), and a
    # de-identified export whose smallest class of (age band, sex, indication) is under k is refused.
    research_min_cell: int = Field(default=11, ge=1)
    research_min_k: int = Field(default=5, ge=1)
    # The clinic a patient's diary link belongs to: named, with its telephone number, on the pages the patient
    # opens from the link and on the printed diary card. Unset: neutral words, or the demo clinic's fictional ones.
    clinic_name: str = Field(default="Your clinic", min_length=1, max_length=100)
    clinic_phone: str = Field(default="", max_length=40)

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, name: str) -> str:
        if not is_time_zone(name):
            raise ValueError(f"BONT_TIME_ZONE: {name!r} is not a time zone name (IANA, e.g. Europe/Berlin or UTC)")
        return name

    @field_validator("trusted_origins", "allowed_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _listed(value)

    @field_validator("trusted_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            parts = urlsplit(origin)
            if parts.scheme not in ("https", "http") or not parts.hostname or parts.path or parts.query:
                raise ValueError(
                    f"BONT_TRUSTED_ORIGINS: {origin!r} is not an origin (scheme and host, e.g. "
                    "https://bont.clinic.example)"
                )
        return origins

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts(cls, hosts: list[str]) -> list[str]:
        for host in hosts:
            if "/" in host or " " in host:
                raise ValueError(f"BONT_ALLOWED_HOSTS: {host!r} is not a host name (e.g. bont.clinic.example)")
        return hosts

    @field_validator("secret_key")
    @classmethod
    def _long_secret_key(cls, key: str | None) -> str | None:
        if key is not None and len(key) < SECRET_KEY_LENGTH:
            raise ValueError(f"BONT_SECRET_KEY: a secret key has at least {SECRET_KEY_LENGTH} characters")
        return key

    @field_validator("sqlite_synchronous", mode="before")
    @classmethod
    def _upper_case(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _redirect_needs_https(self) -> BontSettings:
        if self.ssl_redirect and not self.served_over_https:
            raise ValueError(
                "BONT_SSL_REDIRECT: redirecting to HTTPS needs BONT_BEHIND_TLS_PROXY=true or BONT_SECURE_COOKIES=true"
            )
        return self

    @field_validator("place_of_service")
    @classmethod
    def _place_of_service_code(cls, code: str | None) -> str | None:
        if not code:
            return None
        if not (len(code) == 2 and code.isdigit()):
            raise ValueError(f"BONT_PLACE_OF_SERVICE: {code!r} is not a place-of-service code (two digits, e.g. 11)")
        return code

    @field_validator("clinic_phone")
    @classmethod
    def _telephone_number(cls, number: str) -> str:
        number = number.strip()
        if number and not set(number) <= TELEPHONE_CHARACTERS:
            raise ValueError("BONT_CLINIC_PHONE: a telephone number has digits, spaces and + - ( ) . only")
        return number

    def clinic(self, demo: bool) -> tuple[str, str]:
        """The clinic's name and telephone number as a patient's pages show them: BONT_CLINIC_NAME and
        BONT_CLINIC_PHONE; the demo clinic's fictional ones where these are unset and the demo is loaded."""
        if not demo:
            return self.clinic_name, self.clinic_phone
        chosen = self.model_fields_set
        return (
            self.clinic_name if "clinic_name" in chosen else DEMO_CLINIC_NAME,
            self.clinic_phone if "clinic_phone" in chosen else DEMO_CLINIC_PHONE,
        )

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "bont.sqlite3"

    @property
    def served_over_https(self) -> bool:
        return self.secure_cookies or self.behind_tls_proxy

    @property
    def hosts(self) -> list[str]:
        """The host names a request may name: this machine, BONT_ALLOWED_HOSTS, the trusted origins' hosts."""
        from_origins = [str(urlsplit(origin).hostname) for origin in self.trusted_origins]
        return list(dict.fromkeys(["127.0.0.1", "localhost", *self.allowed_hosts, *from_origins]))

    @property
    def sqlite_file(self) -> Path | None:
        """The SQLite database's file (None for PostgreSQL, or SQLite in memory)."""
        url = self.effective_database_url
        return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None

    @property
    def secret_key_file(self) -> Path:
        """Where the generated secret key is kept: beside an SQLite database, else in the data folder."""
        database = self.sqlite_file
        return database.with_name(SECRET_KEY_FILE) if database is not None else self.data_dir / SECRET_KEY_FILE

    @property
    def token_changes_file(self) -> Path:
        """The empty file whose time tells every bont process on the machine that an API token or its user
        changed (``bont.clinic.accounts``): beside the secret key."""
        return self.secret_key_file.with_name("api-tokens-changed")

    def effective_secret_key(self) -> str:
        """BONT_SECRET_KEY, else the key stored in ``secret_key_file`` (created on the first run)."""
        return self.secret_key or stored_secret_key(self.secret_key_file)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"
