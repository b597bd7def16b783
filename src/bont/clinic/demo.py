"""A plainly fictional demo clinic: users, lots, patients across most indications and two years of
sessions, each planned by the planner and recorded through the same safety-checked service as real ones.

Every name is fictional ("Demo" family names, "DEMO-" record numbers); the demo password is printed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from bont.clinic import models
from bont.clinic.derived import DerivedSummaries
from bont.clinic.outcome_records import DjangoOutcomeRecords
from bont.clinic.registry import NewPatient, add_lot, add_patient, add_user
from bont.clinic.repositories import DjangoClinicalRecords
from bont.domain.findings import Severity
from bont.domain.knowledge import KnowledgeBase
from bont.domain.outcomes import Direction, GoalRating, Instrument, InstrumentKind, TardieuAngles
from bont.domain.planning import MuscleChoice, PlanRequest, SideChoice, make_plan
from bont.domain.safety import SessionSite
from bont.services.outcomes import record_outcome, save_diary_day
from bont.services.records import RecordingError, RecordSession, preview_session, record_session

DEMO_PASSWORD = "demo-password"  # fictional clinic, local demo only
DEMO_NPI = "1234567893"  # the worked example of CMS's NPI check-digit document: well formed, fictional here
USERS = (
    ("demo-clinician", "clinician"),
    ("demo-nurse", "nurse"),
    ("demo-billing", "billing"),
    ("demo-researcher", "researcher"),
    ("demo-admin", "admin"),
)


@dataclass(frozen=True)
class DemoCourse:
    given_name: str
    birth_date: date
    sex: str
    weight_kg: Decimal
    indication: str
    product: str
    every_days: int
    variant: str | None = None
    side: SideChoice | None = None
    muscles: tuple[MuscleChoice, ...] = ()
    conditions: tuple[str, ...] = ()
    medications: tuple[str, ...] = ()
    allergies: tuple[str, ...] = ()
    catheterizes: bool = False


def _m(muscle: str, units: int, sites: int, side: SideChoice | None = None) -> MuscleChoice:
    return MuscleChoice(muscle, side, Decimal(units), sites)


COURSES = (
    DemoCourse(
        "Alma",
        date(1979, 4, 2),
        "female",
        Decimal(61),
        "chronic-migraine",
        "onabotulinumtoxinA",
        91,
        conditions=("G43.709",),
        medications=("topiramate",),
    ),
    DemoCourse(
        "Bruno",
        date(1962, 9, 14),
        "male",
        Decimal(84),
        "cervical-dystonia",
        "abobotulinumtoxinA",
        98,
        muscles=(
            _m("sternocleidomastoid", 100, 2, SideChoice.LEFT),
            _m("splenius-capitis", 150, 2, SideChoice.RIGHT),
            _m("trapezius", 150, 2, SideChoice.RIGHT),
            _m("levator-scapulae", 100, 2, SideChoice.RIGHT),
        ),
        conditions=("G24.3",),
    ),
    DemoCourse(
        "Chiara",
        date(1958, 1, 30),
        "female",
        Decimal(70),
        "cervical-dystonia",
        "incobotulinumtoxinA",
        98,
        muscles=(
            _m("sternocleidomastoid", 30, 1, SideChoice.RIGHT),
            _m("splenius-capitis", 50, 2, SideChoice.LEFT),
            _m("trapezius", 40, 2, SideChoice.LEFT),
        ),
        conditions=("G24.3",),
    ),
    DemoCourse(
        "Dmitri",
        date(1970, 6, 8),
        "male",
        Decimal(90),
        "cervical-dystonia",
        "rimabotulinumtoxinB",
        105,
        muscles=(_m("splenius-capitis", 2500, 2, SideChoice.LEFT), _m("trapezius", 2500, 2, SideChoice.LEFT)),
        conditions=("G24.3",),
    ),
    DemoCourse(
        "Elif",
        date(1981, 11, 21),
        "female",
        Decimal(58),
        "cervical-dystonia",
        "daxibotulinumtoxinA",
        112,
        muscles=(
            _m("splenius-capitis", 100, 2, SideChoice.RIGHT),
            _m("levator-scapulae", 75, 1, SideChoice.RIGHT),
            _m("trapezius", 75, 2, SideChoice.RIGHT),
        ),
        conditions=("G24.3",),
    ),
    DemoCourse(
        "Farid",
        date(1951, 3, 3),
        "male",
        Decimal(77),
        "blepharospasm",
        "onabotulinumtoxinA",
        91,
        side=SideChoice.BOTH,
        conditions=("G24.5",),
    ),
    DemoCourse(
        "Greta",
        date(1966, 12, 12),
        "female",
        Decimal(66),
        "upper-limb-spasticity",
        "onabotulinumtoxinA",
        98,
        muscles=(
            _m("biceps-brachii", 100, 4, SideChoice.LEFT),
            _m("flexor-carpi-radialis", 50, 1, SideChoice.LEFT),
            _m("flexor-carpi-ulnaris", 40, 1, SideChoice.LEFT),
            _m("flexor-digitorum-superficialis", 40, 1, SideChoice.LEFT),
        ),
        conditions=("G81.14",),
        medications=("baclofen",),
    ),
    DemoCourse(
        "Hugo",
        date(1973, 5, 19),
        "male",
        Decimal(82),
        "lower-limb-spasticity",
        "abobotulinumtoxinA",
        98,
        muscles=(
            _m("gastrocnemius-medial", 150, 1, SideChoice.RIGHT),
            _m("gastrocnemius-lateral", 150, 1, SideChoice.RIGHT),
            _m("soleus", 400, 3, SideChoice.RIGHT),
            _m("tibialis-posterior", 300, 2, SideChoice.RIGHT),
        ),
        conditions=("G81.11",),
    ),
    DemoCourse(
        "Ines",
        date(2016, 8, 25),
        "female",
        Decimal(24),
        "upper-limb-spasticity",
        "onabotulinumtoxinA",
        105,
        side=SideChoice.RIGHT,
        conditions=("G80.2",),
    ),
    DemoCourse(
        "Jonas",
        date(2017, 2, 11),
        "male",
        Decimal(20),
        "lower-limb-spasticity",
        "abobotulinumtoxinA",
        98,
        variant="unilateral",
        muscles=(
            _m("gastrocnemius-medial", 100, 2, SideChoice.LEFT),
            _m("soleus", 80, 2, SideChoice.LEFT),
            _m("gastrocnemius-lateral", 80, 2, SideChoice.LEFT),
        ),
        conditions=("G80.1",),
    ),
    DemoCourse(
        "Kaya",
        date(1960, 10, 5),
        "female",
        Decimal(72),
        "overactive-bladder",
        "onabotulinumtoxinA",
        168,
        conditions=("N32.81",),
    ),
    DemoCourse(
        "Lorenz",
        date(1985, 7, 7),
        "male",
        Decimal(75),
        "neurogenic-detrusor-overactivity",
        "onabotulinumtoxinA",
        280,
        conditions=("N31.9", "G82.20"),
        catheterizes=True,
    ),
    DemoCourse(
        "Mira",
        date(1990, 1, 17),
        "female",
        Decimal(63),
        "axillary-hyperhidrosis",
        "onabotulinumtoxinA",
        182,
        conditions=("L74.510",),
    ),
    DemoCourse(
        "Nils",
        date(1948, 4, 28),
        "male",
        Decimal(69),
        "sialorrhea",
        "incobotulinumtoxinA",
        119,
        conditions=("K11.7", "G20.A1"),
    ),
    DemoCourse(
        "Olga",
        date(1955, 2, 2),
        "female",
        Decimal(59),
        "sialorrhea",
        "rimabotulinumtoxinB",
        98,
        conditions=("K11.7",),
        allergies=("penicillin",),
    ),
    DemoCourse(
        "Pavel",
        date(1977, 3, 9),
        "male",
        Decimal(80),
        "temporomandibular-disorder",
        "onabotulinumtoxinA",
        120,
        conditions=("M26.603",),
    ),
    DemoCourse(
        "Quinn",
        date(1992, 5, 5),
        "male",
        Decimal(74),
        "palmar-hyperhidrosis",
        "onabotulinumtoxinA",
        182,
        side=SideChoice.BOTH,
        conditions=("L74.512",),
    ),
    DemoCourse(
        "Rosa", date(1983, 8, 8), "female", Decimal(62), "bruxism", "onabotulinumtoxinA", 120, conditions=("G47.63",)
    ),
    DemoCourse(
        "Stefan", date(1944, 2, 14), "male", Decimal(68), "achalasia", "onabotulinumtoxinA", 182, conditions=("K22.0",)
    ),
    DemoCourse(
        "Tara",
        date(1988, 9, 30),
        "female",
        Decimal(57),
        "chronic-anal-fissure",
        "onabotulinumtoxinA",
        240,
        conditions=("K60.1",),
    ),
    DemoCourse(
        "Uma",
        date(1969, 4, 4),
        "female",
        Decimal(66),
        "depression",
        "onabotulinumtoxinA",
        120,
        variant="women",
        muscles=(_m("corrugator", 20, 2), _m("procerus", 9, 1)),
        conditions=("F33.1",),
    ),
    DemoCourse(
        "Viktor",
        date(1975, 12, 1),
        "male",
        Decimal(88),
        "myofascial-pain",
        "abobotulinumtoxinA",
        120,
        conditions=("M79.18",),
    ),
    DemoCourse(
        "Wanda",
        date(1964, 7, 22),
        "female",
        Decimal(71),
        "chronic-low-back-pain",
        "onabotulinumtoxinA",
        120,
        side=SideChoice.LEFT,
        conditions=("M54.50",),
    ),
    DemoCourse(
        "Xaver",
        date(2009, 3, 3),
        "male",
        Decimal(60),
        "strabismus",
        "onabotulinumtoxinA",
        180,
        muscles=(_m("medial-rectus", 3, 1, SideChoice.LEFT),),
        conditions=("H50.00",),
    ),
    DemoCourse(
        "Yara",
        date(1959, 6, 16),
        "female",
        Decimal(64),
        "hemifacial-spasm",
        "onabotulinumtoxinA",
        105,
        side=SideChoice.LEFT,
        conditions=("G51.3",),
    ),
    DemoCourse(
        "Zeno",
        date(1957, 10, 10),
        "male",
        Decimal(92),
        "painful-diabetic-neuropathy",
        "onabotulinumtoxinA",
        180,
        side=SideChoice.BOTH,
        conditions=("E11.42",),
        medications=("metformin",),
    ),
    DemoCourse(
        "Aiko",
        date(1980, 1, 25),
        "female",
        Decimal(52),
        "gastroparesis",
        "onabotulinumtoxinA",
        240,
        conditions=("K31.84",),
    ),
)

LOT_EXPIRY_DAYS = 400
STOCK_VIALS = 6
UNREAD_DILUTIONS = ("incobotulinumtoxinA", "daxibotulinumtoxinA")


def course_patient(course: DemoCourse, mrn: str, family_name: str, recorded_on: date) -> NewPatient:
    """The fictional patient of a demo course, registered on ``recorded_on`` (also the scale clinic's)."""
    return NewPatient(
        mrn=mrn,
        given_name=course.given_name,
        family_name=family_name,
        birth_date=course.birth_date,
        sex=course.sex,
        weight_kg=course.weight_kg,
        conditions=course.conditions,
        medications=course.medications,
        allergies=course.allergies,
        catheterizes=course.catheterizes,
        recorded_on=recorded_on,
    )


@transaction.atomic
def load_demo(knowledge: KnowledgeBase, today: date | None = None) -> dict[str, int]:
    """Create the demo clinic in one transaction; refuses when any patient exists, so real records are
    never mixed in."""
    today = today or timezone.localdate()  # the clinic's day (Django's TIME_ZONE is BONT_TIME_ZONE)
    if models.Patient.objects.exists():
        raise RecordingError("database", "it already holds patients; the demo loads only into an empty database")
    existing = set(get_user_model().objects.values_list("username", flat=True))
    for username, role in USERS:
        if username not in existing:
            add_user(username, role, DEMO_PASSWORD, npi=DEMO_NPI if username == "demo-clinician" else None)
    counts = {"patients": 0, "sessions": 0, "refused": 0, "outcomes": 0}
    derived = DerivedSummaries(knowledge)
    with derived.deferred():  # each patient's derived rows once, not after each of their sessions and diary days
        for number, course in enumerate(COURSES, 1):
            patient = add_patient(course_patient(course, f"DEMO-{number:04d}", "Demo", today - timedelta(days=730)))
            counts["patients"] += 1
            day = today - timedelta(days=728 - number)
            while day <= today - timedelta(days=3):
                if _session(knowledge, derived, patient, course, day):
                    counts["sessions"] += 1
                else:
                    counts["refused"] += 1
                day += timedelta(days=course.every_days)
        _adverse_events()
        _stock(knowledge, today)
        for number, course in enumerate(COURSES, 1):
            counts["outcomes"] = counts.get("outcomes", 0) + _outcomes(
                knowledge, derived, f"DEMO-{number:04d}", course, number, today
            )
    return counts


def _session(
    knowledge: KnowledgeBase, derived: DerivedSummaries, patient_id: int, course: DemoCourse, day: date
) -> bool:
    age = Decimal(
        day.year - course.birth_date.year - ((day.month, day.day) < (course.birth_date.month, course.birth_date.day))
    )
    plan = make_plan(
        knowledge,
        PlanRequest(
            indication=course.indication,
            product=course.product,
            on=day,
            age_years=age,
            weight_kg=course.weight_kg,
            variant=course.variant,
            side=course.side,
            muscles=course.muscles,
            # No verified label dilution is recorded for these two products: the demo clinic chooses one,
            # and the plan reports it as an off-label dilution.
            diluent_ml=Decimal(2) if course.product in UNREAD_DILUTIONS else None,
            vial_units=Decimal(100) if course.product in UNREAD_DILUTIONS else None,
        ),
    )
    drawn_at = datetime.combine(day, time(9, 0), tzinfo=timezone.get_default_timezone())  # 9 a.m. at the clinic
    draws, discard = [], []
    for vial in plan.vials:
        vial_id = _open_vial(course.product, vial.vial_units, day, drawn_at, vial.diluent_ml)
        draws.append((vial_id, vial.drawn.amount))
        discard.append(vial_id)
    command = RecordSession(
        patient_id=patient_id,
        on=day,
        at=drawn_at + timedelta(hours=1),
        clinician="demo-clinician",
        indication=course.indication,
        product=course.product,
        sites=tuple(SessionSite(s.muscle, s.side.value, s.units.amount, s.volume_ml) for s in plan.sites),
        draws=tuple(draws),
        discard=tuple(discard),
        guidance=",".join(str(g) for g in plan.protocol.guidance),
        deviation_reason="",
    )
    # The demo clinician reads the findings first and acknowledges every warning, as a clinician would.
    report = preview_session(DjangoClinicalRecords(derived), knowledge, command)
    if any(f.severity is Severity.BLOCK for f in report.findings):
        return False
    warnings = sorted({f.code for f in report.findings if f.severity is Severity.WARN})
    command = replace(command, acknowledgements=tuple((code, "demo: reviewed with the patient") for code in warnings))
    record_session(DjangoClinicalRecords(derived), knowledge, command)
    return True


def _open_vial(product: str, vial_units: Decimal, day: date, at: datetime, diluent_ml: Decimal | None) -> int:
    """Reconstitute a vial of the month's lot: the lot's sealed vial when it has one, else one more received."""
    lot_number = f"DEMO{day:%y%m}{product[:3].upper()}{int(vial_units)}"
    with transaction.atomic():
        lot = models.Lot.objects.filter(product=product, lot_number=lot_number, vial_units=vial_units).first()
        if lot is None:
            add_lot(product, lot_number, day + timedelta(days=LOT_EXPIRY_DAYS), vial_units, 1, day - timedelta(days=20))
            lot = models.Lot.objects.get(product=product, lot_number=lot_number)
        vial = lot.vials.filter(state=models.Vial.State.SEALED).first() or models.Vial(lot=lot)
        vial.state = models.Vial.State.RECONSTITUTED
        vial.reconstituted_at = at
        vial.diluent_ml = diluent_ml
        vial.save()
        models.Lot.objects.filter(pk=lot.pk).update(quantity_received=lot.vials.count())
    return int(vial.pk)


def _stock(knowledge: KnowledgeBase, today: date) -> None:
    """Today's shelf: one unexpired lot of sealed vials per product and vial size, for new sessions."""
    for product in knowledge.products.values():
        for vial_units in product.vial_sizes:
            add_lot(
                product.id,
                f"DEMO-STOCK-{product.brand[:3].upper()}{int(vial_units)}",
                today + timedelta(days=300),
                vial_units,
                STOCK_VIALS,
                today - timedelta(days=10),
            )


def _responds(number: int) -> bool:
    """Most demo patients respond; every fifth does not, so the verdicts and the continuation advice show."""
    return number % 5 != 3


def _outcomes(
    knowledge: KnowledgeBase, derived: DerivedSummaries, mrn: str, course: DemoCourse, number: int, today: date
) -> int:
    """Fictional outcomes for the course's indication: a baseline on the first session's day and a review
    six weeks into each cycle, entered through the same validated path as a clinician's; diaries for the
    headache-day and bladder endpoints."""
    patient = models.Patient.objects.get(mrn=mrn)
    sessions = sorted(set(patient.sessions.filter(withdrawn_reason="").values_list("date", flat=True)))
    if not sessions:
        return 0
    instruments = knowledge.instruments_for(course.indication)
    ids = {i.id for i in instruments}
    responds = _responds(number)
    records = DjangoOutcomeRecords(derived)
    if "headache-days" in ids:
        return _headache_diary(records, patient, sessions, responds, today)
    if "ui-episodes-per-day" in ids:
        return _bladder_diary(records, patient, sessions, responds, today)
    primary = next(
        (
            i
            for i in instruments
            if any(d.instrument == i.id for d in knowledge.responder_definitions_for(course.indication))
        ),
        instruments[0],
    )
    reviews = [(sessions[0], 0)] + [
        (day + timedelta(days=42), cycle) for cycle, day in enumerate(sessions, 1) if day + timedelta(days=42) < today
    ]
    recorded = 0
    for day, cycle in reviews:
        raw = _demo_raw(primary, cycle, responds)
        if raw is None:
            continue
        record_outcome(
            records,
            knowledge,
            mrn,
            course.indication,
            primary.id,
            day,
            raw,
            "demo-clinician",
            timezone.localdate(),
        )
        recorded += 1
    return recorded


def _demo_raw(instrument: Instrument, cycle: int, responds: bool) -> object:
    """A plausible entry for the instrument: poor at baseline, better after treatment when the patient
    responds. ``None`` when the instrument has no baseline (GAS goals are set at baseline, rated later)."""
    better = responds and cycle > 0
    lower_is_better = instrument.direction is Direction.LOWER_IS_BETTER
    if instrument.kind is InstrumentKind.GOALS:
        return None if cycle == 0 else [GoalRating(1 if better else -1), GoalRating(0 if better else -1)]
    if instrument.kind is InstrumentKind.BINARY:
        return better
    if instrument.kind is InstrumentKind.GRADE:
        worst = len(instrument.grades) - 1 if lower_is_better else 0
        step = (3 if len(instrument.grades) > 4 else 2) if better else 0
        return instrument.grades[worst - step if lower_is_better else worst + step]
    if instrument.kind is InstrumentKind.ANGLES:
        return TardieuAngles(Decimal(95 if better else 60), Decimal(125))
    if instrument.kind is InstrumentKind.ITEMS:
        fraction = Decimal("0.25") if better else Decimal("0.75")
        return {item.key: int(item.minimum + (item.maximum - item.minimum) * fraction) for item in instrument.items}
    low = instrument.minimum if instrument.minimum is not None else Decimal(0)
    high = instrument.maximum if instrument.maximum is not None else low + 200
    fraction = Decimal("0.3") if better else Decimal("0.75")
    if not lower_is_better:
        fraction = 1 - fraction
    value = low + (high - low) * fraction
    return value.quantize(Decimal(1)) if instrument.whole else value.quantize(Decimal("0.1"))


def _headache_diary(
    records: DjangoOutcomeRecords, patient: models.Patient, sessions: list[date], responds: bool, today: date
) -> int:
    """28 days of headache diary before each session and the last 28 days: about 19 headache days per 28
    before treatment; after it about 7 in a responder and 14 in a non-responder."""
    periods = [*sessions, today - timedelta(days=1)]
    days = {end - timedelta(days=offset) for end in periods for offset in range(28)}
    for day in sorted(days):
        ordinal = day.toordinal()
        treated_pattern = ordinal % 4 == 0 if responds else ordinal % 2 == 0
        headache = ordinal % 3 != 0 if day <= sessions[0] else treated_pattern
        values = {
            "headache_minutes": 360 if headache else 0,
            "features": ["pulsating", "moderate-or-severe"] if headache else [],
            "nausea_or_vomiting": headache and ordinal % 2 == 1,
            "acute_medication": ("migraine-specific" if ordinal % 3 else "other") if headache else "none",
        }
        save_diary_day(records, patient.pk, models.DiaryDay.Kind.HEADACHE, day, values, timezone.localdate())
    return len(days)


def _bladder_diary(
    records: DjangoOutcomeRecords, patient: models.Patient, sessions: list[date], responds: bool, today: date
) -> int:
    """A three-day bladder diary before each session and in the last week."""
    ends = [*sessions, today - timedelta(days=1)]
    count = 0
    for end in ends:
        treated = end > sessions[0]
        for offset in range(3):
            day = end - timedelta(days=offset)
            leaks = (1 if responds else 3) if treated else 4
            save_diary_day(
                records,
                patient.pk,
                models.DiaryDay.Kind.BLADDER,
                day,
                {"voids": 9 if treated and responds else 13, "incontinence_episodes": leaks + offset % 2},
                timezone.localdate(),
            )
            count += 1
    return count


def _adverse_events() -> None:
    # Severity is the intensity; neither event was serious (no hospital stay, nothing life-threatening).
    for given_name, event, severity in (("Farid", "ptosis", "mild"), ("Bruno", "dysphagia", "moderate")):
        session = models.TreatmentSession.objects.filter(patient__given_name=given_name).order_by("date").first()
        if session is not None:
            models.AdverseEvent.objects.create(
                patient=session.patient,
                suspected_session=session,
                event=event,
                onset=session.date + timedelta(days=6),
                severity=severity,
                serious=False,
                outcome="resolved",
                notes="fictional demo event",
            )


__all__ = ["DEMO_PASSWORD", "USERS", "load_demo"]
