"""The port the outcome, diary, follow-up and research use cases need; the Django adapter in
``bont.clinic.outcome_records`` implements it.

Rows come back as small frozen dataclasses and domain ``Score`` objects, never as database rows.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from bont.domain.outcomes import Score


@dataclass(frozen=True)
class PatientIdentity:
    """Who a patient is, for identified pages (the chart, the report, the follow-up list)."""

    patient_id: int
    mrn: str
    given_name: str
    family_name: str
    birth_date: date


@dataclass(frozen=True)
class GivenSession:
    """A session that was given (withdrawn sessions are never returned)."""

    on: date
    indication: str
    product: str
    total_units: Decimal
    verdict: str


@dataclass(frozen=True)
class StoredOutcome:
    """One stored measurement, as its instrument scored it; a withdrawn one with the reason and who withdrew it."""

    indication: str
    instrument: str
    measured_on: date
    period_start: date | None
    score: Score
    withdrawn: bool = False
    id: int = 0
    patient_id: int = 0
    entered_by: str | None = None
    withdrawn_reason: str = ""
    withdrawn_by: str | None = None


@dataclass(frozen=True)
class NewOutcome:
    patient_id: int
    indication: str
    instrument: str
    measured_on: date
    period_start: date | None
    score: Score
    entered_by: str | None  # a username; unknown users are stored as nobody


@dataclass(frozen=True)
class StoredDiaryLink:
    patient_id: int
    kind: str
    expires_on: date
    revoked: bool


@dataclass(frozen=True)
class ContinuationSetting:
    """A clinic's own version of one of bont's cited continuation rules, and why."""

    rule: str
    enabled: bool
    threshold: Decimal | None
    cycles: int | None
    months: int | None
    reason: str


@dataclass(frozen=True)
class StoredAdverseEvent:
    onset: date
    event: str
    severity: str  # the intensity: mild, moderate or severe
    outcome: str
    serious: bool = False

    @property
    def grading(self) -> str:
        """The severity and the seriousness in words, e.g. "severe, serious"."""
        return f"{self.severity}, {'serious' if self.serious else 'not serious'}"


@dataclass(frozen=True)
class SessionCount:
    """De-identified: how many sessions and distinct patients per indication and product."""

    indication: str
    product: str
    sessions: int
    patients: int


@dataclass(frozen=True)
class VerdictTally:
    """De-identified: how many patients' latest verdict for an indication and instrument has this status."""

    indication: str
    instrument: str
    status: str
    patients: int


@dataclass(frozen=True)
class StoredVerdicts:
    """The stored latest verdicts, counted, and what they were computed with: the ``verdict_basis`` of a knowledge
    base, "" while they are rebuilt or until they are first computed after an upgrade, None when nothing was
    judged yet."""

    basis: str | None
    tallies: tuple[VerdictTally, ...]


@dataclass(frozen=True)
class OutcomeHistory:
    """One patient's sessions, measurements and diaries by kind, as ``sessions``, ``outcomes`` and ``diary_days``
    read them one at a time (read in bulk for the research registry)."""

    patient_id: int
    sessions: tuple[GivenSession, ...]
    outcomes: tuple[StoredOutcome, ...]
    diaries: Mapping[str, dict[date, dict[str, Any]]]


class OutcomeRecords(abc.ABC):
    """Reads and writes outcome measurements, diaries, diary links, the clinic's continuation settings, and
    the de-identified counts of the registry."""

    @abc.abstractmethod
    def patient(self, mrn: str) -> PatientIdentity:
        """The patient with this MRN; raises ``UnknownPatientError``."""

    @abc.abstractmethod
    def patient_by_id(self, patient_id: int) -> PatientIdentity:
        """The patient with this id (one known to exist)."""

    @abc.abstractmethod
    def patients(self) -> tuple[PatientIdentity, ...]:
        """Every patient, by family name then given name."""

    @abc.abstractmethod
    def sessions(self, patient_id: int) -> tuple[GivenSession, ...]:
        """The patient's sessions that were not withdrawn, by date."""

    @abc.abstractmethod
    def outcomes(self, patient_id: int) -> tuple[StoredOutcome, ...]:
        """Every measurement of the patient, withdrawn ones included (marked), by day measured then entry."""

    @abc.abstractmethod
    def add_outcome(self, outcome: NewOutcome) -> int:
        """Store a validated measurement; returns its id."""

    @abc.abstractmethod
    def outcome(self, outcome_id: int) -> StoredOutcome | None:
        """One stored measurement (withdrawn or not), None when there is no such measurement."""

    @abc.abstractmethod
    def withdraw_outcome(self, outcome_id: int, reason: str, by: str | None) -> str | None:
        """Mark the measurement withdrawn with ``reason`` (by user ``by``, kept with it and in its history) unless
        it already is, atomically; returns the withdrawal reason it had before ("" when it had none and is now
        withdrawn), None when there is no such measurement."""

    @abc.abstractmethod
    def replace_outcome(
        self, outcome_id: int, reason: str, by: str | None, replacement: NewOutcome
    ) -> int | str | None:
        """In one transaction, withdraw the measurement as ``withdraw_outcome`` does and store ``replacement``;
        returns the replacement's id. Writes nothing and returns what ``withdraw_outcome`` would (None: no such
        measurement; its earlier reason: already withdrawn) when the measurement cannot be withdrawn."""

    @abc.abstractmethod
    def diary_days(self, patient_id: int, kind: str) -> dict[date, dict[str, Any]]:
        """The patient's diary of this kind: each day's values as stored."""

    @abc.abstractmethod
    def save_diary_day(self, patient_id: int, kind: str, day: date, values: Mapping[str, Any]) -> None:
        """Store one diary day, replacing the day's earlier entry (its history keeps the old version)."""

    @abc.abstractmethod
    def add_diary_link(self, patient_id: int, kind: str, key_hash: str, expires_on: date) -> None:
        """Store a personal diary link by the hash of its token."""

    @abc.abstractmethod
    def diary_link(self, key_hash: str) -> StoredDiaryLink | None:
        """The link with this token hash, if any."""

    @abc.abstractmethod
    def continuation_settings(self) -> dict[str, ContinuationSetting]:
        """The clinic's continuation settings by rule id."""

    @abc.abstractmethod
    def set_continuation(self, setting: ContinuationSetting) -> None:
        """Store (or replace) the clinic's setting for one rule."""

    @abc.abstractmethod
    def adverse_events(self, patient_id: int, indication: str) -> tuple[StoredAdverseEvent, ...]:
        """Adverse events suspected of a session for this indication, by onset; withdrawn events, and events
        whose suspected session was withdrawn, left out."""

    @abc.abstractmethod
    def session_counts(self) -> tuple[SessionCount, ...]:
        """De-identified: sessions (not withdrawn) and patients per indication and product, sorted."""

    @abc.abstractmethod
    def verdict_tallies(self) -> StoredVerdicts:
        """De-identified: the stored latest verdicts counted per indication, instrument and status, sorted."""

    @abc.abstractmethod
    def outcome_histories(self, patient_ids: Sequence[int]) -> Iterator[OutcomeHistory]:
        """The histories of these patients, in this order, read a chunk of patients at a time."""
