"""Use cases: what the printed documents say about whom and why. The procedure sheet's header (the patient's
identity, the diagnosis code of the indication, the clinician), and the continuation report a clinic sends
to a payer: the continuation rules evaluated over the measurements of each treatment cycle, shown cycle by
cycle with the doses, the ICD-10-CM code of the indication from the chart, the prescriber with their NPI,
and the plain text values its PDF is drawn from.

The outcome figures (cycles, verdicts, continuation decisions) are ``bont.services.outcomes``'s and the
domain's; the chart comes through the ``PatientRegistry`` port and the NPI through ``UserAccounts``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from bont.domain.billing import diagnosis_codes
from bont.domain.knowledge import KnowledgeBase
from bont.domain.outcomes import (
    ContinuationAdvice,
    Measurement,
    assign_cycles,
    change_from_baseline,
    combined_advice,
)
from bont.services.outcome_ports import OutcomeRecords
from bont.services.outcomes import ContinuationReport, ReportMeasure, continuation_report
from bont.services.patients import PatientRegistry
from bont.services.sessions import PatientRef
from bont.services.users import UserAccounts

NO_CODED_DIAGNOSIS = "no coded diagnosis on file"
NO_PRESCRIBER = "no session of this indication on file"
ADVICE_WORDS = {
    ContinuationAdvice.STOP: "A stopping rule is met: the cited rules advise stopping treatment.",
    ContinuationAdvice.CONTINUE: "No stopping rule is met: the cited rules support continuing treatment.",
    ContinuationAdvice.NOT_YET: "No stopping rule is met so far; a rule cannot be judged until a later cycle.",
    ContinuationAdvice.NOT_ASSESSABLE: "A rule cannot be judged: a measurement it needs is missing.",
}
SIGNATURE_NOTE = "Decision support: the signing clinician decides whether treatment continues."


@dataclass(frozen=True)
class CodedDiagnosis:
    code: str
    description: str | None  # the ICD-10-CM title

    @property
    def label(self) -> str:
        return f"{self.code} {self.description}" if self.description else self.code


def indication_diagnoses(
    knowledge: KnowledgeBase, indication_id: str, conditions: Sequence[str]
) -> tuple[CodedDiagnosis, ...]:
    """The patient's own ICD-10-CM codes that fall under the indication, chosen as a claim chooses them
    (``bont.domain.billing.diagnosis_codes``), each with its title; empty when the chart holds none: a
    document never prints the indication's generic code as if it were the patient's diagnosis."""
    codes, fallback_note = diagnosis_codes(knowledge, knowledge.indication(indication_id), conditions)
    if fallback_note is not None:
        return ()
    return tuple(CodedDiagnosis(code, knowledge.describe_code(code)) for code in codes)


@dataclass(frozen=True)
class Prescriber:
    """The clinician a document names, with the NPI on file ("" when none is)."""

    username: str
    npi: str

    @property
    def label(self) -> str:
        return f"{self.username}, NPI {self.npi}" if self.npi else f"{self.username}, no NPI on file"


def prescriber(accounts: UserAccounts, username: str) -> Prescriber:
    return Prescriber(username, accounts.npi(username) or "")


# -- the procedure sheet


@dataclass(frozen=True)
class SheetHeader:
    """Who the procedure sheet is for and who plans it. Without a patient, or without a clinician signed in,
    the sheet prints labelled blank lines to fill by hand."""

    indication: str  # the indication's name
    patient: PatientRef | None
    diagnoses: tuple[CodedDiagnosis, ...]
    clinician: Prescriber | None


def procedure_sheet_header(
    knowledge: KnowledgeBase,
    accounts: UserAccounts,
    indication_id: str,
    patient: PatientRef | None,
    conditions: Sequence[str],
    clinician: str | None,
) -> SheetHeader:
    """The header of the sheet of a plan for ``patient`` (with the conditions on their chart), planned by the
    clinician signed in (None when the user is not a clinician)."""
    return SheetHeader(
        indication=knowledge.indication(indication_id).name,
        patient=patient,
        diagnoses=indication_diagnoses(knowledge, indication_id, conditions) if patient is not None else (),
        clinician=None if clinician is None else prescriber(accounts, clinician),
    )


def sheet_header_document(header: SheetHeader) -> dict[str, Any]:
    """The header as plain values for the sheet's template (``bont.interop.procedure_sheet``)."""
    patient = header.patient
    return {
        "indication": header.indication,
        "patient": None
        if patient is None
        else {
            "name": f"{patient.family_name}, {patient.given_name}",
            "mrn": patient.mrn,
            "birth_date": patient.birth_date.isoformat(),
        },
        "diagnoses": [d.label for d in header.diagnoses],
        "no_diagnosis": NO_CODED_DIAGNOSIS,
        "clinician": None if header.clinician is None else header.clinician.label,
    }


# -- the continuation report


@dataclass(frozen=True)
class CycleMeasurement:
    measurement: Measurement
    change: str | None  # from the baseline; None for the baseline itself or when it cannot be compared


@dataclass(frozen=True)
class CycleRow:
    """One treatment cycle of one measure: the session that began it, what was given, what was measured."""

    cycle: int  # 0 is the baseline, before the first session
    session: date | None  # the day of the session that began the cycle; None for the baseline
    doses: tuple[str, ...]  # "155 U BOTOX", one per product given that day: units of products are never summed
    measurements: tuple[CycleMeasurement, ...]


@dataclass(frozen=True)
class MeasureCycles:
    measure: ReportMeasure
    rows: tuple[CycleRow, ...]
    unassigned: tuple[tuple[Measurement, str], ...]  # measured periods that belong to no cycle, with why


@dataclass(frozen=True)
class ContinuationDocument:
    """The continuation report with what a payer asks of it besides the outcomes."""

    report: ContinuationReport
    measures: tuple[MeasureCycles, ...]
    advice: ContinuationAdvice | None  # all rules together (any stop is a stop); None when no rule applies
    advice_text: str
    diagnoses: tuple[CodedDiagnosis, ...]
    prescriber: Prescriber | None  # the clinician of the latest session of the indication
    signature_note: str

    @property
    def diagnosis_text(self) -> str:
        return "; ".join(d.label for d in self.diagnoses) or NO_CODED_DIAGNOSIS


def _cycles(measure: ReportMeasure, report: ContinuationReport) -> MeasureCycles:
    instrument = measure.instrument
    points = measure.series.points
    baseline = next((m for m, cycle in reversed(points) if cycle == 0), None)  # the last one, as verdicts read
    doses: dict[date, list[str]] = {}
    for dose in report.doses:
        doses.setdefault(dose.on, []).append(f"{dose.units.normalize():f} U {dose.brand}")
    rows = []
    for cycle in range(len(report.sessions) + 1):
        measured = tuple(
            CycleMeasurement(
                m, None if cycle == 0 or baseline is None else change_from_baseline(instrument, baseline.score, m.score)
            )
            for m, assigned in points
            if assigned == cycle
        )
        session = report.sessions[cycle - 1] if cycle else None
        rows.append(CycleRow(cycle, session, tuple(doses.get(session, ())) if session else (), measured))
    straddling = [m for m, cycle in points if cycle is None]
    unassigned = tuple(
        (a.measurement, a.reason or "") for a in assign_cycles(report.sessions, straddling) if a.cycle is None
    )
    return MeasureCycles(measure, tuple(rows), unassigned)


def continuation_report_document(
    records: OutcomeRecords,
    registry: PatientRegistry,
    accounts: UserAccounts,
    knowledge: KnowledgeBase,
    mrn: str,
    indication_id: str,
    today: date,
) -> ContinuationDocument:
    """Raises ``UnknownPatientError``, or ``UnknownIdError`` for an indication that is not a known id."""
    report = continuation_report(records, knowledge, mrn, indication_id, today)
    chart = registry.record(mrn)
    given = [s for s in chart.sessions if s.indication == report.indication.id and not s.withdrawn_reason]
    advice = combined_advice(d for m in report.measures for d in m.continuation)
    return ContinuationDocument(
        report=report,
        measures=tuple(_cycles(measure, report) for measure in report.measures),
        advice=advice,
        advice_text="No continuation rule applies to the measures on file." if advice is None else ADVICE_WORDS[advice],
        diagnoses=indication_diagnoses(knowledge, report.indication.id, chart.conditions),
        prescriber=prescriber(accounts, given[-1].recorded_by) if given and given[-1].recorded_by else None,
        signature_note=SIGNATURE_NOTE,
    )


def _level(measurement: Measurement) -> Decimal | None:
    """The plotted level: the value, or the grade's rank on its scale."""
    score = measurement.score
    return score.value if score.value is not None else None if score.rank is None else Decimal(score.rank)


def _plot(cycles: MeasureCycles, sessions: tuple[date, ...]) -> dict[str, Any] | None:
    """The series the report's plot draws: each measurement's level by day, the sessions, the scale."""
    instrument = cycles.measure.instrument
    points = [
        (m.on.isoformat(), float(level), cycle == 0)
        for m, cycle in cycles.measure.series.points
        if (level := _level(m)) is not None
    ]
    if not points:
        return None
    levels = [level for _, level, _ in points]
    if instrument.grades:
        low, high = 0.0, float(len(instrument.grades) - 1)
    else:
        low = float(instrument.minimum) if instrument.minimum is not None else min(levels)
        high = max(float(instrument.maximum) if instrument.maximum is not None else max(levels), max(levels))
    return {
        "points": points,
        "sessions": [day.isoformat() for day in sessions],
        "low": low,
        "high": high if high > low else low + 1,
        "better": str(instrument.direction),
    }


def continuation_pdf_values(document: ContinuationDocument) -> dict[str, Any]:
    """The continuation report as plain text values, for the PDF renderer (``bont.interop.continuation_pdf``)."""
    report = document.report
    patient = report.patient
    return {
        "title": f"Continuation report: {report.indication.name}",
        "patient": f"{patient.family_name}, {patient.given_name} | MRN {patient.mrn} | "
        f"born {patient.birth_date:%Y-%m-%d}",
        "generated": f"{report.today:%Y-%m-%d}",
        "notice": report.notice,
        "diagnosis": document.diagnosis_text,
        "prescriber": NO_PRESCRIBER if document.prescriber is None else document.prescriber.label,
        "advice": "" if document.advice is None else str(document.advice),
        "advice_text": document.advice_text,
        "measures": [
            {
                "name": c.measure.instrument.name,
                "direction": str(c.measure.instrument.direction),
                "verdicts": [
                    f"{j.latest.status}: {j.latest.reason}" for j in c.measure.judgements if j.latest is not None
                ],
                "continuation": [f"{d.advice}: {d.reason}" for d in c.measure.continuation],
                "cycles": [
                    (
                        "baseline" if row.cycle == 0 else str(row.cycle),
                        "before the first" if row.session is None else f"{row.session:%Y-%m-%d}",
                        ", ".join(row.doses) or "-",
                        "; ".join(_measured(m.measurement) for m in row.measurements) or "none",
                        "; ".join(m.change for m in row.measurements if m.change) or "-",
                    )
                    for row in c.rows
                ],
                "unassigned": [f"{_measured(m)}: {why}" for m, why in c.unassigned],
                "plot": _plot(c, report.sessions),
            }
            for c in document.measures
        ],
        "doses": [(f"{d.on:%Y-%m-%d}", d.brand, f"{d.units.normalize():f} U", d.verdict) for d in report.doses],
        "adverse_events": [
            (f"{e.onset:%Y-%m-%d}", e.event, e.severity, "yes" if e.serious else "no", e.outcome or "-")
            for e in report.adverse_events
        ],
        "signature_note": document.signature_note,
    }


def _measured(measurement: Measurement) -> str:
    """A measurement with the day it was taken, or the period it covers."""
    period = f"{measurement.period_start:%Y-%m-%d} to " if measurement.period_start else ""
    return f"{measurement.score} ({period}{measurement.on:%Y-%m-%d})"


__all__ = [
    "NO_CODED_DIAGNOSIS",
    "CodedDiagnosis",
    "ContinuationDocument",
    "CycleMeasurement",
    "CycleRow",
    "MeasureCycles",
    "Prescriber",
    "SheetHeader",
    "continuation_pdf_values",
    "continuation_report_document",
    "indication_diagnoses",
    "procedure_sheet_header",
    "sheet_header_document",
]
