"""The patient banner at the top of every patient page: who the patient is, what must not be missed before an
injection (allergies, medicines that interact with botulinum toxin, active conditions), each product's cumulative
window and when each indication may be treated next.

One clinical truth: the gauges and the next allowed dates are the chart's own (``patient_chart``), and the
interacting medicines are those the knowledge base classes as the safety check's ``drug-interaction`` rule reads
them; nothing here works them out a second way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from bont.bootstrap import patient_charts, patient_registry
from bont.domain.knowledge import KnowledgeBase
from bont.services.patients import (
    ChartGauge,
    ChartNextSession,
    ConditionEntry,
    PatientChart,
    PatientHeader,
    patient_chart,
)


@dataclass(frozen=True)
class InteractingMedicine:
    """A current medicine with the drug classes that make it interact ("gentamicin": aminoglycoside antibiotics)."""

    medication: str
    classes: tuple[str, ...]


@dataclass(frozen=True)
class PatientBanner:
    patient: PatientHeader
    age: Decimal | None
    weight: Decimal | None
    weighed_on: date | None  # the day the weight the chart reads was measured
    allergies: tuple[str, ...]
    conditions: tuple[ConditionEntry, ...]
    interacting: tuple[InteractingMedicine, ...]
    gauges: tuple[ChartGauge, ...]
    next_sessions: tuple[ChartNextSession, ...]


def patient_banner(knowledge: KnowledgeBase, mrn: str, today: date, read: PatientChart | None = None) -> PatientBanner:
    """The banner of the patient as of ``today``, from the chart ``read`` when the page has it already (else read
    here, once); raises ``UnknownPatientError``."""
    if read is None:
        read = patient_chart(patient_registry(), patient_charts(), knowledge, mrn, today)
    return PatientBanner(
        patient=read.patient,
        age=read.age,
        weight=read.weight,
        weighed_on=patient_registry().weighed_on(mrn, today) if read.weight is not None else None,
        allergies=read.allergies,
        conditions=read.conditions,
        interacting=tuple(
            InteractingMedicine(medication, tuple(c.name.lower() for c in classes))
            for medication in read.medications
            if (classes := knowledge.find_drug_classes(medication))
        ),
        gauges=read.gauges,
        next_sessions=read.next_sessions,
    )
