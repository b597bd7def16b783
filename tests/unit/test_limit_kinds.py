"""Limits that mean what the label says: the kind and wording of every blocking figure, the explicit
acknowledgement of an unverified limit, and a first session planned from the label's initial dose."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from bont.cli.app import app
from bont.domain.evidence import FigureKind
from bont.domain.findings import Severity
from bont.domain.knowledge import KnowledgeBase
from bont.domain.planning import MuscleChoice, PlanRequest, SideChoice
from bont.domain.safety import Administration, CheckRequest, Patient, SessionPlan, check
from bont.knowledge.loader import HEDGED_WORDING, LIMIT_WORDING, RECOMMENDATION_WORDING
from bont.services.planning import plan_session

RUNNER = CliRunner()
DAY = date(2026, 11, 21)
CHILD = Patient(birth_date=date(2018, 5, 2), sex="male", weight_kg=Decimal(20))


def test_audit_blocking_lists_only_limits_with_their_label_words() -> None:
    result = RUNNER.invoke(app, ["knowledge", "audit", "--blocking", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)["figures"]
    assert len(figures) >= 20
    for figure in figures:
        assert figure["blocks"], figure
        assert figure["kind"] == "limit", figure
        assert figure["grade"] in ("label", "label-secondary"), figure
        words = figure["wording"].casefold()
        assert not any(phrase in words for phrase in HEDGED_WORDING), figure
        assert not any(phrase in words for phrase in RECOMMENDATION_WORDING) or any(
            phrase in words for phrase in LIMIT_WORDING
        ), figure
    paths = {figure["path"] for figure in figures}
    # The false blocks of the label audit are gone from the list ...
    assert not any("chronic-migraine" in path and "min_interval_days" in path for path in paths)
    assert not any("cervical-dystonia/onabotulinumtoxinA" in path and "per_site" in path for path in paths)
    assert not any("initial_units" in path or "total_units" in path for path in paths)
    # ... and the label's limits are in it.
    assert any("upper-limb-spasticity/incobotulinumtoxinA/pediatric].per_side_maximum" in path for path in paths)
    assert any("overactive-bladder" in path and "min_interval_days" in path for path in paths)


def test_the_audit_shows_kind_and_wording_of_every_maximum_interval_and_per_site_figure(
    knowledge: KnowledgeBase,
) -> None:
    limits = ("session_maximum", "per_side_maximum", "max_units_per_site", "max_volume_per_site_ml")
    limits += ("cumulative_limit", "min_interval_days", ".max_units", ".limits[", "beyond_use_hours")
    for figure in knowledge.figures():
        if any(name in figure.path for name in limits):
            assert figure.figure.citation.kind in (FigureKind.LIMIT, FigureKind.RECOMMENDATION), figure.path


def test_an_unverified_limit_exceeded_names_the_figure_and_its_status_for_an_explicit_acknowledgement(
    knowledge: KnowledgeBase,
) -> None:
    plan = SessionPlan("onabotulinumtoxinA", "lower-limb-spasticity", total_units=Decimal(300))
    report = check(knowledge, CheckRequest(on=DAY, patient=CHILD, plan=plan))
    explicit = {f.code: f.acknowledgement for f in report.findings if f.acknowledgement}
    assert explicit == {
        "weight-based-dose-exceeds-maximum": "300 U of BOTOX is above the lesser of 8 U/kg or 300 U = 160 U at 20 kg: "
        "this limit is unverified (not yet read in the label); the dose is intended",
        "cumulative-dose-exceeds-maximum": "300 U of BOTOX planned, with none in the last 3 months, above the "
        "maximum of the lesser of 10 U/kg or 340 U = 200 U at 20 kg in any 3 months: this limit is unverified (not "
        "yet read in the label); the dose is intended",
    }
    assert report.verdict == "warn"


def test_the_cli_sets_the_acknowledgement_apart(tmp_path: object) -> None:
    document = {
        "date": DAY.isoformat(),
        "patient": {"birth_date": "2018-05-02", "sex": "male", "weight_kg": 20},
        "plan": {"product": "BOTOX", "indication": "lower-limb-spasticity", "total_units": 300},
    }
    result = RUNNER.invoke(app, ["check", "-"], input=json.dumps(document))
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "Needs an explicit acknowledgement before recording:" in text
    assert "the lesser of 8 U/kg or 300 U = 160 U at 20 kg: this limit is unverified" in text


def test_a_recommendation_is_never_acknowledged_as_unverified(knowledge: KnowledgeBase) -> None:
    adult = Patient(birth_date=date(1975, 3, 10), sex="female", weight_kg=Decimal(68))
    history = (Administration(date(2026, 9, 1), "onabotulinumtoxinA", "chronic-migraine", Decimal(155)),)
    plan = SessionPlan("onabotulinumtoxinA", "chronic-migraine", total_units=Decimal(155))
    report = check(knowledge, CheckRequest(on=DAY, patient=adult, plan=plan, history=history))
    (interval,) = [f for f in report.findings if f.code == "retreatment-interval-too-short"]
    assert interval.severity is Severity.WARN
    assert interval.acknowledgement is None
    assert interval.message.endswith("(a recommendation: “The recommended re-treatment schedule is every 12 weeks”)")


@pytest.mark.parametrize(
    ("history", "units", "note"),
    [
        ((), Decimal(40), "first session (no earlier session is on record)"),
        (
            (Administration(date(2026, 10, 1), "abobotulinumtoxinA", "upper-limb-spasticity", Decimal(500)),),
            Decimal(40),
            "first session:",
        ),
    ],
    ids=["no-history-known", "another-indication-only"],
)
def test_a_first_session_starts_from_the_initial_dose(
    knowledge: KnowledgeBase, history: tuple[Administration, ...], units: Decimal, note: str
) -> None:
    """XEOMIN cervical dystonia: "The recommended initial total dose of XEOMIN is 120 Units", divided among
    the chosen muscles without a dose of their own."""
    request = PlanRequest(
        "cervical-dystonia",
        "XEOMIN",
        DAY,
        age_years=Decimal(50),
        side=SideChoice.LEFT,
        vial_units=Decimal(100),
        diluent_ml=Decimal(2),
        muscles=(MuscleChoice("sternocleidomastoid"), MuscleChoice("splenius-capitis"), MuscleChoice("trapezius")),
    )
    patient = Patient(birth_date=date(1976, 1, 1), sex="female", weight_kg=Decimal(60)) if history else None
    planned = plan_session(knowledge, request, patient=patient, history=history)
    assert [muscle.units.amount for muscle in planned.plan.muscles] == [units] * 3
    assert sum(muscle.units.amount for muscle in planned.plan.muscles) == 120
    assert any(n.code == "initial-dose" and n.message.startswith(note) for n in planned.plan.notes)
    assert "initial-dose-exceeded" not in {f.code for f in planned.report.findings}


def test_a_later_session_takes_the_clinicians_doses(knowledge: KnowledgeBase) -> None:
    history = (Administration(date(2026, 8, 1), "incobotulinumtoxinA", "cervical-dystonia", Decimal(120)),)
    request = PlanRequest(
        "cervical-dystonia",
        "XEOMIN",
        DAY,
        side=SideChoice.LEFT,
        vial_units=Decimal(100),
        diluent_ml=Decimal(2),
        muscles=(
            MuscleChoice("sternocleidomastoid", units=Decimal(100)),
            MuscleChoice("trapezius", units=Decimal(100)),
        ),
    )
    patient = Patient(birth_date=date(1976, 1, 1), sex="female", weight_kg=Decimal(60))
    planned = plan_session(knowledge, request, patient=patient, history=history)
    assert planned.report.verdict == "ok", planned.report.findings
    assert not any(n.code == "initial-dose" for n in planned.plan.notes)
