"""Bearer secrets (API tokens, a patient's personal diary link): shown once, only their hash is stored."""

from __future__ import annotations

import hashlib
import secrets


def new_token(length: int) -> str:
    """A URL-safe random token of ``length`` bytes of entropy."""
    return secrets.token_urlsafe(length)


def hash_token(token: str) -> str:
    """The stored form of a token: whoever holds the token is its key, so only the hash is kept."""
    return hashlib.sha256(token.encode()).hexdigest()
