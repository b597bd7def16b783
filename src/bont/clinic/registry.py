"""Record keeping around the sessions: patients, users, lots and vials, and the lot recall query.

Each function is one transaction. Errors never repeat identifiers (MRN, names): messages may be logged.
"""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.utils import timezone

from bont.clinic import models
from bont.domain.errors import FieldError

ROLES = ("clinician", "nurse", "billing", "researcher", "admin")


class RecordsError(FieldError):
    """A record-keeping command was refused; nothing was written."""


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
    recorded_on: date = field(default_factory=timezone.localdate)  # the clinic's day


def add_user(username: str, role: str, password: str | None = None) -> None:
    if role not in ROLES:
        raise RecordsError("role", f"must be one of {', '.join(ROLES)}")
    with transaction.atomic():
        user_model = get_user_model()
        if user_model.objects.filter(username=username).exists():
            raise RecordsError("username", "that user already exists")
        user = user_model.objects.create_user(username=username, password=password)
        user.groups.add(Group.objects.get_or_create(name=role)[0])


def add_patient(new: NewPatient) -> int:
    if new.sex not in models.Patient.Sex.values:
        raise RecordsError("sex", f"must be one of {', '.join(models.Patient.Sex.values)}")
    if new.birth_date > new.recorded_on:
        raise RecordsError("birth_date", "is in the future")
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
                patient.weights.create(measured_on=new.recorded_on, weight_kg=new.weight_kg)
            for term in new.conditions:
                patient.conditions.create(term=term)
            for name in new.medications:
                patient.medications.create(generic_name=name.casefold())
            for substance in new.allergies:
                patient.allergies.create(substance=substance, recorded_on=new.recorded_on)
    except IntegrityError as error:
        raise RecordsError("mrn", "a patient with this MRN already exists") from error
    return int(patient.pk)


def patient_by_mrn(mrn: str) -> models.Patient:
    row = models.Patient.objects.filter(mrn=mrn).first()
    if row is None:
        raise RecordsError("mrn", "no patient has this MRN")
    return row


def patient_id(mrn: str) -> int:
    return int(patient_by_mrn(mrn).pk)


def check_day(patient: models.Patient, day: date, field: str) -> None:
    """A day something happened to the patient: not in the future, not before their birth."""
    # The clinic's day: Django's TIME_ZONE is the clinic's zone (BONT_TIME_ZONE), as bootstrap.clock()'s is.
    if day > timezone.localdate():
        raise RecordsError(field, "is in the future")
    if day < patient.birth_date:
        raise RecordsError(field, "is before the patient's birth")


def add_lot(
    product: str, lot_number: str, expiry: date, vial_units: Decimal, quantity: int, received_on: date, ndc: str = ""
) -> list[int]:
    """Receive a lot: the lot and its sealed vials; returns the vial ids."""
    if quantity <= 0:
        raise RecordsError("quantity", "must be at least 1")
    try:
        with transaction.atomic():
            lot = models.Lot.objects.create(
                product=product,
                lot_number=lot_number,
                expiry=expiry,
                ndc=ndc,
                vial_units=vial_units,
                quantity_received=quantity,
                received_on=received_on,
            )
            vials = models.Vial.objects.bulk_create(models.Vial(lot=lot) for _ in range(quantity))
    except IntegrityError as error:
        raise RecordsError("lot", "this lot number is already recorded for the product") from error
    return [int(vial.pk) for vial in vials]


def reconstitute_vial(vial_id: int, diluent_ml: Decimal | None, at: datetime) -> None:
    with transaction.atomic():
        vial = models.Vial.objects.select_for_update().filter(pk=vial_id).first()
        if vial is None:
            raise RecordsError("vial", f"vial {vial_id} does not exist")
        if vial.state != models.Vial.State.SEALED:
            raise RecordsError("vial", f"vial {vial_id} is {vial.state}, not sealed")
        vial.state = models.Vial.State.RECONSTITUTED
        vial.reconstituted_at = at
        vial.diluent_ml = diluent_ml
        vial.save()


def recall(product: str, lot_number: str) -> list[dict[str, Any]]:
    """Every patient who received a vial of this lot, with the sessions concerned."""
    draws = (
        models.VialDraw.objects.filter(vial__lot__product=product, vial__lot__lot_number=lot_number)
        .select_related("session__patient")
        .order_by("session__date")
    )
    rows: dict[int, dict[str, Any]] = {}
    for draw in draws:
        patient = draw.session.patient
        entry = rows.setdefault(
            patient.pk,
            {
                "mrn": patient.mrn,
                "name": f"{patient.family_name}, {patient.given_name}",
                "birth_date": patient.birth_date.isoformat(),
                "sessions": [],
            },
        )
        entry["sessions"].append(
            {"session": draw.session.pk, "date": draw.session.date.isoformat(), "units": float(draw.units)}
        )
    return list(rows.values())


def add_adverse_event(
    mrn: str, event: str, onset: date, severity: str, session_id: int | None, outcome: str, notes: str
) -> int:
    if severity not in models.AdverseEvent.Severity.values:
        raise RecordsError("severity", f"must be one of {', '.join(models.AdverseEvent.Severity.values)}")
    with transaction.atomic():
        patient = patient_by_mrn(mrn)
        check_day(patient, onset, "onset")
        if session_id is not None:
            suspected = models.TreatmentSession.objects.filter(pk=session_id, patient=patient).first()
            if suspected is None:
                raise RecordsError("session", "no session with this id for this patient")
            if onset < suspected.date:
                raise RecordsError("onset", "is before the suspected session")
        row = models.AdverseEvent.objects.create(
            patient=patient,
            suspected_session_id=session_id,
            event=event,
            onset=onset,
            severity=severity,
            outcome=outcome,
            notes=notes,
        )
    return int(row.pk)


@dataclass(frozen=True)
class BillingLine:
    session_id: int
    date: date
    patient_mrn: str
    product: str
    indication: str
    hcpcs: str
    modifier: str
    units: Decimal
    billing_units: Decimal
    cpt: str


def billing_lines(knowledge: Any, start: date, end: date) -> list[BillingLine]:
    """Claim lines for the sessions in [start, end]: the administered units (with JZ when nothing was
    discarded), and a separate JW line for the discarded units."""
    from bont.domain.billing import BilledSite, bill
    from bont.domain.protocols import Guidance

    lines: list[BillingLine] = []
    sessions = (
        models.TreatmentSession.objects.filter(date__gte=start, date__lte=end, withdrawn_reason="")
        .select_related("patient")
        .prefetch_related("sites")
        .order_by("date", "pk")
    )
    for session in sessions:
        guidance = [Guidance(g) for g in session.guidance.split(",") if g.strip() in Guidance._value2member_map_]
        summary = bill(
            knowledge,
            session.product,
            knowledge.indication(session.indication),
            [BilledSite(site.muscle, site.side or None) for site in session.sites.all()],
            session.total_units,
            session.units_discarded,
            guidance,
        )

        lines.append(_line(session, summary, "JZ" if summary.modifier == "JZ" else "", summary.units_administered))
        if summary.modifier == "JW":
            lines.append(_line(session, summary, "JW", summary.units_discarded))
    return lines


BILLING_COLUMNS = (
    "session_id",
    "date",
    "patient_mrn",
    "product",
    "indication",
    "hcpcs",
    "modifier",
    "units",
    "billing_units",
    "cpt",
)


def billing_csv(lines: list[BillingLine]) -> str:
    """Claim lines as CSV, one row per line, in ``BILLING_COLUMNS`` order."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(BILLING_COLUMNS)
    for line in lines:
        writer.writerow(
            [
                line.session_id,
                line.date.isoformat(),
                line.patient_mrn,
                line.product,
                line.indication,
                line.hcpcs,
                line.modifier,
                f"{line.units.normalize():f}",
                f"{line.billing_units.normalize():f}",
                line.cpt,
            ]
        )
    return buffer.getvalue()


def _line(session: models.TreatmentSession, summary: Any, modifier: str, units: Decimal) -> BillingLine:
    return BillingLine(
        session_id=session.pk,
        date=session.date,
        patient_mrn=session.patient.mrn,
        product=session.product,
        indication=session.indication,
        hcpcs=summary.hcpcs,
        modifier=modifier,
        units=units,
        billing_units=units / summary.units_per_billing_unit,
        cpt=" ".join(summary.cpt),
    )


@dataclass(frozen=True)
class PatientUpdate:
    """Additions to a patient's record; nothing is overwritten, each becomes a new, dated row."""

    on: date
    weight_kg: Decimal | None = None
    add_conditions: tuple[str, ...] = ()
    resolve_conditions: tuple[str, ...] = ()
    add_medications: tuple[str, ...] = ()
    stop_medications: tuple[str, ...] = ()
    add_allergies: tuple[str, ...] = ()
    pregnant: bool | None = None
    breastfeeding: bool | None = None
    catheterizes: bool | None = None


def update_patient(mrn: str, update: PatientUpdate) -> None:
    with transaction.atomic():
        patient = models.Patient.objects.select_for_update().get(pk=patient_id(mrn))
        if update.weight_kg is not None:
            patient.weights.create(measured_on=update.on, weight_kg=update.weight_kg)
        for term in update.add_conditions:
            patient.conditions.create(term=term, onset=update.on)
        for term in update.resolve_conditions:
            rows = patient.conditions.filter(term=term, resolved_on__isnull=True)
            if not rows.exists():
                raise RecordsError("resolve-condition", "the patient has no such open condition")
            for condition in rows:
                condition.resolved_on = update.on
                condition.save()
        for name in update.add_medications:
            patient.medications.create(generic_name=name.casefold(), started_on=update.on)
        for name in update.stop_medications:
            taken = patient.medications.filter(generic_name=name.casefold(), stopped_on__isnull=True)
            if not taken.exists():
                raise RecordsError("stop-medication", "the patient takes no such medication")
            for medication in taken:
                medication.stopped_on = update.on
                medication.save()
        for substance in update.add_allergies:
            patient.allergies.create(substance=substance, recorded_on=update.on)
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
        if update.catheterizes is not None:
            patient.catheterizes = update.catheterizes
            patient.save()


def list_patients(search: str = "") -> list[dict[str, Any]]:
    rows = models.Patient.objects.order_by("family_name", "given_name")
    if search:
        from django.db.models import Q

        rows = rows.filter(
            Q(mrn__icontains=search) | Q(family_name__icontains=search) | Q(given_name__icontains=search)
        )
    return [
        {
            "mrn": row.mrn,
            "name": f"{row.family_name}, {row.given_name}",
            "birth_date": row.birth_date.isoformat(),
            "sessions": row.sessions.count(),
        }
        for row in rows[:500]
    ]


def session_billing(knowledge: Any, session_id: int) -> list[BillingLine]:
    session = models.TreatmentSession.objects.filter(pk=session_id).first()
    if session is None:
        raise RecordsError("session", "no session with this id")
    return [line for line in billing_lines(knowledge, session.date, session.date) if line.session_id == session_id]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(username: str) -> str:
    """A new bearer token for the JSON API; returned once, only its hash is stored."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise RecordsError("username", "no such user")
    token = secrets.token_urlsafe(32)
    models.ApiToken.objects.create(user=user, key_hash=hash_token(token))
    return token
