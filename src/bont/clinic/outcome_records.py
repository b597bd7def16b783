"""The Django implementation of the outcome port: measurements, diaries, diary links, the clinic's
continuation settings and the registry's de-identified counts. Rows go in, plain values come out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from bont.clinic import models
from bont.clinic.derived import DerivedSummaries
from bont.domain.outcomes import Score
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
from bont.services.ports import UnknownPatientError

HISTORY_CHUNK = 500  # patients whose histories are read at once


def _identity(row: models.Patient) -> PatientIdentity:
    return PatientIdentity(int(row.pk), row.mrn, row.given_name, row.family_name, row.birth_date)


# A measurement is read as plain values: the chart reads every measurement of 20 years, and model instances
# (with their users) cost more than the query.
_STORED_FIELDS = (
    "pk",
    "patient_id",
    "indication",
    "instrument",
    "measured_on",
    "period_start",
    "value",
    "grade",
    "rank",
    "band",
    "items",
    "withdrawn_reason",
    f"entered_by__{get_user_model().USERNAME_FIELD}",
    f"withdrawn_by__{get_user_model().USERNAME_FIELD}",
)


def _stored(row: tuple[Any, ...]) -> StoredOutcome:
    """A measurement from its values, in the order of ``_STORED_FIELDS``."""
    pk, patient_id, indication, instrument, measured_on, period_start, value, grade, rank, band, items = row[:11]
    withdrawn_reason, entered_by, withdrawn_by = row[11:]
    score = Score(
        instrument,
        value=value,
        grade=grade or None,
        rank=rank,
        band=band or None,
        items=tuple((key, int(item)) for key, item in items.items()),
    )
    return StoredOutcome(
        indication,
        instrument,
        measured_on,
        period_start,
        score,
        bool(withdrawn_reason),
        id=int(pk),
        patient_id=int(patient_id),
        entered_by=entered_by,
        withdrawn_reason=withdrawn_reason,
        withdrawn_by=withdrawn_by,
    )


class DjangoOutcomeRecords(OutcomeRecords):
    def __init__(self, derived: DerivedSummaries) -> None:
        self._derived = derived  # kept by each write of outcomes and diary days

    def patient(self, mrn: str) -> PatientIdentity:
        row = models.Patient.objects.filter(mrn=mrn).first()
        if row is None:
            raise UnknownPatientError()
        return _identity(row)

    def patient_by_id(self, patient_id: int) -> PatientIdentity:
        return _identity(models.Patient.objects.get(pk=patient_id))

    def patients(self) -> tuple[PatientIdentity, ...]:
        return tuple(_identity(row) for row in models.Patient.objects.order_by("family_name", "given_name"))

    def sessions(self, patient_id: int) -> tuple[GivenSession, ...]:
        rows = models.TreatmentSession.objects.filter(patient_id=patient_id, withdrawn_reason="").order_by("date", "pk")
        return tuple(
            GivenSession(*given)
            for given in rows.values_list("date", "indication", "product", "total_units", "verdict")
        )

    def outcomes(self, patient_id: int) -> tuple[StoredOutcome, ...]:
        rows = models.OutcomeRecord.objects.filter(patient_id=patient_id).order_by("measured_on", "pk")
        return tuple(_stored(row) for row in rows.values_list(*_STORED_FIELDS))

    def outcome(self, outcome_id: int) -> StoredOutcome | None:
        row = models.OutcomeRecord.objects.filter(pk=outcome_id).values_list(*_STORED_FIELDS).first()
        return None if row is None else _stored(row)

    def withdraw_outcome(self, outcome_id: int, reason: str, by: str | None) -> str | None:
        with transaction.atomic():
            before = models.withdraw_row(models.OutcomeRecord, outcome_id, reason, by)
            if before == "":
                self._derived.refresh(models.OutcomeRecord.objects.get(pk=outcome_id).patient_id)
            return before

    def replace_outcome(
        self, outcome_id: int, reason: str, by: str | None, replacement: NewOutcome
    ) -> int | str | None:
        # The patient's derived rows once, for the replacement, not once for the withdrawal and again for it.
        with transaction.atomic(), self._derived.deferred():
            before = self.withdraw_outcome(outcome_id, reason, by)
            if before != "":
                return before
            return self.add_outcome(replacement)

    def add_outcome(self, outcome: NewOutcome) -> int:
        user = None
        if outcome.entered_by:
            user = get_user_model().objects.filter(username=outcome.entered_by).first()
        scored = outcome.score
        with transaction.atomic():
            row = models.OutcomeRecord.objects.create(
                patient_id=outcome.patient_id,
                indication=outcome.indication,
                instrument=outcome.instrument,
                measured_on=outcome.measured_on,
                period_start=outcome.period_start,
                value=scored.value,
                grade=scored.grade or "",
                rank=scored.rank,
                band=scored.band or "",
                items=dict(scored.items),
                entered_by=user,
            )
            self._derived.refresh(outcome.patient_id)
        return int(row.pk)

    def diary_days(self, patient_id: int, kind: str) -> dict[date, dict[str, Any]]:
        # Value rows: a chart reads a year of days, and a model instance per day cost more than the query.
        return dict(models.DiaryDay.objects.filter(patient_id=patient_id, kind=kind).values_list("day", "entry"))

    def save_diary_day(self, patient_id: int, kind: str, day: date, values: Mapping[str, Any]) -> None:
        with transaction.atomic():
            models.DiaryDay.objects.update_or_create(
                patient_id=patient_id, kind=kind, day=day, defaults={"entry": dict(values)}
            )
            self._derived.refresh(patient_id)

    def add_diary_link(self, patient_id: int, kind: str, key_hash: str, expires_on: date) -> None:
        models.DiaryLink.objects.create(patient_id=patient_id, kind=kind, key_hash=key_hash, expires_on=expires_on)

    def diary_link(self, key_hash: str) -> StoredDiaryLink | None:
        row = models.DiaryLink.objects.filter(key_hash=key_hash).first()
        if row is None:
            return None
        return StoredDiaryLink(int(row.patient_id), row.kind, row.expires_on, row.revoked)

    def continuation_settings(self) -> dict[str, ContinuationSetting]:
        return {
            s.rule: ContinuationSetting(s.rule, s.enabled, s.threshold, s.cycles, s.months, s.reason)
            for s in models.ContinuationSetting.objects.all()
        }

    def set_continuation(self, setting: ContinuationSetting) -> None:
        models.ContinuationSetting.objects.update_or_create(
            rule=setting.rule,
            defaults={
                "enabled": setting.enabled,
                "threshold": setting.threshold,
                "cycles": setting.cycles,
                "months": setting.months,
                "reason": setting.reason,
            },
        )

    def adverse_events(self, patient_id: int, indication: str) -> tuple[StoredAdverseEvent, ...]:
        rows = models.AdverseEvent.objects.filter(
            patient_id=patient_id,
            suspected_session__indication=indication,
            suspected_session__withdrawn_reason="",
            withdrawn_reason="",
        ).order_by("onset", "pk")
        return tuple(StoredAdverseEvent(e.onset, e.event, e.severity, e.outcome, e.serious) for e in rows)

    def session_counts(self) -> tuple[SessionCount, ...]:
        # Kept by each patient's refresh (bont.clinic.responder_verdicts): a few dozen rows, whatever the clinic's size.
        rows = models.SessionTotal.objects.filter(patients__gt=0).order_by("indication", "product")
        return tuple(SessionCount(*row) for row in rows.values_list("indication", "product", "sessions", "patients"))

    def verdict_tallies(self) -> StoredVerdicts:
        basis = models.ResponderVerdictBasis.objects.values_list("basis", flat=True).first()
        rows = models.VerdictTotal.objects.filter(patients__gt=0).order_by("indication", "instrument", "status")
        return StoredVerdicts(
            basis,
            tuple(VerdictTally(*row) for row in rows.values_list("indication", "instrument", "status", "patients")),
        )

    def outcome_histories(self, patient_ids: Sequence[int]) -> Iterator[OutcomeHistory]:
        for start in range(0, len(patient_ids), HISTORY_CHUNK):
            chunk = patient_ids[start : start + HISTORY_CHUNK]
            sessions: dict[int, list[GivenSession]] = defaultdict(list)
            for patient_id, *given in (
                models.TreatmentSession.objects.filter(patient_id__in=chunk, withdrawn_reason="")
                .order_by("date", "pk")
                .values_list("patient_id", "date", "indication", "product", "total_units", "verdict")
            ):
                sessions[patient_id].append(GivenSession(*given))
            outcomes: dict[int, list[StoredOutcome]] = defaultdict(list)
            for row in (
                models.OutcomeRecord.objects.filter(patient_id__in=chunk)
                .order_by("measured_on", "pk")
                .values_list(*_STORED_FIELDS)
            ):
                outcomes[row[1]].append(_stored(row))
            diaries: dict[int, dict[str, dict[date, dict[str, Any]]]] = defaultdict(lambda: defaultdict(dict))
            for patient_id, kind, day, entry in models.DiaryDay.objects.filter(patient_id__in=chunk).values_list(
                "patient_id", "kind", "day", "entry"
            ):
                diaries[patient_id][kind][day] = entry
            for patient_id in chunk:
                yield OutcomeHistory(
                    patient_id,
                    tuple(sessions[patient_id]),
                    tuple(outcomes[patient_id]),
                    {kind: dict(days) for kind, days in diaries[patient_id].items()},
                )
