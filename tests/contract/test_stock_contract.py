"""What the inventory, recorded-sessions and billing ports promise, on every implementation: the in-memory
fakes here, the Django adapters on SQLite and PostgreSQL in ``tests/integration/test_background_runs.py``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Protocol

import pytest

from bont.domain.anatomy import DiagramView
from bont.domain.billing import VialUsed
from bont.domain.canvas import SitePosition
from bont.services.billing import BillingRecords
from bont.services.inventory import Inventory, InventoryError, LotFilter, NewLot
from bont.services.ports import UnknownPatientError
from bont.services.sessions import SessionRecords
from tests.fakes import FakeBillingRecords, FakeInventory, FakeSessionBook, FakeSessionRecords, FakeStockroom

BORN = date(1980, 4, 2)
CONDITIONS = ("G24.3", "I10")  # the patient's condition terms, as billing reads them
NPI = "1234567893"
BOTOX = "onabotulinumtoxinA"
AT = datetime(2026, 9, 1, 9, 30, tzinfo=UTC)
# Where the canvas drew the site: the patient's left splenius capitis, seen from behind.
SPLENIUS_LEFT = SitePosition(DiagramView.BACK, Decimal("47.6"), Decimal("12.4"))


class StockArrange(Protocol):
    def patient(self, mrn: str) -> int: ...

    def session(self, patient_id: int, on: date, units: Decimal, draws: tuple[tuple[int, Decimal], ...]) -> int: ...

    def clinician(self, username: str) -> None: ...

    def correction(self, session_id: int, units: Decimal, by: str) -> int:
        """Withdraw the session (by ``by``) and record a corrected one of ``units`` in its place."""


@dataclass
class Stock:
    inventory: Inventory
    sessions: SessionRecords
    billing: BillingRecords
    arrange: StockArrange


class FakeStockArrange:
    def __init__(self, book: FakeSessionBook, stockroom: FakeStockroom) -> None:
        self.book, self.stockroom = book, stockroom

    def patient(self, mrn: str) -> int:
        from bont.services.sessions import PatientRef

        patient = PatientRef(len(self.book.patients) + 1, mrn, "Fictional", "Contract", BORN)
        self.book.patients[patient.id] = patient
        self.book.conditions[patient.id] = CONDITIONS
        return patient.id

    def session(self, patient_id: int, on: date, units: Decimal, draws: tuple[tuple[int, Decimal], ...]) -> int:
        from dataclasses import replace

        from bont.services.inventory import LotDraw
        from bont.services.sessions import AnsweredFinding, SessionDraw

        patient = self.book.patients[patient_id]
        session_id = self.book.add_session(
            patient,
            on,
            BOTOX,
            "cervical-dystonia",
            (("splenius-capitis", "left", units),),
            clinician="dr-contract",
            positions=(SPLENIUS_LEFT,),
        )
        given = []
        for vial_id, drawn in draws:
            vial = self.stockroom.vials[vial_id]
            vial = replace(vial, units_drawn=vial.units_drawn + drawn, state="reconstituted")
            self.stockroom.vials[vial_id] = vial
            given.append(SessionDraw(vial_id, vial.state, vial.lot_number, vial.lot_expiry, drawn))
            name = f"{patient.family_name}, {patient.given_name}"
            self.stockroom.draws.append(
                LotDraw(vial.product, vial.lot_number, session_id, on, drawn, patient.mrn, name, patient.birth_date)
            )
        self.book.npis["dr-contract"] = NPI
        self.book.vials[session_id] = tuple(
            VialUsed(self.stockroom.vials[v].vial_units, drawn, self.stockroom.lots[self.stockroom.vials[v].lot_id].ndc)
            for v, drawn in draws
        )
        finding = AnsweredFinding("info", "off-label-use", "fictional note", "", "", None)
        detail = self.book.sessions[session_id]
        self.book.sessions[session_id] = replace(detail, draws=tuple(given), findings=(finding,))
        return session_id

    def clinician(self, username: str) -> None:
        self.book.clinicians.add(username)

    def correction(self, session_id: int, units: Decimal, by: str) -> int:
        from dataclasses import replace

        original = self.book.sessions[session_id]
        corrected = self.book.add_session(
            original.patient, original.summary.on, BOTOX, "cervical-dystonia", (("splenius-capitis", "left", units),)
        )
        summary = replace(original.summary, withdrawn_reason="corrected", withdrawn_by=by, corrected_by=corrected)
        self.book.sessions[session_id] = replace(original, summary=summary)
        new = self.book.sessions[corrected]
        self.book.sessions[corrected] = replace(new, summary=replace(new.summary, corrects=session_id))
        # The draws go with the correction.
        self.stockroom.draws = [
            replace(d, session_id=corrected) if d.session_id == session_id else d for d in self.stockroom.draws
        ]
        return corrected


class DjangoStockArrange:
    def patient(self, mrn: str) -> int:
        from bont.clinic.registry import NewPatient, add_patient

        return add_patient(NewPatient(mrn, "Fictional", "Contract", BORN, conditions=CONDITIONS, recorded_on=BORN))

    def session(self, patient_id: int, on: date, units: Decimal, draws: tuple[tuple[int, Decimal], ...]) -> int:
        from django.contrib.auth import get_user_model

        from bont.bootstrap import clinical_records
        from bont.clinic.registry import add_user
        from bont.domain.findings import Finding, Severity
        from bont.domain.safety import SessionSite
        from bont.services.ports import SessionRecord

        if not get_user_model().objects.filter(username="dr-contract").exists():
            add_user("dr-contract", "clinician", npi=NPI)
        with clinical_records() as records:
            return records.add_session(
                SessionRecord(
                    patient_id=patient_id,
                    on=on,
                    clinician="dr-contract",
                    indication="cervical-dystonia",
                    product=BOTOX,
                    protocol=None,
                    guidance="",
                    total_units=units,
                    sites=(SessionSite("splenius-capitis", "left", units, position=SPLENIUS_LEFT),),
                    draws=draws,
                    discards=(),
                    findings=(Finding(Severity.INFO, "off-label-use", "fictional note"),),
                    acknowledgements={},
                    verdict="ok",
                    override_reason="",
                    deviation_reason="",
                )
            )

    def clinician(self, username: str) -> None:
        from bont.clinic.registry import add_user

        add_user(username, "clinician")

    def correction(self, session_id: int, units: Decimal, by: str) -> int:
        from bont.bootstrap import clinical_records
        from bont.domain.safety import SessionSite
        from bont.services.ports import SessionRecord

        with clinical_records() as records:
            original = records.lock_session(session_id)
            assert original is not None
            records.withdraw_session(session_id, "corrected", by)
            return records.add_session(
                SessionRecord(
                    patient_id=original.patient_id,
                    on=date(2026, 9, 1),
                    clinician="dr-contract",
                    indication="cervical-dystonia",
                    product=BOTOX,
                    protocol=None,
                    guidance="",
                    total_units=units,
                    sites=(SessionSite("splenius-capitis", "left", units),),
                    draws=(),
                    discards=(),
                    findings=(),
                    acknowledgements={},
                    verdict="ok",
                    override_reason="",
                    deviation_reason="",
                    corrects=session_id,
                    carried_draws=original.draws,
                )
            )


@pytest.fixture
def stock(database: str | None) -> Iterator[Stock]:
    if database is None:
        book, stockroom = FakeSessionBook(), FakeStockroom()
        arrange = FakeStockArrange(book, stockroom)
        yield Stock(FakeInventory(stockroom), FakeSessionRecords(book), FakeBillingRecords(book), arrange)
        return
    from django.core.management import call_command

    from bont.bootstrap import billing_records, inventory, session_records

    call_command("flush", interactive=False, verbosity=0)
    yield Stock(inventory(), session_records(), billing_records(), DjangoStockArrange())


def lot(number: str, expiry: date, quantity: int = 2, ndc: str = "") -> NewLot:
    return NewLot(BOTOX, number, expiry, Decimal(100), quantity, date(2026, 8, 1), ndc)


def test_a_lot_is_stored_with_its_sealed_vials_once_per_product(stock: Stock) -> None:
    vials = stock.inventory.add_lot(lot("FICT-L1", date(2027, 6, 30), quantity=3))
    stock.inventory.add_lot(lot("FICT-L0", date(2027, 1, 31)))
    with pytest.raises(InventoryError) as refused:
        stock.inventory.add_lot(lot("FICT-L1", date(2027, 6, 30)))
    assert refused.value.field == "lot"
    assert [(x.lot_number, x.vials, x.sealed, x.vial_units) for x in stock.inventory.lots()] == [
        ("FICT-L0", 2, 2, Decimal(100)),
        ("FICT-L1", 3, 3, Decimal(100)),
    ]
    assert stock.inventory.lots("abobotulinumtoxinA") == ()
    found = stock.inventory.find_lot(BOTOX, lot_number="FICT-L1")
    assert found is not None
    assert stock.inventory.find_lot(BOTOX, lot_id=found.lot_id) == found
    assert stock.inventory.find_lot("abobotulinumtoxinA", lot_number="FICT-L1") is None
    assert [v.vial_id for v in stock.inventory.lot_vials(found.lot_id)] == list(vials)


def test_a_sealed_vial_opens_once(stock: Stock) -> None:
    (vial_id, _) = stock.inventory.add_lot(lot("FICT-L2", date(2027, 6, 30)))
    first = stock.inventory.open_sealed_vial(vial_id, AT, Decimal("2.5"))
    assert first is not None
    assert first.state == "sealed"
    again = stock.inventory.open_sealed_vial(vial_id, datetime(2026, 9, 2, tzinfo=UTC), None)
    assert again is not None
    assert (again.state, again.reconstituted_at, again.diluent_ml) == ("reconstituted", AT, Decimal("2.5"))
    assert [v.vial_id for v in stock.inventory.open_vials(BOTOX)] == [vial_id]
    assert stock.inventory.open_sealed_vial(987654, AT, None) is None
    assert stock.inventory.vial(987654) is None


def test_a_session_is_read_back_withdrawn_once_and_then_never_billed(stock: Stock) -> None:
    (vial_id, _) = stock.inventory.add_lot(lot("FICT-L3", date(2027, 6, 30), ndc="0023-1145-01"))
    patient_id = stock.arrange.patient("FICT-S1")
    session_id = stock.arrange.session(patient_id, date(2026, 9, 1), Decimal(80), ((vial_id, Decimal(80)),))
    assert stock.sessions.patient("FICT-S1").id == patient_id
    detail = stock.sessions.session(session_id)
    assert detail is not None
    assert (detail.patient.mrn, detail.clinician, detail.summary.total_units) == ("FICT-S1", "dr-contract", 80)
    assert [(s.muscle, s.side, s.units, s.position) for s in detail.sites] == [
        ("splenius-capitis", "left", Decimal(80), SPLENIUS_LEFT)
    ]
    assert [(d.vial_id, d.lot_number, d.units) for d in detail.draws] == [(vial_id, "FICT-L3", Decimal(80))]
    assert [(f.code, f.acknowledged_by) for f in detail.findings] == [("off-label-use", None)]
    assert [s.id for s in stock.sessions.sessions(patient_id)] == [session_id]
    assert stock.billing.session_date(session_id) == date(2026, 9, 1)
    billed = tuple(stock.billing.sessions(date(2026, 9, 1), date(2026, 9, 30)))  # read as it streams
    assert [(b.session_id, b.patient_mrn, b.content.sites) for b in billed] == [
        (session_id, "FICT-S1", (("splenius-capitis", "left"),))
    ]
    assert [(b.patient_name, b.conditions, b.content.protocol, b.clinician, b.clinician_npi) for b in billed] == [
        ("Contract, Fictional", CONDITIONS, "", "dr-contract", NPI)
    ]
    assert billed[0].content.vials == (VialUsed(Decimal(100), Decimal(80), "0023-1145-01"),)
    assert stock.sessions.withdraw(session_id, "entered for the wrong patient", None) == ""
    assert stock.sessions.withdraw(session_id, "again", None) == "entered for the wrong patient"
    assert stock.sessions.withdraw(987654, "no such session", None) is None
    withdrawn = stock.sessions.session(session_id)
    assert withdrawn is not None
    assert withdrawn.summary.withdrawn_reason == "entered for the wrong patient"
    assert tuple(stock.billing.sessions(date(2026, 9, 1), date(2026, 9, 30))) == ()
    assert stock.billing.session_date(session_id) == date(2026, 9, 1)


def test_a_lot_recall_finds_every_draw_with_its_patient(stock: Stock) -> None:
    (vial_id, _) = stock.inventory.add_lot(lot("FICT-L4", date(2027, 6, 30)))
    patient_id = stock.arrange.patient("FICT-S2")
    later = stock.arrange.session(patient_id, date(2026, 9, 20), Decimal(10), ((vial_id, Decimal(10)),))
    earlier = stock.arrange.session(patient_id, date(2026, 9, 10), Decimal(20), ((vial_id, Decimal(20)),))
    draws = stock.inventory.draws_from_lot("FICT-L4", BOTOX)
    assert [(d.session_id, d.units, d.patient_mrn, d.patient_name) for d in draws] == [
        (earlier, Decimal(20), "FICT-S2", "Contract, Fictional"),
        (later, Decimal(10), "FICT-S2", "Contract, Fictional"),
    ]
    assert stock.inventory.draws_from_lot("FICT-L4", "abobotulinumtoxinA") == ()
    assert len(stock.inventory.draws_from_lot("FICT-L4")) == 2
    vial = stock.inventory.vial(vial_id)
    assert vial is not None
    assert vial.units_drawn == 30


def test_an_unknown_patient_or_session_is_none_or_refused_without_repeating_it(stock: Stock) -> None:
    with pytest.raises(UnknownPatientError) as refused:
        stock.sessions.patient("FICT-NOBODY")
    assert "FICT-NOBODY" not in str(refused.value)
    assert stock.sessions.session(987654) is None
    assert stock.billing.session_date(987654) is None


def test_a_withdrawal_keeps_who_made_it_and_a_correction_is_linked_both_ways(stock: Stock) -> None:
    (vial_id, _) = stock.inventory.add_lot(lot("FICT-L5", date(2027, 6, 30)))
    patient_id = stock.arrange.patient("FICT-S3")
    first = stock.arrange.session(patient_id, date(2026, 9, 1), Decimal(80), ((vial_id, Decimal(80)),))
    second = stock.arrange.session(patient_id, date(2026, 9, 8), Decimal(20), ())
    stock.arrange.clinician("dr-withdrawing")
    assert stock.sessions.is_clinician("dr-withdrawing")
    assert not stock.sessions.is_clinician("nobody-at-all")
    assert stock.sessions.withdraw(second, "entered twice", "dr-withdrawing") == ""
    withdrawn = stock.sessions.session(second)
    assert withdrawn is not None
    assert (withdrawn.summary.withdrawn_reason, withdrawn.summary.withdrawn_by) == ("entered twice", "dr-withdrawing")
    corrected = stock.arrange.correction(first, Decimal(60), "dr-withdrawing")
    summaries = {s.id: s for s in stock.sessions.sessions(patient_id)}
    assert (summaries[first].withdrawn_by, summaries[first].corrected_by) == ("dr-withdrawing", corrected)
    assert (summaries[corrected].corrects, summaries[corrected].withdrawn_reason) == (first, "")
    detail = stock.sessions.session(first)
    assert detail is not None
    assert detail.summary.corrected_by == corrected
    billed = tuple(stock.billing.sessions(date(2026, 9, 1), date(2026, 9, 30)))  # read as it streams
    assert [(b.session_id, b.content.total_units) for b in billed] == [(corrected, Decimal(60))]
    # A recall finds the draw once, with the session that corrects the one it was drawn for.
    assert [(d.session_id, d.units) for d in stock.inventory.draws_from_lot("FICT-L5")] == [(corrected, Decimal(80))]


def test_lots_are_filtered_by_stock_expiry_and_part_of_the_lot_number(stock: Stock) -> None:
    stock.inventory.add_lot(lot("FICT-OLD-1", date(2026, 1, 31)))
    stock.inventory.add_lot(lot("fict-new-2", date(2027, 6, 30)))
    (only_vial,) = stock.inventory.add_lot(lot("FICT-NEW-3", date(2027, 8, 31), quantity=1))
    stock.inventory.open_sealed_vial(only_vial, AT, Decimal(2))

    def numbers(shelf: LotFilter) -> list[str]:
        return [x.lot_number for x in stock.inventory.lots(shelf=shelf)]

    assert numbers(LotFilter(unexpired_on=date(2027, 6, 30))) == ["fict-new-2", "FICT-NEW-3"]  # the expiry day counts
    assert numbers(LotFilter(in_stock=True)) == ["FICT-OLD-1", "fict-new-2"]
    assert numbers(LotFilter(lot_number="NEW")) == ["fict-new-2", "FICT-NEW-3"]  # any case
    assert numbers(LotFilter(in_stock=True, unexpired_on=date(2026, 9, 1), lot_number="fict")) == ["fict-new-2"]
    assert stock.inventory.lots("abobotulinumtoxinA", shelf=LotFilter(lot_number="fict")) == ()
