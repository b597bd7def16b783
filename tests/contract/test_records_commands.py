"""Clinical records on real SQLite and PostgreSQL databases, through the ``bont`` commands run in process
(``tests/integration/test_background_runs.py`` runs this module once per engine): sessions are refused exactly as
the safety engine says, concurrent writers (processes of their own) cannot both pass a limit or overdraw a
vial, a crash mid-write leaves nothing behind, and every change is audited. Backup and restore, which replace
the database file under a running process, are in ``tests/integration/test_records.py``."""

from __future__ import annotations

import csv
import json
import os
import select
import sqlite3
import subprocess
import textwrap
import traceback
from contextlib import closing
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.commands import bont
from tests.contract.clinic import Clinic
from tests.databases import demo_sqlite_template


def race(*documents: Path) -> list[subprocess.CompletedProcess[str]]:
    """``bont session record`` of each document at once, each in a process of its own with its own connection, as
    two users would. Each writer is a fork of this process, so it starts with Django set up, the knowledge loaded
    and the command built (what a new ``bont`` process spends two seconds of CPU on); it opens its connection, says
    it is ready and waits at one gate that releases every writer at the same instant."""
    from django.db import connection, connections  # noqa: TID251 (each writer's own connection, opened before the gate)

    connections.close_all()  # no writer shares this process's connection; this process reopens its own later
    gate, opener = os.pipe()
    writers: list[tuple[int, int]] = []
    for document in documents:
        reply, replying = os.pipe()
        pid = os.fork()
        if pid == 0:  # the writer: whatever happens, it reports and ends here, never back in pytest
            os.close(opener)
            os.close(reply)
            done = subprocess.CompletedProcess(["bont"], 1, "", "")
            try:
                connection.ensure_connection()
                os.write(replying, b"ready\n")
                os.read(gate, 1)  # end-of-file once every writer is ready
                done = bont("session", "record", str(document))
            except BaseException:
                done.stderr = traceback.format_exc()
            finally:
                reported = {"returncode": done.returncode, "stdout": done.stdout, "stderr": done.stderr}
                os.write(replying, json.dumps(reported).encode())
                os._exit(0)
        os.close(replying)
        writers.append((pid, reply))
    os.close(gate)
    results = []
    try:
        replies = [os.fdopen(reply, encoding="utf-8") for _, reply in writers]
        ready = [answer.readline() for answer in replies]  # a writer that fails while getting ready answers at once
    finally:
        os.close(opener)
    for (pid, _), answer, line in zip(writers, replies, ready, strict=True):
        assert select.select([answer], [], [], 120)[0], "a writer did not finish within two minutes"
        text = ("" if line == "ready\n" else line) + answer.read()  # a writer that failed early has only answered
        answer.close()
        os.waitpid(pid, 0)
        given = json.loads(text)
        results.append(subprocess.CompletedProcess(["bont"], given["returncode"], given["stdout"], given["stderr"]))
    assert ready == ["ready\n"] * len(writers), [result.stderr for result in results]
    return results


def test_db_info_names_the_engine(clinic: Clinic) -> None:
    info = clinic.ok("db", "info")
    assert info["engine"] in ("sqlite", "postgresql")
    assert info["pending_migrations"] == 0
    assert "***" in info["location"] or ":" not in info["location"].split("@")[0].split("//")[-1]


def test_a_session_is_recorded_and_a_cumulative_overdose_is_refused(clinic: Clinic) -> None:
    first = clinic.session_file(
        "first",
        indication="cervical-dystonia",
        sites=[
            {"muscle": "splenius-capitis", "side": "left", "units": 50},
            {"muscle": "trapezius", "side": "left", "units": 50},
            {"muscle": "levator-scapulae", "side": "left", "units": 50},
            {"muscle": "splenius-capitis", "side": "right", "units": 50},
            {"muscle": "trapezius", "side": "right", "units": 50},
        ],
        date="2026-10-01",
    )
    assert clinic.run("session", "record", str(first)).returncode == 0
    overdose = clinic.session_file(
        "second",
        sites=[
            {"muscle": "temporalis", "side": "left", "units": 40},
            {"muscle": "temporalis", "side": "right", "units": 40},
            {"muscle": "trapezius", "side": "left", "units": 40},
            {"muscle": "trapezius", "side": "right", "units": 35},
        ],
    )
    refused = clinic.run("session", "record", str(overdose))
    assert refused.returncode == 3
    assert refused.stderr.startswith("error: override_reason:")
    assert "cumulative-dose-exceeds-maximum" in refused.stderr
    assert "FICT" not in refused.stderr  # no identifiers in error messages
    assert len(clinic.sessions()) == 1  # nothing written
    # Only a clinician's written override records it, and the override is kept.
    by_nurse = clinic.session_file(
        "nurse", clinician="nurse-fictional", override_reason="ok", sites=json.loads(overdose.read_text())["sites"]
    )
    assert clinic.run("session", "record", str(by_nurse)).stderr.startswith("error: clinician:")
    overridden = clinic.session_file(
        "override",
        override_reason="previous dose partly wasted, documented",
        sites=json.loads(overdose.read_text())["sites"],
    )
    assert clinic.run("session", "record", str(overridden)).returncode == 0
    assert [s["verdict"] for s in clinic.sessions()] == ["ok", "block"]


def test_two_sessions_recorded_at_once_cannot_both_pass_the_cumulative_limit(clinic: Clinic) -> None:
    sites = [{"muscle": "temporalis", "side": side, "units": 40} for side in ("left", "right")] + [
        {"muscle": "occipitalis", "side": "left", "units": 40},
        {"muscle": "occipitalis", "side": "right", "units": 35},
    ]  # 155 U: alone, 200 + 155 = 355 U passes; both racers, 510 U in 3 months, must not
    heavy = clinic.session_file(
        "heavy",
        date="2026-10-15",
        indication="cervical-dystonia",
        sites=[{"muscle": "trapezius", "side": s, "units": 50} for s in ("left", "right")]
        + [{"muscle": "splenius-capitis", "side": s, "units": 50} for s in ("left", "right")],
    )
    assert clinic.run("session", "record", str(heavy)).returncode == 0  # 200 U of BOTOX so far
    racers = [clinic.session_file(f"racer-{n}", sites=sites) for n in (1, 2)]
    results = sorted(race(*racers), key=lambda result: result.returncode)
    assert [result.returncode for result in results] == [0, 3], [result.stderr for result in results]
    assert "cumulative-dose-exceeds-maximum" in results[1].stderr
    assert len(clinic.sessions()) == 2


def test_a_vial_cannot_be_overdrawn_even_by_two_users_at_once(clinic: Clinic) -> None:
    clinic.ok(
        "patient",
        "add",
        "--mrn",
        "FICT-0002",
        "--given-name",
        "Other",
        "--family-name",
        "Fictional",
        "--birth-date",
        "1980-01-01",
        "--sex",
        "male",
        "--weight-kg",
        "80",
    )
    vials = clinic.receive_lot("BOTOX", "FAKE-LOT-1", "200", expiry="2027-12-31")
    assert (
        clinic.run("lot", "reconstitute", str(vials[0]), "--diluent-ml", "4", "--at", "2026-11-21T09:00").returncode
        == 0
    )
    sites = [{"muscle": "temporalis", "side": s, "units": 60} for s in ("left", "right")]
    draw = [{"vial": vials[0], "units": 120}]
    files = [
        clinic.session_file("a", sites=sites, draws=draw),
        clinic.session_file("b", patient_mrn="FICT-0002", sites=sites, draws=draw),
    ]
    results = sorted(race(*files), key=lambda result: result.returncode)
    assert [result.returncode for result in results] == [0, 2], [result.stderr for result in results]
    assert results[1].stderr.startswith("error: draws:"), results[1].stderr
    recalled = clinic.ok("lot", "recall", "FAKE-LOT-1", "--product", "onabotulinumtoxinA")["patients"]
    assert len(recalled) == 1
    assert recalled[0]["sessions"][0]["units"] == 120


def test_an_expired_lot_is_refused_at_the_moment_of_drawing(clinic: Clinic) -> None:
    vials = clinic.receive_lot("BOTOX", "OLD-LOT", "100", expiry="2026-11-20")
    session = clinic.session_file(
        "expired",
        draws=[{"vial": vials[0], "units": 20}],
        openings=[{"vial": vials[0], "at": "2026-11-21T09:00", "diluent_ml": 2}],
    )
    result = clinic.run("session", "record", str(session))
    assert result.returncode == 3
    assert "lot-expired" in result.stderr
    assert clinic.sessions() == []


def test_bad_input_names_the_field_and_writes_nothing(clinic: Clinic) -> None:
    bad = clinic.session_file("bad", sites=[{"muscle": "frontalis", "side": "left", "units": -5}])
    result = clinic.run("session", "record", str(bad))
    assert result.returncode == 2
    assert result.stderr.startswith("error: sites.0.units:")
    unknown_patient = clinic.session_file("nobody", patient_mrn="FICT-9999")
    result = clinic.run("session", "record", str(unknown_patient))
    assert result.returncode == 2
    assert "FICT-9999" not in result.stderr
    assert clinic.sessions() == []


def test_a_crash_in_the_middle_of_a_write_leaves_the_database_as_it_was(clinic: Clinic) -> None:
    from bont.clinic import models

    vials = clinic.receive_lot("BOTOX", "CRASH-LOT", "100", expiry="2027-12-31")
    patient = models.Patient.objects.get(mrn="FICT-0001").pk
    script = textwrap.dedent(
        f"""
        import os, signal
        from datetime import date
        from decimal import Decimal
        from bont.bootstrap import clinical_records
        from bont.domain.findings import Finding, Severity
        from bont.domain.safety import SessionSite
        from bont.services.ports import SessionRecord
        records = clinical_records()
        with records:
            patient, history = records.lock_patient({patient}, date(2026, 11, 21))
            records.add_session(SessionRecord(
                patient_id={patient}, on=date(2026, 11, 21), clinician="dr-fictional", indication="chronic-migraine",
                product="onabotulinumtoxinA", protocol=None, guidance="", total_units=Decimal(20),
                sites=(SessionSite("frontalis", "left", Decimal(20)),), draws=(({vials[0]}, Decimal(20)),), discards=(),
                findings=(Finding(Severity.INFO, "test", "written before the crash"),), acknowledgements={{}},
                verdict="ok", override_reason="", deviation_reason=""))
            os.kill(os.getpid(), signal.SIGKILL)  # the process dies with the transaction open
        """
    )
    crashed = clinic.python(script)
    assert crashed.returncode == -9, crashed.stderr
    assert clinic.sessions() == []
    assert clinic.ok("lot", "recall", "CRASH-LOT", "--product", "BOTOX")["patients"] == []


def test_every_change_is_audited_and_nothing_is_hard_deleted(clinic: Clinic) -> None:
    from bont.clinic import models

    assert clinic.run("session", "record", str(clinic.session_file("one"))).returncode == 0
    session = models.TreatmentSession.objects.get()
    session.withdrawn_reason = "entered for the wrong patient"
    session._change_reason = "correction"  # type: ignore[attr-defined]
    session.save()
    with pytest.raises(PermissionError):
        session.delete()
    assert [h.history_type for h in session.history.order_by("history_id")] == ["+", "~"]
    assert models.Patient.history.count() >= 1
    assert models.TreatmentSession.objects.filter(pk=session.pk).exists()
    withdrawn = clinic.sessions()
    assert withdrawn[0]["withdrawn"] is True


def _demo_loaded_once_per_session_on_sqlite() -> str:
    """Put the session's demo template (an empty SQLite database into which ``bont demo`` loaded the demo clinic, once
    for every process of the test session: about fifteen seconds of CPU) in place of this run's SQLite database, and
    return what that ``bont demo`` printed; the template is built here when no process has built it yet."""
    from django.db import connection  # noqa: TID251 (the database file itself, replaced below the ORM)

    template, printed = demo_sqlite_template()
    connection.close()  # reopened on the next query, on the copy
    with closing(sqlite3.connect(template)) as demo, closing(sqlite3.connect(connection.settings_dict["NAME"])) as own:
        demo.backup(own)
    return printed


def test_demo_clinic_and_billing_export(empty_clinic: Clinic, engine: str) -> None:
    clinic = empty_clinic
    if engine == "sqlite":
        printed = _demo_loaded_once_per_session_on_sqlite()
    else:
        loaded = clinic.run("demo")
        assert loaded.returncode == 0, loaded.stderr
        printed = loaded.stdout
    assert "fictional" in printed
    again = clinic.run("demo")
    assert again.returncode == 2  # never mixed into a database that holds patients
    export = clinic.run("billing", "export", "--from", "2000-01-01", "--to", "2100-12-31")
    assert export.returncode == 0, export.stderr
    lines = export.stdout.splitlines()
    assert lines[0] == (
        "session_id,date_of_service,patient_mrn,patient_name,icd10_cm,code,modifier,billing_units,exact_units,"
        "exact_billing_units,ndc_11,ndc_unit,ndc_quantity,rendering_npi,place_of_service,product,indication,note"
    )
    rows = list(csv.DictReader(lines))
    assert len(rows) > 80
    assert all(row["patient_mrn"].startswith("DEMO-") and row["patient_name"] for row in rows)
    assert {row["modifier"] for row in rows} <= {"", "JW", "JZ"}
    assert all(row["billing_units"].isdigit() for row in rows)  # whole billing units, never "7.50"
    assert {(row["rendering_npi"], row["place_of_service"]) for row in rows} == {("1234567893", "11")}
    assert all(row["icd10_cm"] for row in rows)
    by_session: dict[str, list[str]] = {}
    for row in rows:
        by_session.setdefault(row["session_id"], []).append(row["code"] + "-" + row["modifier"])
    for codes in by_session.values():
        assert not {"95873-", "95874-"} <= set(codes)  # one guidance code per session
        procedures = [code for code in codes if not code.startswith("J")]
        assert len(procedures) == len(set(procedures))  # each CPT code once, never on the JW line
    drugs = [row for row in rows if row["code"].startswith("J")]
    assert all(
        Decimal(row["exact_billing_units"]) <= int(row["billing_units"]) < Decimal(row["exact_billing_units"]) + 1
        for row in drugs
        if row["modifier"] != "JW"
    )
    assert any(row["code"] == "J0586" for row in drugs)  # J0586 is per 5 units
    assert all(len(row["ndc_11"]) == 13 for row in drugs if row["ndc_11"])  # 5-4-2 with its hyphens
    assert clinic.ok("patient", "show", "DEMO-0001")["sessions"]


def test_backup_copies_sqlite_and_gives_pg_dump_guidance_on_postgresql(
    clinic: Clinic, engine: str, tmp_path: Path
) -> None:
    """The restore journey on SQLite is tests/integration/test_records.py's, in its own processes."""
    target = tmp_path / "x.sqlite3"
    result = clinic.run("backup", str(target))
    if engine == "postgresql":
        assert result.returncode == 2
        assert "pg_dump" in result.stderr
        assert not target.exists()
    else:
        assert result.returncode == 0, result.stderr
        assert target.stat().st_size > 0


def test_patient_updates_are_dated_and_feed_the_check(clinic: Clinic) -> None:
    assert (
        clinic.run(
            "patient",
            "update",
            "FICT-0001",
            "--date",
            "2026-11-01",
            "--add-medication",
            "gentamicin",
            "--pregnant",
            "--weight-kg",
            "66",
        ).returncode
        == 0
    )
    shown = clinic.ok("patient", "show", "FICT-0001")
    assert shown["medications"] == ["gentamicin"]
    assert shown["reproductive_status"][0]["status"] == "pregnant"
    assert sorted(w["kg"] for w in shown["weights"]) == [64.0, 66.0]
    refused = clinic.run("session", "record", str(clinic.session_file("one")))
    assert refused.returncode == 2
    assert "drug-interaction" in refused.stderr
    assert "pregnancy-or-lactation" in refused.stderr
    acknowledged = clinic.session_file(
        "two", acknowledgements={"drug-interaction": "stopped yesterday", "pregnancy-or-lactation": "discussed"}
    )
    assert clinic.run("session", "record", str(acknowledged)).returncode == 0
    assert clinic.run("patient", "update", "FICT-0001", "--stop-medication", "warfarin").returncode == 2
    assert [p["mrn"] for p in clinic.ok("patient", "list", "--search", "fictional")] == ["FICT-0001"]


def test_session_billing_summary(clinic: Clinic) -> None:
    vials = clinic.receive_lot("DYSPORT", "BILL-LOT", "500", expiry="2027-12-31")
    assert (
        clinic.run("lot", "reconstitute", str(vials[0]), "--diluent-ml", "2.5", "--at", "2026-11-21T09:00").returncode
        == 0
    )
    session = clinic.session_file(
        "dysport",
        product="DYSPORT",
        indication="cervical-dystonia",
        guidance="emg",
        sites=[
            {"muscle": "splenius-capitis", "side": "left", "units": 200},
            {"muscle": "trapezius", "side": "left", "units": 200},
        ],
        draws=[{"vial": vials[0], "units": 400}],
        discard=[vials[0]],
    )
    recorded = clinic.run("session", "record", str(session), "--json")
    assert recorded.returncode == 0, recorded.stderr
    session_id = json.loads(recorded.stdout)["session_id"]
    assert clinic.ok("user", "npi", "dr-fictional", "1234567893")["npi"] == "1234567893"
    lines = clinic.ok("billing", "session", str(session_id))["lines"]
    assert [(line["code"], line["modifier"], line["billing_units"], line["exact_units"]) for line in lines] == [
        ("64616", "", 1, None),
        ("95874", "", 1, None),
        ("J0586", "", 80, 400),
        ("J0586", "JW", 20, 100),
    ]
    assert [(line["ndc_11"], line["ndc_quantity"]) for line in lines[2:]] == [
        ("15054-0500-01", 0.8),
        ("15054-0500-01", 0.2),
    ]
    assert {line["rendering_npi"] for line in lines} == {"1234567893"}


def test_a_reconstitution_time_is_typed_in_the_clinics_time_zone(clinic: Clinic) -> None:
    # A nurse in Berlin (UTC+1 in winter) types the wall-clock time she reconstituted the vial, whatever zone
    # the server runs in: half an hour ago is accepted, half an hour ahead is in the future. The zone is read
    # once per process, so the Berlin commands run in a process of their own.
    berlin_now = datetime.now(ZoneInfo("Europe/Berlin"))
    opened, other = clinic.receive_lot("BOTOX", "TZ-LOT-1", "100") + clinic.receive_lot("BOTOX", "TZ-LOT-2", "100")
    half_an_hour = timedelta(minutes=30)
    berlin = clinic.elsewhere({"BONT_TIME_ZONE": "Europe/Berlin"})
    try:
        ahead = berlin.run("lot", "reconstitute", str(other), "--at", f"{berlin_now + half_an_hour:%Y-%m-%dT%H:%M}")
        assert ahead.returncode == 2
        assert "--at: is in the future" in ahead.stderr
        earlier = berlin.run("lot", "reconstitute", str(opened), "--at", f"{berlin_now - half_an_hour:%Y-%m-%dT%H:%M}")
        assert earlier.returncode == 0, earlier.stderr
        # Drawn now: had the typed time been read as UTC, the vial would have been opened after the drawing.
        session = clinic.session_file(
            "now", date=berlin_now.date().isoformat(), at=berlin_now.isoformat(), draws=[{"vial": opened, "units": 20}]
        )
        recorded = berlin.run("session", "record", str(session))
        assert recorded.returncode == 0, recorded.stderr
    finally:
        berlin.close()


def test_a_session_entered_in_error_is_withdrawn_once_with_its_reason(clinic: Clinic) -> None:
    recorded = clinic.run("session", "record", str(clinic.session_file("one")), "--json")
    assert recorded.returncode == 0, recorded.stderr
    session_id = str(json.loads(recorded.stdout)["session_id"])
    no_reason = clinic.run("session", "withdraw", session_id, "--reason", " ")
    assert (no_reason.returncode, "--reason:" in no_reason.stderr) == (2, True)
    assert clinic.ok("session", "withdraw", session_id, "--reason", "entered for the wrong patient") == {
        "session_id": int(session_id),
        "withdrawn": True,
    }
    again = clinic.run("session", "withdraw", session_id, "--reason", "twice")
    assert again.returncode == 2
    assert "already withdrawn" in again.stderr
    unknown = clinic.run("session", "withdraw", "987654", "--reason", "no such session")
    assert unknown.returncode == 2
    assert "987654" not in unknown.stderr
    assert clinic.sessions()[0]["withdrawn"] is True
    assert clinic.ok("billing", "session", session_id)["lines"] == []


def test_who_gave_a_session_and_when_is_kept_apart_from_who_recorded_it(clinic: Clinic) -> None:
    unknown = clinic.run("session", "record", str(clinic.session_file("nobody", given_by="nobody-fictional")))
    assert (unknown.returncode, "given_by:" in unknown.stderr, "nobody-fictional" in unknown.stderr) == (2, True, False)
    recorded = clinic.session_file("nurse", given_by="nurse-fictional", given_at="2026-11-21T10:40:00+00:00")
    assert clinic.run("session", "record", str(recorded)).returncode == 0
    [session] = clinic.sessions()
    assert (session["recorded_by"], session["given_by"]) == ("dr-fictional", "nurse-fictional")
    assert session["given_at"] == "2026-11-21T10:40:00+00:00"


def test_a_condition_code_icd10cm_does_not_hold_is_refused_and_codes_are_shown_with_their_title(clinic: Clinic) -> None:
    refused = clinic.run("patient", "update", "FICT-0001", "--add-condition", "G24.3", "--add-condition", "L03.999")
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: --add-condition #2: is written as an ICD-10-CM code")
    assert "L03.999" not in refused.stderr
    assert clinic.run("patient", "update", "FICT-0001", "--add-condition", "l03221").returncode == 0
    shown = clinic.ok("patient", "show", "FICT-0001")
    assert shown["conditions"] == ["L03.221"]
    assert shown["condition_details"] == [{"term": "L03.221", "description": "Cellulitis of neck"}]
