"""The clinic's records. Clinical rows are never hard-deleted: a correction is a new version, kept by
django-simple-history with who changed what and when; a withdrawn row is marked, not removed.

Rows are persistence only: repositories turn them into domain objects for the services.
"""

from __future__ import annotations

import secrets
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models, transaction
from simple_history import register
from simple_history.models import HistoricalRecords


def units_field(**options: Any) -> models.DecimalField[Any, Any]:
    """Units of one product, to hundredths."""
    return models.DecimalField(max_digits=10, decimal_places=2, **options)


def volume_field(**options: Any) -> models.DecimalField[Any, Any]:
    """Millilitres, to the 0.01 mL marks of a syringe."""
    return models.DecimalField(max_digits=7, decimal_places=2, **options)


class NeverDelete(models.Model):
    """Clinical data is corrected by a new version, never deleted."""

    class Meta:
        abstract = True

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError(f"{type(self).__name__} rows are never deleted; record a correction instead")


def withdraw_row(
    model: type[TreatmentSession | OutcomeRecord | AdverseEvent | ExternalAdministration],
    pk: int,
    reason: str,
    by: str | None,
) -> str | None:
    """Mark a session, outcome, adverse event or dose given elsewhere withdrawn, locked against a concurrent
    withdrawal: None when there is no such row, the earlier reason when it was already withdrawn, "" when
    withdrawn now. The user named ``by`` is kept as who withdrew it and in the audit history."""
    with transaction.atomic():
        row = model.objects.select_for_update().filter(pk=pk).first()
        if row is None:
            return None
        if row.withdrawn_reason:
            return str(row.withdrawn_reason)
        row.withdrawn_reason = reason
        if by is not None:
            row.withdrawn_by = get_user_model().objects.filter(username=by).first()
            row._history_user = row.withdrawn_by  # type: ignore[union-attr]  # django-simple-history reads it
        row.save()
        return ""


def new_chart_key() -> str:
    """A chart's address: random, so that no MRN or guessable number travels in a URL (browser history, proxy
    and server logs, referrers)."""
    return secrets.token_urlsafe(12)  # 16 characters, 96 bits


class Patient(NeverDelete):
    class Sex(models.TextChoices):
        FEMALE = "female"
        MALE = "male"
        OTHER = "other"
        UNKNOWN = "unknown"

    mrn = models.CharField("medical record number", max_length=40, unique=True)
    chart_key = models.CharField(max_length=24, unique=True, default=new_chart_key, editable=False)
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    birth_date = models.DateField()
    sex = models.CharField(max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    catheterizes = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        # the patient list sorts by name
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["family_name", "given_name"])]

    def __str__(self) -> str:
        return f"patient {self.pk}"  # never the name or MRN: strings end up in logs


class WeightMeasurement(NeverDelete):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="weights")
    measured_on = models.DateField()
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1)
    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar[list[str]] = ["measured_on"]


class PatientCondition(NeverDelete):
    """A condition as recorded: an ICD-10-CM code or a name."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="conditions")
    term = models.CharField(max_length=120)
    onset = models.DateField(null=True, blank=True)
    resolved_on = models.DateField(null=True, blank=True)
    history = HistoricalRecords()


class PatientMedication(NeverDelete):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="medications")
    generic_name = models.CharField(max_length=120)
    started_on = models.DateField(null=True, blank=True)
    stopped_on = models.DateField(null=True, blank=True)
    history = HistoricalRecords()


class PatientAllergy(NeverDelete):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="allergies")
    substance = models.CharField(max_length=120)
    recorded_on = models.DateField(null=True, blank=True)
    removed_on = models.DateField(null=True, blank=True)  # recorded in error, or no longer held: kept, not read
    history = HistoricalRecords()


class ReproductiveStatus(NeverDelete):
    class Status(models.TextChoices):
        PREGNANT = "pregnant"
        BREASTFEEDING = "breastfeeding"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="reproductive_statuses")
    status = models.CharField(max_length=20, choices=Status.choices)
    from_date = models.DateField()
    to_date = models.DateField(null=True, blank=True)
    history = HistoricalRecords()


class Lot(NeverDelete):
    product = models.CharField(max_length=40)
    lot_number = models.CharField(max_length=40)
    expiry = models.DateField()
    ndc = models.CharField(max_length=20, blank=True)
    vial_units = units_field()
    quantity_received = models.PositiveIntegerField()
    received_on = models.DateField()
    history = HistoricalRecords()

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["product", "lot_number"], name="unique_lot_per_product")
        ]


class Vial(NeverDelete):
    class State(models.TextChoices):
        SEALED = "sealed"
        RECONSTITUTED = "reconstituted"
        USED_UP = "used-up"
        DISCARDED = "discarded"

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="vials")
    state = models.CharField(max_length=20, choices=State.choices, default=State.SEALED)
    reconstituted_at = models.DateTimeField(null=True, blank=True)
    diluent_ml = volume_field(null=True, blank=True)
    units_drawn = units_field(default=0)
    discarded_units = units_field(default=0)
    history = HistoricalRecords()

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(condition=models.Q(units_drawn__gte=0), name="vial_units_drawn_not_negative")
        ]


class TreatmentSession(NeverDelete):
    class Verdict(models.TextChoices):
        OK = "ok"
        WARN = "warn"
        BLOCK = "block"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="sessions")
    date = models.DateField()
    clinician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")  # recorded it
    # Who injected and when: a nurse may inject and a clinician record, or the other way round. Sessions recorded
    # before migration 0009 have neither (the recorder gave them, on ``date``).
    given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    given_at = models.DateTimeField(null=True, blank=True)
    indication = models.CharField(max_length=60)
    product = models.CharField(max_length=40)
    protocol = models.CharField(max_length=120, blank=True)
    guidance = models.CharField(max_length=120, blank=True)
    total_units = units_field()
    units_discarded = units_field(default=0)  # left in vials this session opened and discarded (JW/JZ)
    deviation_reason = models.TextField(blank=True)
    verdict = models.CharField(max_length=10, choices=Verdict.choices)
    override_reason = models.TextField(blank=True)
    plan = models.JSONField(default=dict)
    withdrawn_reason = models.TextField(blank=True)  # a session entered in error is withdrawn, not deleted
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # A correction is a new session that replaces a withdrawn one (never an edit of the doses given).
    corrects = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrected_by"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        # a patient's history; and the clinic-wide date ranges of billing, follow-up and research
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["patient", "date"]),
            models.Index(fields=["date"]),
        ]


class SessionSite(NeverDelete):
    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="sites")
    muscle = models.CharField(max_length=60)
    side = models.CharField(max_length=10, blank=True)
    units = units_field()
    volume_ml = volume_field(null=True, blank=True)
    # Where the site was drawn on the anatomic canvas (bont.domain.canvas): a drawing and a point in its percent.
    drawing = models.CharField(max_length=10, blank=True)
    x = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    y = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    history = HistoricalRecords()


class SessionFinding(NeverDelete):
    """A finding shown when the session was recorded, and who acknowledged it and why."""

    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="findings")
    severity = models.CharField(max_length=10)
    code = models.CharField(max_length=60)
    message = models.TextField()
    source = models.CharField(max_length=200, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledgement = models.TextField(blank=True)
    history = HistoricalRecords()


class VialDraw(NeverDelete):
    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="draws")
    vial = models.ForeignKey(Vial, on_delete=models.PROTECT, related_name="draws")
    units = units_field()
    history = HistoricalRecords()


class AdverseEvent(NeverDelete):
    """An adverse event reported for a patient. ``severity`` is its intensity; ``serious`` is the separate
    regulatory judgement (death, life-threatening, hospitalisation, disability, congenital anomaly or another
    important medical event: ICH E2A, 21 CFR 312.32). Before migration 0005 "serious" was a severity."""

    class Severity(models.TextChoices):
        MILD = "mild"
        MODERATE = "moderate"
        SEVERE = "severe"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="adverse_events")
    suspected_session = models.ForeignKey(
        TreatmentSession, null=True, blank=True, on_delete=models.PROTECT, related_name="adverse_events"
    )
    event = models.CharField(max_length=60)  # ptosis, dysphagia, neck-weakness, urinary-retention, uti, ...
    onset = models.DateField()
    severity = models.CharField(max_length=10, choices=Severity.choices)
    serious = models.BooleanField(default=False)
    outcome = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)
    withdrawn_reason = models.TextField(blank=True)  # entered in error: withdrawn, not deleted
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords()


class ApiToken(models.Model):
    """A bearer token for the JSON API; only its SHA-256 hash is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Migration 0010: a token names what it is for, expires, records its last use and is revoked, not deleted.
    name = models.CharField(max_length=80, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()


class ProviderProfile(models.Model):
    """What a claim needs of a user who gives treatment: their NPI, the claim's rendering provider. Set by
    ``bont user npi``; changes are kept in the history."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="provider_profile")
    npi = models.CharField("National Provider Identifier", max_length=10, blank=True)
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"provider profile {self.pk}"


class OutcomeRecord(NeverDelete):
    """One validated outcome measurement for a patient and indication: a clinician's entry, or a diary
    period's summary. Kept as the instrument scored it (a grade stays a grade)."""

    class Source(models.TextChoices):
        CLINIC = "clinic"
        DIARY = "diary"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="outcomes")
    indication = models.CharField(max_length=60)
    instrument = models.CharField(max_length=60)
    measured_on = models.DateField()
    period_start = models.DateField(null=True, blank=True)  # for a period measure (a diary): its first day
    value = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    grade = models.CharField(max_length=20, blank=True)
    rank = models.PositiveSmallIntegerField(null=True, blank=True)
    band = models.CharField(max_length=60, blank=True)
    items = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.CLINIC)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawn_reason = models.TextField(blank=True)  # entered in error: withdrawn, not deleted
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["patient", "indication", "measured_on"])]


class DiaryDay(NeverDelete):
    """One day of a patient's headache or bladder diary, as the patient (or the clinic) entered it."""

    class Kind(models.TextChoices):
        HEADACHE = "headache"
        BLADDER = "bladder"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="diary_days")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    day = models.DateField()
    entry = models.JSONField(default=dict)  # the fields of the domain's HeadacheDiaryDay or BladderDiaryDay
    entered_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["patient", "kind", "day"], name="one_diary_entry_per_day")
        ]


class DiaryLink(models.Model):
    """A patient's personal link to fill a diary between visits; only the token's SHA-256 hash is stored."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="diary_links")
    kind = models.CharField(max_length=10, choices=DiaryDay.Kind.choices)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_on = models.DateField()
    revoked = models.BooleanField(default=False)
    history = HistoricalRecords()


class ContinuationSetting(models.Model):
    """A clinic's own version of one of bont's cited continuation rules (payers and guidelines differ):
    switched off, or with another threshold, number of cycles or months, and why."""

    rule = models.CharField(max_length=80, unique=True)  # the knowledge base's continuation rule id
    enabled = models.BooleanField(default=True)
    threshold = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    cycles = models.PositiveSmallIntegerField(null=True, blank=True)
    months = models.PositiveSmallIntegerField(null=True, blank=True)
    reason = models.TextField()
    history = HistoricalRecords()


class AccessEvent(models.Model):
    """Who read (or exported) what, when and from where: chart, session, report and export reads, which the
    versioned history of the records cannot show. Appended only; the app never changes or deletes a row."""

    class Channel(models.TextChoices):
        WEB = "web"
        API = "api"
        CLI = "cli"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.CharField(max_length=150)  # the signed-in user, or the CLI's named operator
    channel = models.CharField(max_length=10, choices=Channel.choices)
    action = models.CharField(max_length=20)  # read, export, print, ...
    target = models.CharField(max_length=40)  # chart, session, continuation-report, billing-export, ...
    patient = models.ForeignKey(Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    object_id = models.CharField(max_length=40, blank=True)
    remote_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["patient", "at"])]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("access events are appended, never changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("access events are never deleted")


# Users and their roles (groups) are versioned like the clinical rows: who was given which role, disabled or
# had a password reset, and by whom.
register(get_user_model(), app="bont.clinic", m2m_fields=["groups"], table_name="clinic_historicaluser")


class FollowUpSummary(models.Model):
    """Derived from the records, never entered: per patient and indication, the latest session given (not
    withdrawn) and whether an outcome was assessed since, kept by the transaction that changes any of them, so that
    the Follow-up list reads one indexed table instead of aggregating every session, measurement and diary day.
    The patient's name is copied for the list's sort."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    indication = models.CharField(max_length=60)
    family_name = models.CharField(max_length=100)
    given_name = models.CharField(max_length=100)
    last_session = models.DateField()
    # the day of that latest session while no outcome (or diary day) has been kept since; None once assessed
    assessment_pending_since = models.DateField(null=True, blank=True)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["patient", "indication"], name="one_follow_up_summary")
        ]
        indexes: ClassVar[list[models.Index]] = [
            # the assessments due, in the list's order
            models.Index(
                fields=["assessment_pending_since", "family_name", "given_name", "patient", "indication"],
                name="follow_up_due_order",
            )
        ]

    def __str__(self) -> str:
        return f"follow-up summary {self.pk}"


class TreatedPatient(models.Model):
    """Derived, never entered: one row for each patient with a session not withdrawn (one who has a Follow-up summary
    row), kept with the summary (``bont.clinic.derived``), so that the Follow-up list counts the patients treated by
    counting rows (SQLite counts a table's rows from its pages) instead of the distinct patients of the summary."""

    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, primary_key=True, related_name="+")

    def __str__(self) -> str:
        return f"treated patient {self.pk}"


class ResponderVerdict(models.Model):
    """Derived from the records, never entered: per patient, indication and instrument, the status of the verdict
    of the patient's latest judged cycle, kept by the transaction that changes the patient's sessions, outcomes or
    diary (``bont.clinic.responder_verdicts``), and counted in ``VerdictTotal``, so that the research page reads
    counts instead of re-judging every patient."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    indication = models.CharField(max_length=60)
    instrument = models.CharField(max_length=60)
    status = models.CharField(max_length=20)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["patient", "indication", "instrument"], name="one_responder_verdict")
        ]

    def __str__(self) -> str:
        return f"responder verdict {self.pk}"


class SessionTally(models.Model):
    """Derived from the records, never entered: per patient, indication and product, how many sessions were given
    (not withdrawn), kept with the responder verdicts: what a patient's refresh takes out of ``SessionTotal``
    before adding what the patient's sessions give now."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    indication = models.CharField(max_length=60)
    product = models.CharField(max_length=40)
    sessions = models.PositiveIntegerField()

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["patient", "indication", "product"], name="one_session_tally")
        ]

    def __str__(self) -> str:
        return f"session tally {self.pk}"


class VerdictTotal(models.Model):
    """Derived: how many patients' stored latest verdict per indication and instrument has each status (the sum of
    ``ResponderVerdict``, changed by each patient's refresh by what that patient's rows changed): the research page
    reads a few dozen rows instead of counting a row per patient."""

    indication = models.CharField(max_length=60)
    instrument = models.CharField(max_length=60)
    status = models.CharField(max_length=20)
    patients = models.IntegerField()

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["indication", "instrument", "status"], name="one_verdict_total")
        ]

    def __str__(self) -> str:
        return f"verdict total {self.pk}"


class SessionTotal(models.Model):
    """Derived: sessions given (not withdrawn) and distinct patients per indication and product (the sums of
    ``SessionTally``, kept as ``VerdictTotal`` is)."""

    indication = models.CharField(max_length=60)
    product = models.CharField(max_length=40)
    sessions = models.IntegerField()
    patients = models.IntegerField()

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["indication", "product"], name="one_session_total")
        ]

    def __str__(self) -> str:
        return f"session total {self.pk}"


class ResponderVerdictBasis(models.Model):
    """What the stored responder verdicts were computed with (one row): the digest of the knowledge they rest on
    (``bont.services.research.verdict_basis``), or "" while they are rebuilt and after an upgrade from a bont that
    did not keep them. The research page shows responder figures only when it is the knowledge in use; no row:
    nothing was judged yet."""

    basis = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return "responder verdict basis"


class ClaimContent(models.Model):
    """Derived, never entered: what a claim is built from apart from who gave it, to whom and when — the product,
    indication, protocol, guidance, units given and discarded, sites and vial draws. Stored once for every session
    that gave the same (a clinic repeats a few hundred of them), found by the digest of its values
    (``bont.clinic.derived``), so that the sessions' claim inputs stay a few numbers each."""

    digest = models.CharField(max_length=64, unique=True)  # SHA-256 of the values below, as derived.py writes them
    indication = models.CharField(max_length=60)
    product = models.CharField(max_length=40)
    protocol = models.CharField(max_length=120, blank=True)
    guidance = models.CharField(max_length=120, blank=True)
    total_units = units_field()
    units_discarded = units_field()
    sites = models.TextField()  # JSON [[muscle, side], ...] in the chart's order
    vials = models.TextField()  # JSON [[vial units, units drawn, lot NDC], ...], the units as text

    def __str__(self) -> str:
        return f"claim content {self.pk}"


class SessionClaimInputs(models.Model):
    """Derived from the records, never entered: what billing reads of a session given (not withdrawn), kept by the
    transaction that records, corrects or withdraws it (``bont.clinic.derived``): its day, patient, clinician and
    claim content. The index by date holds every column, so that a year's export reads one index in date order and
    nothing else of the session. Nothing in it depends on the knowledge base; the conditions open on the day and
    the NPI are read at export."""

    session = models.OneToOneField(TreatmentSession, on_delete=models.CASCADE, related_name="+", primary_key=True)
    date = models.DateField()
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    clinician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False)
    content = models.ForeignKey(ClaimContent, on_delete=models.PROTECT, related_name="+", db_index=False)

    class Meta:
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["date", "session", "patient", "clinician", "content"], name="claim_inputs_by_date")
        ]

    def __str__(self) -> str:
        return f"session claim inputs {self.pk}"


# -- the evidence library: studies and registered trials (not patient records)


class LibraryStudy(models.Model):
    """A study of the evidence library: the columns its filters and order read, narrow so that counting and
    ordering thousands of matches reads few pages; the record itself is its ``LibraryStudyDocument``. Curated
    studies are written from the knowledge files, imported ones by ``bont evidence import``."""

    key = models.CharField(max_length=200, unique=True)
    origin = models.CharField(max_length=10)
    year = models.IntegerField(null=True)
    # The year, 0 when unknown: "the latest first" puts undated studies last on both engines and reads an index.
    sort_year = models.IntegerField()
    design = models.CharField(max_length=30)
    design_rank = models.SmallIntegerField()  # lower is stronger (bont.domain.studies.DESIGN_RANK)
    pmid = models.CharField(max_length=12, null=True, unique=True)
    doi = models.CharField(max_length=200, null=True, unique=True)  # lower case
    nct = models.CharField(max_length=11, null=True, db_index=True)
    source = models.CharField(max_length=80, null=True, db_index=True)  # the knowledge source id it is, if any
    brought_by_import = models.BooleanField(default=False)  # kept, as imported, should the catalogue drop it

    class Meta:
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["sort_year", "id"], name="library_study_by_year"),
            # A design filter is counted from this index alone (on PostgreSQL: 25 ms instead of 50 at 100,000).
            models.Index(fields=["design", "id"], name="library_study_by_design"),
        ]

    def __str__(self) -> str:
        return f"library study {self.pk}"


class LibraryStudyDocument(models.Model):
    """A study's whole record as JSON (``bont.domain.studies.record_as_dict``): read for the page of results shown,
    never scanned."""

    study = models.OneToOneField(LibraryStudy, on_delete=models.CASCADE, primary_key=True, related_name="document")
    record = models.JSONField()

    def __str__(self) -> str:
        return f"library study document {self.pk}"


class LibraryStudyText(models.Model):
    """The text full-text search reads for a study (title, authors, conditions, interventions, outcomes), in a table
    of its own so that counting a common word's matches reads only this: SQLite's ``library_study_search`` FTS5
    table indexes it (kept by triggers); on PostgreSQL a stored English text search vector beside it has a GIN
    index (see migration 0016)."""

    study = models.OneToOneField(LibraryStudy, on_delete=models.CASCADE, primary_key=True, related_name="text")
    search_text = models.TextField()

    def __str__(self) -> str:
        return f"library study text {self.pk}"


class LibraryStudyUse(models.Model):
    """One indication × product a study is about (``other`` for a toxin bont does not carry or none named): the
    rows the indication and product filters and the evidence map count."""

    study = models.ForeignKey(LibraryStudy, on_delete=models.CASCADE, related_name="uses", db_index=False)
    indication = models.CharField(max_length=60)
    product = models.CharField(max_length=40)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["study", "indication", "product"], name="library_study_use_once")
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["indication", "product", "study"], name="library_study_by_use"),
            models.Index(fields=["product", "study"], name="library_study_by_product"),
        ]

    def __str__(self) -> str:
        return f"library study use {self.pk}"


class LibraryStudyGrade(models.Model):
    """A grade a guideline gave the evidence a study belongs to, for one use (an indication and a product; none:
    every one of the study's): the rows the "graded at" filter and the summary's order read."""

    study = models.ForeignKey(LibraryStudy, on_delete=models.CASCADE, related_name="grades")
    indication = models.CharField(max_length=60, null=True)
    product = models.CharField(max_length=40, null=True)
    rank = models.SmallIntegerField()  # bont.domain.studies.level_rank: lower is stronger

    def __str__(self) -> str:
        return f"library study grade {self.pk}"


class LibraryTrial(models.Model):
    """A registered trial of the evidence library (ClinicalTrials.gov), the whole record as JSON beside the
    columns search and filters read (a library holds hundreds, not the studies' hundred thousand); full-text
    search as for studies (``library_trial_search`` on SQLite, a stored vector on PostgreSQL)."""

    nct = models.CharField(max_length=11, unique=True)
    origin = models.CharField(max_length=10)
    title = models.TextField()
    status = models.CharField(max_length=30)
    phase = models.CharField(max_length=60, blank=True)
    start = models.DateField(null=True)
    search_text = models.TextField()
    record = models.JSONField()
    brought_by_import = models.BooleanField(default=False)  # kept, as imported, should the catalogue drop it

    def __str__(self) -> str:
        return f"library trial {self.pk}"


class LibraryTrialUse(models.Model):
    trial = models.ForeignKey(LibraryTrial, on_delete=models.CASCADE, related_name="uses", db_index=False)
    indication = models.CharField(max_length=60)
    product = models.CharField(max_length=40)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["trial", "indication", "product"], name="library_trial_use_once")
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["indication", "product", "trial"], name="library_trial_by_use"),
        ]

    def __str__(self) -> str:
        return f"library trial use {self.pk}"


class LibraryCatalogue(models.Model):
    """The fingerprint of the curated catalogue last written into the library (one row), so that a start-up
    writes it again only when the knowledge files changed."""

    fingerprint = models.CharField(max_length=64)
    written_at = models.DateTimeField()

    def __str__(self) -> str:
        return "library catalogue"


class ExternalAdministration(NeverDelete):
    """A botulinum toxin dose given elsewhere, imported from another system's record (a FHIR Bundle): the system
    (``source``) and its identifier of the record, which a second import matches, the day, the product and its
    units (never converted), and the indication where the record names one bont knows (blank: not known). A dose
    imported wrongly is withdrawn (``bont fhir withdraw-outside``): kept, and no longer counted."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="external_administrations")
    source = models.CharField(max_length=200)
    record_id = models.CharField(max_length=300)
    date = models.DateField()
    product = models.CharField(max_length=40)
    units = units_field()
    indication = models.CharField(max_length=60, blank=True)
    imported_at = models.DateTimeField(auto_now_add=True)
    withdrawn_reason = models.TextField(blank=True)  # imported wrongly: withdrawn, not deleted
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["source", "record_id"], name="external_administration_once")
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["patient", "date"], name="external_administration_day"),
        ]

    def __str__(self) -> str:
        return f"external administration {self.pk}"


class SavedCohort(models.Model):
    """A researcher's named cohort: its definition as ``CohortDefinition.to_mapping()`` gives it (indication,
    product, age band, dates, dose range, …), never a patient. Saving under a name already used replaces it."""

    name = models.CharField(max_length=80, unique=True)
    definition = models.JSONField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"saved cohort {self.pk}"
