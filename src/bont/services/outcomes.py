"""Use cases: entering or correcting a scale, a diary day, the personal diary link, each patient's outcomes per
indication with the responder verdicts and the continuation advice, the continuation report, and the
clinic's continuation settings.

Scoring, cycles and verdicts are the domain's (``bont.domain.outcomes``); this module reads and writes
through the ``OutcomeRecords`` port. Errors name the field and never repeat identifiers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from bont.domain.errors import FieldError, UnknownIdError
from bont.domain.indications import Indication
from bont.domain.knowledge import KnowledgeBase
from bont.domain.outcomes import (
    AcuteMedication,
    BladderDiaryDay,
    ContinuationDecision,
    ContinuationRule,
    HeadacheDiaryDay,
    Instrument,
    Measurement,
    PainFeature,
    ResponderDefinition,
    ResponderVerdict,
    Score,
    assign_cycles,
    evaluate_continuation,
    responder_status,
    score,
    summarise_bladder_diary,
    summarise_headache_diary,
)
from bont.services.documents import DECISION_SUPPORT_NOTICE
from bont.services.outcome_ports import (
    ContinuationSetting,
    GivenSession,
    NewOutcome,
    OutcomeHistory,
    OutcomeRecords,
    PatientIdentity,
    StoredAdverseEvent,
    StoredOutcome,
)
from bont.services.tokens import hash_token, new_token

HEADACHE = "headache"
BLADDER = "bladder"
DIARY_KINDS = (HEADACHE, BLADDER)
HEADACHE_WINDOW_DAYS = 28  # the counting period of the headache-day endpoints
BLADDER_WINDOW_DAYS = 7  # a bladder diary is kept for a few days in the week before the visit
# bont's completeness rules for a diary period (data quality, not a clinical threshold): fewer days
# recorded and the period gives no measurement.
HEADACHE_MINIMUM_DAYS = 20
BLADDER_MINIMUM_DAYS = 3
DIARY_INSTRUMENTS = {
    HEADACHE: ("headache-days", "migraine-days", "acute-medication-days"),
    BLADDER: ("ui-episodes-per-day", "voids-per-day"),
}
DIARY_LINK_DAYS = 120
RECENT_DIARY_DAYS = 14


def check_day(patient: PatientIdentity, day: date, field: str, today: date) -> None:
    """A day something happened to the patient: not in the future, not before their birth."""
    if day > today:
        raise FieldError(field, "is in the future")
    if day < patient.birth_date:
        raise FieldError(field, "is before the patient's birth")


# -- entering a scale


@dataclass(frozen=True)
class OutcomeForm:
    """What the record-an-outcome form offers for one patient and indication."""

    patient: PatientIdentity
    indication: Indication
    instruments: tuple[Instrument, ...]
    instrument: Instrument  # the one chosen, else the indication's first


def outcome_form(
    records: OutcomeRecords, knowledge: KnowledgeBase, mrn: str, indication_id: str, instrument_id: str | None
) -> OutcomeForm:
    """Raises ``UnknownPatientError``, or ``UnknownIdError`` for an indication that is not a known id."""
    patient = records.patient(mrn)
    if indication_id not in knowledge.indications:
        raise UnknownIdError("indication", indication_id, ())
    instruments = tuple(knowledge.instruments_for(indication_id))
    instrument = next((i for i in instruments if i.id == instrument_id), instruments[0])
    return OutcomeForm(patient, knowledge.indications[indication_id], instruments, instrument)


def record_outcome(
    records: OutcomeRecords,
    knowledge: KnowledgeBase,
    mrn: str,
    indication: str,
    instrument_id: str,
    on: date,
    raw: object,
    entered_by: str | None,
    today: date,
    period_start: date | None = None,
) -> int:
    """Validate and score one measurement, then store it; raises ``FieldError`` naming the field."""
    patient = records.patient(mrn)
    indication_id = knowledge.indication(indication).id
    instrument = knowledge.instrument(instrument_id)
    if indication_id not in instrument.indications:
        raise FieldError("instrument", f"{instrument.name} is not an outcome of this indication")
    check_day(patient, on, "measured_on", today)
    if period_start is not None and period_start > on:
        raise FieldError("period_start", "is after the day measured")
    scored = score(instrument, raw, field="value")
    return records.add_outcome(
        NewOutcome(patient.patient_id, indication_id, instrument.id, on, period_start, scored, entered_by or None)
    )


# -- withdrawing a measurement entered in error


@dataclass(frozen=True)
class OutcomeEntry:
    """A stored measurement as the chart lists it: withdrawn ones included, with who withdrew them and why."""

    id: int
    indication_id: str
    indication: str  # the names, for the page
    instrument: str
    measured_on: date
    value: str
    entered_by: str | None
    withdrawn_reason: str
    withdrawn_by: str | None
    instrument_id: str  # and what was scored, for a correction's form
    score: Score

    @property
    def withdrawn(self) -> bool:
        return bool(self.withdrawn_reason)


def _entry(knowledge: KnowledgeBase, stored: StoredOutcome) -> OutcomeEntry:
    indication = knowledge.indications.get(stored.indication)
    instrument = knowledge.instruments.get(stored.instrument)
    return OutcomeEntry(
        id=stored.id,
        indication_id=stored.indication,
        indication=indication.name if indication is not None else stored.indication,
        instrument=instrument.name if instrument is not None else stored.instrument,
        measured_on=stored.measured_on,
        value=str(stored.score),
        entered_by=stored.entered_by,
        withdrawn_reason=stored.withdrawn_reason or ("withdrawn" if stored.withdrawn else ""),
        withdrawn_by=stored.withdrawn_by,
        instrument_id=stored.instrument,
        score=stored.score,
    )


def outcome_entries(records: OutcomeRecords, knowledge: KnowledgeBase, mrn: str) -> tuple[OutcomeEntry, ...]:
    """Every measurement stored for the patient, withdrawn ones included, latest first; raises
    ``UnknownPatientError``."""
    return _entries(knowledge, records.outcomes(records.patient(mrn).patient_id))


def _entries(knowledge: KnowledgeBase, stored: tuple[StoredOutcome, ...]) -> tuple[OutcomeEntry, ...]:
    return tuple(_entry(knowledge, row) for row in sorted(stored, key=lambda o: (o.measured_on, o.id), reverse=True))


def outcome_entry(
    records: OutcomeRecords, knowledge: KnowledgeBase, outcome_id: int
) -> tuple[PatientIdentity, OutcomeEntry]:
    """One stored measurement and its patient; raises ``FieldError`` (field ``outcome``) when there is none."""
    stored = records.outcome(outcome_id)
    if stored is None:
        raise FieldError("outcome", "no outcome measurement with this id")
    return records.patient_by_id(stored.patient_id), _entry(knowledge, stored)


def withdraw_outcome(records: OutcomeRecords, outcome_id: int, reason: str, by: str | None = None) -> None:
    """Withdraw a measurement entered in error, with a written reason: it is kept, marked with who withdrew it
    and why, and no longer counts toward responders, continuation, follow-up or research. A wrong value or day is
    corrected with ``correct_outcome``. Refused, naming the field, with no reason, no such
    measurement, or one already withdrawn."""
    written = reason.strip()
    if not written:
        raise FieldError("reason", "give the reason the measurement is withdrawn")
    before = records.withdraw_outcome(outcome_id, written, by)
    if before is None:
        raise FieldError("outcome", "no outcome measurement with this id")
    if before:
        raise FieldError("outcome", "this measurement is already withdrawn")


CORRECTED = "corrected"  # how the withdrawal of a corrected measurement's wrong version begins


def correct_outcome(
    records: OutcomeRecords,
    knowledge: KnowledgeBase,
    outcome_id: int,
    on: date,
    raw: object,
    reason: str,
    by: str | None,
    today: date,
) -> int:
    """Correct a measurement entered wrongly, with a written reason: the right value (and day) is checked and
    scored by the same instrument first, then the wrong version is withdrawn ("corrected: <reason>", with who
    corrected it) and the right one stored in its place; returns the new measurement's id. Refused, naming the
    field and writing nothing: no reason, no such measurement, one already withdrawn, a day in the future or
    before the patient's birth, or a value the scale refuses."""
    written = reason.strip()
    if not written:
        raise FieldError("reason", "give the reason for the correction")
    stored = records.outcome(outcome_id)
    if stored is None:
        raise FieldError("outcome", "no outcome measurement with this id")
    if stored.withdrawn:
        raise FieldError("outcome", "this measurement is withdrawn; record a new one instead")
    check_day(records.patient_by_id(stored.patient_id), on, "measured_on", today)
    if stored.period_start is not None and stored.period_start > on:
        raise FieldError("measured_on", "is before the start of the period the measurement covers")
    scored = score(knowledge.instrument(stored.instrument), raw, field="value")
    replaced = records.replace_outcome(
        outcome_id,
        f"{CORRECTED}: {written}",
        by,
        NewOutcome(
            stored.patient_id, stored.indication, stored.instrument, on, stored.period_start, scored, by or None
        ),
    )
    if replaced is None:
        raise FieldError("outcome", "no outcome measurement with this id")
    if isinstance(replaced, str):  # withdrawn meanwhile by someone else: their withdrawal stands, nothing is added
        raise FieldError("outcome", "this measurement was withdrawn meanwhile; record a new one instead")
    return replaced


# -- diaries


# A yes/no left unticked: absent, posted empty, or stored as save_diary_day writes a no ("False" is a true string).
_NOT_TICKED = (None, False, "", "False")


def headache_entry(values: Mapping[str, Any], day: date) -> HeadacheDiaryDay:
    """A headache diary day from stored or posted values; raises ``FieldError`` naming the field."""
    try:
        minutes = int(values.get("headache_minutes") or 0)
        aura = int(values.get("aura_minutes") or 0)
    except (TypeError, ValueError):
        raise FieldError("headache_minutes", "is not a whole number of minutes") from None
    if not 0 <= minutes <= 1440 or not 0 <= aura <= 1440:
        raise FieldError("headache_minutes", "must be from 0 to 1440 minutes")
    try:
        features = frozenset(PainFeature(f) for f in values.get("features", ()))
        medication = AcuteMedication(values.get("acute_medication") or "none")
    except ValueError:
        raise FieldError("features", "holds a value the diary does not know") from None
    return HeadacheDiaryDay(
        day=day,
        headache_minutes=minutes,
        features=features,
        nausea_or_vomiting=values.get("nausea_or_vomiting") not in _NOT_TICKED,
        photophobia=values.get("photophobia") not in _NOT_TICKED,
        phonophobia=values.get("phonophobia") not in _NOT_TICKED,
        aura_minutes=aura,
        acute_medication=medication,
    )


def bladder_entry(values: Mapping[str, Any], day: date) -> BladderDiaryDay:
    """A bladder diary day from stored or posted values; raises ``FieldError`` naming the field."""
    try:
        voids = int(values.get("voids") or 0)
        leaks = int(values.get("incontinence_episodes") or 0)
    except (TypeError, ValueError):
        raise FieldError("voids", "is not a whole number") from None
    if not 0 <= voids <= 60:
        raise FieldError("voids", "must be from 0 to 60")
    if not 0 <= leaks <= 60:
        raise FieldError("incontinence_episodes", "must be from 0 to 60")
    return BladderDiaryDay(day, voids, leaks)


def _diary_entry(kind: str, values: Mapping[str, Any], day: date) -> HeadacheDiaryDay | BladderDiaryDay:
    return headache_entry(values, day) if kind == HEADACHE else bladder_entry(values, day)


def save_diary_day(
    records: OutcomeRecords, patient_id: int, kind: str, day: date, values: Mapping[str, Any], today: date
) -> None:
    """Store (or correct) one diary day; the values are validated first, a correction is a new version."""
    check_day(records.patient_by_id(patient_id), day, "day", today)
    entry = _diary_entry(kind, values, day)
    stored: dict[str, Any] = {
        key: (sorted(str(v) for v in value) if isinstance(value, frozenset) else str(value))
        for key, value in entry.__dict__.items()
        if key != "day"
    }
    records.save_diary_day(patient_id, kind, day, stored)


def create_diary_link(records: OutcomeRecords, mrn: str, kind: str, today: date) -> str:
    """A personal link token for the patient to fill a diary; returned once, only its hash is stored."""
    patient = records.patient(mrn)
    if kind not in DIARY_KINDS:
        raise FieldError("kind", f"must be one of {', '.join(DIARY_KINDS)}")
    token = new_token(24)
    records.add_diary_link(patient.patient_id, kind, hash_token(token), today + timedelta(days=DIARY_LINK_DAYS))
    return token


@dataclass(frozen=True)
class DiaryPage:
    """The patient's own diary page: the kind of diary, the first day it covers and the days already filled in;
    no identifier."""

    kind: str
    starts_on: date  # the day the link was made: a diary is kept as the days come, not recalled from long ago
    recent: tuple[date, ...]  # the latest days filled in, newest first


class DiaryDayTaken(FieldError):
    """The day already has an entry: the patient sees it and confirms before it is replaced (``replace``)."""

    def __init__(self, day: date, stored: Mapping[str, Any]) -> None:
        super().__init__("replace", f"{day:%A %d %B %Y} is already filled in: tick to replace it")
        self.day = day
        self.stored = stored


@dataclass(frozen=True)
class _OpenLink:
    patient_id: int
    kind: str
    starts_on: date


def _open_link(records: OutcomeRecords, token: str, today: date) -> _OpenLink | None:
    link = records.diary_link(hash_token(token))
    if link is None or link.revoked or link.expires_on < today:
        return None
    # A link is made for DIARY_LINK_DAYS (create_diary_link): it covers the days from the one it was made on.
    return _OpenLink(link.patient_id, link.kind, link.expires_on - timedelta(days=DIARY_LINK_DAYS))


def diary_page(records: OutcomeRecords, token: str, today: date) -> DiaryPage | None:
    """The diary page of a link, or ``None`` when the link is unknown, revoked or expired."""
    opened = _open_link(records, token, today)
    if opened is None:
        return None
    days = sorted(records.diary_days(opened.patient_id, opened.kind), reverse=True)
    return DiaryPage(opened.kind, opened.starts_on, tuple(days[:RECENT_DIARY_DAYS]))


def save_diary_entry(
    records: OutcomeRecords,
    token: str,
    day: date,
    values: Mapping[str, Any],
    today: date,
    *,
    replace_entry: bool = False,
) -> bool:
    """Store a day the patient entered through their link; ``False`` when the link no longer opens. Refused,
    naming the field, for a day before the link was made or after today, and with ``DiaryDayTaken`` for a day
    already filled in unless ``replace_entry`` confirms the change (the earlier entry stays in the history)."""
    opened = _open_link(records, token, today)
    if opened is None:
        return False
    if day < opened.starts_on:
        raise FieldError("day", f"is before this diary began on {opened.starts_on:%d %B %Y}")
    check_day(records.patient_by_id(opened.patient_id), day, "day", today)
    _diary_entry(opened.kind, values, day)  # wrong values are refused before the patient is asked to replace
    if not replace_entry:
        stored = records.diary_days(opened.patient_id, opened.kind).get(day)
        if stored is not None:
            raise DiaryDayTaken(day, stored)
    save_diary_day(records, opened.patient_id, opened.kind, day, values, today)
    return True


def diary_measurements(
    knowledge: KnowledgeBase, days: Mapping[date, Mapping[str, Any]], kind: str, sessions: tuple[date, ...], today: date
) -> list[Measurement]:
    """The diary summarised over the period before each session (the baseline and each cycle's end) and
    over the latest period, when enough days of it were kept."""
    if not days:
        return []
    length, minimum = (
        (HEADACHE_WINDOW_DAYS, HEADACHE_MINIMUM_DAYS)
        if kind == HEADACHE
        else (BLADDER_WINDOW_DAYS, BLADDER_MINIMUM_DAYS)
    )
    measurements: list[Measurement] = []
    for end in sorted({*sessions, min(max(days), today)}):
        start = end - timedelta(days=length - 1)
        kept = [(day, values) for day, values in days.items() if start <= day <= end]
        if len(kept) < minimum:
            continue
        if kind == HEADACHE:
            rules = knowledge.headache_day_rules
            if rules is None:
                continue
            summary = summarise_headache_diary([headache_entry(v, d) for d, v in kept], start, end, rules)
            measurements += summary.measurements()
        else:
            measurements += summarise_bladder_diary([bladder_entry(v, d) for d, v in kept]).measurements()
    return measurements


# -- outcomes per indication


def clinic_rules(
    knowledge: KnowledgeBase, settings: Mapping[str, ContinuationSetting], indication: str
) -> tuple[ContinuationRule, ...]:
    """bont's cited continuation rules for the indication, as this clinic has configured them."""
    rules = []
    for rule in knowledge.continuation_rules_for(indication):
        setting = settings.get(rule.id)
        if setting is None:
            rules.append(rule)
            continue
        if not setting.enabled:
            continue
        rules.append(
            replace(
                rule,
                threshold=setting.threshold if setting.threshold is not None else rule.threshold,
                cycles=setting.cycles if setting.cycles is not None else rule.cycles,
                months=setting.months if setting.months is not None else rule.months,
                description=f"{rule.description} — clinic setting: {setting.reason}",
            )
        )
    return tuple(rules)


def configure_continuation_rule(
    records: OutcomeRecords,
    knowledge: KnowledgeBase,
    rule: str,
    reason: str,
    threshold: Decimal | None = None,
    cycles: int | None = None,
    months: int | None = None,
    enabled: bool = True,
) -> None:
    """Set the clinic's version of one of bont's cited continuation rules; raises ``FieldError``."""
    known = [r.id for r in knowledge.continuation_rules]
    if rule not in known:
        raise FieldError("rule", f"unknown; one of {', '.join(known)}")
    if not reason.strip():
        raise FieldError("reason", "say why the clinic's rule differs")
    if threshold is not None and not 0 < threshold <= 100:
        raise FieldError("threshold", "must be more than 0 and at most 100")
    records.set_continuation(ContinuationSetting(rule, enabled, threshold, cycles, months, reason))


@dataclass(frozen=True)
class Judgement:
    """One responder definition applied to every cycle."""

    definition: ResponderDefinition
    verdicts: tuple[ResponderVerdict, ...]

    @property
    def latest(self) -> ResponderVerdict | None:
        """The latest cycle with a follow-up measurement (a cycle just begun has none yet)."""
        measured = [v for v in self.verdicts if v.follow_up is not None]
        return measured[-1] if measured else (self.verdicts[-1] if self.verdicts else None)


@dataclass(frozen=True)
class OutcomeSeries:
    """One instrument's measurements for one indication, each with its cycle, and what they mean."""

    instrument: Instrument
    points: tuple[tuple[Measurement, int | None], ...]
    judgements: tuple[Judgement, ...]  # the first is the indication's main definition for this instrument
    continuation: tuple[ContinuationDecision, ...]

    @property
    def latest_verdict(self) -> ResponderVerdict | None:
        return self.judgements[0].latest if self.judgements else None


@dataclass(frozen=True)
class IndicationOutcomes:
    indication: Indication
    sessions: tuple[date, ...]
    series: tuple[OutcomeSeries, ...]


class _PatientOutcomeData:
    """One patient's sessions, measurements, diaries and the clinic's settings, each read once (or given, read
    in bulk)."""

    def __init__(
        self,
        records: OutcomeRecords,
        patient_id: int,
        history: OutcomeHistory | None = None,
        settings: dict[str, ContinuationSetting] | None = None,
        stored_outcomes: tuple[StoredOutcome, ...] | None = None,
    ) -> None:
        self.records = records
        self.patient_id = patient_id
        self.sessions = records.sessions(patient_id) if history is None else history.sessions
        stored = history.outcomes if history is not None else stored_outcomes
        if stored is None:
            stored = records.outcomes(patient_id)
        self.outcomes = tuple(o for o in stored if not o.withdrawn)
        self._history = history
        self._diaries: dict[str, dict[date, dict[str, Any]]] = {}
        self._settings = settings

    def diary(self, kind: str) -> dict[date, dict[str, Any]]:
        if kind not in self._diaries:
            self._diaries[kind] = (
                self.records.diary_days(self.patient_id, kind)
                if self._history is None
                else dict(self._history.diaries.get(kind, {}))
            )
        return self._diaries[kind]

    @property
    def settings(self) -> dict[str, ContinuationSetting]:
        if self._settings is None:
            self._settings = self.records.continuation_settings()
        return self._settings


def _indication_outcomes(
    knowledge: KnowledgeBase, data: _PatientOutcomeData, indication_id: str, today: date
) -> IndicationOutcomes:
    indication = knowledge.indication(indication_id)
    sessions = tuple(sorted({s.on for s in data.sessions if s.indication == indication.id}))
    by_instrument: dict[str, list[Measurement]] = {}
    for row in data.outcomes:
        if row.indication == indication.id:
            by_instrument.setdefault(row.instrument, []).append(
                Measurement(row.measured_on, row.score, row.period_start)
            )
    instruments = knowledge.instruments_for(indication.id)
    measured_here = {i.id for i in instruments}
    for kind, produced in DIARY_INSTRUMENTS.items():
        if measured_here & set(produced):
            for measurement in diary_measurements(knowledge, data.diary(kind), kind, sessions, today):
                if measurement.score.instrument in measured_here:
                    by_instrument.setdefault(measurement.score.instrument, []).append(measurement)
    series = []
    for instrument in instruments:
        measured = sorted(by_instrument.get(instrument.id, []), key=lambda m: m.on)
        if not measured:
            continue
        judgements = tuple(
            Judgement(definition, responder_status(definition, instrument, sessions, measured))
            for definition in knowledge.responder_definitions_for(indication.id)
            if definition.instrument == instrument.id
        )
        decisions = tuple(
            evaluate_continuation(rule, instrument, sessions, measured)
            for rule in clinic_rules(knowledge, data.settings, indication.id)
            if rule.instrument == instrument.id
        )
        series.append(
            OutcomeSeries(
                instrument=instrument,
                points=tuple((a.measurement, a.cycle) for a in assign_cycles(sessions, measured)),
                judgements=judgements,
                continuation=decisions,
            )
        )
    return IndicationOutcomes(indication, sessions, tuple(series))


def outcomes_of_patient(
    records: OutcomeRecords,
    knowledge: KnowledgeBase,
    patient_id: int,
    today: date,
    history: OutcomeHistory | None = None,
    settings: dict[str, ContinuationSetting] | None = None,
) -> list[IndicationOutcomes]:
    """Outcomes for every indication the patient (by id) is treated for or has measurements in; from
    ``history`` and ``settings`` when they were read already (in bulk), else read now."""
    return _outcomes_of(knowledge, _PatientOutcomeData(records, patient_id, history, settings), today)


def _outcomes_of(knowledge: KnowledgeBase, data: _PatientOutcomeData, today: date) -> list[IndicationOutcomes]:
    treated = {s.indication for s in data.sessions}
    measured = {o.indication for o in data.outcomes}
    return [
        _indication_outcomes(knowledge, data, indication, today)
        for indication in sorted(treated | measured)
        if indication in knowledge.indications
    ]


def patient_outcomes(
    records: OutcomeRecords, knowledge: KnowledgeBase, mrn: str, today: date
) -> list[IndicationOutcomes]:
    """Outcomes for every indication the patient is treated for or has measurements in (the chart's
    outcome sections, ``bont outcome show``); raises ``UnknownPatientError``."""
    return outcomes_of_patient(records, knowledge, records.patient(mrn).patient_id, today)


def chart_outcomes(
    records: OutcomeRecords, knowledge: KnowledgeBase, mrn: str, today: date
) -> tuple[tuple[OutcomeEntry, ...], list[IndicationOutcomes]]:
    """The chart's measurements (``outcome_entries``) and outcome sections (``patient_outcomes``) from one read
    of the patient and of their measurements; raises ``UnknownPatientError``."""
    patient_id = records.patient(mrn).patient_id
    stored = records.outcomes(patient_id)
    data = _PatientOutcomeData(records, patient_id, stored_outcomes=stored)
    return _entries(knowledge, stored), _outcomes_of(knowledge, data, today)


# -- the continuation report


@dataclass(frozen=True)
class CyclePoint:
    on: date
    cycle: int | None  # 0 is the baseline; None before the first session
    value: str


@dataclass(frozen=True)
class ReportMeasure:
    series: OutcomeSeries
    instrument: Instrument
    baseline: Measurement | None
    latest: Measurement | None
    cycles: tuple[CyclePoint, ...]
    judgements: tuple[Judgement, ...]
    continuation: tuple[ContinuationDecision, ...]


@dataclass(frozen=True)
class ReportDose:
    on: date
    brand: str
    units: Decimal
    verdict: str


@dataclass(frozen=True)
class ContinuationReport:
    """Baseline against the latest, the trend per cycle, the doses, adverse events and the responder verdict
    with its source: what a clinician sends with a continuation request."""

    patient: PatientIdentity
    indication: Indication
    today: date
    sessions: tuple[date, ...]
    measures: tuple[ReportMeasure, ...]
    doses: tuple[ReportDose, ...]
    adverse_events: tuple[StoredAdverseEvent, ...]
    notice: str


def continuation_report(
    records: OutcomeRecords, knowledge: KnowledgeBase, mrn: str, indication_id: str, today: date
) -> ContinuationReport:
    """Raises ``UnknownPatientError``, or ``UnknownIdError`` for an indication that is not a known id."""
    patient = records.patient(mrn)
    if indication_id not in knowledge.indications:
        raise UnknownIdError("indication", indication_id, ())
    data = _PatientOutcomeData(records, patient.patient_id)
    outcomes = _indication_outcomes(knowledge, data, indication_id, today)
    brands = {p.id: p.brand for p in knowledge.products.values()}
    measures = []
    for series in outcomes.series:
        measures.append(
            ReportMeasure(
                series=series,
                instrument=series.instrument,
                baseline=next((m for m, cycle in series.points if cycle == 0), None),
                latest=series.points[-1][0] if series.points else None,
                cycles=tuple(CyclePoint(m.on, cycle, str(m.score)) for m, cycle in series.points),
                judgements=series.judgements,
                continuation=series.continuation,
            )
        )
    given: list[GivenSession] = [s for s in data.sessions if s.indication == outcomes.indication.id]
    return ContinuationReport(
        patient=patient,
        indication=outcomes.indication,
        today=today,
        sessions=outcomes.sessions,
        measures=tuple(measures),
        doses=tuple(ReportDose(s.on, brands.get(s.product, s.product), s.total_units, s.verdict) for s in given),
        adverse_events=records.adverse_events(patient.patient_id, outcomes.indication.id),
        notice=DECISION_SUPPORT_NOTICE,
    )


__all__ = [
    "BLADDER",
    "DIARY_INSTRUMENTS",
    "DIARY_KINDS",
    "HEADACHE",
    "ContinuationReport",
    "CyclePoint",
    "DiaryDayTaken",
    "DiaryPage",
    "IndicationOutcomes",
    "Judgement",
    "OutcomeEntry",
    "OutcomeForm",
    "OutcomeSeries",
    "ReportDose",
    "ReportMeasure",
    "bladder_entry",
    "clinic_rules",
    "configure_continuation_rule",
    "continuation_report",
    "correct_outcome",
    "create_diary_link",
    "diary_measurements",
    "diary_page",
    "headache_entry",
    "outcome_entries",
    "outcome_entry",
    "outcome_form",
    "outcomes_of_patient",
    "patient_outcomes",
    "record_outcome",
    "save_diary_day",
    "save_diary_entry",
    "withdraw_outcome",
]
