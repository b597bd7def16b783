"""Reconstitution arithmetic in Decimal: splits add up, syringe volumes stay within half a mark, a label's
two-step preparation conserves its units and volumes, and a typed in-vial diluent is judged against the label's
dilution table."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bont.domain.dilution import judge_diluent
from bont.domain.doses import Units
from bont.domain.errors import MixedProductUnitsError
from bont.domain.findings import Severity
from bont.domain.knowledge import KnowledgeBase
from bont.domain.reconstitution import (
    DOSING_SYRINGE_MARK_ML,
    SYRINGE_MARK_ML,
    Concentration,
    Preparation,
    diluent_for_concentration,
    draw,
    measurable_volume,
    split_units,
)
from bont.domain.safety import Patient, SessionSite
from bont.services.ports import VialState
from bont.services.records import RecordingError, RecordSession, VialOpening, preview_session, record_session
from tests.fakes import FakeClinic, FakeClinicalRecords

totals = st.decimals(min_value=Decimal("0.01"), max_value=5000, places=2)
site_counts = st.integers(min_value=1, max_value=40)
vials = st.sampled_from([Decimal(50), Decimal(100), Decimal(200), Decimal(300), Decimal(500)])
diluents = st.decimals(min_value=Decimal("0.5"), max_value=30, places=2)


@given(totals, site_counts)
def test_sites_add_up_to_the_total(total: Decimal, sites: int) -> None:
    parts = split_units(total, sites)
    assert len(parts) == sites
    assert sum(parts) == total
    assert max(parts) - min(parts) <= Decimal("0.01")


@given(st.decimals(min_value=Decimal("0.01"), max_value=500, places=2), vials, diluents)
def test_volume_times_concentration_is_the_dose_within_half_a_syringe_mark(
    units: Decimal, vial_units: Decimal, diluent_ml: Decimal
) -> None:
    concentration = Concentration.of("onabotulinumtoxinA", vial_units, diluent_ml)
    result = draw(Units("onabotulinumtoxinA", units), concentration)
    assert result.volume_ml % SYRINGE_MARK_ML == 0
    # Half a syringe mark, plus the last digit of 28-digit Decimal arithmetic on concentrations such as 50/1.5.
    bound = SYRINGE_MARK_ML / 2 * concentration.units_per_ml + Decimal("1e-20")
    if result.volume_ml > SYRINGE_MARK_ML:  # the smallest measurable volume may round a tiny dose up further
        assert abs(result.delivered.amount - units) <= bound
    assert result.delivered.amount == result.volume_ml * concentration.units_per_ml


@given(vials, st.decimals(min_value=Decimal("0.5"), max_value=50, places=2))
def test_diluent_for_a_concentration_is_the_inverse_of_the_dilution(vial_units: Decimal, per_0_1: Decimal) -> None:
    diluent = diluent_for_concentration(vial_units, per_0_1)
    assert abs(Concentration.of("abobotulinumtoxinA", vial_units, diluent).units_per_0_1_ml - per_0_1) < Decimal(
        "1e-20"
    )


def test_label_dilutions() -> None:
    assert Concentration.of("onabotulinumtoxinA", Decimal(100), Decimal(2)).units_per_0_1_ml == 5
    assert Concentration.of("onabotulinumtoxinA", Decimal(100), Decimal(8)).units_per_0_1_ml == Decimal("1.25")
    assert Concentration.of("abobotulinumtoxinA", Decimal(300), Decimal("2.5")).units_per_0_1_ml == 12
    assert diluent_for_concentration(Decimal(200), Decimal(5)) == 4


def test_a_positive_dose_never_rounds_to_nothing() -> None:
    assert measurable_volume(Decimal("0.001")) == Decimal("0.01")
    assert measurable_volume(Decimal("0.125")) == Decimal("0.12")  # half to even
    with pytest.raises(ValueError, match="negative"):
        measurable_volume(Decimal(-1))


def test_a_dose_cannot_be_drawn_from_another_products_solution() -> None:
    with pytest.raises(MixedProductUnitsError):
        draw(Units("incobotulinumtoxinA", Decimal(10)), Concentration("onabotulinumtoxinA", Decimal(50)))


# -- two-step preparations (the BOTOX intradetrusor method)

BOTOX = "onabotulinumtoxinA"
ADULT_NDO = Preparation(BOTOX, Decimal(200), Decimal(6), 3, Decimal(10))
PEDIATRIC_NDO = Preparation(BOTOX, Decimal(200), Decimal(10), 1, Decimal(10))
TINY = Decimal("1e-20")  # the last digit of 28-digit Decimal arithmetic on concentrations such as 200/6

preparations = st.builds(
    Preparation,
    st.just(BOTOX),
    vials,
    st.decimals(min_value=1, max_value=10, places=1),
    st.integers(min_value=1, max_value=4),
    st.sampled_from([Decimal(5), Decimal(10), Decimal(20)]),
)


@given(preparations, st.data())
def test_syringe_volumes_add_up_and_units_on_a_mark_are_conserved(
    preparation: Preparation, data: st.DataObject
) -> None:
    # A dose, planned to hundredths of a unit as doses are, whose share per syringe is a whole number of 0.1 mL
    # marks of the reconstituted vial.
    marks = data.draw(st.integers(min_value=1, max_value=int(preparation.syringe_ml / DOSING_SYRINGE_MARK_ML)))
    per_syringe = marks * DOSING_SYRINGE_MARK_ML
    exact = per_syringe * preparation.syringes * preparation.vial_concentration.units_per_ml
    dose = Units(BOTOX, exact.quantize(Decimal("0.01")))
    prepared = preparation.for_dose(dose)
    assert prepared.draw_ml == per_syringe
    assert prepared.draw_ml + prepared.saline_ml == preparation.syringe_ml
    assert prepared.syringes * prepared.syringe_ml == prepared.final_volume_ml
    # Only the hundredth the dose was planned to separates the units in the syringes from the dose.
    assert abs(prepared.delivered.amount - dose.amount) <= Decimal("0.005") + TINY * dose.amount
    assert abs(prepared.final_concentration.units_per_ml * prepared.final_volume_ml - prepared.delivered.amount) <= (
        TINY * dose.amount
    )
    assert prepared.vials * preparation.vial_units >= dose.amount > (prepared.vials - 1) * preparation.vial_units


@given(preparations, st.decimals(min_value=1, max_value=2000, places=2))
def test_any_dose_is_delivered_within_half_a_mark_per_syringe(preparation: Preparation, units: Decimal) -> None:
    dose = Units(BOTOX, units)
    needed_per_syringe = units / preparation.vial_concentration.units_per_ml / preparation.syringes
    assume(needed_per_syringe <= preparation.syringe_ml - DOSING_SYRINGE_MARK_ML)
    prepared = preparation.for_dose(dose)
    assert prepared.draw_ml % DOSING_SYRINGE_MARK_ML == 0
    assert prepared.saline_ml >= 0
    half_mark = DOSING_SYRINGE_MARK_ML / 2 * preparation.vial_concentration.units_per_ml * preparation.syringes
    if prepared.draw_ml > DOSING_SYRINGE_MARK_ML:  # a tiny dose rounds up to the smallest measurable volume
        assert abs(prepared.delivered.amount - units) <= half_mark + TINY
    assert prepared.rounded == (prepared.delivered.amount != units)


@given(preparations, st.integers(min_value=1, max_value=40), st.data())
def test_equal_injections_share_the_prepared_units(
    preparation: Preparation, injections: int, data: st.DataObject
) -> None:
    marks = data.draw(st.integers(min_value=1, max_value=int(preparation.syringe_ml / DOSING_SYRINGE_MARK_ML)))
    dose = Units(
        BOTOX, marks * DOSING_SYRINGE_MARK_ML * preparation.syringes * preparation.vial_concentration.units_per_ml
    )
    prepared = preparation.for_dose(dose)
    volume = prepared.final_volume_ml / injections
    assert abs(prepared.units_per_injection(volume) * injections - prepared.delivered.amount) <= TINY * 100


def test_adult_detrusor_preparation_is_six_mL_then_three_syringes_of_ten() -> None:
    """labels.md §1.5: 200 U as 30 injections of 1 mL, about 6.7 U each."""
    prepared = ADULT_NDO.for_dose(Units(BOTOX, Decimal(200)))
    assert (prepared.vials, prepared.draw_ml, prepared.saline_ml) == (1, 2, 8)
    assert prepared.final_volume_ml == 30
    assert round(prepared.units_per_syringe.amount, 2) == Decimal("66.67")
    assert round(prepared.units_per_injection(Decimal(1)), 1) == Decimal("6.7")
    assert not prepared.rounded


@pytest.mark.parametrize(
    ("units", "toxin_ml", "saline_ml"),
    [
        (72, "3.6", "6.4"),
        (84, "4.2", "5.8"),
        (96, "4.8", "5.2"),
        (108, "5.4", "4.6"),
        (120, "6.0", "4.0"),
        (132, "6.6", "3.4"),
        (144, "7.2", "2.8"),
        (156, "7.8", "2.2"),
        (168, "8.4", "1.6"),
        (180, "9.0", "1.0"),
        (192, "9.6", "0.4"),
    ],
)
def test_pediatric_detrusor_syringe_matches_the_label_weight_table(units: int, toxin_ml: str, saline_ml: str) -> None:
    """labels.md §1.6: reconstituted BOTOX and diluent drawn into one dosing syringe of 10 mL."""
    prepared = PEDIATRIC_NDO.for_dose(Units(BOTOX, Decimal(units)))
    assert (prepared.draw_ml, prepared.saline_ml) == (Decimal(toxin_ml), Decimal(saline_ml))
    assert prepared.delivered.amount == units


def test_a_dose_too_large_for_the_syringes_is_refused_in_words() -> None:
    with pytest.raises(ValueError, match="more than the 10 mL the syringe is filled to"):
        PEDIATRIC_NDO.for_dose(Units(BOTOX, Decimal(300)))


def test_a_preparation_keeps_its_products_units() -> None:
    with pytest.raises(MixedProductUnitsError):
        ADULT_NDO.for_dose(Units("abobotulinumtoxinA", Decimal(200)))


# -- a typed in-vial diluent against the label's dilution table


def test_a_thousandth_of_a_mL_is_refused_naming_the_field_and_the_label_range(knowledge: KnowledgeBase) -> None:
    verdict = judge_diluent(knowledge.product("XEOMIN"), Decimal(100), Decimal("0.001"))
    assert not verdict.acceptable
    assert verdict.refusal == (
        "The diluent volume, 0.001 mL, is outside the label's range for a 100 U vial of XEOMIN: 1 to 4 mL "
        "(the dilution table on file is not yet verified against the label)"
    )
    assert not judge_diluent(knowledge.product("BOTOX"), Decimal(100), Decimal("0.001")).acceptable


def test_thirty_mL_cannot_go_into_a_botox_vial_but_the_label_six_can(knowledge: KnowledgeBase) -> None:
    botox = knowledge.product("BOTOX")
    refused = judge_diluent(botox, Decimal(200), Decimal(30))
    assert refused.refusal is not None
    assert "1 to 10 mL" in refused.refusal
    accepted = judge_diluent(botox, Decimal(200), Decimal(6))
    assert (accepted.acceptable, accepted.in_label, accepted.findings) == (True, True, ())


def test_a_volume_inside_the_range_but_not_in_the_table_is_allowed_with_a_warning(knowledge: KnowledgeBase) -> None:
    verdict = judge_diluent(knowledge.product("BOTOX"), Decimal(100), Decimal(3))
    assert verdict.acceptable
    assert not verdict.in_label
    assert [f.code for f in verdict.findings] == ["dilution-not-in-label"]


def test_without_a_label_table_only_what_a_syringe_cannot_measure_is_refused(knowledge: KnowledgeBase) -> None:
    daxxify = knowledge.product("DAXXIFY")
    assert daxxify.reconstitution == ()
    assert judge_diluent(daxxify, Decimal(100), Decimal("0.001")).refusal == (
        "The diluent volume, 0.001 mL, is less than a syringe can measure (0.01 mL)"
    )
    unlisted = judge_diluent(daxxify, Decimal(100), Decimal("1.2"))
    assert unlisted.acceptable
    assert [f.code for f in unlisted.findings] == ["dilution-not-in-label"]


def test_a_ready_to_use_solution_takes_no_diluent(knowledge: KnowledgeBase) -> None:
    myobloc = knowledge.product("MYOBLOC")
    verdict = judge_diluent(myobloc, myobloc.vial_sizes[0], Decimal(1))
    assert verdict.refusal is not None
    assert "ready-to-use solution" in verdict.refusal


# -- the recorder asks the same question


def _opening_ndo(knowledge: KnowledgeBase, diluent_ml: Decimal) -> tuple[FakeClinic, RecordSession]:
    clinic = FakeClinic(clinicians={"dr-fictional"})
    patient_id = clinic.add_patient("FICT-RECON", Patient(date(1975, 6, 1), "female", Decimal(70)))
    clinic.vials[1] = VialState(1, BOTOX, "LOT-FICT", date(2030, 1, 1), Decimal(200), Decimal(0), None, "sealed")
    at = datetime(2026, 11, 21, 9, 0)
    command = RecordSession(
        patient_id,
        date(2026, 11, 21),
        "dr-fictional",
        "neurogenic-detrusor-overactivity",
        "BOTOX",
        (SessionSite("detrusor", "midline", Decimal(200)),),
        draws=((1, Decimal(200)),),
        at=at,
        openings=(VialOpening(1, at, diluent_ml),),
    )
    return clinic, command


def test_the_recorder_refuses_thirty_mL_in_a_vial_and_records_the_label_six(knowledge: KnowledgeBase) -> None:
    clinic, command = _opening_ndo(knowledge, Decimal(30))
    with pytest.raises(RecordingError) as refused:
        record_session(FakeClinicalRecords(clinic), knowledge, command)
    assert (refused.value.field, refused.value.problem) == (
        "openings",
        "Vial 1: The diluent volume, 30 mL, is outside the label's range for a 200 U vial of BOTOX: 1 to 10 mL",
    )
    assert clinic.sessions == []
    assert clinic.vials[1].state == "sealed"

    clinic, command = _opening_ndo(knowledge, Decimal(6))
    records = FakeClinicalRecords(clinic)
    warnings = [f.code for f in preview_session(records, knowledge, command).findings if f.severity is Severity.WARN]
    acknowledged = RecordSession(
        **{**command.__dict__, "acknowledgements": tuple((code, "reviewed") for code in warnings)}
    )
    record_session(records, knowledge, acknowledged)
    assert len(clinic.sessions) == 1
    assert clinic.vials[1].state == "reconstituted"


def test_the_recorder_refuses_a_thousandth_of_a_mL(knowledge: KnowledgeBase) -> None:
    clinic, command = _opening_ndo(knowledge, Decimal("0.001"))
    with pytest.raises(RecordingError, match=r"0\.001 mL, is outside the label's range"):
        record_session(FakeClinicalRecords(clinic), knowledge, command)
