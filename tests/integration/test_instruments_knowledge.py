"""The shipped outcome instruments: they load, every one cites a source and a grade, responder definitions
point at real indications, licensed instruments hold no items, and the figures match
../shared/reference/outcomes-and-fhir.md PART 1 (the section is named beside each expectation)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bont.domain.errors import FieldError, KnowledgeError
from bont.domain.evidence import Grade
from bont.domain.knowledge import KnowledgeBase
from bont.domain.outcomes import (
    ContinuationAdvice,
    ContinuationKind,
    Direction,
    InstrumentKind,
    LicenceStatus,
    Measurement,
    ResponderStatus,
    evaluate_continuation,
    responder_status,
    score,
)
from bont.knowledge import load_knowledge
from tests.integration.knowledge_files import edit

FULL = {
    "headache-days",
    "migraine-days",
    "acute-medication-days",
    "gravimetric-sweat",
    "goal-attainment-scaling",
    "ui-episodes-per-day",
    "voids-per-day",
    "eckardt",
    "fissure-healing",
    "pain-nrs",
    "jaw-pain-nrs",
    "mouth-opening",
    "phq-9",
}
TOTAL_ONLY = {
    "hit-6",
    "midas",
    "hdss",
    "twstrs",
    "jankovic-rating-scale",
    "modified-ashworth",
    "modified-tardieu",
    "disability-assessment-scale",
    "oab-q-symptom-bother",
    "oab-q-hrql",
    "i-qol",
    "iciq-ui-sf",
    "bpi-severity",
    "bpi-interference",
    "dsfs",
}


def test_every_instrument_is_either_free_or_recorded_as_a_total_only(knowledge: KnowledgeBase) -> None:
    assert set(knowledge.instruments) == FULL | TOTAL_ONLY
    for instrument in knowledge.instruments.values():
        assert instrument.licence.items_bundled is (instrument.id in FULL), instrument.id
        assert instrument.licence.why, instrument.id


def test_licensed_and_unconfirmed_instruments_hold_no_items(knowledge: KnowledgeBase) -> None:
    for instrument in knowledge.instruments.values():
        if instrument.licence.status is not LicenceStatus.FREE:
            assert instrument.items == (), instrument.id
            assert instrument.kind is not InstrumentKind.ITEMS, instrument.id


def test_every_instrument_cites_a_known_source_and_a_grade(knowledge: KnowledgeBase) -> None:
    for instrument in knowledge.instruments.values():
        for citation in (instrument.citation, instrument.licence.citation):
            assert knowledge.sources[citation.source.id] is citation.source, instrument.id
            assert isinstance(citation.grade, Grade), instrument.id


def test_every_instrument_names_indications_that_exist(knowledge: KnowledgeBase) -> None:
    for instrument in knowledge.instruments.values():
        assert instrument.indications
        assert set(instrument.indications) <= set(knowledge.indications), instrument.id


def test_every_responder_definition_names_an_indication_and_an_instrument_for_it(knowledge: KnowledgeBase) -> None:
    assert knowledge.responder_definitions
    for definition in knowledge.responder_definitions:
        assert definition.indication in knowledge.indications, definition.id
        instrument = knowledge.instrument(definition.instrument)
        assert definition.indication in instrument.indications, definition.id
        assert knowledge.sources[definition.citation.source.id] is definition.citation.source


def test_the_reference_responder_thresholds_are_the_ones_loaded(knowledge: KnowledgeBase) -> None:
    def threshold(definition_id: str) -> tuple[str, Decimal | None, Grade]:
        (found,) = (d for d in knowledge.responder_definitions if d.id == definition_id)
        return found.rule, found.threshold, found.citation.grade

    # §1.2 and §1.3: ≥50% headache days (PREEMPT); HIT-6 ≥6 points (Houts 2020).
    assert threshold("chronic-migraine-headache-days-50") == ("percent-improvement", Decimal(50), Grade.STUDY)
    assert threshold("chronic-migraine-hit-6-6") == ("points-improvement", Decimal(6), Grade.STUDY)
    # §1.4: HDSS ≥2 grades; gravimetric ≥50%.
    assert threshold("axillary-hyperhidrosis-hdss-2") == ("grades-improvement", Decimal(2), Grade.STUDY)
    assert threshold("axillary-hyperhidrosis-gravimetric-50") == ("percent-improvement", Decimal(50), Grade.STUDY)
    # §1.6: the ≥1-grade Modified Ashworth rule is UNVERIFIED in the reference.
    assert threshold("upper-limb-spasticity-mas-1") == ("grades-improvement", Decimal(1), Grade.UNVERIFIED)
    # §1.7: ≥50% fewer incontinence episodes per day; §1.8: Eckardt ≤3.
    assert threshold("overactive-bladder-ui-50") == ("percent-improvement", Decimal(50), Grade.STUDY)
    assert threshold("achalasia-eckardt-3") == ("at-most", Decimal(3), Grade.STUDY)


def test_the_nice_ta260_rules_are_the_default_for_chronic_migraine(knowledge: KnowledgeBase) -> None:
    # §1.9: stop after 2 cycles with <30% fewer headache days, or once episodic for 3 consecutive months.
    two_cycles, episodic = knowledge.continuation_rules_for("chronic-migraine")
    assert (two_cycles.kind, two_cycles.threshold, two_cycles.cycles) == (
        ContinuationKind.MINIMUM_IMPROVEMENT,
        Decimal(30),
        2,
    )
    assert two_cycles.citation.source.id == "nice-ta260"
    assert two_cycles.citation.grade is Grade.STUDY
    assert (episodic.kind, episodic.threshold, episodic.months) == (ContinuationKind.SUSTAINED_BELOW, Decimal(15), 3)
    assert episodic.citation.grade is Grade.UNVERIFIED  # per month in NICE, per 28 days in the diary


def test_the_scales_loaded_match_the_reference(knowledge: KnowledgeBase) -> None:
    mas = knowledge.instrument("modified-ashworth")
    assert mas.grades == ("0", "1", "1+", "2", "3", "4")  # §1.6
    assert knowledge.instrument("hdss").grades == ("1", "2", "3", "4")  # §1.4
    phq9 = knowledge.instrument("phq-9")  # §1.8
    assert (phq9.minimum, phq9.maximum, len(phq9.items)) == (0, 27, 9)
    assert phq9.loinc == "44261-6"  # §2.4
    hit6 = knowledge.instrument("hit-6")  # §1.3
    assert (hit6.minimum, hit6.maximum, hit6.direction) == (36, 78, Direction.LOWER_IS_BETTER)
    assert knowledge.instrument("mouth-opening").direction is Direction.HIGHER_IS_BETTER  # §1.8
    assert knowledge.instrument("goal-attainment-scaling").rho == Decimal("0.3")  # §1.6
    rules = knowledge.headache_day_rules
    assert rules is not None
    assert rules.min_headache_minutes.value == 240  # the BOTOX label population, §1.2
    assert (rules.min_aura_minutes.value, rules.max_aura_minutes.value) == (5, 60)


def test_every_indication_with_an_instrument_can_be_looked_up(knowledge: KnowledgeBase) -> None:
    assert [i.id for i in knowledge.instruments_for("chronic-migraine")][:3] == [
        "headache-days",
        "migraine-days",
        "acute-medication-days",
    ]
    # Goal Attainment Scaling serves the indications without a disease-specific scale.
    assert [i.id for i in knowledge.instruments_for("strabismus")] == ["goal-attainment-scaling"]
    assert all(knowledge.instruments_for(indication) for indication in knowledge.indications)
    assert knowledge.instrument("PHQ-9").id == "phq-9"


def test_the_audit_lists_instrument_figures_with_their_grades(knowledge: KnowledgeBase) -> None:
    paths = {item.path: item.figure.citation.grade for item in knowledge.figures()}
    assert paths["instrument/twstrs.scoring"] is Grade.UNVERIFIED
    assert paths["instrument/hit-6.licence"] is Grade.STUDY
    assert paths["responder/chronic-migraine-headache-days-50"] is Grade.STUDY
    assert "continuation/nice-ta260-two-cycles" in paths
    assert "headache-day-rules.min_headache_minutes" in paths


def test_a_shipped_scale_refuses_a_modified_ashworth_grade_of_5(knowledge: KnowledgeBase) -> None:
    with pytest.raises(FieldError):
        score(knowledge.instrument("modified-ashworth"), "5")


def test_a_chronic_migraine_patient_is_judged_with_the_shipped_definitions(knowledge: KnowledgeBase) -> None:
    instrument = knowledge.instrument("headache-days")
    (definition,) = (
        d for d in knowledge.responder_definitions_for("chronic-migraine") if d.instrument == instrument.id
    )
    first = date(2026, 1, 10)
    sessions = [first, first + timedelta(weeks=12), first + timedelta(weeks=24)]
    measurements = [
        Measurement(first, score(instrument, "22"), first - timedelta(days=27)),
        Measurement(sessions[1], score(instrument, "14"), sessions[1] - timedelta(days=27)),
        Measurement(sessions[2], score(instrument, "11"), sessions[2] - timedelta(days=27)),
    ]
    verdicts = responder_status(definition, instrument, sessions, measurements)
    assert [v.status for v in verdicts[:2]] == [ResponderStatus.NON_RESPONDER, ResponderStatus.RESPONDER]
    two_cycles = knowledge.continuation_rules_for("chronic-migraine")[0]
    decision = evaluate_continuation(two_cycles, instrument, sessions, measurements)
    assert decision.advice is ContinuationAdvice.CONTINUE
    assert "(NICE TA260 [study])" in decision.reason  # its source in words, not its id


# -- a broken instruments file names the file and the field


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("indications: [achalasia]", "indications: [achalasya]", "instruments.19.indications.0: unknown indication"),
        (
            "indication: achalasia\n",
            "indication: bruxism\n",
            "responders.23: instrument 'eckardt' is not listed for bruxism",
        ),
        ("instrument: hdss\n", "instrument: hdsss\n", "responders.3: unknown instrument 'hdsss'"),
        (
            "    kind: total\n    direction: lower-is-better\n    range: {min: 36, max: 78}",
            "    kind: total\n    direction: lower-is-better\n    range: {min: 36, max: 78}\n"
            "    items: [{key: q1, min: 6, max: 13}]",
            "instruments.3.items: a licensed instrument holds no items",
        ),
        (
            'grades: ["0", "1", "1+", "2", "3", "4"]',
            'grades: ["0", "1", "1+", "1+", "3", "4"]',
            "a grade is listed twice",
        ),
        ("threshold: 2\n", "threshold: two\n", "responders.3.threshold"),
        ("    cycles: 2\n", "    cycles: 0\n", "continuation.0.cycles"),
        ("source: maria-1998-fissure, grade: study}", "source: nobody, grade: study}", "unknown source 'nobody'"),
    ],
)
def test_a_broken_instruments_file_names_its_field(data_dir: Path, old: str, new: str, field: str) -> None:
    edit(data_dir / "instruments.yaml", old, new)
    with pytest.raises(KnowledgeError) as raised:
        load_knowledge(data_dir)
    message = str(raised.value)
    assert message.startswith("instruments.yaml"), message
    assert field in message, message


def test_a_knowledge_folder_without_instruments_fails_loudly(data_dir: Path) -> None:
    (data_dir / "instruments.yaml").unlink()
    with pytest.raises(KnowledgeError, match=r"instruments\.yaml"):
        load_knowledge(data_dir)
