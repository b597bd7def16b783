"""Outcomes on the clinic's records: entering a scale or a diary day, the diary summaries per cycle, and
each patient's outcomes per indication with the responder verdicts and the continuation advice.

Scoring, cycles and verdicts are the domain's (``bont.domain.outcomes``); this module reads and writes the
rows around them. Errors never repeat identifiers.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q

from bont.clinic import models
from bont.clinic.registry import RecordsError, check_day, hash_token, patient_by_mrn
from bont.domain.errors import FieldError
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

HEADACHE_WINDOW_DAYS = 28  # the counting period of the headache-day endpoints
BLADDER_WINDOW_DAYS = 7  # a bladder diary is kept for a few days in the week before the visit
# bont's completeness rules for a diary period (data quality, not a clinical threshold): fewer days
# recorded and the period gives no measurement.
HEADACHE_MINIMUM_DAYS = 20
BLADDER_MINIMUM_DAYS = 3
DIARY_INSTRUMENTS = {
    models.DiaryDay.Kind.HEADACHE: ("headache-days", "migraine-days", "acute-medication-days"),
    models.DiaryDay.Kind.BLADDER: ("ui-episodes-per-day", "voids-per-day"),
}
DIARY_LINK_DAYS = 120


def record_outcome(
    knowledge: KnowledgeBase,
    mrn: str,
    indication: str,
    instrument_id: str,
    on: date,
    raw: object,
    entered_by: str | None,
    period_start: date | None = None,
) -> int:
    """Validate and score one measurement, then store it; raises ``FieldError`` naming the field."""
    patient = patient_by_mrn(mrn)
    indication_id = knowledge.indication(indication).id
    instrument = knowledge.instrument(instrument_id)
    if indication_id not in instrument.indications:
        raise RecordsError("instrument", f"{instrument.name} is not an outcome of this indication")
    check_day(patient, on, "measured_on")
    if period_start is not None and period_start > on:
        raise RecordsError("period_start", "is after the day measured")
    scored = score(instrument, raw, field="value")
    user = None
    if entered_by:
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.filter(username=entered_by).first()
    row = models.OutcomeRecord.objects.create(
        patient=patient,
        indication=indication_id,
        instrument=instrument.id,
        measured_on=on,
        period_start=period_start,
        value=scored.value,
        grade=scored.grade or "",
        rank=scored.rank,
        band=scored.band or "",
        items=dict(scored.items),
        entered_by=user,
    )
    return int(row.pk)


def _score(row: models.OutcomeRecord) -> Score:
    return Score(
        row.instrument,
        value=row.value,
        grade=row.grade or None,
        rank=row.rank,
        band=row.band or None,
        items=tuple((key, int(value)) for key, value in row.items.items()),
    )


# -- diaries


def headache_entry(values: dict[str, Any], day: date) -> HeadacheDiaryDay:
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
        nausea_or_vomiting=bool(values.get("nausea_or_vomiting")),
        photophobia=bool(values.get("photophobia")),
        phonophobia=bool(values.get("phonophobia")),
        aura_minutes=aura,
        acute_medication=medication,
    )


def bladder_entry(values: dict[str, Any], day: date) -> BladderDiaryDay:
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


def save_diary_day(patient: models.Patient, kind: str, day: date, values: dict[str, Any]) -> None:
    """Store (or correct) one diary day; the values are validated first, a correction is a new version."""
    check_day(patient, day, "day")
    entry = headache_entry(values, day) if kind == models.DiaryDay.Kind.HEADACHE else bladder_entry(values, day)
    stored: dict[str, Any] = {
        key: (sorted(str(v) for v in value) if isinstance(value, frozenset) else str(value))
        for key, value in entry.__dict__.items()
        if key != "day"
    }
    with transaction.atomic():
        models.DiaryDay.objects.update_or_create(patient=patient, kind=kind, day=day, defaults={"entry": stored})


def _diary_days(patient: models.Patient, kind: str) -> dict[date, dict[str, Any]]:
    return {row.day: row.entry for row in patient.diary_days.filter(kind=kind)}


def diary_measurements(
    knowledge: KnowledgeBase, patient: models.Patient, kind: str, sessions: tuple[date, ...], today: date
) -> list[Measurement]:
    """The diary summarised over the period before each session (the baseline and each cycle's end) and
    over the latest period, when enough days of it were kept."""
    days = _diary_days(patient, kind)
    if not days:
        return []
    length, minimum = (
        (HEADACHE_WINDOW_DAYS, HEADACHE_MINIMUM_DAYS)
        if kind == models.DiaryDay.Kind.HEADACHE
        else (BLADDER_WINDOW_DAYS, BLADDER_MINIMUM_DAYS)
    )
    measurements: list[Measurement] = []
    for end in sorted({*sessions, min(max(days), today)}):
        start = end - timedelta(days=length - 1)
        kept = [(day, values) for day, values in days.items() if start <= day <= end]
        if len(kept) < minimum:
            continue
        if kind == models.DiaryDay.Kind.HEADACHE:
            rules = knowledge.headache_day_rules
            if rules is None:
                continue
            summary = summarise_headache_diary([headache_entry(v, d) for d, v in kept], start, end, rules)
            measurements += summary.measurements()
        else:
            measurements += summarise_bladder_diary([bladder_entry(v, d) for d, v in kept]).measurements()
    return measurements


def create_diary_link(mrn: str, kind: str, today: date) -> str:
    """A personal link token for the patient to fill a diary; returned once, only its hash is stored."""
    patient = patient_by_mrn(mrn)
    if kind not in models.DiaryDay.Kind.values:
        raise RecordsError("kind", f"must be one of {', '.join(models.DiaryDay.Kind.values)}")
    token = secrets.token_urlsafe(24)
    models.DiaryLink.objects.create(
        patient=patient, kind=kind, key_hash=hash_token(token), expires_on=today + timedelta(days=DIARY_LINK_DAYS)
    )
    return token


def diary_link(token: str, today: date) -> models.DiaryLink | None:
    link = models.DiaryLink.objects.select_related("patient").filter(key_hash=hash_token(token)).first()
    if link is None or link.revoked or link.expires_on < today:
        return None
    return link


# -- outcomes per indication


def clinic_rules(knowledge: KnowledgeBase, indication: str) -> tuple[ContinuationRule, ...]:
    """bont's cited continuation rules for the indication, as this clinic has configured them."""
    settings = {s.rule: s for s in models.ContinuationSetting.objects.all()}
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


def indication_outcomes(
    knowledge: KnowledgeBase, patient: models.Patient, indication_id: str, today: date
) -> IndicationOutcomes:
    indication = knowledge.indication(indication_id)
    sessions = tuple(
        sorted(
            set(patient.sessions.filter(indication=indication.id, withdrawn_reason="").values_list("date", flat=True))
        )
    )
    by_instrument: dict[str, list[Measurement]] = {}
    for row in patient.outcomes.filter(indication=indication.id, withdrawn_reason="").order_by("measured_on", "pk"):
        by_instrument.setdefault(row.instrument, []).append(Measurement(row.measured_on, _score(row), row.period_start))
    instruments = knowledge.instruments_for(indication.id)
    measured_here = {i.id for i in instruments}
    for kind, produced in DIARY_INSTRUMENTS.items():
        if measured_here & set(produced):
            for measurement in diary_measurements(knowledge, patient, kind, sessions, today):
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
            for rule in clinic_rules(knowledge, indication.id)
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


def patient_outcomes(knowledge: KnowledgeBase, patient: models.Patient, today: date) -> list[IndicationOutcomes]:
    """Outcomes for every indication the patient is treated for or has measurements in."""
    treated = set(patient.sessions.filter(withdrawn_reason="").values_list("indication", flat=True))
    measured = set(patient.outcomes.filter(withdrawn_reason="").values_list("indication", flat=True))
    return [
        indication_outcomes(knowledge, patient, indication, today)
        for indication in sorted(treated | measured)
        if indication in knowledge.indications
    ]


def responder_rates(knowledge: KnowledgeBase, today: date) -> list[dict[str, Any]]:
    """De-identified: per indication and instrument, how many patients' latest verdict is responder,
    non-responder or not assessable. No names, record numbers or dates."""
    counts: dict[tuple[str, str], dict[str, int]] = {}
    patients = models.Patient.objects.filter(Q(outcomes__isnull=False) | Q(diary_days__isnull=False)).distinct()
    for patient in patients.iterator():
        for outcomes in patient_outcomes(knowledge, patient, today):
            for series in outcomes.series:
                verdict = series.latest_verdict
                if verdict is None:
                    continue
                tally = counts.setdefault((outcomes.indication.name, series.instrument.name), {})
                tally[str(verdict.status)] = tally.get(str(verdict.status), 0) + 1
    rows = []
    for (indication, instrument), tally in sorted(counts.items()):
        judged = tally.get("responder", 0) + tally.get("non-responder", 0)
        rows.append(
            {
                "indication": indication,
                "instrument": instrument,
                "responders": tally.get("responder", 0),
                "non_responders": tally.get("non-responder", 0),
                "not_assessable": tally.get("not-assessable", 0),
                "rate": None if judged == 0 else round(Decimal(100) * tally.get("responder", 0) / judged),
            }
        )
    return rows


def follow_up_list(knowledge: KnowledgeBase, today: date, assessment_after_days: int = 42) -> list[dict[str, Any]]:
    """Patients due (or overdue) for a follow-up assessment: treated at least ``assessment_after_days`` ago
    (a clinic setting) with no outcome measured since the session, and patients whose next session is due."""
    from bont.clinic.repositories import patient_snapshot
    from bont.services.next_session import next_sessions

    rows = []
    for patient in models.Patient.objects.order_by("family_name", "given_name"):
        last_by_indication: dict[str, date] = {}
        for indication, day in patient.sessions.filter(withdrawn_reason="").values_list("indication", "date"):
            last_by_indication[indication] = max(day, last_by_indication.get(indication, day))
        if not last_by_indication:
            continue
        snapshot, history = patient_snapshot(patient, today)
        allowed_now = [n for n in next_sessions(knowledge, snapshot, history, today) if n.earliest == today]
        for indication, last in sorted(last_by_indication.items()):
            measured_since = patient.outcomes.filter(indication=indication, measured_on__gt=last).exists() or any(
                day > last for day in _diary_days_for(patient, indication, knowledge)
            )
            assessment_due = last + timedelta(days=assessment_after_days)
            if not measured_since and assessment_due <= today:
                rows.append(_follow_up(patient, knowledge, indication, "assessment", assessment_due, today))
        for allowed in allowed_now:
            # The chart's answer: the check does not block repeating the last session today.
            row = _follow_up(patient, knowledge, allowed.indication, "next session", today, today)
            row.update(brand=knowledge.products[allowed.product].brand, recommended=allowed.recommended)
            rows.append(row)
    return sorted(rows, key=lambda r: r["due"])


def _diary_days_for(patient: models.Patient, indication: str, knowledge: KnowledgeBase) -> Iterable[date]:
    ids = {i.id for i in knowledge.instruments_for(indication)} if indication in knowledge.indications else set()
    kinds = [kind for kind, produced in DIARY_INSTRUMENTS.items() if ids & set(produced)]
    return patient.diary_days.filter(kind__in=kinds).values_list("day", flat=True)


def _follow_up(
    patient: models.Patient, knowledge: KnowledgeBase, indication: str, what: str, due: date, today: date
) -> dict[str, Any]:
    return {
        "patient": patient,
        "indication": knowledge.indications[indication].name if indication in knowledge.indications else indication,
        "indication_id": indication,
        "what": what,
        "due": due,
        "overdue_days": (today - due).days,
    }


def continuation_report(
    knowledge: KnowledgeBase, patient: models.Patient, indication_id: str, today: date
) -> dict[str, Any]:
    """The continuation report: baseline against the latest, the trend per cycle, the doses, adverse events
    and the responder verdict with its source: what a clinician sends with a continuation request."""
    outcomes = indication_outcomes(knowledge, patient, indication_id, today)
    sessions = patient.sessions.filter(indication=outcomes.indication.id, withdrawn_reason="").order_by("date")
    brands = {p.id: p.brand for p in knowledge.products.values()}
    measures = []
    for series in outcomes.series:
        cycles = []
        for measurement, cycle in series.points:
            cycles.append({"on": measurement.on, "cycle": cycle, "value": str(measurement.score)})
        judgements = [
            {
                "definition": judgement.definition,
                "verdicts": [v for v in judgement.verdicts if v.follow_up is not None],
                "latest": judgement.latest,
            }
            for judgement in series.judgements
        ]
        baseline = next((m for m, cycle in series.points if cycle == 0), None)
        latest = series.points[-1][0] if series.points else None
        measures.append(
            {
                "series": series,
                "instrument": series.instrument,
                "baseline": baseline,
                "latest": latest,
                "cycles": cycles,
                "judgements": judgements,
                "continuation": series.continuation,
            }
        )
    return {
        "patient": patient,
        "indication": outcomes.indication,
        "today": today,
        "sessions": outcomes.sessions,
        "measures": measures,
        "doses": [{"session": s, "brand": brands.get(s.product, s.product), "units": s.total_units} for s in sessions],
        "adverse_events": patient.adverse_events.filter(suspected_session__indication=outcomes.indication.id).order_by(
            "onset"
        ),
        "notice": DECISION_SUPPORT_NOTICE,
    }


def continuation_document(
    knowledge: KnowledgeBase, patient: models.Patient, indication_id: str, today: date
) -> dict[str, Any]:
    """The continuation report as plain text values, for the PDF renderer."""
    data = continuation_report(knowledge, patient, indication_id, today)
    return {
        "title": f"Continuation report: {data['indication'].name}",
        "patient": f"{patient.family_name}, {patient.given_name} · MRN {patient.mrn} · "
        f"born {patient.birth_date:%Y-%m-%d}",
        "generated": f"{data['today']:%Y-%m-%d}",
        "notice": data["notice"],
        "measures": [
            {
                "name": m["instrument"].name,
                "direction": str(m["instrument"].direction),
                "baseline": f"{m['baseline'].score} on {m['baseline'].on:%Y-%m-%d}" if m["baseline"] else "none",
                "latest": f"{m['latest'].score} on {m['latest'].on:%Y-%m-%d}" if m["latest"] else "none",
                "cycles": [
                    (f"{c['on']:%Y-%m-%d}", "baseline" if c["cycle"] == 0 else str(c["cycle"] or "—"), c["value"])
                    for c in m["cycles"]
                ],
                "verdicts": [
                    f"{j['latest'].status}: {j['latest'].reason}" for j in m["judgements"] if j["latest"] is not None
                ],
                "continuation": [f"{d.advice}: {d.reason}" for d in m["continuation"]],
            }
            for m in data["measures"]
        ],
        "doses": [
            (f"{d['session'].date:%Y-%m-%d}", d["brand"], f"{d['units'].normalize():f} U", d["session"].verdict)
            for d in data["doses"]
        ],
        "adverse_events": [
            (f"{e.onset:%Y-%m-%d}", e.event, e.severity, e.outcome or "—") for e in data["adverse_events"]
        ],
    }
