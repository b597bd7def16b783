"""``bont demo --scale``: a fictional clinic of any size, shaped by the demo's courses, that the chart, the
Follow-up list and the research page answer over; refused on a database that holds a clinic's own patients.
In process, on a real SQLite database, with Django's test client for the pages; on PostgreSQL in a process of its
own beside, for the same rows: there the copies are made as a bulk load (the indexes dropped and built again),
and the schema must stay as the migrations made it, as on SQLite."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from contextlib import closing, suppress
from pathlib import Path

import pytest

from tests.commands import ROOT, bont
from tests.databases import migrated_postgres_database, migrated_sqlite_database

PATIENTS = 9
FAST_HASHER = "django.contrib.auth.hashers.MD5PasswordHasher"
BLOCK = 4  # the demo's first 4 courses, written row by row; patients 5 to 9 are the database's copies
LAPSED_EVERY = 2  # the block's second and fourth patients missed their last review (in a clinic one in seven)
SQLITE_SCHEMA = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name"


@pytest.fixture
def empty_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The process's database (a new SQLite file when no test has opened one yet), emptied."""
    folder: Path = tmp_path_factory.mktemp("scale-demo")
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("DATABASE_URL", migrated_sqlite_database(folder))
        from bont.bootstrap import setup_database

        setup_database()
        from django.core.management import call_command

        call_command("flush", interactive=False, verbosity=0)
        yield


def _on_postgresql(failing: str = "") -> str:
    """The generator on PostgreSQL, in a process of its own (this process's Django is bound to its SQLite file): the
    schema as migrated (a copy of the session's migrated database), then the clinic generated and its schema again,
    with the sample of its rows; ``failing`` names a model whose second copy fails (then no rows)."""
    return f"""
import json
from django.test import override_settings
from bont.bootstrap import setup_database
setup_database()
from bont.clinic import models, scale
from tests.commands import bont
from tests.integration.test_scale_demo import generated_rows, postgresql_schema
migrated = postgresql_schema()
scale.BLOCK = {BLOCK}
scale.LAPSED_EVERY = {LAPSED_EVERY}
failing = getattr(models, "{failing}", None)
copy = scale._Copies._copy
def copy_or_fail(self, model, written, adding):
    if model is failing and written > scale.BLOCK:
        raise RuntimeError("a copy fails")
    return copy(self, model, written, adding)
scale._Copies._copy = copy_or_fail
try:
    with override_settings(PASSWORD_HASHERS=["{FAST_HASHER}"]):
        made = bont("demo", "--scale", "{PATIENTS}")
except RuntimeError as failed:
    assert failing and str(failed) == "a copy fails", failed
    rows = None
else:
    assert made.returncode == 0 and not failing, made.stderr
    rows = generated_rows()
print(json.dumps({{"migrated": migrated, "generated": postgresql_schema(), "rows": rows}}))
"""


def postgresql_schema() -> list[list[object]]:
    """Every index and constraint of the clinic's tables on PostgreSQL (``DATABASE_URL``), as the catalogue
    defines them."""
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"]) as connection:
        indexes = connection.execute(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2"
        ).fetchall()
        constraints = connection.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated FROM pg_constraint"
            " WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2"
        ).fetchall()
    return [list(row) for row in [*indexes, *constraints]]


def generated_rows() -> dict[str, str]:
    """Each generated table's count, and a checksum of its rows (the columns stamped with the time of writing, and
    the derived rows' own ids, left out; a claim content by its values, not its id, which follows the digest of
    JSON each engine writes in its own way)."""
    from bont.clinic import models, scale

    tables: dict[str, str] = {}
    derived_rows = [model for model, _ in scale.DERIVED_ROWS]
    generated = [*scale.WRITTEN, *derived_rows]
    generated.append(models.Patient)
    for model in generated:
        derived = model in derived_rows
        fields = [
            field.attname
            for field in model._meta.concrete_fields
            if field.attname not in {"chart_key", "created_at", "recorded_at", "entered_at", "sites", "vials"}
            and not (derived and field.primary_key and not field.is_relation)
        ]
        if "content_id" in fields:
            fields.remove("content_id")
            fields += [f"content__{name}" for name in ("indication", "product", "protocol", "guidance", "total_units")]
            fields += ["content__units_discarded"]
        # JSON written out with its keys in order: PostgreSQL's jsonb keeps them in an order of its own.
        stored = model._default_manager.values_list(*fields)
        rows = sorted(json.dumps(row, sort_keys=True, default=str) for row in stored)
        tables[model.__name__] = f"{len(rows)} {hashlib.sha256(str(rows).encode()).hexdigest()}"
    return tables


def owned_by_a_role(url: str) -> str:
    """The database at ``url`` (a superuser's), handed with its tables (and so their sequences) to a role that is
    no superuser, as a clinic's own server would give it: the address it connects with."""
    import psycopg
    from psycopg import errors

    role, password = "bont_scale_owner", "fictional-scale-owner"
    address = urllib.parse.urlsplit(url)
    name = address.path.lstrip("/")
    with psycopg.connect(url, autocommit=True) as connection:
        with suppress(errors.DuplicateObject):  # made by an earlier run, or another on the server
            connection.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        connection.execute(f'ALTER DATABASE "{name}" OWNER TO {role}')
        owned = connection.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'"
        ).fetchall()
        for (relation,) in owned:
            connection.execute(f'ALTER TABLE "{relation}" OWNER TO {role}')
    host = address.netloc.rsplit("@", 1)[-1]
    return urllib.parse.urlunsplit(address._replace(netloc=f"{role}:{password}@{host}"))


@pytest.fixture
def generated_on_postgresql(postgres_server_url: str) -> Iterator[list[subprocess.Popen[str]]]:
    """The generator started on new migrated PostgreSQL databases, running beside the test: as the server's
    superuser (the triggers of the foreign keys skipped, the largest tables copied on a second connection); as the
    owner of the database, who may not skip them (the tables copied one after another); and as each again with a
    copy that fails (the indexes dropped for the copies are built again): as the superuser the diary days' on the
    second connection, as the owner the sessions', before the sites and diary days are copied."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _on_postgresql(failing)],
            env={**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for url, failing in (
            (migrated_postgres_database(postgres_server_url), ""),
            (owned_by_a_role(migrated_postgres_database(postgres_server_url)), ""),
            (migrated_postgres_database(postgres_server_url), "DiaryDay"),
            (owned_by_a_role(migrated_postgres_database(postgres_server_url)), "TreatmentSession"),
        )
    ]
    yield processes
    for process in processes:
        process.kill()
        process.communicate()


def test_a_scale_clinic_has_about_twenty_sessions_a_patient_each_with_sites_and_the_pages_answer(
    generated_on_postgresql: list[subprocess.Popen[str]],
    empty_database: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client, override_settings

    from bont.clinic import models, scale

    monkeypatch.setattr(scale, "BLOCK", BLOCK)
    monkeypatch.setattr(scale, "LAPSED_EVERY", LAPSED_EVERY)
    with override_settings(PASSWORD_HASHERS=[FAST_HASHER]):  # the demo users' passwords: fast in a test
        made = bont("demo", "--scale", str(PATIENTS))

    assert made.returncode == 0, made.stderr
    assert re.search(r"[\d,]+ sessions per second", made.stdout)
    # The copies made as a bulk load leave the schema as migrated; on PostgreSQL they write the rows written here.
    from django.db import connection  # noqa: TID251 (the file the generator wrote)

    with connection.cursor() as cursor:
        cursor.execute(SQLITE_SCHEMA)
        generated_schema = cursor.fetchall()
        # The copies are written with SQLite's foreign keys unchecked: every key points to a row, and the checks are
        # on again for what the clinic writes next.
        cursor.execute("PRAGMA foreign_key_check")
        assert cursor.fetchall() == []
        cursor.execute("PRAGMA foreign_keys")
        assert cursor.fetchone() == (1,)
        cursor.execute("PRAGMA synchronous")  # synced again as the settings ask (NORMAL) after the copies
        assert cursor.fetchone() == (1,)
        cursor.execute("PRAGMA journal_mode")  # and written through the write-ahead log again
        assert cursor.fetchone() == ("wal",)
    with closing(sqlite3.connect(migrated_sqlite_database(tmp_path).removeprefix("sqlite:///"))) as migrated:
        assert generated_schema == migrated.execute(SQLITE_SCHEMA).fetchall()
    on_sqlite = generated_rows()
    for process in generated_on_postgresql:
        output, errors = process.communicate(timeout=300)
        assert process.returncode == 0, errors
        on_postgresql = json.loads(output.splitlines()[-1])
        assert on_postgresql["generated"] == on_postgresql["migrated"]
        assert on_postgresql["rows"] in (on_sqlite, None)  # (none when the generation failed)
    patients = models.Patient.objects.all()
    assert patients.count() == PATIENTS
    assert {p.mrn for p in patients} == {f"SCALE-{n:06d}" for n in range(1, PATIENTS + 1)}
    assert {p.family_name for p in patients} == {"Scale-Patient"}
    sessions = models.TreatmentSession.objects.all()
    assert 10 * PATIENTS < sessions.count() < 30 * PATIENTS
    assert set(models.SessionSite.objects.values_list("session", flat=True)) == {s.pk for s in sessions}
    assert set(sessions.values_list("indication", flat=True)) == {"chronic-migraine", "cervical-dystonia"}
    assert len(set(sessions.values_list("product", flat=True))) == 4
    assert models.OutcomeRecord.objects.exists()
    assert models.DiaryDay.objects.exists()
    # The copies' keys point to their own rows: a copied patient has the sessions of the patient copied, each
    # drawing from a vial of its own product that no other session drew from.
    copied, original = patients.get(mrn="SCALE-000006"), patients.get(mrn="SCALE-000002")
    assert (copied.birth_date, copied.sex) == (original.birth_date, original.sex)
    assert list(copied.sessions.values_list("date", "total_units")) == list(
        original.sessions.values_list("date", "total_units")
    )
    draws = list(models.VialDraw.objects.values_list("vial", "vial__lot__product", "session", "session__product"))
    assert draws
    assert all(vial_product == session_product for _, vial_product, _, session_product in draws)
    assert len({vial for vial, *_ in draws}) == len({(vial, session) for vial, _, session, _ in draws})
    # The Follow-up summary, filled for the whole clinic at once, is what each patient's own refresh keeps.
    from django.db import transaction  # noqa: TID251 (the refresh runs inside a write transaction)

    from bont.bootstrap import build_knowledge
    from bont.clinic.derived import DerivedSummaries

    def summary() -> list[tuple[object, ...]]:
        return sorted(models.FollowUpSummary.objects.values_list("patient", "indication", "last_session",
                                                                 "assessment_pending_since", "given_name"))  # fmt: skip

    def research_rows() -> list[str]:
        """The research page's rows: the copies' verdicts and tallies are their originals', and their totals."""
        verdicts = models.ResponderVerdict.objects.values_list("patient", "indication", "instrument", "status")
        tallies = models.SessionTally.objects.values_list("patient", "indication", "product", "sessions")
        totals = [
            *models.VerdictTotal.objects.values_list("indication", "instrument", "status", "patients"),
            *models.SessionTotal.objects.values_list("indication", "product", "sessions", "patients"),
        ]
        return sorted(map(str, [*verdicts, *tallies, *totals]))

    def claim_inputs() -> list[tuple[object, ...]]:
        """Billing's rows, in the order the table holds them (its ids)."""
        return list(models.SessionClaimInputs.objects.order_by("pk").values_list("date", "session", "patient",
                                                                                 "content"))  # fmt: skip

    filled, generated, claimed = summary(), research_rows(), claim_inputs()
    # The lapsed patients (every second of the block here, and their copies) had no review and kept no diary after
    # their last session: an assessment is pending since it, which the Follow-up list shows once six weeks have
    # passed.
    first = min(p.pk for p in patients)
    lapsed = [row for row in filled if (row[0] - first) % BLOCK in (1, 3)]
    assert lapsed
    assert all(row[3] == row[2] for row in lapsed)
    assert all(row[3] is None for row in filled if row not in lapsed)  # the others were reviewed
    assert {row[1] for row in claimed} == {s.pk for s in sessions}
    assert {row[0] for row in filled} == {p.pk for p in patients}
    assert {row[0] for row in models.SessionTally.objects.values_list("patient")} == {p.pk for p in patients}
    with transaction.atomic():
        for patient in patients:
            DerivedSummaries(build_knowledge()).refresh(patient.pk)
    assert summary() == filled
    # the patients treated, copied with their patients, are those of the summary: the Follow-up list counts them
    assert set(models.TreatedPatient.objects.values_list("patient", flat=True)) == {row[0] for row in filled}
    assert research_rows() == generated
    assert claim_inputs() == claimed  # the copies' rows are those each patient's refresh keeps: none rewritten

    client = Client(SERVER_NAME="localhost")
    client.force_login(get_user_model()._default_manager.get_by_natural_key("demo-clinician"))
    chart = client.get(f"/patients/{patients.order_by('pk').last().chart_key}/")  # type: ignore[union-attr]
    assert chart.status_code == 200
    assert "Scale-Patient" in chart.content.decode()
    follow_up = client.get("/follow-up/")
    assert follow_up.status_code == 200
    assert "Nobody is due." not in follow_up.content.decode()  # the lapsed patients treated six weeks ago and more
    assert "SCALE-" in follow_up.content.decode() or "Scale-Patient" in follow_up.content.decode()
    client.force_login(get_user_model()._default_manager.get_by_natural_key("demo-researcher"))
    research = client.get("/research/")
    assert research.status_code == 200
    assert "responders-outdated" not in research.content.decode()  # judged with the knowledge in use


def test_refuses_a_database_that_holds_a_clinics_own_patients(empty_database: None) -> None:
    from bont.clinic import models

    added = bont("patient", "add", "--mrn", "FICT-0001", "--given-name", "Test", "--family-name", "Fictional",
                 "--birth-date", "1971-02-03", "--sex", "female", "--weight-kg", "64")  # fmt: skip
    assert added.returncode == 0, added.stderr

    refused = bont("demo", "--scale", "5")

    assert refused.returncode != 0
    assert "database:" in refused.stderr + refused.stdout
    assert list(models.Patient.objects.values_list("mrn", flat=True)) == ["FICT-0001"]
