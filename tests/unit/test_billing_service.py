"""Claim lines on the in-memory fake (bont.services.billing): a date range, one session, the CSV export with
the patient, diagnosis, NDC, rendering NPI and place of service, and withdrawn sessions never billed."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from bont.domain.billing import VialUsed
from bont.domain.knowledge import KnowledgeBase
from bont.services.billing import BILLING_COLUMNS, BillingError, billing_csv, billing_lines, session_billing
from bont.services.sessions import withdraw_session
from tests.fakes import FakeBillingRecords, FakeSessionBook, FakeSessionRecords

DYSPORT = "abobotulinumtoxinA"
OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))
NPI = "1234567893"


def dysport_session(book: FakeSessionBook, mrn: str = "FICT-B1") -> int:
    patient = book.add_patient(mrn)
    book.conditions[patient.id] = ("G24.3",)
    session_id = book.add_session(
        patient,
        date(2026, 10, 1),
        DYSPORT,
        "cervical-dystonia",
        (("sternocleidomastoid", "left", Decimal("237.5")),),
        units_discarded=Decimal("62.5"),
        guidance="emg,electrical-stimulation",
    )
    book.vials[session_id] = (VialUsed(Decimal(300), Decimal("237.5")),)
    return session_id


def test_whole_billing_units_one_guidance_code_and_the_procedure_code_once(knowledge: KnowledgeBase) -> None:
    book = FakeSessionBook(npis={"dr-fake": NPI})
    session_id = dysport_session(book)
    lines = billing_lines(FakeBillingRecords(book), knowledge, *OCTOBER)
    assert [(line.code, line.modifier, line.billing_units) for line in lines] == [
        ("64616", "", 1),
        ("95874", "", 1),  # electrical stimulation was recorded too: one guidance code only
        ("J0586", "", 48),  # 237.5 U = 47.5 billing units, rounded up
        ("J0586", "JW", 12),  # 60 billing units in the vial, less the 48 billed
    ]
    assert [line.exact_billing_units for line in lines[2:]] == [Decimal("47.5"), Decimal("12.5")]
    assert {(line.patient_mrn, line.patient_name, line.diagnoses) for line in lines} == {
        ("FICT-B1", "Fake, Fictional", ("G24.3",))
    }
    assert {(line.rendering_npi, line.place_of_service) for line in lines} == {(NPI, "11")}
    assert [line.ndc for line in lines] == [None, None, "15054-0530-06", "15054-0530-06"]
    assert session_billing(FakeBillingRecords(book), knowledge, session_id) == lines


def test_the_csv_export_is_streamed_row_by_row_with_every_claim_column(knowledge: KnowledgeBase) -> None:
    book = FakeSessionBook(npis={"dr-fake": NPI})
    session_id = dysport_session(book)
    lines = billing_lines(FakeBillingRecords(book), knowledge, *OCTOBER, place_of_service="22")
    chunks = list(billing_csv(FakeBillingRecords(book), knowledge, *OCTOBER, place_of_service="22"))
    assert len(chunks) == 2  # the header, then each session's rows together: the web export streams them
    table = list(csv.DictReader(io.StringIO("".join(chunks))))
    assert len(table) == len(lines)
    assert list(table[0]) == list(BILLING_COLUMNS)
    jw = table[3]
    assert jw == {
        "session_id": str(session_id),
        "date_of_service": "2026-10-01",
        "patient_mrn": "FICT-B1",
        "patient_name": "Fake, Fictional",
        "icd10_cm": "G24.3",
        "code": "J0586",
        "modifier": "JW",
        "billing_units": "12",
        "exact_units": "62.5",
        "exact_billing_units": "12.5",
        "ndc_11": "15054-0530-06",
        "ndc_unit": "UN",
        "ndc_quantity": "0.2",
        "rendering_npi": NPI,
        "place_of_service": "22",
        "product": DYSPORT,
        "indication": "cervical-dystonia",
        "note": "",
    }
    assert all("." not in row["billing_units"] for row in table)  # never a fraction on a claim line
    assert "unverified rule" in table[1]["note"]


def test_a_name_that_looks_like_a_formula_is_exported_as_text(knowledge: KnowledgeBase) -> None:
    book = FakeSessionBook()
    dysport_session(book, mrn="=HYPERLINK(1)")
    table = list(csv.DictReader(io.StringIO("".join(billing_csv(FakeBillingRecords(book), knowledge, *OCTOBER)))))
    assert {row["patient_mrn"] for row in table} == {"'=HYPERLINK(1)"}


def test_nothing_discarded_is_jz_a_missing_npi_is_said_and_a_withdrawn_session_is_not_billed(
    knowledge: KnowledgeBase,
) -> None:
    book = FakeSessionBook()
    patient = book.add_patient("FICT-B2")
    sites = (("splenius-capitis", "left", Decimal(100)),)
    kept = book.add_session(patient, date(2026, 10, 2), "onabotulinumtoxinA", "cervical-dystonia", sites)
    withdrawn = book.add_session(patient, date(2026, 10, 3), "onabotulinumtoxinA", "cervical-dystonia", sites)
    withdraw_session(FakeSessionRecords(book), withdrawn, "entered in error")
    lines = billing_lines(FakeBillingRecords(book), knowledge, *OCTOBER)
    assert [(line.session_id, line.code, line.modifier) for line in lines] == [
        (kept, "64616", ""),
        (kept, "J0585", "JZ"),
    ]
    assert "no NPI is on file for the clinician dr-fake" in lines[0].note
    assert lines[0].rendering_npi == ""
    assert session_billing(FakeBillingRecords(book), knowledge, withdrawn) == ()


def test_billing_an_unknown_session_is_refused_naming_the_field(knowledge: KnowledgeBase) -> None:
    with pytest.raises(BillingError) as refused:
        session_billing(FakeBillingRecords(FakeSessionBook()), knowledge, 99)
    assert refused.value.field == "session"
