"""The Django implementation of ``bont.services.access_log.AccessLog``: reads appended as ``AccessEvent`` rows,
and the clinic-wide search as one ``UNION ALL`` over the access events and every versioned record's history,
sorted and sliced by the database so that a page reads at most a page of rows.

Nothing here updates or deletes a row: ``AccessEvent`` refuses both itself, and the historical rows are only
ever read.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import CharField, F, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.http import HttpRequest
from django.utils import timezone
from simple_history.models import HistoricalRecords

from bont.clinic import models
from bont.services.access_log import (
    NO_OPERATOR,
    Access,
    AccessEntry,
    AccessLog,
    AuditKind,
    AuditQuery,
    AuditRow,
)

# The versioned records: each with its name in the audit and the path from its history row to the patient's
# MRN (None: the record is no patient's, e.g. a lot or a user).
VERSIONED: tuple[tuple[Any, str, str | None], ...] = (
    (models.Patient, "patient record", "mrn"),
    (models.WeightMeasurement, "weight", "patient__mrn"),
    (models.PatientCondition, "condition", "patient__mrn"),
    (models.PatientMedication, "medicine", "patient__mrn"),
    (models.PatientAllergy, "allergy", "patient__mrn"),
    (models.ReproductiveStatus, "pregnancy or breastfeeding", "patient__mrn"),
    (models.TreatmentSession, "session", "patient__mrn"),
    (models.SessionSite, "session site", "session__patient__mrn"),
    (models.SessionFinding, "session finding", "session__patient__mrn"),
    (models.VialDraw, "vial draw", "session__patient__mrn"),
    (models.AdverseEvent, "adverse event", "patient__mrn"),
    (models.OutcomeRecord, "outcome", "patient__mrn"),
    (models.DiaryDay, "diary day", "patient__mrn"),
    (models.DiaryLink, "diary link", "patient__mrn"),
    (models.ExternalAdministration, "dose given elsewhere", "patient__mrn"),
    (models.Lot, "lot", None),
    (models.Vial, "vial", None),
    (models.ApiToken, "API token", None),
    (models.ProviderProfile, "provider profile", None),
    (models.ContinuationSetting, "continuation setting", None),
    (get_user_model(), "user", None),
)
CHANGES = {"+": "created", "~": "changed", "-": "deleted"}
TEXT = CharField()
COLUMNS = ("row_when", "row_who", "row_kind", "row_what", "row_change", "row_mrn", "row_address")


def _bounds(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """The clinic's days as instants: from the start of ``start`` to before the start of the day after ``end``."""
    zone = timezone.get_current_timezone()
    low = timezone.make_aware(datetime.combine(start, time.min), zone) if start else None
    high = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min), zone) if end else None
    return low, high


class DjangoAccessLog(AccessLog):
    def record(self, access: Access) -> None:
        patient = models.Patient.objects.filter(mrn=access.patient_mrn).first() if access.patient_mrn else None
        models.AccessEvent.objects.create(
            actor=access.actor or "",
            channel=access.channel.value,
            action=access.action.value,
            target=access.target,
            patient=patient,
            object_id=access.object_id,
            remote_address=access.remote_address,
        )

    def for_patient(self, mrn: str) -> tuple[AccessEntry, ...]:
        return tuple(
            AccessEntry(
                at=event.at,
                actor=event.actor or NO_OPERATOR,
                channel=event.channel,
                action=event.action,
                target=event.target,
                patient_mrn=mrn,
                object_id=event.object_id,
                remote_address=event.remote_address,
            )
            for event in models.AccessEvent.objects.filter(patient__mrn=mrn).order_by("-at", "-pk")
        )

    def search(self, query: AuditQuery, offset: int, limit: int) -> tuple[AuditRow, ...]:
        parts: list[QuerySet[Any, Any]] = []
        low, high = _bounds(query.start, query.end)
        # The access events come first: PostgreSQL takes a UNION's column types from its first part (inet for the
        # address), and the NULLs of the later parts take that type.
        if query.kind is not AuditKind.CHANGE:
            events = models.AccessEvent.objects.all()
            if query.kind is AuditKind.READ:
                events = events.exclude(action="export")
            elif query.kind is AuditKind.EXPORT:
                events = events.filter(action="export")
            if query.username:
                events = events.filter(actor=query.username)
            if query.mrn:
                events = events.filter(patient__mrn=query.mrn)
            if low:
                events = events.filter(at__gte=low)
            if high:
                events = events.filter(at__lt=high)
            parts.append(
                events.annotate(
                    row_when=F("at"),
                    row_who=F("actor"),
                    row_kind=Value("access", output_field=TEXT),
                    row_what=Concat("target", Value(" "), "object_id", output_field=TEXT),
                    row_change=Concat("action", Value(" ("), "channel", Value(")"), output_field=TEXT),
                    row_mrn=F("patient__mrn"),
                    row_address=F("remote_address"),
                )
                .order_by()
                .values_list(*COLUMNS)
            )
        if query.kind in (None, AuditKind.CHANGE):
            for model, name, mrn_path in VERSIONED:
                versions = model.history.all()
                if query.mrn:
                    if mrn_path is None:  # a lot, a user...: no patient's record
                        continue
                    versions = versions.filter(**{mrn_path: query.mrn})
                if query.username:
                    versions = versions.filter(history_user__username=query.username)
                if low:
                    versions = versions.filter(history_date__gte=low)
                if high:
                    versions = versions.filter(history_date__lt=high)
                label = "username" if name == "user" else Cast("id", TEXT)
                parts.append(
                    versions.annotate(
                        row_when=F("history_date"),
                        row_who=F("history_user__username"),
                        row_kind=Value("change", output_field=TEXT),
                        row_what=Concat(Value(f"{name} "), label, output_field=TEXT),
                        row_change=F("history_type"),
                        row_mrn=F(mrn_path) if mrn_path else Value(None, output_field=TEXT),
                        row_address=Value(None, output_field=models.AccessEvent._meta.get_field("remote_address")),
                    )
                    .order_by()
                    .values_list(*COLUMNS)
                )
        if not parts:
            return ()
        first, *rest = parts
        combined = first.union(*rest, all=True) if rest else first
        rows = combined.order_by("-row_when")[offset : offset + limit]
        return tuple(
            AuditRow(
                when=when,
                who=who or NO_OPERATOR,
                kind=AuditKind.CHANGE if kind == "change" else _access_kind(change),
                what=what.strip(),
                change=CHANGES.get(change, change),
                patient_mrn=mrn,
                remote_address=address,
            )
            for when, who, kind, what, change, mrn, address in rows
        )


def _access_kind(change: str) -> AuditKind:
    return AuditKind.EXPORT if change.startswith("export") else AuditKind.READ


def name_operator(username: str) -> bool:
    """Make the active user ``username`` the history user of every change this process makes from now on (the
    command line's named operator), as django-simple-history's middleware does for a web request; False, and
    nothing changed, when no active user has that name."""
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        return False
    request = HttpRequest()
    request.user = user
    HistoricalRecords.context.request = request
    return True


def forget_operator() -> None:
    """The end of a command: later changes in this process (a test's, another command's) carry no operator."""
    if hasattr(HistoricalRecords.context, "request"):
        del HistoricalRecords.context.request
