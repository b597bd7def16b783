"""The Django adapter's migrations on a real database: run only in the per-engine contract runs (SQLite and
PostgreSQL), where the database exists; the main run, on the fakes, leaves this module out."""

from __future__ import annotations

from datetime import date

from tests.contract.conftest import Adapters

BORN = date(1980, 4, 2)


def _emptied_database() -> None:
    """Leave the run's database as empty as a new one: migrating it from nothing up to 0004 costs a fifth of
    migrating the whole schema back down to 0004 (Django renders every later model state to unapply each one)."""
    from django.db import connection  # noqa: TID251 (the schema itself, below the ORM models)

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Every table (its indexes, sequences and triggers go with it), then the trigger functions; not the schema
            # itself, which a user of BONT_TEST_POSTGRES_URL may not own.
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            cursor.execute("DROP TABLE " + ", ".join(f'"{table}"' for (table,) in cursor.fetchall()) + " CASCADE")
            cursor.execute(
                "SELECT oid::regprocedure::text FROM pg_proc WHERE pronamespace = current_schema()::regnamespace"
            )
            for (function,) in cursor.fetchall():
                cursor.execute(f"DROP FUNCTION {function}")
            return
        # The full-text tables first: dropping one drops its shadow tables; a table's triggers go with it.
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
            " ORDER BY sql NOT LIKE 'CREATE VIRTUAL TABLE%'"
        )
        tables = [name for (name,) in cursor.fetchall()]
        connection.disable_constraint_checking()
        try:
            for table in tables:
                cursor.execute(f'DROP TABLE IF EXISTS "{table}"')
        finally:
            connection.enable_constraint_checking()


def test_migration_0005_makes_a_serious_severity_severe_and_serious_and_audits_it(adapters: Adapters) -> None:
    """An event stored as severity "serious" before migration 0005 becomes severity "severe" with serious = yes;
    the other severities keep their value and are not serious; the audit trail keeps the version before."""
    from django.core.management import call_command
    from django.db import connection  # noqa: TID251 (the schema of an older migration, read without the ORM models)
    from django.db.migrations.executor import MigrationExecutor  # noqa: TID251

    from bont.clinic import models

    _emptied_database()
    try:
        call_command("migrate", "clinic", "0004_outcomes_and_diaries", verbosity=0)
        old = MigrationExecutor(connection).loader.project_state(("clinic", "0004_outcomes_and_diaries")).apps
        patient = old.get_model("clinic", "Patient").objects.create(
            mrn="FICT-C4", given_name="Fictional", family_name="Contract", birth_date=BORN
        )
        events = old.get_model("clinic", "AdverseEvent").objects
        events.create(patient=patient, event="dysphagia", onset=date(2026, 3, 1), severity="serious")
        events.create(patient=patient, event="ptosis", onset=date(2026, 4, 1), severity="severe")
    finally:
        call_command("migrate", verbosity=0)  # every app, as the run's other tests need it
    rows = models.AdverseEvent.objects.filter(patient__mrn="FICT-C4").order_by("onset")
    assert [(e.event, e.severity, e.serious) for e in rows] == [
        ("dysphagia", "severe", True),
        ("ptosis", "severe", False),
    ]
    versions = models.AdverseEvent.history.filter(event="dysphagia").order_by("history_date")  # type: ignore[attr-defined]
    assert [(v.history_type, v.severity, v.serious) for v in versions] == [("~", "severe", True)]
    assert "0005" in versions[0].history_change_reason
    (dysphagia, _) = adapters.charts.prior_adverse_events("FICT-C4", date(2026, 11, 29))
    assert (str(dysphagia.severity), dysphagia.serious) == ("severe", True)
