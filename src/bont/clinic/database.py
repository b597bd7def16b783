"""What ``bont db info`` reports about the database: its engine and how many migrations are pending."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DatabaseState:
    engine: str  # Django's vendor name: sqlite, postgresql
    pending_migrations: int


def database_state() -> DatabaseState:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return DatabaseState(engine=connection.vendor, pending_migrations=len(pending))


def sqlite_file() -> str:
    """The file of the SQLite database in use (for the online backup)."""
    from django.db import connection

    return str(connection.settings_dict["NAME"])


def holds_no_patient() -> bool:
    """Whether the clinic's records are empty (the demo is loaded only into an empty database)."""
    from bont.clinic.models import Patient

    return not Patient.objects.exists()


def has_user(username: str) -> bool:
    from django.contrib.auth import get_user_model

    return bool(get_user_model().objects.filter(username=username).exists())
