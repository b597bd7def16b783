"""Claim lines on the in-memory fake: a date range, one session, the CSV export, and withdrawn sessions never
billed (bont.services.billing)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bont.domain.knowledge import KnowledgeBase
from bont.services.billing import BILLING_COLUMNS, BillingError, billing_csv, billing_lines, session_billing
from bont.services.sessions import withdraw_session
from tests.fakes import FakeBillingRecords, FakeSessionBook, FakeSessionRecords

DYSPORT = "abobotulinumtoxinA"


def test_discarded_units_are_billed_on_their_own_jw_line(knowledge: KnowledgeBase) -> None:
    book = FakeSessionBook()
    patient = book.add_patient("FICT-B1")
    session_id = book.add_session(
        patient,
        date(2026, 10, 1),
        DYSPORT,
        "cervical-dystonia",
        (("sternocleidomastoid", "left", Decimal(400)),),
        units_discarded=Decimal(100),
        guidance="emg",
    )
    lines = billing_lines(FakeBillingRecords(book), knowledge, date(2026, 10, 1), date(2026, 10, 31))
    assert [(line.hcpcs, line.modifier, line.units, line.billing_units) for line in lines] == [
        ("J0586", "", Decimal(400), Decimal(80)),
        ("J0586", "JW", Decimal(100), Decimal(20)),
    ]
    assert lines[0].cpt == "64616 95874"
    assert session_billing(FakeBillingRecords(book), knowledge, session_id) == lines
    text = billing_csv(lines)
    assert text.splitlines()[0] == ",".join(BILLING_COLUMNS)
    assert (
        text.splitlines()[2]
        == f"{session_id},2026-10-01,FICT-B1,{DYSPORT},cervical-dystonia,J0586,JW,100,20,64616 95874"
    )


def test_nothing_discarded_is_jz_and_a_withdrawn_session_is_not_billed(knowledge: KnowledgeBase) -> None:
    book = FakeSessionBook()
    patient = book.add_patient("FICT-B2")
    sites = (("splenius-capitis", "left", Decimal(100)),)
    kept = book.add_session(patient, date(2026, 10, 2), "onabotulinumtoxinA", "cervical-dystonia", sites)
    withdrawn = book.add_session(patient, date(2026, 10, 3), "onabotulinumtoxinA", "cervical-dystonia", sites)
    withdraw_session(FakeSessionRecords(book), withdrawn, "entered in error")
    lines = billing_lines(FakeBillingRecords(book), knowledge, date(2026, 10, 1), date(2026, 10, 31))
    assert [(line.session_id, line.modifier) for line in lines] == [(kept, "JZ")]
    assert session_billing(FakeBillingRecords(book), knowledge, withdrawn) == ()


def test_billing_an_unknown_session_is_refused_naming_the_field(knowledge: KnowledgeBase) -> None:
    with pytest.raises(BillingError) as refused:
        session_billing(FakeBillingRecords(FakeSessionBook()), knowledge, 99)
    assert refused.value.field == "session"
