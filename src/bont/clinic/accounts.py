"""The Django implementation of ``bont.services.users.UserAccounts``: users in Django's auth tables (versioned
by django-simple-history), each role a group, the password policy of ``AUTH_PASSWORD_VALIDATORS``, sign-in
lockouts kept by django-axes, the TOTP second factor kept by django-otp, the NPI in a provider profile (with
its history), API tokens kept as hashes."""

from __future__ import annotations

from datetime import datetime

from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from bont.clinic import models
from bont.services.users import AccountError, SecondFactor, TokenHolder, TokenRow, UserAccounts, UserRow


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

    def set_role(self, username: str, role: str, member: bool) -> None:
        with transaction.atomic():
            user = self._user(username)
            group = Group.objects.get_or_create(name=role)[0]
            if member:
                user.groups.add(group)
            else:
                user.groups.remove(group)

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
            return True

    def token_holder(self, key_hash: str) -> TokenHolder | None:
        row = models.ApiToken.objects.select_related("user").filter(key_hash=key_hash).first()
        if row is None:
            return None
        return TokenHolder(
            row.pk, row.user.get_username(), row.user.is_active, row.expires_at, row.revoked_at, row.last_used_at
        )

    def mark_token_used(self, token_id: int, at: datetime) -> None:
        # An update, not a save: the last use is bookkeeping, not a change to the token worth a history row.
        models.ApiToken.objects.filter(pk=token_id).update(last_used_at=at)


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
