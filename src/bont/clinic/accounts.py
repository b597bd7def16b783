"""The Django implementation of ``bont.services.users.UserAccounts``: users in Django's auth tables, each role
a group, the NPI in a provider profile (with its history), API tokens kept as hashes."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from bont.clinic import models
from bont.services.users import AccountError, UserAccounts


class DjangoUserAccounts(UserAccounts):
    def add(self, username: str, role: str, password: str | None) -> None:
        with transaction.atomic():
            user_model = get_user_model()
            if user_model.objects.filter(username=username).exists():
                raise AccountError("username", "that user already exists")
            user = user_model.objects.create_user(username=username, password=password)
            user.groups.add(Group.objects.get_or_create(name=role)[0])

    def exists(self, username: str) -> bool:
        return bool(get_user_model().objects.filter(username=username).exists())

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

    def store_token(self, username: str, key_hash: str) -> None:
        user = get_user_model().objects.get(username=username)
        models.ApiToken.objects.create(user=user, key_hash=key_hash)

    def username_for_token(self, key_hash: str) -> str | None:
        row = models.ApiToken.objects.select_related("user").filter(key_hash=key_hash).first()
        if row is None or not row.user.is_active:
            return None
        return str(row.user.get_username())
