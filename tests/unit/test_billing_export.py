"""The CSV export prices each distinct claim once (bont.services.billing.billing_csv) and reads only the sites
that change a claim (bont.domain.billing.billed_muscles): the rows stay those of writing every claim line
whole, session by session, whatever the sessions share; the billing page shows a page of those lines with the
whole period's totals (billing_page). On the in-memory fake."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bont.domain.billing import LIMB_REGIONS, BilledSite, SessionToBill, VialUsed, bill, billed_muscles
from bont.domain.knowledge import KnowledgeBase
from bont.services.billing import BILLING_COLUMNS, BillingLine, billing_csv, billing_lines, billing_page
from bont.services.sessions import PatientRef
from tests.fakes import FakeBillingRecords, FakeSessionBook

OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))
NPI = "1234567893"
ARM = (("biceps-brachii", "left", Decimal(100)), ("flexor-carpi-radialis", "left", Decimal(50)))


def as_text(typed: str) -> str:
    return f"'{typed}" if typed[:1] in ("=", "+", "-", "@", "\t", "\r") else typed


def written_whole(lines: tuple[BillingLine, ...]) -> list[str]:
    """Every claim line written as one CSV row from all its columns: what the export must yield."""
    rows = []
    for line in lines:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(
            [
                line.session_id,
                line.date.isoformat(),
                as_text(line.patient_mrn),
                as_text(line.patient_name),
                " ".join(line.diagnoses),
                line.code,
                line.modifier,
                line.billing_units,
                "" if line.exact_units is None else f"{line.exact_units.normalize():f}",
                "" if line.exact_billing_units is None else f"{line.exact_billing_units.normalize():f}",
                line.ndc or "",
                line.ndc_unit or "",
                "" if line.ndc_quantity is None else f"{line.ndc_quantity.normalize():f}",
                line.rendering_npi,
                line.place_of_service,
                line.product,
                line.indication,
                line.note,
            ]
        )
        rows.append(buffer.getvalue())
    return rows


def patient(book: FakeSessionBook, mrn: str, family_name: str, given_name: str) -> PatientRef:
    found = PatientRef(len(book.patients) + 1, mrn, given_name, family_name, date(1970, 1, 1))
    book.patients[found.id] = found
    return found


def test_sessions_sharing_a_claim_keep_their_own_session_patient_and_clinician(knowledge: KnowledgeBase) -> None:
    book = FakeSessionBook(npis={"dr-fake": NPI})
    book.clinicians.add("dr-without-npi")
    patients = [
        patient(book, "FICT-E1", "Fake", "Fictional"),
        patient(book, "FICT-E2", 'O"Fake, the "second"', "Fictional\nTwo"),  # quotes, commas, a line break
        patient(book, "=FICT-E3", "Fake", "Formula"),  # exported as text, never as a formula
    ]
    sessions = []
    for day, (someone, clinician) in enumerate(
        [(patients[0], "dr-fake"), (patients[1], "dr-fake"), (patients[2], "dr-without-npi"), (patients[0], "dr-fake")]
    ):
        session_id = book.add_session(
            someone, date(2026, 10, 1 + day), "onabotulinumtoxinA", "upper-limb-spasticity", ARM, clinician=clinician
        )
        book.vials[session_id] = (VialUsed(Decimal(200), Decimal(150)),)
        sessions.append(session_id)
    book.conditions[patients[1].id] = ("G80.1",)  # the same claim but for its diagnosis

    lines = billing_lines(FakeBillingRecords(book), knowledge, *OCTOBER)
    text = "".join(billing_csv(FakeBillingRecords(book), knowledge, *OCTOBER))

    assert text.split("\n", 1)[1] == "".join(written_whole(lines))
    table = list(csv.DictReader(io.StringIO(text)))
    assert list(table[0]) == list(BILLING_COLUMNS)
    assert [row["session_id"] for row in table if row["code"] == "64642"] == [str(s) for s in sessions]
    assert {row["patient_name"] for row in table} == {
        "Fake, Fictional",
        'O"Fake, the "second", Fictional\nTwo',
        "Fake, Formula",
    }
    assert {row["patient_mrn"] for row in table} == {"FICT-E1", "FICT-E2", "'=FICT-E3"}
    first_lines = {row["session_id"]: row["note"] for row in table if row["code"] == "64642"}
    assert "no NPI is on file for the clinician dr-without-npi" in first_lines[str(sessions[2])]
    assert "no NPI" not in first_lines[str(sessions[0])]
    assert {row["icd10_cm"] for row in table if row["patient_mrn"] == "FICT-E2"} != {
        row["icd10_cm"] for row in table if row["patient_mrn"] == "FICT-E1"
    }


def test_billing_reads_only_the_limb_muscles_and_the_other_sites_change_no_claim(knowledge: KnowledgeBase) -> None:
    limbs = billed_muscles(knowledge)
    assert limbs == {m for m, target in knowledge.targets.items() if target.region in LIMB_REGIONS}
    assert {"biceps-brachii", "soleus"} <= limbs
    assert not {"frontalis", "sternocleidomastoid", "detrusor"} & limbs
    assert knowledge.billing is not None
    every_site = (
        BilledSite("biceps-brachii", "left"),
        BilledSite("sternocleidomastoid", "left"),
        BilledSite("soleus", "right"),
        BilledSite("frontalis", None),
    )
    for indication in ("upper-limb-spasticity", "cervical-dystonia", "chronic-migraine"):
        claims = [
            bill(
                knowledge,
                knowledge.billing,
                SessionToBill("onabotulinumtoxinA", indication, sites, Decimal(150), Decimal(50)),
            )
            for sites in (every_site, tuple(s for s in every_site if s.muscle in limbs))
        ]
        assert claims[0] == claims[1]


def test_the_export_and_the_claim_lines_read_the_same_sites(knowledge: KnowledgeBase) -> None:
    book = FakeSessionBook(npis={"dr-fake": NPI})
    someone = book.add_patient("FICT-E4")
    mixed = (*ARM, ("sternocleidomastoid", "left", Decimal(25)), ("soleus", "right", Decimal(75)))
    book.add_session(someone, date(2026, 10, 5), "onabotulinumtoxinA", "upper-limb-spasticity", mixed)
    rows = list(csv.DictReader(io.StringIO("".join(billing_csv(FakeBillingRecords(book), knowledge, *OCTOBER)))))
    assert [(row["code"], row["billing_units"]) for row in rows[:2]] == [("64642", "1"), ("64643", "1")]
    assert [(line.code, line.billing_units) for line in billing_lines(FakeBillingRecords(book), knowledge, *OCTOBER)][
        :2
    ] == [("64642", 1), ("64643", 1)]


def test_a_page_of_claim_lines_is_that_slice_of_them_and_the_totals_are_the_whole_periods(
    knowledge: KnowledgeBase,
) -> None:
    book = FakeSessionBook(npis={"dr-fake": NPI})
    someone = patient(book, "FICT-E5", "Fake", "Paged")
    for day in range(1, 6):
        session_id = book.add_session(someone, date(2026, 10, day), "onabotulinumtoxinA", "upper-limb-spasticity", ARM)
        book.vials[session_id] = (VialUsed(Decimal(200), Decimal(150)),)
    every = billing_lines(FakeBillingRecords(book), knowledge, *OCTOBER)
    assert len(every) == 15  # three lines a session: several pages at most sizes

    @given(per_page=st.integers(1, 9), page=st.integers(-1, 20))
    @settings(max_examples=60, deadline=None)
    def a_page_is_its_slice(per_page: int, page: int) -> None:
        found = billing_page(FakeBillingRecords(book), knowledge, *OCTOBER, page=page, per_page=per_page)

        last = -(-len(every) // per_page)
        assert found.page == min(max(page, 1), last)  # the first when none or a wrong one, the last when beyond
        start = (found.page - 1) * per_page
        assert found.lines == every[start : start + per_page]
        assert found.line_count == 15
        # 150 units a session, no billable waste (JZ), each session's procedure and guidance code once
        assert found.totals == (("64642", "", 5), ("95874", "", 5), ("J0585", "JZ", 750))

    a_page_is_its_slice()


def test_a_period_without_sessions_is_one_empty_page(knowledge: KnowledgeBase) -> None:
    found = billing_page(FakeBillingRecords(FakeSessionBook()), knowledge, *OCTOBER, page=3)

    assert (found.lines, found.totals, found.line_count, found.page) == ((), (), 0, 1)
