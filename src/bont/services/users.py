"""Use cases: add a user with a role, issue a bearer token for the JSON API, and authenticate one.

A token is shown once; only its SHA-256 hash is stored, so a copy of the database cannot be used to call the
API. The ``UserAccounts`` port is implemented by ``bont.clinic.accounts``.
"""

from __future__ import annotations

import abc

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
    def store_token(self, username: str, key_hash: str) -> None:
        """Keep the hash of a new token for an existing user."""

    @abc.abstractmethod
    def username_for_token(self, key_hash: str) -> str | None:
        """The active user holding the token with this hash, or None."""


def add_user(accounts: UserAccounts, username: str, role: str, password: str | None = None) -> None:
    """Add a user with one of ``ROLES``."""
    if role not in ROLES:
        raise AccountError("role", f"must be one of {', '.join(ROLES)}")
    accounts.add(username, role, password)


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
