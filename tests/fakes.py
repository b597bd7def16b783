"""In-memory fakes of the services' ports: they subclass the port, keep their state in dictionaries, and
behave as the Django adapters do (a unit of work commits on success and rolls back on an error or when
asked), so the services can be tested without a database."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import TracebackType
from typing import Any

from bont.bootstrap import build_knowledge
from bont.domain.canvas import SitePosition
from bont.domain.knowledge import KnowledgeBase
from bont.domain.safety import Administration, Patient, PriorAdverseEvent
from bont.domain.studies import (
    EvidenceMap,
    Origin,
    Study,
    StudyFilter,
    Trial,
    TrialFilter,
    evidence_map,
    query_words,
    strongest_first,
)
from bont.services.access_log import (
    NO_OPERATOR,
    Access,
    AccessEntry,
    AccessLog,
    Action,
    AuditKind,
    AuditQuery,
    AuditRow,
)
from bont.services.evidence_library import Found, StudyLibrary
from bont.services.follow_up import (
    AssessmentDue,
    FollowUpRecords,
    IndicationFollowUp,
    TreatedChart,
    follow_up_summaries,
)
from bont.services.outcome_ports import (
    ContinuationSetting,
    GivenSession,
    NewOutcome,
    OutcomeHistory,
    OutcomeRecords,
    PatientIdentity,
    SessionCount,
    StoredAdverseEvent,
    StoredDiaryLink,
    StoredOutcome,
    StoredVerdicts,
    VerdictTally,
)
from bont.services.ports import (
    ClinicalRecords,
    PatientCharts,
    SessionRecord,
    StoredSession,
    UnknownPatientError,
    VialState,
)
from bont.services.research import latest_verdicts, verdict_basis


@dataclass
class FakeClinic:
    """The clinic's records: patients by id (with their MRN), their history, adverse events, vials, sessions and
    clinicians."""

    patients: dict[int, tuple[str, Patient]] = field(default_factory=dict)
    history: dict[int, list[Administration]] = field(default_factory=dict)
    vials: dict[int, VialState] = field(default_factory=dict)
    sessions: list[SessionRecord] = field(default_factory=list)
    clinicians: set[str] = field(default_factory=set)
    nurses: set[str] = field(default_factory=set)
    adverse_events: dict[int, list[PriorAdverseEvent]] = field(default_factory=dict)
    withdrawn: dict[int, tuple[str, str | None]] = field(default_factory=dict)  # session id -> (reason, by)

    def add_patient(self, mrn: str, patient: Patient, history: tuple[Administration, ...] = ()) -> int:
        patient_id = len(self.patients) + 1
        self.patients[patient_id] = (mrn, patient)
        self.history[patient_id] = list(history)
        return patient_id

    def add_adverse_event(self, patient_id: int, event: PriorAdverseEvent) -> None:
        self.adverse_events.setdefault(patient_id, []).append(event)

    def events_until(self, patient_id: int, on: date) -> tuple[PriorAdverseEvent, ...]:
        return tuple(sorted((e for e in self.adverse_events.get(patient_id, []) if e.on <= on), key=lambda e: e.on))


class FakeClinicalRecords(ClinicalRecords):
    def __init__(self, clinic: FakeClinic) -> None:
        self.clinic = clinic
        self._saved: FakeClinic | None = None
        self._rollback = False

    def __enter__(self) -> FakeClinicalRecords:
        self._saved = copy.deepcopy(self.clinic)
        self._rollback = False
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if (kind is not None or self._rollback) and self._saved is not None:
            self.clinic.__dict__.update(self._saved.__dict__)
        self._saved = None

    def lock_patient(self, patient_id: int, on: date) -> tuple[Patient, tuple[Administration, ...]]:
        _, patient = self.clinic.patients[patient_id]
        return patient, tuple(self.clinic.history[patient_id])

    def prior_adverse_events(self, patient_id: int, on: date) -> tuple[PriorAdverseEvent, ...]:
        return self.clinic.events_until(patient_id, on)

    def lock_vials(self, vial_ids: tuple[int, ...]) -> dict[int, VialState]:
        return {vial_id: self.clinic.vials[vial_id] for vial_id in vial_ids if vial_id in self.clinic.vials}

    def open_vial(self, vial_id: int, at: datetime, diluent_ml: Decimal | None) -> None:
        self.clinic.vials[vial_id] = replace(self.clinic.vials[vial_id], state="reconstituted", reconstituted_at=at)

    def add_session(self, record: SessionRecord) -> int:
        self.clinic.sessions.append(record)
        self.clinic.history[record.patient_id].append(_given(record))
        for vial_id, units in record.draws:  # carried draws were taken from their vials once already
            vial = self.clinic.vials[vial_id]
            self.clinic.vials[vial_id] = replace(vial, units_drawn=vial.units_drawn + units)
        return len(self.clinic.sessions)

    def lock_session(self, session_id: int) -> StoredSession | None:
        if not 1 <= session_id <= len(self.clinic.sessions):
            return None
        record = self.clinic.sessions[session_id - 1]
        discarded = sum((units for _, units in record.discards), record.carried_discarded)
        return StoredSession(
            session_id,
            record.patient_id,
            record.product,
            self.clinic.withdrawn.get(session_id, ("", None))[0],
            (*record.draws, *record.carried_draws),
            discarded,
        )

    def withdraw_session(self, session_id: int, reason: str, by: str | None) -> None:
        record = self.clinic.sessions[session_id - 1]
        self.clinic.withdrawn[session_id] = (reason, by)
        self.clinic.history[record.patient_id].remove(_given(record))

    def discard_changes(self) -> None:
        self._rollback = True

    def user_may_override(self, username: str) -> bool:
        return username in self.clinic.clinicians

    def may_inject(self, username: str) -> bool:
        return username in self.clinic.clinicians | self.clinic.nurses


def _given(record: SessionRecord) -> Administration:
    return Administration(record.on, record.product, record.indication, record.total_units, record.protocol)


class FakePatientCharts(PatientCharts):
    def __init__(self, clinic: FakeClinic) -> None:
        self.clinic = clinic

    def chart(self, mrn: str, on: date) -> tuple[Patient, tuple[Administration, ...]]:
        for patient_id, (known, patient) in self.clinic.patients.items():
            if known == mrn:
                return patient, tuple(self.clinic.history[patient_id])
        raise UnknownPatientError()

    def prior_adverse_events(self, mrn: str, on: date) -> tuple[PriorAdverseEvent, ...]:
        for patient_id, (known, _) in self.clinic.patients.items():
            if known == mrn:
                return self.clinic.events_until(patient_id, on)
        raise UnknownPatientError()


# -- outcomes, diaries, continuation settings and the registry (bont.services.outcome_ports)


@dataclass
class FakeOutcomeClinic:
    """Patients by id, their sessions, measurements, diaries and adverse events, the diary links by token
    hash, and the clinic's continuation settings."""

    patients: dict[int, PatientIdentity] = field(default_factory=dict)
    sessions: dict[int, list[GivenSession]] = field(default_factory=dict)
    outcomes: dict[int, list[StoredOutcome]] = field(default_factory=dict)
    diaries: dict[tuple[int, str], dict[date, dict[str, Any]]] = field(default_factory=dict)
    links: dict[str, StoredDiaryLink] = field(default_factory=dict)
    settings: dict[str, ContinuationSetting] = field(default_factory=dict)
    adverse_events: dict[int, list[tuple[str, StoredAdverseEvent]]] = field(default_factory=dict)
    entered_by: dict[int, str | None] = field(default_factory=dict)  # outcome id -> username
    verdict_basis: str | None = None  # what the stored verdicts were judged with, when not the fake's knowledge

    def add_patient(self, mrn: str, birth_date: date, given_name: str = "Fictional", family_name: str = "Fake") -> int:
        patient_id = len(self.patients) + 1
        self.patients[patient_id] = PatientIdentity(patient_id, mrn, given_name, family_name, birth_date)
        return patient_id

    def add_session(self, patient_id: int, session: GivenSession) -> None:
        self.sessions.setdefault(patient_id, []).append(session)


class FakeOutcomeRecords(OutcomeRecords):
    def __init__(self, clinic: FakeOutcomeClinic, knowledge: KnowledgeBase | None = None) -> None:
        self.clinic = clinic
        self.knowledge = knowledge  # what the stored verdicts are judged with (``verdict_tallies``)

    def patient(self, mrn: str) -> PatientIdentity:
        for patient in self.clinic.patients.values():
            if patient.mrn == mrn:
                return patient
        raise UnknownPatientError()

    def patient_by_id(self, patient_id: int) -> PatientIdentity:
        return self.clinic.patients[patient_id]

    def patients(self) -> tuple[PatientIdentity, ...]:
        return tuple(sorted(self.clinic.patients.values(), key=lambda p: (p.family_name, p.given_name)))

    def sessions(self, patient_id: int) -> tuple[GivenSession, ...]:
        return tuple(sorted(self.clinic.sessions.get(patient_id, []), key=lambda s: s.on))

    def outcomes(self, patient_id: int) -> tuple[StoredOutcome, ...]:
        return tuple(sorted(self.clinic.outcomes.get(patient_id, []), key=lambda o: o.measured_on))

    def add_outcome(self, outcome: NewOutcome) -> int:
        number = sum(len(rows) for rows in self.clinic.outcomes.values()) + 1
        stored = StoredOutcome(
            outcome.indication,
            outcome.instrument,
            outcome.measured_on,
            outcome.period_start,
            outcome.score,
            id=number,
            patient_id=outcome.patient_id,
            entered_by=outcome.entered_by,
        )
        self.clinic.outcomes.setdefault(outcome.patient_id, []).append(stored)
        self.clinic.entered_by[number] = outcome.entered_by
        return number

    def _find(self, outcome_id: int) -> tuple[int, int] | None:
        for patient_id, rows in self.clinic.outcomes.items():
            for index, row in enumerate(rows):
                if row.id == outcome_id:
                    return patient_id, index
        return None

    def outcome(self, outcome_id: int) -> StoredOutcome | None:
        found = self._find(outcome_id)
        return None if found is None else self.clinic.outcomes[found[0]][found[1]]

    def replace_outcome(
        self, outcome_id: int, reason: str, by: str | None, replacement: NewOutcome
    ) -> int | str | None:
        before = self.withdraw_outcome(outcome_id, reason, by)
        return self.add_outcome(replacement) if before == "" else before

    def withdraw_outcome(self, outcome_id: int, reason: str, by: str | None) -> str | None:
        found = self._find(outcome_id)
        if found is None:
            return None
        patient_id, index = found
        row = self.clinic.outcomes[patient_id][index]
        if row.withdrawn:
            return row.withdrawn_reason
        self.clinic.outcomes[patient_id][index] = replace(row, withdrawn=True, withdrawn_reason=reason, withdrawn_by=by)
        return ""

    def diary_days(self, patient_id: int, kind: str) -> dict[date, dict[str, Any]]:
        return dict(self.clinic.diaries.get((patient_id, kind), {}))

    def save_diary_day(self, patient_id: int, kind: str, day: date, values: Mapping[str, Any]) -> None:
        self.clinic.diaries.setdefault((patient_id, kind), {})[day] = dict(values)

    def add_diary_link(self, patient_id: int, kind: str, key_hash: str, expires_on: date) -> None:
        self.clinic.links[key_hash] = StoredDiaryLink(patient_id, kind, expires_on, revoked=False)

    def diary_link(self, key_hash: str) -> StoredDiaryLink | None:
        return self.clinic.links.get(key_hash)

    def continuation_settings(self) -> dict[str, ContinuationSetting]:
        return dict(self.clinic.settings)

    def set_continuation(self, setting: ContinuationSetting) -> None:
        self.clinic.settings[setting.rule] = setting

    def adverse_events(self, patient_id: int, indication: str) -> tuple[StoredAdverseEvent, ...]:
        events = [event for on, event in self.clinic.adverse_events.get(patient_id, []) if on == indication]
        return tuple(sorted(events, key=lambda e: e.onset))

    def session_counts(self) -> tuple[SessionCount, ...]:
        counts: dict[tuple[str, str], tuple[int, set[int]]] = {}
        for patient_id, sessions in self.clinic.sessions.items():
            for session in sessions:
                number, patients = counts.get((session.indication, session.product), (0, set()))
                counts[(session.indication, session.product)] = (number + 1, patients | {patient_id})
        return tuple(
            SessionCount(indication, product, number, len(patients))
            for (indication, product), (number, patients) in sorted(counts.items())
        )

    def outcome_histories(self, patient_ids: Sequence[int]) -> Iterator[OutcomeHistory]:
        for patient_id in patient_ids:
            diaries = {kind: dict(days) for (owner, kind), days in self.clinic.diaries.items() if owner == patient_id}
            yield OutcomeHistory(patient_id, self.sessions(patient_id), self.outcomes(patient_id), diaries)

    def _patients_with_outcomes(self) -> tuple[int, ...]:
        diarists = {patient_id for (patient_id, _), days in self.clinic.diaries.items() if days}
        return tuple(sorted({p for p, rows in self.clinic.outcomes.items() if rows} | diarists))

    def verdict_tallies(self) -> StoredVerdicts:
        # Stored as the recording transactions store them: each patient judged on their records as they are now.
        assert self.knowledge is not None, "counting verdicts needs FakeOutcomeRecords(clinic, knowledge)"
        counts: Counter[tuple[str, str, str]] = Counter()
        settings = self.continuation_settings()
        for history in self.outcome_histories(self._patients_with_outcomes()):
            for verdict in latest_verdicts(self, self.knowledge, history, settings):
                counts[(verdict.indication, verdict.instrument, verdict.status)] += 1
        basis = verdict_basis(self.knowledge) if self.clinic.verdict_basis is None else self.clinic.verdict_basis
        return StoredVerdicts(basis, tuple(VerdictTally(*key, patients) for key, patients in sorted(counts.items())))


class FakeFollowUpRecords(FollowUpRecords):
    """The follow-up list's reads over the outcome clinic's sessions, measurements and diaries (each patient's
    summary derived as ``bont.clinic.derived`` keeps it, at every read), and the charts of the patients' clinic
    (the same patients, by MRN)."""

    def __init__(self, outcomes: FakeOutcomeClinic, charts: FakeClinic, knowledge: KnowledgeBase | None = None) -> None:
        self.outcomes = outcomes
        self.charts = charts
        self.knowledge = knowledge or build_knowledge()
        self.kept_with_basis: str | None = None

    def _summaries(self) -> list[tuple[PatientIdentity, IndicationFollowUp]]:
        found = []
        for patient_id, patient in self.outcomes.patients.items():
            last: dict[str, date] = {}
            for s in self.outcomes.sessions.get(patient_id, []):
                last[s.indication] = max(s.on, last.get(s.indication, s.on))
            measured: dict[str, date] = {}
            for o in self.outcomes.outcomes.get(patient_id, []):
                if not o.withdrawn:
                    measured[o.indication] = max(o.measured_on, measured.get(o.indication, o.measured_on))
            diaries = {
                kind: max(days) for (owner, kind), days in self.outcomes.diaries.items() if owner == patient_id and days
            }
            found += [(patient, row) for row in follow_up_summaries(self.knowledge, last, measured, diaries)]
        return found

    def _due(self, until: date) -> list[AssessmentDue]:
        due = [
            AssessmentDue(patient, row.indication, row.last_session)
            for patient, row in self._summaries()
            if row.assessment_pending_since is not None and row.assessment_pending_since <= until
        ]
        return sorted(
            due,
            key=lambda r: (
                r.last_session,
                r.patient.family_name,
                r.patient.given_name,
                r.patient.patient_id,
                r.indication,
            ),
        )

    def assessments_due(self, until: date, offset: int, limit: int) -> tuple[AssessmentDue, ...]:
        return tuple(self._due(until)[offset : offset + limit])

    def assessments_due_count(self, until: date) -> int:
        return len(self._due(until))

    def treated_count(self) -> int:
        return len(self._treated())

    def kept_with(self) -> str | None:
        return self.kept_with_basis  # derived at every read: kept with the running knowledge unless a test says

    def _treated(self) -> list[PatientIdentity]:
        treated = [self.outcomes.patients[p] for p, sessions in self.outcomes.sessions.items() if sessions]
        return sorted(treated, key=lambda p: (p.family_name, p.given_name, p.patient_id))

    def treated_charts(self, on: date, offset: int, limit: int) -> tuple[TreatedChart, ...]:
        by_mrn = {mrn: (patient_id, patient) for patient_id, (mrn, patient) in self.charts.patients.items()}
        charts = []
        for identity in self._treated()[offset : offset + limit]:
            patient_id, patient = by_mrn[identity.mrn]
            history = tuple(self.charts.history[patient_id])
            charts.append(TreatedChart(identity, patient, history, self.charts.events_until(patient_id, on)))
        return tuple(charts)


# Patients, users and API tokens, adverse events.
from bont.services.adverse_events import (  # noqa: E402
    AdverseEventCorrection,
    AdverseEventReport,
    AdverseEventRow,
    AdverseEvents,
    ReportingContext,
    StoredAdverseEventDetail,
    SuspectableSession,
)
from bont.services.patients import (  # noqa: E402
    AdverseEventEntry,
    AuditEntry,
    NewPatient,
    PatientHeader,
    PatientListRow,
    PatientRecord,
    PatientRecordError,
    PatientRegistry,
    PatientUpdate,
    SessionEntry,
    WeightEntry,
)
from bont.services.users import (  # noqa: E402
    AccountError,
    SecondFactor,
    TokenHolder,
    TokenRow,
    UserAccounts,
    UserRow,
)


@dataclass
class FakeUser:
    roles: set[str]
    active: bool = True
    password: str | None = None
    last_sign_in: datetime | None = None
    second_factor: bool = False


@dataclass
class FakeToken:
    id: int
    username: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    uses_recorded: int = 0  # how often the last use was written


@dataclass
class FakeRegistry:
    """Patients' stored records (by MRN), their sessions and adverse events, users and token hashes."""

    patients: dict[str, NewPatient] = field(default_factory=dict)
    weights: dict[str, list[WeightEntry]] = field(default_factory=dict)
    conditions: dict[str, list[str]] = field(default_factory=dict)
    sessions: dict[str, list[SessionEntry]] = field(default_factory=dict)
    events: list[tuple[int, AdverseEventReport]] = field(default_factory=list)
    withdrawn_events: dict[int, tuple[str, str | None]] = field(default_factory=dict)  # event id -> (reason, by)
    corrected_by: dict[int, list[str | None]] = field(default_factory=dict)  # event id -> who corrected it
    users: dict[str, FakeUser] = field(default_factory=dict)
    tokens: dict[str, FakeToken] = field(default_factory=dict)  # by hash
    locked_out: set[str] = field(default_factory=set)  # usernames with failed sign-ins still cooling off
    npis: dict[str, str] = field(default_factory=dict)  # username -> NPI


class FakePatientRegistry(PatientRegistry):
    def __init__(self, registry: FakeRegistry) -> None:
        self.registry = registry

    def add(self, new: NewPatient, recorded_on: date) -> int:
        if new.mrn in self.registry.patients:
            raise PatientRecordError("mrn", "a patient with this MRN already exists")
        self.registry.patients[new.mrn] = new
        self.registry.weights[new.mrn] = (
            [WeightEntry(new.weighed_on or recorded_on, new.weight_kg)] if new.weight_kg else []
        )
        self.registry.conditions[new.mrn] = list(new.conditions)
        self.registry.sessions[new.mrn] = []
        return len(self.registry.patients)

    def update(self, mrn: str, update: PatientUpdate) -> None:
        if mrn not in self.registry.patients:
            raise UnknownPatientError()
        for term in update.resolve_conditions:
            if term not in self.registry.conditions[mrn]:
                raise PatientRecordError("resolve-condition", "the patient has no such open condition")
        allergies = self.registry.patients[mrn].allergies
        for substance in update.remove_allergies:
            if substance not in allergies:
                raise PatientRecordError("remove-allergy", "the patient has no such allergy on file")
        allergies = tuple(a for a in allergies if a not in update.remove_allergies) + update.add_allergies
        self.registry.patients[mrn] = replace(self.registry.patients[mrn], allergies=allergies)
        if update.weight_kg is not None:
            self.registry.weights[mrn].append(WeightEntry(update.on, update.weight_kg))
        conditions = [c for c in self.registry.conditions[mrn] if c not in update.resolve_conditions]
        self.registry.conditions[mrn] = conditions + list(update.add_conditions)
        demographics = {
            "given_name": update.given_name,
            "family_name": update.family_name,
            "birth_date": update.birth_date,
            "sex": update.sex,
            "catheterizes": update.catheterizes,
        }
        changed = {name: value for name, value in demographics.items() if value is not None}
        self.registry.patients[mrn] = replace(self.registry.patients[mrn], **changed)  # type: ignore[arg-type]

    def search(self, query: str, limit: int, offset: int = 0) -> tuple[PatientListRow, ...]:
        rows = [
            PatientListRow(
                mrn,
                p.family_name,
                p.given_name,
                p.birth_date,
                sum(1 for s in self.registry.sessions[mrn] if not s.withdrawn_reason),
                f"chart-of-{mrn}",
            )
            for mrn, p in self.registry.patients.items()
            if any(query.casefold() in text.casefold() for text in (mrn, p.family_name, p.given_name))
        ]
        return tuple(sorted(rows, key=lambda r: (r.family_name, r.given_name))[offset : offset + limit])

    def count(self, query: str) -> int:
        return len(self.search(query, len(self.registry.patients)))

    def record(self, mrn: str) -> PatientRecord:
        if mrn not in self.registry.patients:
            raise UnknownPatientError()
        p = self.registry.patients[mrn]
        return PatientRecord(
            header=PatientHeader(mrn, p.given_name, p.family_name, p.birth_date, p.sex, p.catheterizes),
            weights=tuple(self.registry.weights[mrn]),
            conditions=tuple(self.registry.conditions[mrn]),
            medications=tuple(m.casefold() for m in p.medications),
            allergies=p.allergies,
            reproductive_statuses=(),
            adverse_events=tuple(
                AdverseEventEntry(
                    r.event,
                    r.onset,
                    r.severity,
                    r.session_id,
                    r.outcome,
                    bool(r.serious),
                    id=event_id,
                    withdrawn_reason=self.registry.withdrawn_events.get(event_id, ("", None))[0],
                    withdrawn_by=self.registry.withdrawn_events.get(event_id, ("", None))[1],
                )
                for event_id, r in sorted(self.registry.events, key=lambda e: (e[1].onset, e[0]))
                if r.mrn == mrn
            ),
            sessions=tuple(sorted(self.registry.sessions[mrn], key=lambda s: (s.on, s.id))),
        )

    def audit_trail(self, mrn: str) -> tuple[AuditEntry, ...]:
        if mrn not in self.registry.patients:
            raise UnknownPatientError()
        return ()

    def chart_key(self, mrn: str) -> str:
        if mrn not in self.registry.patients:
            raise UnknownPatientError()
        return f"chart-of-{mrn}"

    def mrn_for_chart_key(self, chart_key: str) -> str:
        mrn = chart_key.removeprefix("chart-of-")
        if not chart_key.startswith("chart-of-") or mrn not in self.registry.patients:
            raise UnknownPatientError()
        return mrn


class FakeSecondFactor(SecondFactor):
    """An authenticator app whose current code is always "123456"."""

    CODE = "123456"

    def __init__(self, user: FakeUser) -> None:
        self.user = user

    def enrolled(self) -> bool:
        return self.user.second_factor

    def setup_address(self) -> str:
        return "otpauth://totp/bont:fict?secret=JBSWY3DPEHPK3PXP&issuer=bont"

    def confirm(self, code: str) -> object | None:
        self.user.second_factor = self.user.second_factor or code == self.CODE
        return self.user if code == self.CODE else None

    def verify(self, code: str) -> object | None:
        return self.user if self.user.second_factor and code == self.CODE else None


class FakeUserAccounts(UserAccounts):
    """Users in memory. The password policy is a stand-in for Django's validators: at least 12 characters, not
    the username."""

    def __init__(self, registry: FakeRegistry) -> None:
        self.registry = registry

    def add(self, username: str, role: str, password: str | None) -> None:
        if username in self.registry.users:
            raise AccountError("username", "that user already exists")
        self.registry.users[username] = FakeUser({role}, password=password)

    def exists(self, username: str) -> bool:
        return username in self.registry.users

    def users(self) -> tuple[UserRow, ...]:
        return tuple(
            UserRow(
                name,
                tuple(sorted(user.roles)),
                user.active,
                user.last_sign_in,
                name in self.registry.locked_out,
                user.second_factor,
            )
            for name, user in sorted(self.registry.users.items())
        )

    def set_active(self, username: str, active: bool) -> None:
        self.registry.users[username].active = active

    def set_role(self, username: str, role: str, member: bool) -> None:
        roles = self.registry.users[username].roles
        if member:
            roles.add(role)
        else:
            roles.discard(role)

    def password_problems(self, username: str, password: str) -> tuple[str, ...]:
        problems = []
        if len(password) < 12:
            problems.append("This password is too short. It must contain at least 12 characters.")
        if password == username:
            problems.append("The password is too similar to the username.")
        return tuple(problems)

    def set_password(self, username: str, password: str) -> None:
        self.registry.users[username].password = password

    def unlock(self, username: str) -> int:
        if username in self.registry.locked_out:
            self.registry.locked_out.discard(username)
            return 1
        return 0

    def second_factor(self, username: str) -> FakeSecondFactor:
        return FakeSecondFactor(self.registry.users[username])

    def remove_second_factor(self, username: str) -> bool:
        enrolled = self.registry.users[username].second_factor
        self.registry.users[username].second_factor = False
        return enrolled

    def set_npi(self, username: str, npi: str) -> bool:
        if username not in self.registry.users:
            return False
        self.registry.npis[username] = npi
        return True

    def npi(self, username: str) -> str | None:
        return self.registry.npis.get(username, "") if username in self.registry.users else None

    def store_token(self, username: str, key_hash: str, name: str = "", expires_at: datetime | None = None) -> int:
        token_id = len(self.registry.tokens) + 1
        created = datetime(2026, 1, 1, tzinfo=expires_at.tzinfo) if expires_at else datetime(2026, 1, 1)
        self.registry.tokens[key_hash] = FakeToken(token_id, username, name, created, expires_at)
        return token_id

    def tokens(self, username: str | None) -> tuple[TokenRow, ...]:
        return tuple(
            TokenRow(t.id, t.username, t.name, t.created_at, t.expires_at, t.last_used_at, t.revoked_at)
            for t in sorted(self.registry.tokens.values(), key=lambda t: -t.id)
            if username is None or t.username == username
        )

    def revoke_token(self, token_id: int, at: datetime) -> bool:
        for token in self.registry.tokens.values():
            if token.id == token_id and token.revoked_at is None:
                token.revoked_at = at
                return True
        return False

    def token_holder(self, key_hash: str) -> TokenHolder | None:
        token = self.registry.tokens.get(key_hash)
        if token is None:
            return None
        user = self.registry.users[token.username]
        return TokenHolder(
            token.id, token.username, user.active, token.expires_at, token.revoked_at, token.last_used_at
        )

    def mark_token_used(self, token_id: int, at: datetime) -> None:
        for token in self.registry.tokens.values():
            if token.id == token_id:
                token.last_used_at = at
                token.uses_recorded += 1


class FakeAdverseEvents(AdverseEvents):
    def __init__(self, registry: FakeRegistry) -> None:
        self.registry = registry

    def reporting_context(self, mrn: str) -> ReportingContext:
        if mrn not in self.registry.patients:
            raise UnknownPatientError()
        p = self.registry.patients[mrn]
        return ReportingContext(
            mrn,
            p.given_name,
            p.family_name,
            p.birth_date,
            tuple(
                SuspectableSession(s.id, s.on, s.product, s.total_units, bool(s.withdrawn_reason))
                for s in sorted(self.registry.sessions[mrn], key=lambda s: (s.on, s.id))
            ),
        )

    def add(self, report: AdverseEventReport) -> int:
        event_id = len(self.registry.events) + 1
        self.registry.events.append((event_id, report))
        return event_id

    def listing(self, product: str | None, limit: int) -> tuple[AdverseEventRow, ...]:
        sessions = {s.id: s for rows in self.registry.sessions.values() for s in rows}
        rows = []
        for event_id, r in self.registry.events:
            suspected = sessions.get(r.session_id) if r.session_id is not None else None
            if product and (suspected is None or suspected.product != product):
                continue
            rows.append(
                AdverseEventRow(
                    event_id,
                    r.mrn,
                    r.event,
                    r.onset,
                    r.severity,
                    r.outcome,
                    r.session_id,
                    suspected.on if suspected else None,
                    suspected.product if suspected else None,
                    serious=bool(r.serious),
                    withdrawn_reason=self.registry.withdrawn_events.get(event_id, ("", None))[0],
                    withdrawn_by=self.registry.withdrawn_events.get(event_id, ("", None))[1],
                )
            )
        return tuple(sorted(rows, key=lambda row: (row.onset, row.id), reverse=True)[:limit])

    def event(self, event_id: int) -> StoredAdverseEventDetail | None:
        for known, r in self.registry.events:
            if known == event_id:
                reason, by = self.registry.withdrawn_events.get(event_id, ("", None))
                return StoredAdverseEventDetail(
                    event_id,
                    r.mrn,
                    r.event,
                    r.onset,
                    r.severity,
                    bool(r.serious),
                    r.outcome,
                    r.notes,
                    r.session_id,
                    reason,
                    by,
                )
        return None

    def correct(self, event_id: int, correction: AdverseEventCorrection, by: str | None) -> None:
        self.registry.events = [
            (known, replace(r, **correction.changes()) if known == event_id else r)  # type: ignore[arg-type]
            for known, r in self.registry.events
        ]
        self.registry.corrected_by.setdefault(event_id, []).append(by)

    def withdraw(self, event_id: int, reason: str, by: str | None) -> str | None:
        if all(known != event_id for known, _ in self.registry.events):
            return None
        if event_id in self.registry.withdrawn_events:
            return self.registry.withdrawn_events[event_id][0]
        self.registry.withdrawn_events[event_id] = (reason, by)
        return ""


# -- lots and vials (bont.services.inventory), recorded sessions (bont.services.sessions), billing
# (imported here, with their fakes, so that this section stays one block)

from bont.domain.billing import VialUsed  # noqa: E402
from bont.services.billing import BillableSession, BillingRecords, ClaimContent  # noqa: E402
from bont.services.inventory import Inventory, InventoryError, LotDraw, LotFilter, NewLot, StockLot, StockVial  # noqa: E402
from bont.services.sessions import (  # noqa: E402
    GivenSite,
    Injector,
    PatientRef,
    SessionDetail,
    SessionRecords,
    SessionSummary,
)


@dataclass
class FakeStockroom:
    """Lots as received (by id), their vials (by id), and the draws made from them with the patient."""

    lots: dict[int, NewLot] = field(default_factory=dict)
    vials: dict[int, StockVial] = field(default_factory=dict)
    draws: list[LotDraw] = field(default_factory=list)


class FakeInventory(Inventory):
    def __init__(self, stockroom: FakeStockroom) -> None:
        self.stockroom = stockroom

    def _lot(self, lot_id: int) -> StockLot:
        new = self.stockroom.lots[lot_id]
        vials = [v for v in self.stockroom.vials.values() if v.lot_id == lot_id]
        sealed = sum(1 for v in vials if v.state == "sealed")
        return StockLot(lot_id, new.product, new.lot_number, new.expiry, new.vial_units, len(vials), sealed)

    def add_lot(self, new: NewLot) -> tuple[int, ...]:
        if any((n.product, n.lot_number) == (new.product, new.lot_number) for n in self.stockroom.lots.values()):
            raise InventoryError("lot", "this lot number is already recorded for the product")
        lot_id = len(self.stockroom.lots) + 1
        self.stockroom.lots[lot_id] = new
        first = len(self.stockroom.vials) + 1
        ids = tuple(range(first, first + new.quantity))
        for vial_id in ids:
            self.stockroom.vials[vial_id] = StockVial(
                vial_id,
                lot_id,
                new.product,
                new.lot_number,
                new.expiry,
                new.vial_units,
                Decimal(0),
                "sealed",
                None,
                None,
            )
        return ids

    def open_sealed_vial(self, vial_id: int, at: datetime, diluent_ml: Decimal | None) -> StockVial | None:
        found = self.stockroom.vials.get(vial_id)
        if found is not None and found.state == "sealed":
            opened = replace(found, state="reconstituted", reconstituted_at=at, diluent_ml=diluent_ml)
            self.stockroom.vials[vial_id] = opened
        return found

    def lots(
        self, product: str | None = None, limit: int | None = None, *, shelf: LotFilter | None = None
    ) -> tuple[StockLot, ...]:
        lots = sorted(
            (self._lot(lot_id) for lot_id, new in self.stockroom.lots.items() if product in (None, new.product)),
            key=lambda lot: (lot.expiry, lot.lot_id),
        )
        lots = [lot for lot in lots if shelf is None or shelf.keeps(lot)]
        return tuple(lots[:limit] if limit is not None else lots)

    def find_lot(self, product: str, *, lot_number: str | None = None, lot_id: int | None = None) -> StockLot | None:
        for known, new in self.stockroom.lots.items():
            if new.product == product and lot_number in (None, new.lot_number) and lot_id in (None, known):
                return self._lot(known)
        return None

    def lot_vials(self, lot_id: int) -> tuple[StockVial, ...]:
        return tuple(v for _, v in sorted(self.stockroom.vials.items()) if v.lot_id == lot_id)

    def vial(self, vial_id: int) -> StockVial | None:
        return self.stockroom.vials.get(vial_id)

    def open_vials(self, product: str | None = None, limit: int | None = None) -> tuple[StockVial, ...]:
        vials = [
            v
            for _, v in sorted(self.stockroom.vials.items())
            if v.state == "reconstituted" and product in (None, v.product)
        ]
        return tuple(vials[:limit] if limit is not None else vials)

    def draws_from_lot(self, lot_number: str, product: str | None = None) -> tuple[LotDraw, ...]:
        found = [d for d in self.stockroom.draws if d.lot_number == lot_number and product in (None, d.product)]
        return tuple(sorted(found, key=lambda d: (d.on, d.session_id)))


@dataclass
class FakeSessionBook:
    """Recorded sessions by id, the patients by id, each session's guidance, and who withdrew a session."""

    patients: dict[int, PatientRef] = field(default_factory=dict)
    sessions: dict[int, SessionDetail] = field(default_factory=dict)
    guidance: dict[int, str] = field(default_factory=dict)
    withdrawn_by: dict[int, str | None] = field(default_factory=dict)
    clinicians: set[str] = field(default_factory=lambda: {"dr-fake"})
    nurses: set[str] = field(default_factory=set)
    # for billing: each patient's condition terms (by patient id), clinicians' NPIs, the vials a session drew from
    conditions: dict[int, tuple[str, ...]] = field(default_factory=dict)
    npis: dict[str, str] = field(default_factory=dict)
    vials: dict[int, tuple[VialUsed, ...]] = field(default_factory=dict)

    def add_patient(self, mrn: str, birth_date: date = date(1970, 1, 1)) -> PatientRef:
        patient = PatientRef(len(self.patients) + 1, mrn, "Fictional", "Fake", birth_date)
        self.patients[patient.id] = patient
        return patient

    def add_session(
        self,
        patient: PatientRef,
        on: date,
        product: str,
        indication: str,
        sites: tuple[tuple[str, str, Decimal], ...],  # (muscle, side or "", units)
        units_discarded: Decimal = Decimal(0),
        guidance: str = "",
        clinician: str = "dr-fake",
        positions: tuple[SitePosition | None, ...] = (),  # where each site was drawn, in the order of ``sites``
    ) -> int:
        session_id = len(self.sessions) + 1
        total = sum((units for _, _, units in sites), Decimal(0))
        summary = SessionSummary(session_id, on, product, indication, "", total, units_discarded, "ok", "")
        drawn = positions or (None,) * len(sites)
        given = tuple(
            GivenSite(muscle, side, units, None, position)
            for (muscle, side, units), position in zip(sites, drawn, strict=True)
        )
        self.sessions[session_id] = SessionDetail(summary, patient, clinician, "", "", given, (), (), ())
        self.guidance[session_id] = guidance
        return session_id


class FakeSessionRecords(SessionRecords):
    def __init__(self, book: FakeSessionBook) -> None:
        self.book = book

    def patient(self, mrn: str) -> PatientRef:
        for patient in self.book.patients.values():
            if patient.mrn == mrn:
                return patient
        raise UnknownPatientError()

    def sessions(self, patient_id: int) -> tuple[SessionSummary, ...]:
        found = [s.summary for s in self.book.sessions.values() if s.patient.id == patient_id]
        return tuple(sorted(found, key=lambda s: (s.on, s.id)))

    def session(self, session_id: int) -> SessionDetail | None:
        return self.book.sessions.get(session_id)

    def withdraw(self, session_id: int, reason: str, by: str | None) -> str | None:
        found = self.book.sessions.get(session_id)
        if found is None:
            return None
        if found.summary.withdrawn_reason:
            return found.summary.withdrawn_reason
        summary = replace(found.summary, withdrawn_reason=reason, withdrawn_by=by)
        self.book.sessions[session_id] = replace(found, summary=summary)
        self.book.withdrawn_by[session_id] = by
        return ""

    def is_clinician(self, username: str) -> bool:
        return username in self.book.clinicians

    def injectors(self) -> tuple[Injector, ...]:
        staff = [Injector(u, u, "clinician") for u in self.book.clinicians]
        staff += [Injector(u, u, "nurse") for u in self.book.nurses]
        return tuple(sorted(staff, key=lambda injector: injector.username))


class FakeBillingRecords(BillingRecords):
    def __init__(self, book: FakeSessionBook) -> None:
        self.book = book

    def sessions(self, start: date, end: date, muscles: Collection[str] | None = None) -> Iterator[BillableSession]:
        given = sorted(
            (s for s in self.book.sessions.values() if start <= s.summary.on <= end and not s.withdrawn),
            key=lambda s: (s.summary.on, s.id),
        )
        return iter(
            BillableSession(
                s.id,
                s.summary.on,
                s.patient.mrn,
                ClaimContent(
                    s.summary.product,
                    s.summary.indication,
                    self.book.guidance.get(s.id, ""),
                    tuple(
                        (site.muscle, site.side or None)
                        for site in s.sites
                        if muscles is None or site.muscle in muscles
                    ),
                    s.summary.total_units,
                    s.summary.units_discarded,
                    protocol=s.summary.protocol,
                    vials=self.book.vials.get(s.id, ()),
                ),
                patient_name=f"{s.patient.family_name}, {s.patient.given_name}",
                conditions=self.book.conditions.get(s.patient.id, ()),
                clinician=s.clinician,
                clinician_npi=self.book.npis.get(s.clinician, ""),
            )
            for s in given
        )

    def session_date(self, session_id: int) -> date | None:
        found = self.book.sessions.get(session_id)
        return None if found is None else found.summary.on


class FakeAccessLog(AccessLog):
    """Accesses kept in a list, appended only; the search covers them (the fake keeps no record versions, so a
    search for changes finds nothing). Each access is stamped a second after the one before."""

    def __init__(self, start: datetime | None = None) -> None:
        self.accesses: list[tuple[datetime, Access]] = []
        self.start = start or datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def record(self, access: Access) -> None:
        self.accesses.append((self.start + timedelta(seconds=len(self.accesses)), access))

    def for_patient(self, mrn: str) -> tuple[AccessEntry, ...]:
        return tuple(
            AccessEntry(at, a.actor or NO_OPERATOR, a.channel, a.action, a.target, mrn, a.object_id, a.remote_address)
            for at, a in reversed(self.accesses)
            if a.patient_mrn == mrn
        )

    def search(self, query: AuditQuery, offset: int, limit: int) -> tuple[AuditRow, ...]:
        if query.kind is AuditKind.CHANGE:
            return ()
        rows = [
            AuditRow(
                at,
                a.actor or NO_OPERATOR,
                AuditKind.EXPORT if a.action is Action.EXPORT else AuditKind.READ,
                f"{a.target} {a.object_id}".strip(),
                f"{a.action} ({a.channel})",
                a.patient_mrn,
                a.remote_address,
            )
            for at, a in reversed(self.accesses)
            if (not query.username or a.actor == query.username)
            and (not query.mrn or a.patient_mrn == query.mrn)
            and (query.start is None or at.date() >= query.start)
            and (query.end is None or at.date() <= query.end)
            and (query.kind is None or (a.action is Action.EXPORT) == (query.kind is AuditKind.EXPORT))
        ]
        return tuple(rows[offset : offset + limit])


class FakeStudyLibrary(StudyLibrary):
    """Studies and trials in dictionaries; the full-text search matches every word of ``query_words`` as the
    beginning of a word of the record's searchable text (as the adapters' FTS5 and PostgreSQL searches do), without
    ranking: the latest first, as without words."""

    def __init__(self) -> None:
        self.studies: dict[str, Study] = {}
        self.trials: dict[str, Trial] = {}
        self.brought: set[str] = set()
        self.fingerprint: str | None = None
        self.writes = 0

    def catalogue_fingerprint(self) -> str | None:
        return self.fingerprint

    def write_catalogue(
        self,
        studies: Sequence[tuple[str | None, Study]],
        merged_away: Sequence[str],
        trials: Sequence[Trial],
        fingerprint: str,
    ) -> bool:
        self.writes += 1
        curated = {study.key for _, study in studies}
        for key in merged_away:
            del self.studies[key]
        for key, study in list(self.studies.items()):
            if study.origin is Origin.CURATED and key not in curated:
                if key in self.brought:
                    self.studies[key] = replace(study, origin=Origin.IMPORTED, imported_fields=())
                else:
                    del self.studies[key]
        for stored_key, study in studies:
            if stored_key is not None and stored_key != study.key:
                del self.studies[stored_key]
            self.studies[study.key] = study
        listed = {trial.nct for trial in trials}
        for nct, trial in list(self.trials.items()):
            if trial.origin is Origin.CURATED and nct not in listed:
                if nct in self.brought:
                    self.trials[nct] = replace(trial, origin=Origin.IMPORTED, imported_fields=())
                else:
                    del self.trials[nct]
        self.trials.update((trial.nct, trial) for trial in trials)
        self.fingerprint = fingerprint
        return True

    def studies_with_identifiers(self, keys: Iterable[str], pmids: Iterable[str], dois: Iterable[str]) -> list[Study]:
        keys, pmids, dois = set(keys), set(pmids), set(dois)
        return [
            study
            for key, study in self.studies.items()
            if key in keys or (study.pmid and study.pmid in pmids) or (study.doi and study.doi.lower() in dois)
        ]

    def trials_by_nct(self, ncts: Sequence[str]) -> dict[str, Trial]:
        return {nct: self.trials[nct] for nct in ncts if nct in self.trials}

    def study(self, key: str) -> Study | None:
        return self.studies.get(key)

    def save(
        self, studies: Sequence[tuple[Study | None, Study]], trials: Sequence[Trial], brought: Iterable[str]
    ) -> None:
        for stored, study in studies:
            key = stored.key if stored is not None else study.key
            self.studies[key] = replace(study, key=key)
        self.trials.update((trial.nct, trial) for trial in trials)
        self.brought.update(brought)

    def atomic(self) -> AbstractContextManager[None]:
        return nullcontext()

    @staticmethod
    def _matches(text: str, searchable: str) -> bool:
        words = query_words(searchable)
        return all(any(word.startswith(part) for word in words) for part in query_words(text))

    def search_studies(self, where: StudyFilter, offset: int, limit: int) -> Found[Study]:
        found = sorted(
            (s for s in self.studies.values() if where.admits(s) and self._matches(where.text, s.searchable_text())),
            key=lambda study: (study.year is None, -(study.year or 0), study.key),
        )
        return Found(tuple(found[offset : offset + limit]), len(found), offset, limit)

    def strongest_studies(self, indication: str, limit: int) -> Found[Study]:
        about = [study for study in self.studies.values() if indication in study.indications]
        return Found(tuple(strongest_first(about, indication)[:limit]), len(about), 0, limit)

    def search_trials(self, where: TrialFilter, offset: int, limit: int) -> Found[Trial]:
        found = sorted(
            (t for t in self.trials.values() if where.admits(t) and self._matches(where.text, t.searchable_text())),
            key=lambda trial: (trial.start is None, -(trial.start or date.min).toordinal(), trial.nct),
        )
        return Found(tuple(found[offset : offset + limit]), len(found), offset, limit)

    def evidence_map(self, indications: Sequence[str], products: Sequence[str]) -> EvidenceMap:
        return evidence_map(self.studies.values(), self.trials.values(), indications, products)

    def study_keys_by_source(self) -> dict[str, str]:
        return {study.source: key for key, study in self.studies.items() if study.source}

    def all_trials(self) -> Iterator[Trial]:
        return iter(list(self.trials.values()))
