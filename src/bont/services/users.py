"""Use cases: the clinic's users and their roles (add, list, disable and enable, change roles, reset a
password, unlock after too many failed sign-ins), the NPI a claim names as rendering provider, and bearer tokens
for the JSON API (issue with an expiry, list, revoke, authenticate).

A token is shown once; only its SHA-256 hash is stored, so a copy of the database cannot be used to call the
API. Nothing is deleted: a user is disabled, a token revoked, and the history of both is kept by the adapter.
The ``UserAccounts`` port is implemented by ``bont.clinic.accounts``.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime, timedelta

from bont.domain.codes import NPI
from bont.domain.errors import FieldError
from bont.services.tokens import hash_token, new_token

ROLES = ("clinician", "nurse", "billing", "researcher", "admin")
DEFAULT_TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 3650  # ten years: a token that outlives its purpose is what expiry is for
TOKEN_NAME_LENGTH = 80  # the clinic model's limit
# The last use of a token is written at most this often, so that a busy API client does not cost a database
# write per request.
LAST_USE_RESOLUTION = timedelta(minutes=1)


class AccountError(FieldError):
    """A change to the users was refused; nothing was written."""


@dataclass(frozen=True)
class UserRow:
    """One user as the Users page and ``bont user list`` show it."""

    username: str
    roles: tuple[str, ...]
    active: bool
    last_sign_in: datetime | None
    locked_out: bool  # too many failed sign-ins from at least one address, still cooling off
    second_factor: bool = False  # an authenticator app is enrolled (BONT_TOTP)


@dataclass(frozen=True)
class TokenRow:
    """One API token, without its secret (only the hash is kept, and not shown)."""

    id: int
    username: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    def state(self, now: datetime) -> str:
        """``revoked``, ``expired`` or ``active``: whether the API still accepts the token."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


@dataclass(frozen=True)
class TokenHolder:
    """What authenticating a token needs to know of it and of its user."""

    token_id: int
    username: str
    user_active: bool
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    roles: frozenset[str] = frozenset()  # the user's roles, so that an API call need not read them again


class SecondFactor(abc.ABC):
    """One user's authenticator app (TOTP): enrolled by the first code it gives, then asked for at sign-in.
    ``confirm`` and ``verify`` return the adapter's device for the web layer to mark the session with."""

    @abc.abstractmethod
    def enrolled(self) -> bool: ...

    @abc.abstractmethod
    def setup_address(self) -> str:
        """The otpauth URI of the app being enrolled (a new secret the first time it is asked for)."""

    @abc.abstractmethod
    def confirm(self, code: str) -> object | None:
        """Enrol the app being set up when ``code`` is its current one (replacing any earlier app)."""

    @abc.abstractmethod
    def verify(self, code: str) -> object | None:
        """The enrolled app when ``code`` is its current one, not used before and not throttled."""


class UserAccounts(abc.ABC):
    """The clinic's users, their roles and their API tokens."""

    @abc.abstractmethod
    def add(self, username: str, role: str, password: str | None) -> None:
        """Store a user in the group of ``role``; raises ``AccountError`` (field ``username``) when the user
        already exists."""

    @abc.abstractmethod
    def exists(self, username: str) -> bool: ...

    @abc.abstractmethod
    def users(self) -> tuple[UserRow, ...]:
        """Every user, by username, disabled ones included."""

    @abc.abstractmethod
    def set_active(self, username: str, active: bool) -> None:
        """Enable or disable an existing user (a disabled user cannot sign in and their tokens stop working)."""

    @abc.abstractmethod
    def set_role(self, username: str, role: str, member: bool) -> None:
        """Put an existing user in (``member``) or take them out of the group of ``role``."""

    @abc.abstractmethod
    def password_problems(self, username: str, password: str) -> tuple[str, ...]:
        """What the clinic's password policy finds wrong with ``password`` for this user; empty when none."""

    @abc.abstractmethod
    def set_password(self, username: str, password: str) -> None:
        """Replace an existing user's password (already checked against the policy)."""

    @abc.abstractmethod
    def unlock(self, username: str) -> int:
        """Forget the failed sign-ins of ``username`` (from every address); returns how many records went."""

    @abc.abstractmethod
    def second_factor(self, username: str) -> SecondFactor:
        """The authenticator app of an existing user."""

    @abc.abstractmethod
    def remove_second_factor(self, username: str) -> bool:
        """Forget the user's authenticator app (lost or replaced); False when none was enrolled."""

    @abc.abstractmethod
    def set_npi(self, username: str, npi: str) -> bool:
        """Keep the NPI of an existing user ("" removes it); False when there is no such user."""

    @abc.abstractmethod
    def npi(self, username: str) -> str | None:
        """The user's NPI, "" when none is on file, None when there is no such user."""

    @abc.abstractmethod
    def store_token(self, username: str, key_hash: str, name: str = "", expires_at: datetime | None = None) -> int:
        """Keep the hash of a new token for an existing user; returns the token's id."""

    @abc.abstractmethod
    def tokens(self, username: str | None) -> tuple[TokenRow, ...]:
        """The tokens of one user (every user's for None), newest first, revoked and expired ones included."""

    @abc.abstractmethod
    def revoke_token(self, token_id: int, at: datetime) -> bool:
        """Mark a token revoked at ``at``; False when there is no such token or it was already revoked."""

    @abc.abstractmethod
    def token_holder(self, key_hash: str) -> TokenHolder | None:
        """The token with this hash and its user, or None."""

    @abc.abstractmethod
    def mark_token_used(self, token_id: int, at: datetime) -> None:
        """Record the last use of a token."""


def valid_npi(npi: str) -> str:
    """The NPI as stored, or ``AccountError`` (field ``npi``): ten digits whose last is the Luhn check digit
    (CMS, Requirements for NPI Check Digit; billing.yaml ``npi``)."""
    text = npi.strip()
    if not text.isdigit() or len(text) != 10:
        raise AccountError("npi", "an NPI is ten digits")
    try:
        return str(NPI(text))
    except ValueError:
        raise AccountError(
            "npi", "is not a valid NPI: its last digit is not the check digit of the first nine"
        ) from None


def _valid_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError("role", f"must be one of {', '.join(ROLES)}")
    return role


def _existing(accounts: UserAccounts, username: str) -> str:
    if not accounts.exists(username):
        raise AccountError("username", "no such user")
    return username


def _checked_password(accounts: UserAccounts, username: str, password: str) -> str:
    problems = accounts.password_problems(username, password)
    if problems:
        raise AccountError("password", " ".join(problems))
    return password


def add_user(
    accounts: UserAccounts,
    username: str,
    role: str,
    password: str | None = None,
    npi: str | None = None,
    *,
    check_password: bool = False,
) -> None:
    """Add a user with one of ``ROLES`` and, for a clinician who bills, their NPI. With ``check_password``
    the password must pass the clinic's password policy (an administrator choosing it on the Users page)."""
    _valid_role(role)
    stored = valid_npi(npi) if npi is not None else ""
    if not username.strip() or len(username) > 150:
        raise AccountError("username", "a username has 1 to 150 characters")
    if check_password and password is not None:
        _checked_password(accounts, username, password)
    accounts.add(username, role, password)
    if stored:
        accounts.set_npi(username, stored)


def set_npi(accounts: UserAccounts, username: str, npi: str | None) -> str:
    """Keep a user's NPI (None removes it); returns the NPI kept. Refused (``AccountError``) for an NPI that is
    not ten digits with its check digit (field ``npi``) or a user who does not exist (field ``username``)."""
    stored = valid_npi(npi) if npi is not None else ""
    if not accounts.set_npi(username, stored):
        raise AccountError("username", "no such user")
    return stored


def disable_user(accounts: UserAccounts, username: str, by: str | None = None) -> None:
    """Disable a user: they cannot sign in and their tokens stop working; their records and history stay.
    An administrator (``by``) cannot disable themselves: the clinic could be left with no one to enable them."""
    if by == username:
        raise AccountError("username", "you cannot disable your own account")
    accounts.set_active(_existing(accounts, username), False)


def enable_user(accounts: UserAccounts, username: str) -> None:
    accounts.set_active(_existing(accounts, username), True)


def change_role(
    accounts: UserAccounts, username: str, role: str, *, remove: bool = False, by: str | None = None
) -> None:
    """Give a user one more role, or take one away. An administrator (``by``) keeps their own admin role, for
    the same reason as ``disable_user``."""
    if remove and role == "admin" and by == username:
        raise AccountError("role", "you cannot take away your own admin role")
    accounts.set_role(_existing(accounts, username), _valid_role(role), not remove)


def reset_password(accounts: UserAccounts, username: str, password: str) -> None:
    """Set a new password that passes the clinic's policy (refused, field ``password``, naming what fails)."""
    accounts.set_password(_existing(accounts, username), _checked_password(accounts, username, password))


def unlock_user(accounts: UserAccounts, username: str) -> int:
    """Let a user locked out by failed sign-ins try again at once; returns how many lockout records went."""
    return accounts.unlock(_existing(accounts, username))


def remove_second_factor(accounts: UserAccounts, username: str) -> bool:
    """Let a user who lost their authenticator app sign in with their password and enrol a new one."""
    return accounts.remove_second_factor(_existing(accounts, username))


TOTP_MODES = ("off", "optional", "required-for-admin")  # BONT_TOTP


def code_needed_at_sign_in(mode: str, enrolled: bool) -> bool:
    """Whether sign-in asks for the authenticator app's code after the password: whenever the second factor
    is on and the user has enrolled an app (with ``optional`` a user without one signs in with the password)."""
    return mode != "off" and enrolled


def administration_needs_second_factor(mode: str, verified: bool) -> bool:
    """Whether an administration page must first send this session to the second factor (to enrol an app, or
    to give its code): only with ``required-for-admin``, and only for a session not signed in with a code."""
    return mode == "required-for-admin" and not verified


def issue_api_token(
    accounts: UserAccounts,
    username: str,
    now: datetime,
    name: str = "",
    expires_in_days: int | None = DEFAULT_TOKEN_DAYS,
) -> str:
    """A new bearer token for the JSON API, expiring after ``expires_in_days`` (None: never); returned once,
    only its hash is stored."""
    _existing(accounts, username)
    if len(name) > TOKEN_NAME_LENGTH:
        raise AccountError("name", f"a token's name has at most {TOKEN_NAME_LENGTH} characters")
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_TOKEN_DAYS:
        raise AccountError("expires-in-days", f"must be between 1 and {MAX_TOKEN_DAYS} days")
    expires_at = now + timedelta(days=expires_in_days) if expires_in_days is not None else None
    token = new_token(32)
    accounts.store_token(username, hash_token(token), name.strip(), expires_at)
    return token


def user_tokens(accounts: UserAccounts, username: str) -> tuple[TokenRow, ...]:
    return accounts.tokens(_existing(accounts, username))


def revoke_token(accounts: UserAccounts, token_id: int, now: datetime) -> None:
    """Revoke a token: the API refuses it from now on; the row stays, with when it was revoked."""
    if not accounts.revoke_token(token_id, now):
        raise AccountError("id", "no such token, or it was already revoked")


def authenticate_token(accounts: UserAccounts, token: str, now: datetime) -> str | None:
    """The username of the active user who holds ``token``, or None for an unknown, revoked or expired token
    or a disabled user. Records the token's last use (at most once per ``LAST_USE_RESOLUTION``)."""
    holder = token_bearer(accounts, token, now)
    return None if holder is None else holder.username


def token_bearer(accounts: UserAccounts, token: str, now: datetime) -> TokenHolder | None:
    """As ``authenticate_token``, the token and its user (with their roles) rather than only the username."""
    holder = accounts.token_holder(hash_token(token))
    if holder is None or not holder.user_active or holder.revoked_at is not None:
        return None
    if holder.expires_at is not None and holder.expires_at <= now:
        return None
    if holder.last_used_at is None or now - holder.last_used_at >= LAST_USE_RESOLUTION:
        accounts.mark_token_used(holder.token_id, now)
    return holder
