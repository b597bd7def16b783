"""The saved cohorts (``SavedCohorts`` on Django): a researcher's named cohort definitions, stored as the JSON of
``CohortDefinition.to_mapping()``. A definition names no patient; the owner is the user who saved it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from bont.clinic.models import SavedCohort
from bont.services.registry_analytics import CohortOwnedByOther, SavedCohorts, StoredCohort


def _stored(row: SavedCohort) -> StoredCohort:
    return StoredCohort(row.name, dict(row.definition), row.created_by.get_username(), row.updated_at)


class DjangoSavedCohorts(SavedCohorts):
    def save(self, name: str, definition: Mapping[str, Any], username: str) -> None:
        owner = get_user_model()._default_manager.get_by_natural_key(username)
        with transaction.atomic():
            row = SavedCohort.objects.select_for_update().filter(name=name).first()
            if row is None:
                SavedCohort.objects.create(name=name, definition=dict(definition), created_by=owner)
                return
            if row.created_by_id != owner.pk:
                raise CohortOwnedByOther(name)
            row.definition = dict(definition)
            row.save(update_fields=["definition", "updated_at"])

    def named(self, name: str) -> StoredCohort | None:
        row = SavedCohort.objects.select_related("created_by").filter(name=name).first()
        return None if row is None else _stored(row)

    def all(self) -> tuple[StoredCohort, ...]:
        return tuple(_stored(row) for row in SavedCohort.objects.select_related("created_by").order_by("name"))
