"""The audit's services on the in-memory fakes: reads appended and shown per patient, the clinic-wide search
by pages of fifty with its filters refused by name, and the CSV export read a batch at a time."""

from __future__ import annotations

from datetime import date

import pytest

from bont.services.access_log import (
    CSV_HEADER,
    EXPORT_BATCH,
    NO_OPERATOR,
    PAGE_SIZE,
    Access,
    Action,
    AuditKind,
    AuditQuery,
    AuditRow,
    AuditSearchError,
    Channel,
    audit_export,
    check_audit_query,
    log_access,
    search_audit,
)
from bont.services.patients import NewPatient, audit_trail
from tests.fakes import FakeAccessLog, FakePatientRegistry, FakeRegistry

MRN = "FICT-AUD1"


def _read(actor: str | None, target: str = "chart", mrn: str | None = MRN, action: Action = Action.READ) -> Access:
    return Access(actor, Channel.WEB if actor else Channel.CLI, action, target, mrn, "", "192.0.2.1" if actor else None)


def test_the_audit_of_a_patient_lists_who_read_their_data_latest_first() -> None:
    registry = FakePatientRegistry(FakeRegistry())
    registry.add(NewPatient(MRN, "Fictional", "Audit", date(1970, 1, 1)), date(2026, 11, 2))
    log = FakeAccessLog()
    log_access(log, _read("dr-fictional"))
    log_access(log, _read("nurse-fictional", "session", mrn="FICT-OTHER"))
    log_access(log, _read(None, "continuation-report", action=Action.PRINT))
    header, _, reads = audit_trail(registry, log, MRN)
    assert header.mrn == MRN
    assert [(r.actor, r.channel, r.action, r.target, r.remote_address) for r in reads] == [
        (NO_OPERATOR, "cli", "print", "continuation-report", None),
        ("dr-fictional", "web", "read", "chart", "192.0.2.1"),
    ]


def test_the_clinic_wide_search_shows_fifty_a_page_latest_first() -> None:
    log = FakeAccessLog()
    for _ in range(2 * PAGE_SIZE + 20):
        log_access(log, _read("dr-fictional"))
    first, third = search_audit(log, AuditQuery(), 1), search_audit(log, AuditQuery(), 3)
    assert len(first.rows) == PAGE_SIZE
    assert first.has_next
    assert first.rows[0].when > first.rows[-1].when
    assert len(third.rows) == 20
    assert not third.has_next


def test_the_search_filters_by_user_patient_and_kind() -> None:
    log = FakeAccessLog()
    log_access(log, _read("dr-fictional"))
    log_access(log, _read("billing-fictional", "billing-export", mrn=None, action=Action.EXPORT))
    log_access(log, _read("nurse-fictional", mrn="FICT-OTHER"))
    assert [r.who for r in search_audit(log, AuditQuery(username="dr-fictional")).rows] == ["dr-fictional"]
    assert [r.who for r in search_audit(log, AuditQuery(mrn="FICT-OTHER")).rows] == ["nurse-fictional"]
    [export] = search_audit(log, AuditQuery(kind=AuditKind.EXPORT)).rows
    assert (export.what, export.change) == ("billing-export", "export (web)")
    assert len(search_audit(log, AuditQuery(kind=AuditKind.READ)).rows) == 2


@pytest.mark.parametrize(
    ("query", "page", "field"),
    [
        (AuditQuery(start=date(2026, 11, 2), end=date(2026, 11, 1)), 1, "end"),
        (AuditQuery(), 0, "page"),
        (AuditQuery(username="u" * 151), 1, "user"),
        (AuditQuery(mrn="9" * 41), 1, "mrn"),
    ],
)
def test_a_search_that_cannot_be_made_is_refused_naming_the_filter(query: AuditQuery, page: int, field: str) -> None:
    with pytest.raises(AuditSearchError) as refused:
        search_audit(FakeAccessLog(), query, page)
    assert refused.value.field == field
    if field != "page":
        with pytest.raises(AuditSearchError):
            check_audit_query(query)


class CountingAccessLog(FakeAccessLog):
    """Counts the rows each search hands back: the export must never ask for the whole trail at once."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    def search(self, query: AuditQuery, offset: int, limit: int) -> tuple[AuditRow, ...]:
        rows = super().search(query, offset, limit)
        self.batches.append(len(rows))
        return rows


def test_the_csv_export_streams_the_whole_search_a_batch_at_a_time() -> None:
    log = CountingAccessLog()
    for _ in range(2 * EXPORT_BATCH + 3):
        log_access(log, _read("dr-fictional"))
    lines = list(audit_export(log, AuditQuery(username="dr-fictional")))
    assert lines[0] == CSV_HEADER
    assert len(lines) == 2 * EXPORT_BATCH + 4
    assert log.batches == [EXPORT_BATCH, EXPORT_BATCH, 3]
    assert lines[1][1:5] == ("dr-fictional", "read", "chart", "read (web)")
