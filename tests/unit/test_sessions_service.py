"""Recorded sessions on the in-memory fake: a session's page, a patient's sessions, and withdrawing a session
entered in error (bont.services.sessions)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bont.services.ports import UnknownPatientError
from bont.services.sessions import SessionError, patient_sessions, session_detail, withdraw_session
from tests.fakes import FakeSessionBook, FakeSessionRecords

BOTOX = "onabotulinumtoxinA"


def clinic() -> tuple[FakeSessionBook, int]:
    book = FakeSessionBook()
    patient = book.add_patient("FICT-S1")
    session_id = book.add_session(
        patient, date(2026, 9, 1), BOTOX, "cervical-dystonia", (("splenius-capitis", "left", Decimal(100)),)
    )
    return book, session_id


def test_a_session_entered_in_error_is_withdrawn_with_its_reason_and_kept() -> None:
    book, session_id = clinic()
    withdraw_session(FakeSessionRecords(book), session_id, "  entered for the wrong patient ", by="dr-fake")
    kept = session_detail(FakeSessionRecords(book), session_id)
    assert kept.withdrawn
    assert kept.summary.withdrawn_reason == "entered for the wrong patient"
    assert book.withdrawn_by[session_id] == "dr-fake"
    _, sessions = patient_sessions(FakeSessionRecords(book), "FICT-S1")
    assert [s.id for s in sessions] == [session_id]  # still listed, marked


def test_withdrawing_twice_is_refused_and_the_first_reason_stays() -> None:
    book, session_id = clinic()
    records = FakeSessionRecords(book)
    withdraw_session(records, session_id, "duplicate entry")
    with pytest.raises(SessionError, match="already withdrawn") as refused:
        withdraw_session(records, session_id, "another reason")
    assert refused.value.field == "session"
    assert session_detail(records, session_id).summary.withdrawn_reason == "duplicate entry"


def test_a_withdrawal_needs_a_written_reason() -> None:
    book, session_id = clinic()
    with pytest.raises(SessionError) as refused:
        withdraw_session(FakeSessionRecords(book), session_id, "   ")
    assert refused.value.field == "reason"
    assert not session_detail(FakeSessionRecords(book), session_id).withdrawn


def test_an_unknown_session_or_patient_is_refused_without_repeating_the_identifier() -> None:
    book, _ = clinic()
    with pytest.raises(SessionError) as no_session:
        session_detail(FakeSessionRecords(book), 4242)
    assert no_session.value.field == "session"
    assert "4242" not in str(no_session.value)
    with pytest.raises(SessionError):
        withdraw_session(FakeSessionRecords(book), 4242, "entered in error")
    with pytest.raises(UnknownPatientError) as no_patient:
        patient_sessions(FakeSessionRecords(book), "FICT-NOBODY")
    assert "FICT-NOBODY" not in str(no_patient.value)


def test_a_patients_sessions_come_by_date() -> None:
    book, first = clinic()
    patient = book.patients[1]
    earlier = book.add_session(patient, date(2026, 3, 1), BOTOX, "cervical-dystonia", (("trapezius", "", Decimal(50)),))
    _, sessions = patient_sessions(FakeSessionRecords(book), "FICT-S1")
    assert [s.id for s in sessions] == [earlier, first]
