"""The audit trail on real SQLite and PostgreSQL databases, through the ``bont`` commands run in process: the
command line's operator (``--as`` / ``BONT_OPERATOR``) is the user of its changes and the reader of what it
shows, a missing operator is said plainly, every part of a session is versioned, reads are appended and never
changed, and the clinic-wide search pages and filters in the database."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bont.services.access_log import (
    NO_OPERATOR,
    Access,
    AccessEntry,
    AccessLog,
    Action,
    AuditKind,
    AuditQuery,
    Channel,
    search_audit,
)
from bont.services.patients import AuditEntry, PatientHeader, audit_trail
from tests.contract.clinic import Clinic


def _log() -> AccessLog:
    from bont.bootstrap import access_log

    return access_log()


def _trail(mrn: str = "FICT-0001") -> tuple[PatientHeader, tuple[AuditEntry, ...], tuple[AccessEntry, ...]]:
    from bont.bootstrap import patient_registry

    return audit_trail(patient_registry(), _log(), mrn)


def test_a_change_made_with_a_named_operator_carries_them_and_one_without_says_so(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert clinic.run("--as", "dr-fictional", "patient", "update", "FICT-0001", "--weight-kg", "65").returncode == 0
    monkeypatch.setenv("BONT_OPERATOR", "nurse-fictional")
    assert clinic.run("patient", "update", "FICT-0001", "--add-allergy", "latex").returncode == 0
    monkeypatch.delenv("BONT_OPERATOR")
    assert clinic.run("patient", "update", "FICT-0001", "--weight-kg", "66").returncode == 0
    _, changes, _ = _trail()
    assert [c.who for c in changes if c.what.startswith("weight 65")] == ["dr-fictional"]
    assert [c.who for c in changes if c.what.startswith("allergy latex")] == ["nurse-fictional"]
    assert [c.who for c in changes if c.what.startswith("weight 66")] == [None]
    page = search_audit(_log(), AuditQuery(mrn="FICT-0001", kind=AuditKind.CHANGE))
    assert page.rows[0].who == NO_OPERATOR  # the latest change: no operator named, and said so


@pytest.mark.parametrize("named", [("--as", "nobody-fictional"), ("--as", "disabled-fictional")])
def test_an_operator_who_is_no_active_user_is_refused_naming_the_option(clinic: Clinic, named: tuple[str, str]) -> None:
    from django.contrib.auth import get_user_model

    assert clinic.run("user", "add", "disabled-fictional", "--role", "nurse").returncode == 0
    get_user_model().objects.filter(username="disabled-fictional").update(is_active=False)
    refused = clinic.run(*named, "patient", "update", "FICT-0001", "--weight-kg", "70")
    assert refused.returncode == 2
    assert "--as" in refused.stderr
    assert "BONT_OPERATOR" in refused.stderr
    assert "FICT" not in refused.stderr
    _, changes, _ = _trail()
    assert not [c for c in changes if c.what.startswith("weight 70")]  # nothing written


def test_reading_a_chart_from_the_command_line_is_logged_with_its_operator(clinic: Clinic) -> None:
    clinic.ok("--as", "dr-fictional", "patient", "show", "FICT-0001")
    clinic.ok("patient", "show", "FICT-0001")
    _, _, reads = _trail()
    assert [(r.actor, r.channel, r.action, r.target) for r in reads] == [
        (NO_OPERATOR, "cli", "read", "chart"),
        ("dr-fictional", "cli", "read", "chart"),
    ]
    # A later change in this process (a test's own) carries no operator: the command forgot them at its end.
    assert clinic.run("patient", "update", "FICT-0001", "--weight-kg", "67").returncode == 0
    _, changes, _ = _trail()
    assert [c.who for c in changes if c.what.startswith("weight 67")] == [None]


def test_every_command_that_shows_a_patients_data_logs_the_read(clinic: Clinic, tmp_path: Path) -> None:
    clinic.ok("--as", "dr-fictional", "patient", "next", "FICT-0001")
    clinic.ok("--as", "dr-fictional", "patient", "check", "FICT-0001", "--indication", "chronic-migraine",
              "--product", "BOTOX", "--units", "155")  # fmt: skip
    clinic.ok("--as", "dr-fictional", "outcome", "list", "FICT-0001")
    _, _, reads = _trail()
    assert [(r.actor, r.action, r.target) for r in reads] == [
        ("dr-fictional", "read", "outcome-list"),
        ("dr-fictional", "read", "patient-check"),
        ("dr-fictional", "read", "next-sessions"),
    ]
    clinic.ok("--as", "dr-fictional", "patient", "list")
    on_sqlite = clinic.env["DATABASE_URL"].startswith("sqlite")
    if on_sqlite:  # PostgreSQL is backed up with pg_dump
        assert clinic.run("--as", "dr-fictional", "backup", str(tmp_path / "copy.sqlite3")).returncode == 0
    latest = search_audit(_log(), AuditQuery(username="dr-fictional")).rows[0]
    assert (latest.what, latest.change) == (
        ("backup copy.sqlite3", "export (cli)") if on_sqlite else ("patient-list 1 shown", "read (cli)")
    )


def test_every_part_of_a_recorded_session_is_versioned(clinic: Clinic) -> None:
    [vial] = clinic.receive_lot("onabotulinumtoxinA", "FICT-LOT-A", "200")
    reconstituted = ("lot", "reconstitute", str(vial), "--diluent-ml", "4", "--at", "2026-11-21T09:00")
    assert clinic.run("--as", "dr-fictional", *reconstituted).returncode == 0
    document = clinic.session_file("audited", draws=[{"vial": vial, "units": 20}])
    recorded = clinic.run("--as", "dr-fictional", "session", "record", str(document))
    assert recorded.returncode == 0, recorded.stderr
    _, changes, _ = _trail()
    made = [c.what for c in changes if c.who == "dr-fictional"]
    assert any(what.startswith("session ") and "(2026-11-21, chronic-migraine)" in what for what in made)
    assert sum(" site frontalis " in what for what in made) == 2
    assert any(" draw of 20" in what and f"vial {vial}" in what for what in made)
    vials = search_audit(_log(), AuditQuery(username="dr-fictional", kind=AuditKind.CHANGE))
    assert any(row.what == f"vial {vial}" and row.patient_mrn is None for row in vials.rows)


def test_an_access_is_appended_and_can_never_be_changed_or_deleted(clinic: Clinic) -> None:
    from bont.clinic import models

    _log().record(Access("dr-fictional", Channel.WEB, Action.READ, "chart", "FICT-0001", "", "192.0.2.7"))
    event = models.AccessEvent.objects.get()
    assert event.remote_address == "192.0.2.7"
    event.actor = "someone-else"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    assert models.AccessEvent.objects.get().actor == "dr-fictional"


def test_the_clinic_wide_search_pages_by_fifty_and_filters_by_user_patient_days_and_kind(clinic: Clinic) -> None:
    log = _log()
    for number in range(60):
        log.record(Access("dr-fictional", Channel.API, Action.READ, "session", "FICT-0001", str(number), "::1"))
    log.record(Access("nurse-fictional", Channel.WEB, Action.EXPORT, "billing-export", None, "", "10.0.0.2"))
    first = search_audit(log, AuditQuery(username="dr-fictional", kind=AuditKind.READ), 1)
    assert len(first.rows) == 50
    assert first.has_next
    assert first.rows[0].what == "session 59"
    assert first.rows[0].change == "read (api)"
    second = search_audit(log, AuditQuery(username="dr-fictional", kind=AuditKind.READ), 2)
    assert [row.what for row in second.rows] == [f"session {n}" for n in range(9, -1, -1)]
    assert not second.has_next
    [export] = search_audit(log, AuditQuery(kind=AuditKind.EXPORT)).rows
    assert (export.who, export.what, export.remote_address) == ("nurse-fictional", "billing-export", "10.0.0.2")
    today = export.when.date()
    assert not search_audit(log, AuditQuery(start=today + timedelta(days=2))).rows
    everything = search_audit(log, AuditQuery(mrn="FICT-0001", end=today + timedelta(days=2)), 1)
    assert {row.kind for row in everything.rows} == {AuditKind.READ}  # the 50 latest: the reads
    changes = search_audit(log, AuditQuery(mrn="FICT-0001", kind=AuditKind.CHANGE)).rows
    assert {row.patient_mrn for row in changes} == {"FICT-0001"}
    assert any(row.what.startswith("patient record") for row in changes)


@pytest.mark.parametrize(
    ("proxy", "forwarded", "address"),
    [
        (False, "203.0.113.9", "127.0.0.1"),  # no proxy configured: a client's header is not believed
        (True, "203.0.113.9", "203.0.113.9"),
        (True, "198.51.100.1, 203.0.113.9", "203.0.113.9"),  # the proxy's own entry is the last one
        (True, "", "127.0.0.1"),
    ],
)
def test_a_read_is_logged_from_the_client_address_or_behind_the_tls_proxy_the_forwarded_one(
    database: str | None, proxy: bool, forwarded: str, address: str
) -> None:
    from django.test import RequestFactory, override_settings

    from bont.web.audit_reads import client_address

    request = RequestFactory().get("/patients/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    with override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https") if proxy else None):
        assert client_address(request) == address
