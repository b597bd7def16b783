"""Plans from the real knowledge base: every approved protocol's default plan reproduces its dosing table,
weight-based caps hold for every weight, and no vial is drawn past its content."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bont.domain.doses import WeightCappedDose
from bont.domain.errors import PlanningError
from bont.domain.findings import Severity
from bont.domain.knowledge import KnowledgeBase
from bont.domain.planning import MuscleChoice, Plan, PlanRequest, SideChoice, make_plan
from bont.domain.populations import Population
from bont.domain.protocols import LabelStatus, Protocol
from bont.services.planning import plan_session

SESSION = date(2026, 11, 21)


def _approved(knowledge: KnowledgeBase) -> list[Protocol]:
    return [p for p in knowledge.protocols() if p.status is LabelStatus.APPROVED]


def request_for(protocol: Protocol, weight: Decimal = Decimal(20), **changes: object) -> PlanRequest:
    pediatric = protocol.population is Population.PEDIATRIC
    age = max(protocol.ages.value.minimum, Decimal(10)) if pediatric else Decimal(45)
    fields: dict[str, object] = {
        "indication": protocol.indication,
        "product": protocol.product,
        "on": SESSION,
        "population": protocol.population,
        "variant": protocol.variant,
        "age_years": age,
        "weight_kg": weight,
        "side": SideChoice.LEFT,
    }
    fields.update(changes)
    return PlanRequest(**fields)  # type: ignore[arg-type]


def plan_or_supply_dilution(knowledge: KnowledgeBase, request: PlanRequest) -> Plan:
    try:
        return make_plan(knowledge, request)
    except PlanningError as error:
        if error.field != "diluent_ml":
            raise
    # No verified label dilution (XEOMIN's table was not read): the clinician must choose one, and it is flagged.
    vial = max(knowledge.product(request.product).vial_sizes)
    plan = make_plan(knowledge, PlanRequest(**{**request.__dict__, "vial_units": vial, "diluent_ml": Decimal(2)}))
    assert "dilution-not-in-label" in {f.code for f in plan.notes}
    return plan


def test_every_approved_protocol_plans_or_says_which_input_it_needs(knowledge: KnowledgeBase) -> None:
    planned = 0
    for protocol in _approved(knowledge):
        rows = [row for row in protocol.muscles if not row.optional]
        has_doses = all(r.units or r.units_per_kg for r in rows) or protocol.weight_bands
        request = request_for(protocol)
        if not has_doses and protocol.initial_units is None:
            with pytest.raises(PlanningError) as refused:
                make_plan(knowledge, request)
            assert refused.value.field == "muscle", protocol.id
            continue
        plan = plan_or_supply_dilution(knowledge, request)
        if has_doses:
            assert_reproduces_the_table(protocol, plan)
        else:
            assert_starts_from_the_initial_dose(protocol, plan)
        planned += 1
    assert planned >= 12


def assert_starts_from_the_initial_dose(protocol: Protocol, plan: Plan) -> None:
    """No per-muscle table: the label's initial dose, divided evenly (rounded down to whole units)."""
    assert protocol.initial_units is not None
    initial = protocol.initial_units.value.minimum
    assert initial - len(plan.muscles) < plan.total_units.amount <= initial, protocol.id
    assert "initial-dose" in {note.code for note in plan.notes}, protocol.id


def assert_reproduces_the_table(protocol: Protocol, plan: Plan) -> None:
    by_muscle = {m.muscle: m for m in plan.muscles}
    for row in (r for r in protocol.muscles if not r.optional):
        planned = by_muscle[row.muscle]
        sides = 1  # per-side rows on the left only; bilateral rows are totals
        per_side = planned.units.amount / sides
        if protocol.weight_bands:
            continue  # checked against the band table below
        if row.units is not None:
            assert row.units.value.minimum <= per_side <= row.units.value.maximum, (protocol.id, row.muscle)
            if row.units.value.is_fixed:
                assert per_side == row.units.value.minimum, (protocol.id, row.muscle)
        if row.sites is not None and row.sites.value.is_fixed:
            assert len(planned.sites) == row.sites.value.minimum, (protocol.id, row.muscle)
    if protocol.total_units is not None and protocol.total_units.value.is_fixed and not protocol.weight_bands:
        assert plan.total_units.amount == protocol.total_units.value.minimum, protocol.id
    if protocol.sites is not None and protocol.sites.value.is_fixed:
        assert len(plan.sites) == protocol.sites.value.minimum, protocol.id
    assert plan.units_drawn.amount <= plan.vial_units_opened.amount
    assert plan.waste.amount >= 0


def test_chronic_migraine_default_plan(knowledge: KnowledgeBase) -> None:
    plan = make_plan(knowledge, PlanRequest("chronic-migraine", "BOTOX", SESSION))
    assert plan.total_units.amount == 155
    assert len(plan.sites) == 31
    assert {site.units.amount for site in plan.sites} == {5}
    assert {site.volume_ml for site in plan.sites} == {Decimal("0.1")}
    assert [(v.vial_units, v.diluent_ml) for v in plan.vials] == [(200, 4)]
    assert plan.waste.amount == 45
    assert [s.side.value for s in plan.sites if s.muscle == "procerus"] == ["midline"]
    assert not [f for f in plan.notes if f.severity != "info"]


def test_follow_the_pain_sites_are_added_on_request(knowledge: KnowledgeBase) -> None:
    plan = make_plan(
        knowledge,
        PlanRequest(
            "chronic-migraine",
            "onabotulinumtoxinA",
            SESSION,
            optional=(MuscleChoice("temporalis", SideChoice.LEFT, Decimal(10), 2, optional=True),),
        ),
    )
    assert plan.total_units.amount == 165
    assert len(plan.sites) == 33
    follow_the_pain = next(m for m in plan.muscles if m.optional)
    assert [site.side.value for site in follow_the_pain.sites] == ["left", "left"]  # the painful side
    assert not [f for f in plan.notes if f.code == "unilateral-injection-of-bilateral-row"]


def test_one_sided_standard_row_is_a_deviation(knowledge: KnowledgeBase) -> None:
    request = PlanRequest("chronic-migraine", "BOTOX", SESSION, muscles=(MuscleChoice("frontalis", SideChoice.RIGHT),))
    with pytest.raises(PlanningError) as refused:
        make_plan(knowledge, request)
    assert refused.value.field == "deviation_reason"


def test_overactive_bladder_default_plan(knowledge: KnowledgeBase) -> None:
    plan = make_plan(knowledge, PlanRequest("overactive-bladder", "onabotulinumtoxinA", SESSION))
    assert len(plan.sites) == 20
    assert {(s.units.amount, s.volume_ml) for s in plan.sites} == {(5, Decimal("0.5"))}
    assert [(v.vial_units, v.diluent_ml) for v in plan.vials] == [(100, 10)]
    assert plan.waste.amount == 0


def test_adult_ndo_draws_exactly_one_200_unit_vial(knowledge: KnowledgeBase) -> None:
    plan = make_plan(knowledge, PlanRequest("neurogenic-detrusor-overactivity", "onabotulinumtoxinA", SESSION))
    assert len(plan.sites) == 30
    assert {site.volume_ml for site in plan.sites} == {Decimal(1)}
    assert [(v.vial_units, v.diluent_ml) for v in plan.vials] == [(200, 6)]
    assert plan.units_drawn.amount == 200


def test_adult_ndo_is_reconstituted_in_the_vial_then_diluted_in_three_syringes(knowledge: KnowledgeBase) -> None:
    """The label's two steps: 6 mL into the 200 U vial, 2 mL of it into each of three 10 mL syringes topped up
    with 8 mL of saline; 30 mL in all for 30 injections of 1 mL, about 6.7 U each."""
    plan = make_plan(knowledge, PlanRequest("neurogenic-detrusor-overactivity", "BOTOX", SESSION))
    assert plan.preparation is not None
    prepared = plan.preparation.value
    assert (prepared.vial_diluent_ml, prepared.syringes, prepared.draw_ml, prepared.saline_ml) == (6, 3, 2, 8)
    assert prepared.final_volume_ml == sum(site.volume_ml for site in plan.sites) == 30
    assert plan.injection_volume_ml == 1
    assert round(prepared.units_per_injection(Decimal(1)), 1) == Decimal("6.7")
    assert prepared.delivered.amount == plan.units_drawn.amount == plan.total_units.amount == 200
    assert plan.preparation.citation.source.id == "medscape-ndo-reconstitution"
    assert "dilution-not-in-label" not in {note.code for note in plan.notes}


def test_overactive_bladder_preparation_fills_one_syringe_and_warns_its_unread_step(knowledge: KnowledgeBase) -> None:
    plan = make_plan(knowledge, PlanRequest("overactive-bladder", "BOTOX", SESSION))
    assert plan.preparation is not None
    prepared = plan.preparation.value
    assert (prepared.vial_diluent_ml, prepared.syringes, prepared.draw_ml, prepared.saline_ml) == (10, 1, 10, 0)
    assert prepared.final_volume_ml == sum(site.volume_ml for site in plan.sites)
    unverified = [note for note in plan.notes if note.code == "preparation-unverified"]
    assert [note.severity for note in unverified] == [Severity.WARN]


@pytest.mark.parametrize(("weight", "toxin_ml", "saline_ml"), [("12", "3.6", "6.4"), ("33", "9.6", "0.4")])
def test_pediatric_ndo_syringe_follows_the_label_weight_table(
    knowledge: KnowledgeBase, weight: str, toxin_ml: str, saline_ml: str
) -> None:
    plan = make_plan(
        knowledge,
        PlanRequest(
            "neurogenic-detrusor-overactivity", "BOTOX", SESSION, age_years=Decimal(8), weight_kg=Decimal(weight)
        ),
    )
    assert plan.preparation is not None
    assert (plan.preparation.value.draw_ml, plan.preparation.value.saline_ml) == (Decimal(toxin_ml), Decimal(saline_ml))
    assert [(v.vial_units, v.diluent_ml) for v in plan.vials] == [(200, 10)]


def test_a_typed_in_vial_volume_replaces_the_preparation_with_a_warning(knowledge: KnowledgeBase) -> None:
    plan = make_plan(
        knowledge,
        PlanRequest(
            "neurogenic-detrusor-overactivity", "BOTOX", SESSION, vial_units=Decimal(200), diluent_ml=Decimal(4)
        ),
    )
    assert plan.preparation is None
    assert [(v.vial_units, v.diluent_ml) for v in plan.vials] == [(200, 4)]
    assert "preparation-not-followed" in {note.code for note in plan.notes}


def test_a_thousandth_of_a_mL_of_diluent_is_refused_by_the_planner(knowledge: KnowledgeBase) -> None:
    with pytest.raises(PlanningError) as refused:
        make_plan(
            knowledge,
            PlanRequest(
                "blepharospasm",
                "XEOMIN",
                SESSION,
                age_years=Decimal(50),
                side=SideChoice.BOTH,
                vial_units=Decimal(100),
                diluent_ml=Decimal("0.001"),
            ),
        )
    assert refused.value.field == "diluent_ml"
    assert "1 to 4 mL" in refused.value.problem


def test_a_diluent_inside_the_label_range_but_off_the_table_plans_with_a_warning(knowledge: KnowledgeBase) -> None:
    plan = make_plan(
        knowledge,
        PlanRequest(
            "cervical-dystonia",
            "BOTOX",
            SESSION,
            age_years=Decimal(50),
            side=SideChoice.LEFT,
            vial_units=Decimal(100),
            diluent_ml=Decimal(3),
        ),
    )
    assert {(v.vial_units, v.diluent_ml) for v in plan.vials} == {(100, 3)}
    assert "dilution-not-in-label" in {note.code for note in plan.notes}


@pytest.mark.parametrize(("weight", "units"), [("12", 72), ("23.9", 132), ("33.99", 192), ("34", 200), ("70", 200)])
def test_pediatric_ndo_follows_the_weight_band_table(knowledge: KnowledgeBase, weight: str, units: int) -> None:
    plan = make_plan(
        knowledge,
        PlanRequest(
            "neurogenic-detrusor-overactivity", "BOTOX", SESSION, age_years=Decimal(8), weight_kg=Decimal(weight)
        ),
    )
    assert plan.population is Population.PEDIATRIC
    assert plan.total_units.amount == units


def test_pediatric_ndo_below_the_lowest_band_is_refused(knowledge: KnowledgeBase) -> None:
    with pytest.raises(PlanningError) as refused:
        make_plan(
            knowledge,
            PlanRequest(
                "neurogenic-detrusor-overactivity", "BOTOX", SESSION, age_years=Decimal(5), weight_kg=Decimal(11)
            ),
        )
    assert refused.value.field == "weight_kg"


def test_pediatric_sialorrhea_band_splits_three_to_two(knowledge: KnowledgeBase) -> None:
    plan = make_plan(
        knowledge,
        PlanRequest(
            "sialorrhea",
            "XEOMIN",
            SESSION,
            age_years=Decimal(9),
            weight_kg=Decimal(24),
            vial_units=Decimal(100),
            diluent_ml=Decimal(4),
        ),
    )
    units = {m.muscle: m.units.amount for m in plan.muscles}
    assert units == {"parotid-gland": 30, "submandibular-gland": 20}  # 15 + 10 U per side at 23–27 kg


WEIGHT_CAPPED = [
    ("upper-limb-spasticity", "onabotulinumtoxinA", None),
    ("lower-limb-spasticity", "onabotulinumtoxinA", None),
    ("neurogenic-detrusor-overactivity", "onabotulinumtoxinA", None),
]


@pytest.mark.parametrize(("indication", "product", "variant"), WEIGHT_CAPPED)
@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(weight=st.decimals(min_value=12, max_value=90, places=1))
def test_pediatric_plans_respect_the_weight_based_cap(
    knowledge: KnowledgeBase, indication: str, product: str, variant: str | None, weight: Decimal
) -> None:
    protocol = knowledge.protocols_for(indication, product, Population.PEDIATRIC)[0]
    plan = make_plan(knowledge, request_for(protocol, weight=weight, side=SideChoice.LEFT))
    cap = protocol.session_maximum
    assert cap is not None
    assert isinstance(cap.value, WeightCappedDose)
    assert plan.total_units.amount <= cap.value.for_weight(weight).amount
    assert plan.units_drawn.amount <= cap.value.for_weight(weight).amount  # volume rounding never crosses the cap
    for vial in plan.vials:
        assert vial.drawn.amount <= vial.vial_units  # no vial is drawn past its content
    assert plan.units_drawn.amount <= plan.vial_units_opened.amount


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    units=st.lists(st.decimals(min_value=1, max_value=100, places=1), min_size=1, max_size=4),
    sites=st.integers(min_value=1, max_value=4),
)
def test_no_vial_is_drawn_past_its_content(knowledge: KnowledgeBase, units: list[Decimal], sites: int) -> None:
    muscles = ("biceps-brachii", "flexor-carpi-radialis", "flexor-carpi-ulnaris", "flexor-digitorum-profundus")
    choices = tuple(MuscleChoice(m, SideChoice.LEFT, u, sites) for m, u in zip(muscles, units, strict=False))
    plan = make_plan(
        knowledge,
        PlanRequest("upper-limb-spasticity", "onabotulinumtoxinA", SESSION, muscles=choices, deviation_reason="test"),
    )
    assert sum(vial.drawn.amount for vial in plan.vials) == plan.units_drawn.amount
    for vial in plan.vials:
        assert 0 <= vial.drawn.amount <= vial.vial_units
    assert sum(site.units.amount for site in plan.sites) == plan.total_units.amount


def test_a_muscle_outside_the_protocol_needs_a_reason_and_is_reported(knowledge: KnowledgeBase) -> None:
    request = PlanRequest(
        "chronic-migraine",
        "onabotulinumtoxinA",
        SESSION,
        muscles=(MuscleChoice("masseter", SideChoice.BOTH, Decimal(10), 2),),
    )
    with pytest.raises(PlanningError) as refused:
        make_plan(knowledge, request)
    assert refused.value.field == "deviation_reason"
    checked = plan_session(knowledge, PlanRequest(**{**request.__dict__, "deviation_reason": "bruxism pain"}))
    # The check reports the muscle once (the planner only asks for the reason), with the reason given.
    (finding,) = [f for f in checked.report.findings if f.code == "muscle-not-in-protocol"]
    assert finding.severity == "warn"
    assert "bruxism pain" in finding.message
    assert checked.plan.deviation_reason == "bruxism pain"


def test_an_off_label_plan_says_so(knowledge: KnowledgeBase) -> None:
    checked = plan_session(knowledge, PlanRequest("myofascial-pain", "DYSPORT", SESSION))
    assert checked.plan.total_units.amount == 400
    assert "off-label-use" in {f.code for f in checked.report.findings}


def test_a_product_without_a_protocol_is_refused_naming_the_product(knowledge: KnowledgeBase) -> None:
    with pytest.raises(PlanningError) as refused:
        make_plan(knowledge, PlanRequest("chronic-migraine", "DYSPORT", SESSION))
    assert refused.value.field == "product"
    assert "onabotulinumtoxinA" in refused.value.problem


def test_doses_above_the_weight_cap_are_planned_and_blocked_once_by_the_check(knowledge: KnowledgeBase) -> None:
    one_muscle = PlanRequest(
        "upper-limb-spasticity",
        "DYSPORT",
        SESSION,
        age_years=Decimal(6),
        weight_kg=Decimal(20),
        side=SideChoice.LEFT,
        muscles=(MuscleChoice("biceps-brachii", units=Decimal(400), sites=4),),
    )
    blocked = plan_session(knowledge, one_muscle)
    assert blocked.report.verdict == "block"
    assert [(f.code, f.message) for f in blocked.report.findings if f.severity == "block"] == [
        (
            "limb-dose-exceeds-maximum",
            "400 U in the left limb is above the lesser of 16 U/kg or 640 U = 320 U at 20 kg per limb",
        )
    ]
    checked = plan_session(
        knowledge,
        PlanRequest(
            "upper-limb-spasticity",
            "DYSPORT",
            SESSION,
            age_years=Decimal(6),
            weight_kg=Decimal(20),
            side=SideChoice.LEFT,
            muscles=(
                MuscleChoice("biceps-brachii", units=Decimal(200), sites=2),
                MuscleChoice("flexor-carpi-radialis", units=Decimal(200), sites=2),
            ),
            deviation_reason="severe spasticity, discussed with the family",
        ),
    )
    # The planner does not judge the limit; the check does, once, with the figure at this weight.
    (above,) = [f for f in checked.report.findings if f.code == "limb-dose-exceeds-maximum"]
    assert above.severity == "block"
    assert above.message == "400 U in the left limb is above the lesser of 16 U/kg or 640 U = 320 U at 20 kg per limb"
    assert not {f.code for f in checked.notes} & {f.code for f in checked.report.findings}


def test_follow_the_pain_does_not_count_against_the_standard_total(knowledge: KnowledgeBase) -> None:
    checked = plan_session(
        knowledge,
        PlanRequest(
            "chronic-migraine",
            "BOTOX",
            SESSION,
            optional=(MuscleChoice("trapezius", SideChoice.LEFT, Decimal(20), 4, optional=True),),
        ),
    )
    assert checked.plan.total_units.amount == 175
    assert "session-dose-exceeds-maximum" not in {f.code for f in checked.report.findings}
