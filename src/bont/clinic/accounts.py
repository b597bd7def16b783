"""The Django implementation of ``bont.services.users.UserAccounts``: users in Django's auth tables (versioned
by django-simple-history), each role a group, the password policy of ``AUTH_PASSWORD_VALIDATORS``, sign-in
lockouts kept by django-axes, the TOTP second factor kept by django-otp, the NPI in a provider profile (with
its history), API tokens kept as hashes.

What authenticating a token reads (the token, its user and their roles) is kept for ``BONT_TOKEN_CACHE_SECONDS``
in this process's ``api-tokens`` cache, so that an API call costs no query for it. Every change here that
could refuse a token or change what it may do (revoking it, disabling or enabling its user, changing their
roles) forgets the user's tokens once the change is committed, and touches the file ``BONT_TOKEN_CHANGES``
(beside the SQLite database, or in the data folder): every other process on the machine (the server's other
workers, the server when the command line made the change) sees its new time at its next token and forgets
everything it kept. So a change takes effect at once on this machine; on another machine sharing a
PostgreSQL database, when the kept entry expires."""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from bont.clinic import models
from bont.services.users import AccountError, SecondFactor, TokenHolder, TokenRow, UserAccounts, UserRow

TOKEN_CACHE = "api-tokens"  # CACHES in bont.clinic.django_settings
logger = logging.getLogger(__name__)
# Bumped (under the lock) whenever kept tokens are forgotten: a row read before then is not put in the cache,
# so a request that read a token just before its revocation cannot keep the old row after it.
_forgotten = threading.Lock()
_generation = 0


def _forget(forget_in_cache: Callable[[], object]) -> None:
    global _generation
    with _forgotten:
        forget_in_cache()
        _generation += 1


def _roles(user: User) -> frozenset[str]:
    """A user's roles as ``bont.web.access.roles_of`` reads them: their groups, and admin for a superuser."""
    groups = frozenset(user.groups.values_list("name", flat=True))
    return (groups | {"admin"}) if user.is_superuser else groups


def _forget_tokens(key_hashes: list[str], *, everywhere: bool = True) -> None:
    """Forget what this process knows of these tokens once the change being made is committed (forgotten
    earlier, a request in between could read the old rows back into the cache), and with ``everywhere``, tell
    the machine's other processes to forget what they know of every token."""

    def forget() -> None:
        _forget(lambda: caches[TOKEN_CACHE].delete_many(key_hashes))
        if everywhere:
            _tell_other_processes()

    transaction.on_commit(forget)


def _tell_other_processes() -> None:
    """A new ``BONT_TOKEN_CHANGES`` file: a new file number as well as a new time, since a file's time may
    stay the same for a few milliseconds."""
    changes = Path(settings.BONT_TOKEN_CHANGES)
    try:
        changes.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=changes.parent, prefix=changes.name)
        os.close(handle)
        os.replace(name, changes)
    except OSError as error:  # the other processes' kept tokens expire within BONT_TOKEN_CACHE_SECONDS
        logger.warning(
            "could not signal a token change to the other bont processes (%s): they honour it within the token"
            " cache's lifetime",
            error.strerror,
        )


# The file number and time of BONT_TOKEN_CHANGES when this process last looked (None: not yet).
_changes_seen: tuple[int, int] | None = None


def _forget_changed_elsewhere() -> None:
    """Forget every kept token when another process has changed one since this process last looked: a stat
    of one file per API call, not a query."""
    global _changes_seen
    try:
        found = os.stat(settings.BONT_TOKEN_CHANGES)
    except OSError:  # no change recorded yet
        return
    changed = (found.st_ino, found.st_mtime_ns)
    if changed != _changes_seen:
        _changes_seen = changed
        _forget(caches[TOKEN_CACHE].clear)


def _forget_tokens_of(user: User) -> None:
    _forget_tokens(list(models.ApiToken.objects.filter(user=user).values_list("key_hash", flat=True)))


def _token_row(row: models.ApiToken) -> TokenRow:
    return TokenRow(
        row.pk, row.user.get_username(), row.name, row.created_at, row.expires_at, row.last_used_at, row.revoked_at
    )


class DjangoUserAccounts(UserAccounts):
    def _user(self, username: str) -> User:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise AccountError("username", "no such user")
        return user

    def add(self, username: str, role: str, password: str | None) -> None:
        with transaction.atomic():
            user_model = get_user_model()
            if user_model.objects.filter(username=username).exists():
                raise AccountError("username", "that user already exists")
            user = user_model.objects.create_user(username=username, password=password)
            user.groups.add(Group.objects.get_or_create(name=role)[0])

    def exists(self, username: str) -> bool:
        return bool(get_user_model().objects.filter(username=username).exists())

    def users(self) -> tuple[UserRow, ...]:
        locked = self._locked_out_usernames()
        enrolled = set(TOTPDevice.objects.filter(confirmed=True).values_list("user__username", flat=True))
        return tuple(
            UserRow(
                user.username,
                tuple(sorted(group.name for group in user.groups.all())),
                user.is_active,
                user.last_login,
                user.username in locked,
                user.username in enrolled,
            )
            for user in get_user_model().objects.prefetch_related("groups").order_by("username")
        )

    def _locked_out_usernames(self) -> set[str]:
        """Usernames with a sign-in record (from some address) at the failure limit and still cooling off."""
        attempts = AccessAttempt.objects.filter(failures_since_start__gte=settings.AXES_FAILURE_LIMIT)
        cool_off = get_cool_off()
        if cool_off is not None:
            attempts = attempts.filter(attempt_time__gt=timezone.now() - cool_off)
        return {name for name in attempts.values_list("username", flat=True) if name}

    def set_active(self, username: str, active: bool) -> None:
        with transaction.atomic():
            user = self._user(username)
            if user.is_active != active:
                user.is_active = active
                user.save(update_fields=["is_active"])
                _forget_tokens_of(user)

    def set_role(self, username: str, role: str, member: bool) -> None:
        with transaction.atomic():
            user = self._user(username)
            group = Group.objects.get_or_create(name=role)[0]
            if member:
                user.groups.add(group)
            else:
                user.groups.remove(group)
            _forget_tokens_of(user)

    def password_problems(self, username: str, password: str) -> tuple[str, ...]:
        user = get_user_model().objects.filter(username=username).first() or get_user_model()(username=username)
        try:
            validate_password(password, user)
        except ValidationError as error:
            return tuple(error.messages)
        return ()

    def set_password(self, username: str, password: str) -> None:
        with transaction.atomic():
            user = self._user(username)
            user.set_password(password)
            user.save(update_fields=["password"])

    def unlock(self, username: str) -> int:
        return int(reset(username=username))

    def second_factor(self, username: str) -> DjangoSecondFactor:
        return DjangoSecondFactor(self._user(username))

    def remove_second_factor(self, username: str) -> bool:
        removed, _ = TOTPDevice.objects.filter(user__username=username).delete()
        return bool(removed)

    def set_npi(self, username: str, npi: str) -> bool:
        with transaction.atomic():
            user = get_user_model().objects.filter(username=username).first()
            if user is None:
                return False
            profile, _ = models.ProviderProfile.objects.select_for_update().get_or_create(user=user)
            if profile.npi != npi:
                profile.npi = npi
                profile.save()
            return True

    def npi(self, username: str) -> str | None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            return None
        return models.ProviderProfile.objects.filter(user=user).values_list("npi", flat=True).first() or ""

    def store_token(self, username: str, key_hash: str, name: str = "", expires_at: datetime | None = None) -> int:
        user = get_user_model().objects.get(username=username)
        return int(models.ApiToken.objects.create(user=user, key_hash=key_hash, name=name, expires_at=expires_at).pk)

    def tokens(self, username: str | None) -> tuple[TokenRow, ...]:
        rows = models.ApiToken.objects.select_related("user").order_by("-created_at", "-pk")
        if username is not None:
            rows = rows.filter(user__username=username)
        return tuple(_token_row(row) for row in rows)

    def revoke_token(self, token_id: int, at: datetime) -> bool:
        with transaction.atomic():
            row = models.ApiToken.objects.select_for_update().filter(pk=token_id, revoked_at__isnull=True).first()
            if row is None:
                return False
            row.revoked_at = at
            row.save(update_fields=["revoked_at"])
            _forget_tokens([row.key_hash])
            return True

    def token_holder(self, key_hash: str) -> TokenHolder | None:
        _forget_changed_elsewhere()
        tokens = caches[TOKEN_CACHE]
        holder: TokenHolder | None = tokens.get(key_hash)
        if holder is not None:
            return holder
        generation = _generation
        row = models.ApiToken.objects.select_related("user").filter(key_hash=key_hash).first()
        if row is None:
            return None  # not kept: guessed tokens must not fill the cache
        user = row.user
        holder = TokenHolder(
            row.pk, user.get_username(), user.is_active, row.expires_at, row.revoked_at, row.last_used_at, _roles(user)
        )
        with _forgotten:
            if generation == _generation:  # nothing was forgotten while the row was read
                tokens.set(key_hash, holder)  # revoked and expired ones too: they are refused without a query
        return holder

    def mark_token_used(self, token_id: int, at: datetime) -> None:
        # An update, not a save: the last use is bookkeeping, not a change to the token worth a history row.
        rows = models.ApiToken.objects.filter(pk=token_id)
        rows.update(last_used_at=at)
        # The kept holder still has the old last use, which would ask for this write on every request.
        _forget_tokens(list(rows.values_list("key_hash", flat=True)), everywhere=False)


class DjangoSecondFactor(SecondFactor):
    """A user's TOTP device (django-otp); a wrong code counts towards django-otp's throttling of the device."""

    def __init__(self, user: User) -> None:
        self.user = user

    def enrolled(self) -> bool:
        return bool(TOTPDevice.objects.filter(user=self.user, confirmed=True).exists())

    def setup_address(self) -> str:
        device = TOTPDevice.objects.filter(user=self.user, confirmed=False).first()
        device = device or TOTPDevice.objects.create(user=self.user, name="authenticator app", confirmed=False)
        return str(device.config_url)

    def confirm(self, code: str) -> TOTPDevice | None:
        device = TOTPDevice.objects.filter(user=self.user, confirmed=False).first()
        if device is None or not device.verify_token(code.strip()):
            return None
        with transaction.atomic():
            TOTPDevice.objects.filter(user=self.user, confirmed=True).delete()  # one app per user
            device.confirmed = True
            device.save(update_fields=["confirmed"])
        return device

    def verify(self, code: str) -> TOTPDevice | None:
        device = TOTPDevice.objects.filter(user=self.user, confirmed=True).first()
        return device if device is not None and device.verify_token(code.strip()) else None
