"""Use cases: add a user with a role, keep the NPI a claim names as rendering provider, issue a bearer token for
the JSON API, and authenticate one.

A token is shown once; only its SHA-256 hash is stored, so a copy of the database cannot be used to call the
API. The ``UserAccounts`` port is implemented by ``bont.clinic.accounts``.
"""

from __future__ import annotations

import abc

from bont.domain.codes import NPI
from bont.domain.errors import FieldError
from bont.services.tokens import hash_token, new_token

ROLES = ("clinician", "nurse", "billing", "researcher", "admin")


class AccountError(FieldError):
    """A change to the users was refused; nothing was written."""


class UserAccounts(abc.ABC):
    """The clinic's users, their roles and their API tokens."""

    @abc.abstractmethod
    def add(self, username: str, role: str, password: str | None) -> None:
        """Store a user in the group of ``role``; raises ``AccountError`` (field ``username``) when the user
        already exists."""

    @abc.abstractmethod
    def exists(self, username: str) -> bool: ...

    @abc.abstractmethod
    def set_npi(self, username: str, npi: str) -> bool:
        """Keep the NPI of an existing user ("" removes it); False when there is no such user."""

    @abc.abstractmethod
    def npi(self, username: str) -> str | None:
        """The user's NPI, "" when none is on file, None when there is no such user."""

    @abc.abstractmethod
    def store_token(self, username: str, key_hash: str) -> None:
        """Keep the hash of a new token for an existing user."""

    @abc.abstractmethod
    def username_for_token(self, key_hash: str) -> str | None:
        """The active user holding the token with this hash, or None."""


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


def add_user(
    accounts: UserAccounts, username: str, role: str, password: str | None = None, npi: str | None = None
) -> None:
    """Add a user with one of ``ROLES`` and, for a clinician who bills, their NPI."""
    if role not in ROLES:
        raise AccountError("role", f"must be one of {', '.join(ROLES)}")
    stored = valid_npi(npi) if npi is not None else ""
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


def issue_api_token(accounts: UserAccounts, username: str) -> str:
    """A new bearer token for the JSON API; returned once, only its hash is stored."""
    if not accounts.exists(username):
        raise AccountError("username", "no such user")
    token = new_token(32)
    accounts.store_token(username, hash_token(token))
    return token


def authenticate_token(accounts: UserAccounts, token: str) -> str | None:
    """The username of the active user who holds ``token``, or None."""
    return accounts.username_for_token(hash_token(token))
