"""Use cases: register a patient, add to their record, find patients, and read a patient's record and chart.

The ``PatientRegistry`` port is what these use cases need of the stored records; the Django adapter is
``bont.clinic.patient_records``. Errors name the field and never repeat an identifier (MRN, name, date of
birth): their messages may be logged.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from bont.domain.code_sets import UNKNOWN_CODE
from bont.domain.errors import FieldError
from bont.domain.knowledge import KnowledgeBase
from bont.domain.safety import Administration
from bont.services.access_log import AccessEntry, AccessLog
from bont.services.chart import DoseGivenElsewhere, WindowGauge, gauges, given_elsewhere
from bont.services.clock import Clock
from bont.services.next_session import NextSession, next_sessions
from bont.services.ports import PatientCharts

SEXES = ("female", "male", "other", "unknown")
SEARCH_LIMIT = 500


class PatientRecordError(FieldError):
    """A change to a patient's record was refused; nothing was written."""


@dataclass(frozen=True)
class NewPatient:
    mrn: str
    given_name: str
    family_name: str
    birth_date: date
    sex: str = "unknown"
    weight_kg: Decimal | None = None
    conditions: tuple[str, ...] = ()
    medications: tuple[str, ...] = ()
    allergies: tuple[str, ...] = ()
    catheterizes: bool = False
    recorded_on: date | None = None  # the clinic's day the record is made (default: today)
    weighed_on: date | None = None  # the day the weight was measured (default: the day of recording)
    pregnant: bool = False  # from the day of recording
    breastfeeding: bool = False


@dataclass(frozen=True)
class PatientUpdate:
    """Additions to a patient's record; nothing is overwritten, each becomes a new, dated row. The
    demographics (names, birth date, sex; None: unchanged) are corrected in place, each change a new version
    in the audit trail."""

    on: date
    weight_kg: Decimal | None = None
    add_conditions: tuple[str, ...] = ()
    resolve_conditions: tuple[str, ...] = ()
    add_medications: tuple[str, ...] = ()
    stop_medications: tuple[str, ...] = ()
    add_allergies: tuple[str, ...] = ()
    remove_allergies: tuple[str, ...] = ()
    pregnant: bool | None = None
    breastfeeding: bool | None = None
    catheterizes: bool | None = None
    given_name: str | None = None
    family_name: str | None = None
    birth_date: date | None = None
    sex: str | None = None


@dataclass(frozen=True)
class ConditionOption:
    """A condition code offered by the picker, with its ICD-10-CM title (or the vocabulary's name)."""

    code: str
    description: str


@dataclass(frozen=True)
class PatientListRow:
    mrn: str
    family_name: str
    given_name: str
    birth_date: date
    session_count: int
    chart_key: str  # addresses the chart in URLs, where the MRN never goes

    @property
    def name(self) -> str:
        return f"{self.family_name}, {self.given_name}"


@dataclass(frozen=True)
class PatientHeader:
    mrn: str
    given_name: str
    family_name: str
    birth_date: date
    sex: str
    catheterizes: bool

    @property
    def name(self) -> str:
        return f"{self.family_name}, {self.given_name}"


@dataclass(frozen=True)
class WeightEntry:
    on: date
    kg: Decimal


@dataclass(frozen=True)
class ReproductivePeriod:
    status: str
    start: date
    end: date | None


@dataclass(frozen=True)
class AdverseEventEntry:
    event: str
    onset: date
    severity: str  # the intensity: mild, moderate or severe
    session_id: int | None
    outcome: str
    serious: bool = False
    id: int | None = None
    withdrawn_reason: str = ""  # entered in error: kept, no longer read by the check
    withdrawn_by: str | None = None

    @property
    def grading(self) -> str:
        """The severity and the seriousness in words, e.g. "severe, serious"."""
        return f"{self.severity}, {'serious' if self.serious else 'not serious'}"


@dataclass(frozen=True)
class SessionEntry:
    id: int
    on: date
    product: str
    indication: str
    total_units: Decimal
    verdict: str
    override_reason: str
    withdrawn_reason: str
    blocked: bool  # a blocking finding was shown (and overridden)
    withdrawn_by: str | None = None  # who withdrew it (None: from the command line, or not withdrawn)
    corrected_by: int | None = None  # the session recorded in its place, when it was corrected
    recorded_by: str = ""  # the user who recorded it
    given_by: str | None = None  # the clinician or nurse who injected it (None: the user who recorded it)
    given_at: datetime | None = None  # when it was injected (None: recorded before times were kept)


@dataclass(frozen=True)
class PatientRecord:
    """What is stored about a patient, in the order it was recorded (sessions and events by date)."""

    header: PatientHeader
    weights: tuple[WeightEntry, ...]
    conditions: tuple[str, ...]
    medications: tuple[str, ...]
    allergies: tuple[str, ...]
    reproductive_statuses: tuple[ReproductivePeriod, ...]
    adverse_events: tuple[AdverseEventEntry, ...]  # by onset
    sessions: tuple[SessionEntry, ...]  # by date, withdrawn ones included


@dataclass(frozen=True)
class TreatmentRecord:
    """The parts of ``PatientRecord`` a chart lists: who, the adverse events and the sessions (its conditions,
    medicines and weight come from the snapshot the check reads, as of the day)."""

    header: PatientHeader
    adverse_events: tuple[AdverseEventEntry, ...]  # by onset
    sessions: tuple[SessionEntry, ...]  # by date, withdrawn ones included


@dataclass(frozen=True)
class AuditEntry:
    when: datetime
    who: str | None  # None: a change made from the command line without a named operator
    what: str
    type: str


@dataclass(frozen=True)
class ChartSession:
    session: SessionEntry
    brand: str
    indication: str


@dataclass(frozen=True)
class ChartGauge:
    gauge: WindowGauge
    percent: int


@dataclass(frozen=True)
class ChartNextSession:
    next: NextSession
    name: str
    brand: str
    now: bool
    later_recommended: bool


@dataclass(frozen=True)
class ConditionEntry:
    """A recorded condition as the chart shows it: a code with its ICD-10-CM title, or a name as written."""

    term: str
    description: str | None  # the ICD-10-CM title when the term is a code

    @property
    def label(self) -> str:
        return f"{self.term} — {self.description}" if self.description else self.term


@dataclass(frozen=True)
class PatientChart:
    """A patient's chart as of ``today``: header, age and weight, warnings, the window gauges, when each
    indication's next session is allowed, the sessions (latest first) and the adverse events (latest first)."""

    patient: PatientHeader
    today: date
    age: Decimal | None
    weight: Decimal | None
    conditions: tuple[ConditionEntry, ...]  # the current ones, each code with its title
    medications: tuple[str, ...]  # the current ones
    allergies: tuple[str, ...]
    pregnant: bool
    breastfeeding: bool
    warnings: tuple[str, ...]
    gauges: tuple[ChartGauge, ...]
    next_sessions: tuple[ChartNextSession, ...]
    sessions: tuple[ChartSession, ...]
    adverse_events: tuple[AdverseEventEntry, ...]  # withdrawn ones included
    history: tuple[Administration, ...]  # what the safety check counts: withdrawn sessions excluded, by date
    given_elsewhere: tuple[DoseGivenElsewhere, ...] = ()  # doses other systems recorded (in ``history``), latest first

    @property
    def active_adverse_events(self) -> tuple[AdverseEventEntry, ...]:
        """The adverse events the safety check reads (prior reactions): not withdrawn."""
        return tuple(e for e in self.adverse_events if not e.withdrawn_reason)

    @property
    def withdrawn_adverse_events(self) -> tuple[AdverseEventEntry, ...]:
        return tuple(e for e in self.adverse_events if e.withdrawn_reason)


class PatientRegistry(abc.ABC):
    """The patients' stored records."""

    @abc.abstractmethod
    def add(self, new: NewPatient, recorded_on: date) -> int:
        """Store a new patient with their first weight, conditions, medicines and allergies dated
        ``recorded_on``; returns the patient's id. Raises ``PatientRecordError`` (field ``mrn``) when the MRN
        is already taken."""

    @abc.abstractmethod
    def update(self, mrn: str, update: PatientUpdate) -> None:
        """Add the dated rows of ``update`` in one transaction. Raises ``UnknownPatientError``, or
        ``PatientRecordError`` naming the option when a condition to resolve, a medicine to stop or an allergy to
        remove is not on file."""

    @abc.abstractmethod
    def search(self, query: str, limit: int, offset: int = 0) -> tuple[PatientListRow, ...]:
        """Patients whose MRN or name contains ``query`` (any case; all when empty), by family then given
        name, at most ``limit`` after the first ``offset``."""

    @abc.abstractmethod
    def count(self, query: str) -> int:
        """How many patients ``search`` finds for ``query`` without a limit."""

    @abc.abstractmethod
    def record(self, mrn: str) -> PatientRecord:
        """What is stored about the patient; raises ``UnknownPatientError``."""

    def treatment_record(self, mrn: str) -> TreatmentRecord:
        """The header, adverse events and sessions of ``record`` (an adapter reads only those); raises
        ``UnknownPatientError``."""
        record = self.record(mrn)
        return TreatmentRecord(record.header, record.adverse_events, record.sessions)

    def weighed_on(self, mrn: str, on: date) -> date | None:
        """The day of the weight the chart reads as of ``on``: the latest measured on or before it (None when
        none was); raises ``UnknownPatientError``. (An adapter reads only that day.)"""
        measured = [weight.on for weight in self.record(mrn).weights if weight.on <= on]
        return max(measured, default=None)

    @abc.abstractmethod
    def audit_trail(self, mrn: str) -> tuple[AuditEntry, ...]:
        """Every version of the patient's record, sessions (their sites, findings and vial draws), adverse
        events, outcomes, diary days and diary links, latest first; raises ``UnknownPatientError``."""

    @abc.abstractmethod
    def chart_key(self, mrn: str) -> str:
        """The random key that addresses the patient's chart in URLs instead of the MRN (it never changes);
        raises ``UnknownPatientError``."""

    @abc.abstractmethod
    def mrn_for_chart_key(self, chart_key: str) -> str:
        """The MRN of the chart a key addresses; raises ``UnknownPatientError`` for a key of no chart."""


def register_patient(
    registry: PatientRegistry, clock: Clock, new: NewPatient, knowledge: KnowledgeBase | None = None
) -> int:
    """Register a patient; refused, naming the field, when the sex is not one of ``SEXES``, the birth date
    lies after the day of recording or the MRN is taken. With the knowledge base (the command line gives it),
    the conditions are checked and written as in ``coded_conditions`` (field ``conditions.N``)."""
    if new.sex not in SEXES:
        raise PatientRecordError("sex", f"must be one of {', '.join(SEXES)}")
    recorded_on = new.recorded_on if new.recorded_on is not None else clock.today()
    if new.birth_date > recorded_on:
        raise PatientRecordError("birth_date", "is in the future")
    if new.weighed_on is not None and not new.birth_date <= new.weighed_on <= recorded_on:
        raise PatientRecordError("weighed_on", "must lie between the birth date and the day of recording")
    if knowledge is not None:
        new = replace(new, conditions=coded_conditions(knowledge, new.conditions, "conditions"))
    return registry.add(new, recorded_on)


def update_patient(
    registry: PatientRegistry, mrn: str, update: PatientUpdate, knowledge: KnowledgeBase | None = None
) -> None:
    """Add to a patient's record: every change is a new dated row. With the knowledge base, the conditions
    added are checked and written as in ``coded_conditions`` (field ``add_conditions.N``), and a code to resolve
    is written the same way, so that ``l03.221`` resolves the ``L03.221`` recorded."""
    if update.sex is not None and update.sex not in SEXES:
        raise PatientRecordError("sex", f"must be one of {', '.join(SEXES)}")
    if update.birth_date is not None and update.birth_date > update.on:
        raise PatientRecordError("birth_date", "is in the future")
    for name in ("given_name", "family_name"):
        if getattr(update, name) is not None and not getattr(update, name).strip():
            raise PatientRecordError(name, "must not be empty")
    if knowledge is not None:
        update = replace(
            update,
            add_conditions=coded_conditions(knowledge, update.add_conditions, "add_conditions"),
            resolve_conditions=tuple(knowledge.condition_code(term) or term for term in update.resolve_conditions),
        )
    registry.update(mrn, update)


def coded_conditions(knowledge: KnowledgeBase, terms: tuple[str, ...], field: str) -> tuple[str, ...]:
    """The conditions with every ICD-10-CM code written as the code set writes it (``l03221`` → ``L03.221``);
    a term written as a code that ICD-10-CM does not hold (``L03.999``) is refused, naming ``field.N``. Names
    are kept as written: the check matches them or reports them as unrecognised."""
    for index, term in enumerate(terms):
        if knowledge.is_unknown_code(term):
            raise PatientRecordError(f"{field}.{index}", UNKNOWN_CODE)
    return tuple(knowledge.condition_code(term) or term for term in terms)


def condition_entries(knowledge: KnowledgeBase, terms: tuple[str, ...]) -> tuple[ConditionEntry, ...]:
    """The conditions with the title of each ICD-10-CM code ("L03.221 — Cellulitis of neck")."""
    return tuple(ConditionEntry(term, knowledge.describe_code(term)) for term in terms)


def condition_options(knowledge: KnowledgeBase) -> tuple[ConditionOption, ...]:
    """The codes the picker offers: every ICD-10-CM code of the safety vocabulary's conditions and of the
    indications, each with its title from the code set (the vocabulary's name when the set has none)."""
    named: dict[str, str] = {}
    for condition in knowledge.conditions.values():
        for code in condition.icd10:
            named.setdefault(str(code), condition.name)
    for indication in knowledge.indications.values():
        for cited in indication.icd10:
            named.setdefault(str(cited.value.code), indication.name)
    return tuple(ConditionOption(code, knowledge.describe_code(code) or name) for code, name in sorted(named.items()))


def search_conditions(knowledge: KnowledgeBase, query: str, limit: int = 20) -> tuple[ConditionOption, ...]:
    """Conditions for a typed term: the code itself with its title when the term is an ICD-10-CM code (any
    case, with or without its dot), then the offered codes whose code or title contains the term."""
    text = query.strip()
    found: list[ConditionOption] = []
    code = knowledge.condition_code(text) if text else None
    if code is not None:
        found.append(ConditionOption(code, knowledge.describe_code(code) or ""))
    folded = text.casefold()
    found += [
        option
        for option in condition_options(knowledge)
        if option.code != code and (folded in option.code.casefold() or folded in option.description.casefold())
    ]
    return tuple(found[:limit])


def find_patients(
    registry: PatientRegistry, query: str = "", limit: int = SEARCH_LIMIT, offset: int = 0
) -> tuple[PatientListRow, ...]:
    """Patients by name, optionally searching by part of a name or MRN; ``offset`` skips the earlier pages."""
    return registry.search(query.strip(), limit, offset)


def count_patients(registry: PatientRegistry, query: str = "") -> int:
    """How many patients ``find_patients`` finds for ``query`` without a limit (for the pages)."""
    return registry.count(query.strip())


def patient_record(registry: PatientRegistry, mrn: str) -> PatientRecord:
    return registry.record(mrn)


def audit_trail(
    registry: PatientRegistry, access_log: AccessLog, mrn: str
) -> tuple[PatientHeader, tuple[AuditEntry, ...], tuple[AccessEntry, ...]]:
    """The patient, every version of their record and clinical records (changes), and every read of their data
    (who opened the chart, a session, a report, from where), each latest first."""
    return registry.record(mrn).header, registry.audit_trail(mrn), access_log.for_patient(mrn)


def patient_chart(
    registry: PatientRegistry, charts: PatientCharts, knowledge: KnowledgeBase, mrn: str, today: date
) -> PatientChart:
    """The chart as of ``today``; the gauges and next sessions come from the same snapshot the check reads."""
    record = registry.treatment_record(mrn)
    patient, history = charts.chart(mrn, today)
    warnings: list[str] = []
    for term in patient.conditions:
        condition = knowledge.find_condition(term)
        if condition is not None:
            warnings.append(f"{condition.name} ({term})")
    for medication in patient.medications:
        for drug_class in knowledge.find_drug_classes(medication):
            warnings.append(f"{medication}: {drug_class.name.lower()}")
    warnings += [f"allergy: {allergy}" for allergy in patient.allergies]
    if patient.pregnant:
        warnings.append("pregnant")
    if patient.breastfeeding:
        warnings.append("breastfeeding")
    return PatientChart(
        patient=record.header,
        today=today,
        age=patient.age_on(today),
        weight=patient.weight_kg,
        conditions=condition_entries(knowledge, patient.conditions),
        medications=patient.medications,
        allergies=patient.allergies,
        pregnant=patient.pregnant,
        breastfeeding=patient.breastfeeding,
        warnings=tuple(warnings),
        gauges=tuple(ChartGauge(g, int(g.fraction * 100)) for g in gauges(knowledge, patient, history, today)),
        next_sessions=tuple(
            ChartNextSession(
                next=n,
                name=knowledge.indications[n.indication].name,
                brand=knowledge.products[n.product].brand,
                now=n.earliest == today,
                later_recommended=n.recommended is not None and n.recommended != n.earliest,
            )
            for n in next_sessions(knowledge, patient, history, today, charts.prior_adverse_events(mrn, today))
        ),
        sessions=tuple(
            ChartSession(
                session=s,
                brand=knowledge.products[s.product].brand if s.product in knowledge.products else s.product,
                indication=knowledge.indications[s.indication].name
                if s.indication in knowledge.indications
                else s.indication,
            )
            for s in sorted(record.sessions, key=lambda s: s.on, reverse=True)
        ),
        adverse_events=tuple(sorted(record.adverse_events, key=lambda e: e.onset, reverse=True)),
        history=history,
        given_elsewhere=given_elsewhere(knowledge, history),
    )
