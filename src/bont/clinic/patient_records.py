"""The Django implementation of ``bont.services.patients.PatientRegistry``: rows in, read models out."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, IntegerField, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from bont.clinic import models
from bont.clinic.derived import rename_patient
from bont.domain.findings import Severity
from bont.services.patients import (
    AdverseEventEntry,
    AuditEntry,
    NewPatient,
    PatientHeader,
    PatientListRow,
    PatientRecord,
    PatientRecordError,
    PatientRegistry,
    PatientUpdate,
    ReproductivePeriod,
    SessionEntry,
    TreatmentRecord,
    WeightEntry,
)
from bont.services.ports import UnknownPatientError


class DjangoPatientRegistry(PatientRegistry):
    def add(self, new: NewPatient, recorded_on: date) -> int:
        try:
            with transaction.atomic():
                patient = models.Patient.objects.create(
                    mrn=new.mrn,
                    given_name=new.given_name,
                    family_name=new.family_name,
                    birth_date=new.birth_date,
                    sex=new.sex,
                    catheterizes=new.catheterizes,
                )
                if new.weight_kg is not None:
                    patient.weights.create(measured_on=new.weighed_on or recorded_on, weight_kg=new.weight_kg)
                for term in new.conditions:
                    patient.conditions.create(term=term)
                for name in new.medications:
                    patient.medications.create(generic_name=name.casefold())
                for substance in new.allergies:
                    patient.allergies.create(substance=substance, recorded_on=recorded_on)
                for status, flag in (
                    (models.ReproductiveStatus.Status.PREGNANT, new.pregnant),
                    (models.ReproductiveStatus.Status.BREASTFEEDING, new.breastfeeding),
                ):
                    if flag:
                        patient.reproductive_statuses.create(status=status, from_date=recorded_on)
        except IntegrityError as error:
            raise PatientRecordError("mrn", "a patient with this MRN already exists") from error
        return int(patient.pk)

    def update(self, mrn: str, update: PatientUpdate) -> None:
        with transaction.atomic():
            patient = models.Patient.objects.select_for_update().filter(mrn=mrn).first()
            if patient is None:
                raise UnknownPatientError()
            if update.weight_kg is not None:
                patient.weights.create(measured_on=update.on, weight_kg=update.weight_kg)
            for term in update.add_conditions:
                patient.conditions.create(term=term, onset=update.on)
            for term in update.resolve_conditions:
                rows = patient.conditions.filter(term=term, resolved_on__isnull=True)
                if not rows.exists():
                    raise PatientRecordError("resolve-condition", "the patient has no such open condition")
                for condition in rows:
                    condition.resolved_on = update.on
                    condition.save()
            for name in update.add_medications:
                patient.medications.create(generic_name=name.casefold(), started_on=update.on)
            for name in update.stop_medications:
                taken = patient.medications.filter(generic_name=name.casefold(), stopped_on__isnull=True)
                if not taken.exists():
                    raise PatientRecordError("stop-medication", "the patient takes no such medication")
                for medication in taken:
                    medication.stopped_on = update.on
                    medication.save()
            for substance in update.add_allergies:
                patient.allergies.create(substance=substance, recorded_on=update.on)
            for substance in update.remove_allergies:
                held = patient.allergies.filter(substance=substance, removed_on__isnull=True)
                if not held.exists():
                    raise PatientRecordError("remove-allergy", "the patient has no such allergy on file")
                for allergy in held:
                    allergy.removed_on = update.on
                    allergy.save()
            for status, flag in (
                (models.ReproductiveStatus.Status.PREGNANT, update.pregnant),
                (models.ReproductiveStatus.Status.BREASTFEEDING, update.breastfeeding),
            ):
                if flag is None:
                    continue
                open_rows = patient.reproductive_statuses.filter(status=status, to_date__isnull=True)
                if flag and not open_rows.exists():
                    patient.reproductive_statuses.create(status=status, from_date=update.on)
                if not flag:
                    for period in open_rows:
                        period.to_date = update.on
                        period.save()
            demographics = {
                "given_name": update.given_name,
                "family_name": update.family_name,
                "birth_date": update.birth_date,
                "sex": update.sex,
                "catheterizes": update.catheterizes,
            }
            changed = {name: value for name, value in demographics.items() if value is not None}
            if any(getattr(patient, name) != value for name, value in changed.items()):
                for name, value in changed.items():
                    setattr(patient, name, value)
                patient.save()  # one new version in the audit trail, with the user
                rename_patient(patient.pk, patient.family_name, patient.given_name)

    def search(self, query: str, limit: int, offset: int = 0) -> tuple[PatientListRow, ...]:
        # The page of patients in the name index's order, each with its sessions counted by a subquery that the
        # database runs for the rows of the page only (one query, no list of ids sent back). A withdrawn session
        # no longer counts.
        given = (
            models.TreatmentSession.objects.filter(patient=OuterRef("pk"), withdrawn_reason="")
            .order_by()
            .values("patient")
            .annotate(count=Count("pk"))
            .values("count")
        )
        rows = (
            _matching(query)
            .order_by("family_name", "given_name", "pk")
            .annotate(given=Coalesce(Subquery(given, output_field=IntegerField()), 0))
            .values_list("mrn", "family_name", "given_name", "birth_date", "given", "chart_key")
        )
        page = list(rows[offset : offset + limit])
        _keep_chart_keys((row[0], row[5]) for row in page)  # the list links to each chart
        return tuple(PatientListRow(*row) for row in page)

    def count(self, query: str) -> int:
        return _matching(query).count()

    def record(self, mrn: str) -> PatientRecord:
        row = _patient(mrn)
        treatment = _treatment_record(row)
        return PatientRecord(
            header=treatment.header,
            weights=tuple(  # a same-day reweigh after the weight it replaces, as the chart reads them
                WeightEntry(*w)
                for w in row.weights.order_by("measured_on", "pk").values_list("measured_on", "weight_kg")
            ),
            conditions=tuple(row.conditions.values_list("term", flat=True)),
            medications=tuple(row.medications.values_list("generic_name", flat=True)),
            allergies=tuple(row.allergies.filter(removed_on__isnull=True).values_list("substance", flat=True)),
            reproductive_statuses=tuple(
                ReproductivePeriod(*r) for r in row.reproductive_statuses.values_list("status", "from_date", "to_date")
            ),
            adverse_events=treatment.adverse_events,
            sessions=treatment.sessions,
        )

    def treatment_record(self, mrn: str) -> TreatmentRecord:
        return _treatment_record(_patient(mrn))

    def weighed_on(self, mrn: str, on: date) -> date | None:
        found: list[date | None] = list(
            models.Patient.objects.filter(mrn=mrn)
            .annotate(day=Max("weights__measured_on", filter=Q(weights__measured_on__lte=on)))
            .values_list("day", flat=True)
        )
        if not found:
            raise UnknownPatientError()
        return found[0]

    def chart_key(self, mrn: str) -> str:
        return _chart_key(mrn)

    def mrn_for_chart_key(self, chart_key: str) -> str:
        return _mrn_for_chart_key(chart_key)

    def audit_trail(self, mrn: str) -> tuple[AuditEntry, ...]:
        row = _patient(mrn)
        entries = [
            AuditEntry(
                when=version.history_date,
                who=_who(version.history_user),
                what="patient record",
                type=version.get_history_type_display(),
            )
            for version in row.history.all()
        ]
        # The dated rows of the record (weights, conditions, medicines, allergies, pregnancy and breastfeeding),
        # the clinical records and what a session is made of (its sites, findings and vial draws), the diary and
        # its links: what was added, changed, resolved or withdrawn, by whom. Values are named, never the patient.
        by_patient, by_session = {"patient_id": row.pk}, {"session__patient_id": row.pk}
        record_rows: tuple[tuple[Any, dict[str, int], Callable[[Any], str]], ...] = (
            (
                models.WeightMeasurement,
                by_patient,
                lambda v: f"weight {v.weight_kg} kg measured {v.measured_on:%Y-%m-%d}",
            ),
            (
                models.PatientCondition,
                by_patient,
                lambda v: f"condition {v.term}" + (f" resolved {v.resolved_on:%Y-%m-%d}" if v.resolved_on else ""),
            ),
            (
                models.PatientMedication,
                by_patient,
                lambda v: f"medicine {v.generic_name}" + (f" stopped {v.stopped_on:%Y-%m-%d}" if v.stopped_on else ""),
            ),
            (
                models.PatientAllergy,
                by_patient,
                lambda v: f"allergy {v.substance}" + (f" removed {v.removed_on:%Y-%m-%d}" if v.removed_on else ""),
            ),
            (
                models.ReproductiveStatus,
                by_patient,
                lambda v: (
                    f"{v.status} from {v.from_date:%Y-%m-%d}" + (f" to {v.to_date:%Y-%m-%d}" if v.to_date else "")
                ),
            ),
            # The patient's clinical records, each version marked when it withdrew the record.
            (
                models.TreatmentSession,
                by_patient,
                lambda v: f"session {v.id} ({v.date:%Y-%m-%d}, {v.indication})" + _withdrawn(v),
            ),
            (
                models.SessionSite,
                by_session,
                lambda v: f"session {v.session_id} site {v.muscle} {v.side} {v.units} U".replace("  ", " "),
            ),
            (
                models.SessionFinding,
                by_session,
                lambda v: f"session {v.session_id} finding {v.code}" + (" acknowledged" if v.acknowledgement else ""),
            ),
            (
                models.VialDraw,
                by_session,
                lambda v: f"session {v.session_id} draw of {v.units} U from vial {v.vial_id}",
            ),
            (
                models.AdverseEvent,
                by_patient,
                lambda v: f"adverse event {v.id} ({v.event}, onset {v.onset:%Y-%m-%d})" + _withdrawn(v),
            ),
            (
                models.OutcomeRecord,
                by_patient,
                lambda v: f"outcome {v.id} ({v.instrument}, {v.measured_on:%Y-%m-%d})" + _withdrawn(v),
            ),
            (
                models.ExternalAdministration,
                by_patient,
                lambda v: f"dose given elsewhere {v.id} ({v.date:%Y-%m-%d}, {v.units} U {v.product})" + _withdrawn(v),
            ),
            (models.DiaryDay, by_patient, lambda v: f"{v.kind} diary day {v.day:%Y-%m-%d}"),
            (
                models.DiaryLink,
                by_patient,
                lambda v: (
                    f"{v.kind} diary link {v.id} until {v.expires_on:%Y-%m-%d}" + (" revoked" if v.revoked else "")
                ),
            ),
        )
        for model, owner, describe in record_rows:
            entries += [
                AuditEntry(
                    when=version.history_date,
                    who=_who(version.history_user),
                    what=describe(version),
                    type=version.get_history_type_display(),
                )
                for version in model.history.filter(**owner).select_related("history_user")
            ]
        entries.sort(key=lambda e: e.when, reverse=True)
        return tuple(entries)


def _matching(query: str) -> QuerySet[models.Patient]:
    rows = models.Patient.objects.all()
    if query:
        rows = rows.filter(Q(mrn__icontains=query) | Q(family_name__icontains=query) | Q(given_name__icontains=query))
    return rows


def _withdrawn(version: Any) -> str:
    return " withdrawn" if version.withdrawn_reason else ""


# A chart key and an MRN never change (the MRN is fixed at registration), so the pairs read are kept per
# database, bounded: a page of chart links costs no query once its rows were read.
CHART_KEYS_KEPT = 20_000
_keys_by_mrn: dict[tuple[str, str], str] = {}
_mrns_by_key: dict[tuple[str, str], str] = {}


def _keep_chart_keys(pairs: Iterable[tuple[str, str]]) -> None:
    """Keep these (MRN, chart key) pairs of the current database."""
    database = str(connection.settings_dict["NAME"])
    if len(_keys_by_mrn) >= CHART_KEYS_KEPT:
        _keys_by_mrn.clear()
        _mrns_by_key.clear()
    for mrn, key in pairs:
        _keys_by_mrn[database, mrn] = key
        _mrns_by_key[database, key] = mrn


def _chart_key(mrn: str) -> str:
    key = _keys_by_mrn.get((str(connection.settings_dict["NAME"]), mrn))
    if key is None:
        key = models.Patient.objects.filter(mrn=mrn).values_list("chart_key", flat=True).first()
        if key is None:
            raise UnknownPatientError()
        _keep_chart_keys([(mrn, key)])
    return key


def _mrn_for_chart_key(chart_key: str) -> str:
    mrn = _mrns_by_key.get((str(connection.settings_dict["NAME"]), chart_key))
    if mrn is None:
        mrn = models.Patient.objects.filter(chart_key=chart_key).values_list("mrn", flat=True).first()
        if mrn is None:
            raise UnknownPatientError()
        _keep_chart_keys([(mrn, chart_key)])
    return mrn


def _patient(mrn: str) -> models.Patient:
    row = models.Patient.objects.filter(mrn=mrn).first()
    if row is None:
        raise UnknownPatientError()
    return row


def _header(row: models.Patient) -> PatientHeader:
    return PatientHeader(row.mrn, row.given_name, row.family_name, row.birth_date, row.sex, row.catheterizes)


def _who(user: object) -> str | None:
    return None if user is None else str(user)


def _treatment_record(row: models.Patient) -> TreatmentRecord:
    # Plain value rows, the users' names joined and a blocking finding asked of the database: the chart reads
    # this on every opening, and a model instance per session, finding and user cost more than the queries.
    blocking = models.SessionFinding.objects.filter(session=OuterRef("pk"), severity=Severity.BLOCK)
    sessions = list(
        row.sessions.order_by("date", "pk")
        .annotate(blocked=Exists(blocking))
        .values_list(
            "pk", "date", "product", "indication", "total_units", "verdict", "override_reason",
            "withdrawn_reason", "blocked", "withdrawn_by__username", "clinician__username",
            "given_by__username", "given_at",
        )
    )  # fmt: skip
    adverse_events = tuple(
        AdverseEventEntry(
            event, onset, severity, session_id, outcome, serious, id=int(pk), withdrawn_reason=withdrawn,
            withdrawn_by=withdrawn_by,
        )
        for event, onset, severity, session_id, outcome, serious, pk, withdrawn, withdrawn_by in (
            row.adverse_events.order_by("onset", "pk").values_list(
                "event", "onset", "severity", "suspected_session_id", "outcome", "serious", "pk",
                "withdrawn_reason", "withdrawn_by__username",
            )
        )
    )  # fmt: skip
    # A correction withdraws the session it corrects: only a record with a withdrawn session has corrections.
    corrections = (
        dict(
            models.TreatmentSession.objects.filter(patient=row, corrects__isnull=False).values_list("corrects_id", "pk")
        )
        if any(session[7] for session in sessions)
        else {}
    )
    session_entries = tuple(
        SessionEntry(
            id=pk, on=on, product=product, indication=indication, total_units=units, verdict=verdict,
            override_reason=override, withdrawn_reason=withdrawn, blocked=blocked, withdrawn_by=withdrawn_by,
            corrected_by=corrections.get(pk), recorded_by=recorded_by, given_by=given_by, given_at=given_at,
        )
        for (pk, on, product, indication, units, verdict, override, withdrawn, blocked, withdrawn_by, recorded_by,
             given_by, given_at) in sessions
    )  # fmt: skip
    return TreatmentRecord(header=_header(row), adverse_events=adverse_events, sessions=session_entries)
