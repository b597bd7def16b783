"""A plainly fictional clinic of any size, for measuring bont at a real clinic's scale (``bont demo --scale``).

Every row is shaped by the demo clinic: for each of its courses one exemplar patient is recorded through the same
planner and safety-checked service as the demo's (two sessions, their outcomes and diary days), read back, and the
transaction rolled back. The generator then writes a block of patients (at most ``BLOCK``) whose sessions, sites,
findings, vial draws, outcomes and diary days copy those exemplars' rows with their own dates (about twenty sessions
each, over up to twenty years, the last ones spread so that some patients are due and some overdue, one in seven
without a review or a diary since their last session), on the ORM's connection (``COPY`` on PostgreSQL,
``executemany`` on SQLite). The rest of the clinic is that block again: ``INSERT
… SELECT`` copies made inside the database, every id and key shifted, each copy doubling the clinic, the derived
rows (the Follow-up summary, the sessions' claim inputs) copied with their patients, so that a year's sessions lie
all over the tables (a clinic's own grow day by day). Two million sessions need about thirty million rows: a model
instance per row (``bulk_create``) writes a few thousand rows a second, a copy inside the database over a hundred
thousand. On PostgreSQL the copies are one bulk load: the copied tables' indexes are dropped first and built again
after the last copy; when the role may skip the foreign keys' triggers, the largest tables are copied on a second
connection at the same time (``_copy_on_postgresql``).

Names and record numbers say what the patients are ("Scale-Patient", "SCALE-000123"). The versioned history
of django-simple-history is not written: a generated row has never been corrected, and the copies would
double the writes.
"""

from __future__ import annotations

import random
import threading
import time as clock
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.color import no_style
from django.db import DatabaseError, OperationalError, ProgrammingError, connection, models, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Max
from django.utils import timezone

from bont.clinic import models as clinic
from bont.clinic.database import holds_no_patient
from bont.clinic.demo import (
    COURSES,
    DEMO_NPI,
    DEMO_PASSWORD,
    USERS,
    DemoCourse,
    _outcomes,
    _session,
    _stock,
    course_patient,
)
from bont.clinic.derived import (
    DerivedSummaries,
    fill_claim_inputs,
    fill_follow_up_summaries,
)
from bont.clinic.registry import add_patient, add_user
from bont.clinic.responder_verdicts import fill_generated
from bont.domain.knowledge import KnowledgeBase
from bont.services.records import RecordingError

INSUFFICIENT_PRIVILEGE = "42501"  # PostgreSQL's SQLSTATE for a setting the role may not change
BLOCK = 250  # patients written row by row; the rest of the clinic copies them inside the database
YEARS = 20
REVIEW_DAYS = 42  # the demo's review six weeks into each cycle
# One patient in this many missed the review of their last session and kept no diary since: those treated six
# weeks ago or more are on the Follow-up list's assessments due, as in a clinic.
LAPSED_EVERY = 7
HEADACHE_DIARY_DAYS = 28
BLADDER_DIARY_DAYS = 3
_SESSION_FIELDS_SET_HERE = {"id", "patient_id", "date", "given_at", "recorded_at"}

# The rows one patient owns, in the order they are written (a row's keys point only to rows written before).
PATIENT_ROWS: tuple[type[models.Model], ...] = (
    clinic.WeightMeasurement,
    clinic.PatientCondition,
    clinic.PatientMedication,
    clinic.PatientAllergy,
    clinic.TreatmentSession,
    clinic.SessionSite,
    clinic.SessionFinding,
    clinic.Vial,
    clinic.VialDraw,
    clinic.OutcomeRecord,
    clinic.DiaryDay,
)
# The rows derived from a patient's records (never entered), which each copy copies with its patients: each with
# the columns the copies take from their own patient (the names the Follow-up list sorts by).
DERIVED_ROWS: tuple[tuple[type[models.Model], tuple[str, ...]], ...] = (
    (clinic.FollowUpSummary, ("family_name", "given_name")),
    (clinic.TreatedPatient, ()),
    (clinic.SessionClaimInputs, ()),
)
WRITTEN: tuple[type[models.Model], ...] = (
    clinic.Lot,
    *PATIENT_ROWS,
)  # the lots the first block's vials come from, then the patients' rows
COPIED: tuple[type[models.Model], ...] = (*PATIENT_ROWS, *(model for model, _ in DERIVED_ROWS))
# On PostgreSQL copied on a second connection beside the others (``_copy_on_postgresql``): the sites, a third of
# the clinic's rows and half the indexes' building, and the diary days, about as much work as the other tables.
BESIDE: tuple[type[models.Model], ...] = (clinic.SessionSite, clinic.DiaryDay)


@dataclass
class _Exemplar:
    """One demo course as recorded: its rows as ``values()`` dicts, dates relative to its first session."""

    course: DemoCourse
    first_day: date
    patient: dict[str, list[dict[str, Any]]]  # the patient's own rows (weights, conditions, ...) by model name
    sessions: list[dict[str, Any]]  # the first session, then a later one: each with its sites, findings, draws
    baseline: list[dict[str, Any]]  # outcomes measured on the first session's day
    review: list[dict[str, Any]]  # outcomes measured six weeks into a cycle
    headache: dict[tuple[bool, int], dict[str, Any]]  # (treated, day ordinal mod 12) → entry
    bladder: dict[tuple[bool, int], dict[str, Any]]  # (treated, days before the session) → entry


@dataclass
class _Writer:
    """Rows given their ids here (the patients, the first block's rows), written on the ORM's connection by
    ``COPY`` on PostgreSQL, ``executemany`` on SQLite.

    A model instance per row costs more than the whole copy of the clinic; most values repeat (an exemplar's
    sites, findings and outcomes), so each field's value is converted for the database once and reused."""

    next_id: dict[type[models.Model], int]
    pending: dict[type[models.Model], list[dict[str, Any]]] = field(default_factory=dict)
    prepared: dict[tuple[str, Any], Any] = field(default_factory=dict)

    def add(self, model: type[models.Model], values: dict[str, Any]) -> int:
        self.next_id[model] += 1
        self.pending.setdefault(model, []).append({**values, "id": self.next_id[model]})
        return self.next_id[model]

    def flush(self, order: tuple[type[models.Model], ...] = WRITTEN) -> None:
        quote = connection.ops.quote_name
        now = timezone.now()
        with connection.cursor() as cursor:
            for model in order:
                rows = self.pending.pop(model, [])
                if not rows:
                    continue
                fields = model._meta.concrete_fields
                into = f"{quote(model._meta.db_table)} ({', '.join(quote(str(f.column)) for f in fields)})"
                values = (tuple(self._value(f, row, now) for f in fields) for row in rows)
                if connection.vendor == "postgresql":
                    # One stream per table: an INSERT per row is parsed and planned anew (the client binds the
                    # values), four to six times slower.
                    with cursor.cursor.copy(f"COPY {into} FROM STDIN") as copy:
                        for row in values:
                            copy.write_row(row)
                else:
                    cursor.executemany(f"INSERT INTO {into} VALUES ({', '.join(['%s'] * len(fields))})", list(values))

    def _value(self, column: models.Field[Any, Any], row: dict[str, Any], now: datetime) -> Any:
        if column.attname not in row:
            automatic = getattr(column, "auto_now", False) or getattr(column, "auto_now_add", False)
            row[column.attname] = now if automatic else column.get_default()
        value = row[column.attname]
        key = (column.attname, value if isinstance(value, (str, int, date, Decimal, type(None))) else id(value))
        if key not in self.prepared:
            self.prepared[key] = column.get_db_prep_save(value, connection)
        return self.prepared[key]


def load_scale(
    knowledge: KnowledgeBase,
    patients: int,
    today: date | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Write a fictional clinic of ``patients`` patients; refuses, naming the field, when any patient exists (a
    clinic's own records are never mixed with generated ones). Returns the counts written and the seconds."""
    today = today or timezone.localdate()
    if patients < 1:
        raise RecordingError("scale", "give the number of patients, 1 or more")
    if not holds_no_patient():
        raise RecordingError("database", "it already holds patients; the demo loads only into an empty database")
    started = clock.perf_counter()

    def say(done: str) -> None:
        if progress is not None:
            progress(f"{done} ({clock.perf_counter() - started:.1f} s)")

    existing = set(get_user_model().objects.values_list("username", flat=True))
    for username, role in USERS:
        if username not in existing:
            add_user(username, role, DEMO_PASSWORD, npi=DEMO_NPI if username == "demo-clinician" else None)
    block = min(patients, BLOCK)
    exemplars = _exemplars(knowledge, today, min(block, len(COURSES)))
    say(f"recorded {len(exemplars)} exemplar courses through the planner and the safety check")
    with transaction.atomic():
        first_patient = _write_patients(patients, block, exemplars)
        lots: dict[tuple[str, str, date], int] = {}
        writer = _Writer({model: _max_id(model) for model in WRITTEN})
        bounds: dict[type[models.Model], list[int]] = {model: [] for model in PATIENT_ROWS}
        base = dict(writer.next_id)
        rng = random.Random(15)  # the same clinic every time
        for number in range(block):
            exemplar = exemplars[number % len(exemplars)]
            _write_patient(writer, exemplar, first_patient, first_patient + number, today, rng, lots)
            for model in PATIENT_ROWS:
                bounds[model].append(writer.next_id[model])
            if number % 100 == 99:
                writer.flush()
        writer.flush()
        if connection.vendor == "postgresql":
            # Planned without statistics, the derived rows' queries below scan a whole table per session.
            with connection.cursor() as cursor:
                _analyze(cursor, {model._meta.db_table for model in WRITTEN})
        # Written past the recording transactions that keep them: the derived rows of the block, which each copy
        # then copies with its patients.
        fill_follow_up_summaries(knowledge, patients=(first_patient, first_patient + block - 1))
        fill_claim_inputs(patients=(first_patient, first_patient + block - 1))
    say(f"wrote the first {block} patients")
    if connection.vendor == "sqlite":
        # The sessions' date index takes its rows in no order: with SQLite's default 2 MB page cache each copy
        # rereads it from the file (a 256 MB cache writes sessions about 1.5 times as fast).
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -262144")
    copies = _Copies(first_patient, block, patients, base, bounds)
    if connection.vendor == "postgresql":
        _copy_on_postgresql(copies, say)
    else:
        with _sqlite_bulk_copies():
            copies.make(COPIED, say)
    # The research page's rows: the block judged, then copied to its copies (the Follow-up summary was copied
    # with each copy).
    fill_generated(knowledge, first_patient, block, patients)
    say("derived the research page's rows")
    _finish(knowledge, today, list(lots.values()))
    seconds = clock.perf_counter() - started
    return {  # counted as written (a count over the copies' millions of rows takes seconds)
        "patients": patients,
        "sessions": _row_count(clinic.TreatmentSession, patients, base, bounds),
        "sites": _row_count(clinic.SessionSite, patients, base, bounds),
        "outcomes": _row_count(clinic.OutcomeRecord, patients, base, bounds),
        "diary_days": _row_count(clinic.DiaryDay, patients, base, bounds),
        "milliseconds": round(seconds * 1000),
    }


def _max_id(model: type[models.Model]) -> int:
    return int(model._default_manager.aggregate(top=Max("id"))["top"] or 0)


class _RolledBack(Exception):
    """Raised to undo the exemplars once their rows are read."""


def _exemplars(knowledge: KnowledgeBase, today: date, courses: int) -> list[_Exemplar]:
    """The demo's first ``courses`` courses, each recorded for a patient of its own (a first session and one a
    cycle later, then its outcomes and diary days), read back and rolled back."""
    read: list[_Exemplar] = []
    try:
        with transaction.atomic():
            for number, course in enumerate(COURSES[:courses], 1):
                read.append(_exemplar(knowledge, today, number, course))
            raise _RolledBack
    except _RolledBack:
        return read


def _exemplar(knowledge: KnowledgeBase, today: date, number: int, course: DemoCourse) -> _Exemplar:
    later = today - timedelta(days=REVIEW_DAYS + 8)
    first = later - timedelta(days=course.every_days)
    mrn = f"SCALE-EXEMPLAR-{number:02d}"
    patient_id = add_patient(course_patient(course, mrn, "Scale-Patient", first - timedelta(days=1)))
    derived = DerivedSummaries(knowledge)
    with derived.deferred():  # the derived rows once, as the demo's, not after each session, outcome and diary day
        for day in (first, later):
            if not _session(knowledge, derived, patient_id, course, day):
                raise RecordingError("scale", f"the demo's {course.indication} course was refused by the safety check")
        _outcomes(knowledge, derived, mrn, course, number, today)
    own = {
        model.__name__: [dict(row) for row in model._default_manager.filter(patient_id=patient_id).values()]
        for model in PATIENT_ROWS[:4]
    }
    sessions = []
    for row in clinic.TreatmentSession.objects.filter(patient_id=patient_id).order_by("date").values():
        draws = [
            (draw, clinic.Vial.objects.filter(pk=draw["vial_id"]).values("lot__product", "lot__vial_units").get())
            for draw in clinic.VialDraw.objects.filter(session_id=row["id"]).values()
        ]
        vials = {draw["vial_id"]: clinic.Vial.objects.filter(pk=draw["vial_id"]).values().get() for draw, _ in draws}
        sessions.append(
            {
                "row": row,
                "sites": list(clinic.SessionSite.objects.filter(session_id=row["id"]).values()),
                "findings": list(clinic.SessionFinding.objects.filter(session_id=row["id"]).values()),
                "draws": [(draw, vials[draw["vial_id"]], lot) for draw, lot in draws],
            }
        )
    outcomes: list[dict[str, Any]] = [
        dict(o) for o in clinic.OutcomeRecord.objects.filter(patient_id=patient_id).values()
    ]
    diary: list[dict[str, Any]] = [dict(d) for d in clinic.DiaryDay.objects.filter(patient_id=patient_id).values()]
    ends = [first, later, today - timedelta(days=1)]
    bladder = {}
    for entry in diary:
        if entry["kind"] == clinic.DiaryDay.Kind.BLADDER:
            end = min(end for end in ends if end >= entry["day"])
            bladder[(end > first, (end - entry["day"]).days)] = entry["entry"]
    return _Exemplar(
        course=course,
        first_day=first,
        patient=own,
        sessions=sessions,
        baseline=[row for row in outcomes if row["measured_on"] == first],
        review=[row for row in outcomes if row["measured_on"] == first + timedelta(days=REVIEW_DAYS)],
        headache={
            (row["day"] > first, row["day"].toordinal() % 12): row["entry"]
            for row in diary
            if row["kind"] == clinic.DiaryDay.Kind.HEADACHE
        },
        bladder=bladder,
    )


def _write_patients(count: int, block: int, exemplars: list[_Exemplar]) -> int:
    """All the clinic's patients, numbered from 1 up (or after the highest id in use); returns the first id."""
    first = _max_id(clinic.Patient) + 1
    writer = _Writer({clinic.Patient: first - 1})
    for number in range(count):
        # A copied patient is the copy of the first block's patient in the same place.
        course = exemplars[number % block % len(exemplars)].course
        serial = f"{number + 1:06d}"
        writer.add(
            clinic.Patient,
            {
                "mrn": f"SCALE-{serial}",
                "given_name": serial,
                "family_name": "Scale-Patient",
                "birth_date": _born(course, number % block),
                "sex": course.sex,
                "catheterizes": course.catheterizes,
            },
        )
        if number % 5_000 == 4_999:
            writer.flush((clinic.Patient,))
    writer.flush((clinic.Patient,))
    return first


def _born(course: DemoCourse, number: int) -> date:
    """The birth date of the block's ``number``-th patient: the course's, up to a year earlier."""
    return course.birth_date - timedelta(days=number % 365)


def _schedule(exemplar: _Exemplar, birth_date: date, today: date, rng: random.Random) -> list[date]:
    """About twenty session days a course's interval apart (a little later at times, as clinics run), the
    last one spread over one and a half intervals before today: some patients are due, some overdue. Never
    more than twenty years back, nor before the patient's second birthday."""
    every = exemplar.course.every_days
    earliest = max(today - timedelta(days=365 * YEARS), birth_date + timedelta(days=730))
    day = today - timedelta(days=rng.randint(3, every * 3 // 2))
    days: list[date] = []
    for _ in range(rng.randint(12, 28)):
        if day < earliest:
            break
        days.append(day)
        day -= timedelta(days=every + rng.choice((0, 0, 0, 7, 14)))
    return days[::-1]


def _write_patient(
    writer: _Writer,
    exemplar: _Exemplar,
    first_patient: int,
    patient_id: int,
    today: date,
    rng: random.Random,
    lots: dict[tuple[str, str, date], int],
) -> None:
    birth_date = _born(exemplar.course, patient_id - first_patient)
    days = _schedule(exemplar, birth_date, today, rng)
    if not days:
        return
    lapsed = (patient_id - first_patient) % LAPSED_EVERY == LAPSED_EVERY - 1
    shift = days[0] - exemplar.first_day
    for name, rows in exemplar.patient.items():
        model = next(m for m in PATIENT_ROWS if m.__name__ == name)
        for row in rows:
            writer.add(model, {**_shifted(row, shift), "patient_id": patient_id})
    zone = timezone.get_default_timezone()
    for index, day in enumerate(days):
        template = exemplar.sessions[min(index, len(exemplar.sessions) - 1)]
        drawn_at = datetime.combine(day, time(9, 0), tzinfo=zone)  # as the demo: vials at 9, injections at 10
        session = {key: value for key, value in template["row"].items() if key not in _SESSION_FIELDS_SET_HERE}
        session_id = writer.add(
            clinic.TreatmentSession,
            {**session, "patient_id": patient_id, "date": day, "given_at": drawn_at + timedelta(hours=1)},
        )
        for site in template["sites"]:
            writer.add(clinic.SessionSite, {**_without(site, "id"), "session_id": session_id})
        for finding in template["findings"]:
            writer.add(clinic.SessionFinding, {**_without(finding, "id"), "session_id": session_id})
        for draw, vial, lot in template["draws"]:
            lot_id = _lot(writer, lots, lot["lot__product"], lot["lot__vial_units"], day)
            vial_id = writer.add(clinic.Vial, {**_without(vial, "id"), "lot_id": lot_id, "reconstituted_at": drawn_at})
            writer.add(clinic.VialDraw, {**_without(draw, "id"), "session_id": session_id, "vial_id": vial_id})
    for row in exemplar.baseline:
        writer.add(clinic.OutcomeRecord, {**_shifted(row, shift), "patient_id": patient_id})
    for day in days[:-1] if lapsed else days:
        for row in exemplar.review:
            if day + timedelta(days=REVIEW_DAYS) < today:
                moved = _shifted(row, day + timedelta(days=REVIEW_DAYS) - row["measured_on"])
                writer.add(clinic.OutcomeRecord, {**moved, "patient_id": patient_id})
    _diary(writer, exemplar, patient_id, days, today, lapsed)


def _diary(writer: _Writer, exemplar: _Exemplar, patient_id: int, days: list[date], today: date, lapsed: bool) -> None:
    """The demo's diaries: 28 headache days before each session and, unless the patient ``lapsed``, the last 28
    days; three bladder days."""
    ends = days if lapsed else [*days, today - timedelta(days=1)]
    if exemplar.headache:
        filled = sorted({end - timedelta(days=offset) for end in ends for offset in range(HEADACHE_DIARY_DAYS)})
        for day in filled:
            entry = exemplar.headache[(day > days[0], day.toordinal() % 12)]
            writer.add(
                clinic.DiaryDay,
                {"patient_id": patient_id, "kind": clinic.DiaryDay.Kind.HEADACHE, "day": day, "entry": entry},
            )
    if exemplar.bladder:
        bladder_days: dict[date, dict[str, Any]] = {}
        for end in ends:
            for offset in range(BLADDER_DIARY_DAYS):
                bladder_days[end - timedelta(days=offset)] = exemplar.bladder[(end > days[0], offset)]
        for day, entry in sorted(bladder_days.items()):
            writer.add(
                clinic.DiaryDay,
                {"patient_id": patient_id, "kind": clinic.DiaryDay.Kind.BLADDER, "day": day, "entry": entry},
            )


def _without(row: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key not in keys}


def _shifted(row: dict[str, Any], shift: timedelta) -> dict[str, Any]:
    """The row without its id, every date moved by ``shift``."""
    return {
        key: value + shift if isinstance(value, date) and not isinstance(value, datetime) else value
        for key, value in row.items()
        if key != "id"
    }


def _lot(writer: _Writer, lots: dict[tuple[str, str, date], int], product: str, vial_units: Any, day: date) -> int:
    """The month's lot of this product and vial size, received when first needed (as the demo's)."""
    month = day.replace(day=1)
    key = (product, str(vial_units), month)
    if key not in lots:
        lots[key] = writer.add(
            clinic.Lot,
            {
                "product": product,
                "lot_number": f"SCALE{month:%y%m}{product[:3].upper()}{int(vial_units)}",
                "expiry": month + timedelta(days=400),
                "vial_units": vial_units,
                "quantity_received": 0,
                "received_on": month - timedelta(days=20),
            },
        )
    return lots[key]


@dataclass(frozen=True)
class _Copies:
    """The copies that grow the first block (``block`` patients from id ``first_patient``) into ``patients``: each
    doubles the clinic (the last one takes what is left), one ``INSERT … SELECT`` per table, every id and key shifted
    by the rows of the patients written so far (a whole number of blocks, each holding the first block's rows again;
    ``base`` the ids the block's rows were numbered on from, ``bounds`` the last id after each of its patients)."""

    first_patient: int
    block: int
    patients: int
    base: dict[type[models.Model], int]
    bounds: dict[type[models.Model], list[int]]

    def make(
        self,
        tables: tuple[type[models.Model], ...],
        say: Callable[[str], None] | None = None,
        begin: str | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        """Copy ``tables`` (each table's copies read only its own rows), a transaction per copy, each beginning with
        the statement ``begin``; no more copies once ``stop`` is set (another connection's copy failed)."""
        written = self.block
        while written < self.patients and not (stop is not None and stop.is_set()):
            adding = min(written, self.patients - written)
            with transaction.atomic(), connection.cursor() as cursor:
                if begin is not None:
                    cursor.execute(begin)
                for model in tables:
                    cursor.execute(*self._copy(model, written, adding))
            written += adding
            if say is not None:
                say(f"copied patients up to {written}")

    def _copy(self, model: type[models.Model], written: int, adding: int) -> tuple[str, list[int]]:
        """The statement copying ``model``'s rows of the first ``adding`` patients to the ``adding`` patients after
        the ``written`` ones; a derived row (``DERIVED_ROWS``) by its patient, with the columns it takes from the
        copy's own patient (the names of the copies)."""
        shifts = {table: self._last_id(table, written) - self.base[table] for table in PATIENT_ROWS}
        shifted = {table._meta.db_table: shift for table, shift in shifts.items()}
        shifted[clinic.Patient._meta.db_table] = written
        if model in PATIENT_ROWS:
            bounds = [self.base[model], self._last_id(model, adding)]
            return f"{_copy_into(model, shifted)} WHERE s.id > %s AND s.id <= %s", bounds
        own = dict(DERIVED_ROWS)[model]
        patient = clinic.Patient._meta.db_table
        joined = f" JOIN {connection.ops.quote_name(patient)} p ON p.id = s.patient_id + %s" if own else ""
        return (
            f"{_copy_into(model, shifted, own)}{joined} WHERE s.patient_id >= %s AND s.patient_id < %s",
            [*([written] if own else []), self.first_patient, self.first_patient + adding],
        )

    def _last_id(self, model: type[models.Model], patients: int) -> int:
        return self.base[model] + _row_count(model, patients, self.base, self.bounds)


@contextmanager
def _sqlite_bulk_copies() -> Iterator[None]:
    """SQLite's copies, as fast as it writes them safely enough for a clinic to be thrown away if they fail.

    Its indexes stay: at 100,000 patients the copies with their indexes took 154 s, without them 132 s and the
    indexes built again 36 s (one transaction for all would also hold the whole clinic in the write-ahead log until
    the commit). Its foreign keys are checked row by row, as the copies are written: not checked during the copies
    (the pragma holds between transactions), on again after them. Nor are the copies written twice, to the
    write-ahead log and then to the file, nor the file synced at each of the log's hundreds of checkpoints: each
    copy's rollback journal is kept in memory (ROLLBACK still undoes a copy that fails) and the file is not synced
    (together a quarter of the copies' time). A crash of the process or the machine meanwhile may leave the file
    damaged, where the log would have left the copies made so far; either way a clinic half generated is thrown
    away, the generator writing only into an empty database. After the copies the clinic is in its write-ahead log
    and synced again. Another connection to the file keeps its log: then only the syncs are skipped."""
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        (synchronous,) = cursor.fetchone()
        cursor.execute("PRAGMA journal_mode")
        (journal,) = cursor.fetchone()
        cursor.execute("PRAGMA foreign_keys = OFF")
        cursor.execute("PRAGMA synchronous = OFF")
        with suppress(OperationalError):  # the file is open elsewhere: its log stays
            cursor.execute("PRAGMA journal_mode = MEMORY")
            cursor.fetchone()  # (the mode now: a statement read through, as a commit needs)
        try:
            yield
        finally:
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute(f"PRAGMA journal_mode = {journal}")
            cursor.fetchone()
            cursor.execute(f"PRAGMA synchronous = {int(synchronous)}")


@dataclass(frozen=True)
class _DroppedIndex:
    """An index (or the unique or primary key constraint it holds) dropped for the copies: its table, its name
    qualified by its schema, and the statement that builds it again."""

    table: str
    name: str
    build: str


def _copy_on_postgresql(copies: _Copies, say: Callable[[str], None]) -> None:
    """PostgreSQL's copies as a bulk load: the copied tables' indexes dropped first and built again after the last
    copy (one sort per index instead of an insertion per row and index, most of a copy's time). Kept are the indexes
    a foreign key rests on (the sessions' and vials' ids), with the keys themselves: built again, each key would be
    checked over every row. Nor is there a foreign-key trigger per row (millions of them): a copy's keys point to
    rows it writes itself, shifted as the originals were, which were checked. Only a superuser may skip the
    triggers; then the tables of ``BESIDE`` are copied on a second connection at the same time as the others on
    this one (a table's copies read only its own rows; the server runs each connection's statements on a core of
    its own), each connection building its tables' indexes again and gathering their statistics. For anyone else
    the triggers run, and the tables are copied one group after the other, the rows a key points to first.

    The indexes are dropped in a transaction of their own (a second connection could not write a table whose index
    another's open transaction dropped). When a copy fails, the other connection's copies stop after the one they
    are making, and every index dropped that is not there is built again on this connection, each on its own. A
    process killed meanwhile leaves them missing in a clinic half generated, which is thrown away either way (the
    generator writes only into an empty database)."""
    indexes = _drop_indexes(COPIED)
    here = tuple(model for model in COPIED if model not in BESIDE)
    try:
        if _may_skip_triggers():
            skipped = "SET LOCAL session_replication_role = replica"  # for each copy's transaction, no longer
            stop = threading.Event()
            with ThreadPoolExecutor(max_workers=1) as second:
                beside = second.submit(_on_own_connection, _copy_group, copies, BESIDE, indexes, skipped, stop)
                try:
                    _copy_group(copies, here, indexes, skipped, stop, say)
                except BaseException as failed:
                    stop.set()
                    if (also := beside.exception()) is not None:  # (waits for the second connection's copies)
                        failed.add_note(f"The copies on the second connection failed too: {also!r}")
                    raise
                beside.result()
        else:
            # Each copy's keys checked at its end, not all queued for its commit.
            checked = "SET CONSTRAINTS ALL IMMEDIATE"
            _copy_group(copies, here, indexes, checked, say=say)
            _copy_group(copies, BESIDE, indexes, checked)
    except BaseException as failed:
        for error in _build_missing(indexes):
            failed.add_note(f"An index dropped for the copies could not be built again: {error!r}")
        raise
    if failures := _build_missing(indexes):
        raise failures[0]
    say("built the copied tables' indexes again and gathered their statistics")


def _drop_indexes(tables: tuple[type[models.Model], ...]) -> list[_DroppedIndex]:
    """Drop the indexes of ``tables`` that no foreign key rests on, in a transaction of their own."""
    names = [model._meta.db_table for model in tables]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.conrelid::regclass::text, quote_ident(n.nspname) || '.' || quote_ident(c.conname),"
            " 'ALTER TABLE ' || c.conrelid::regclass || ' DROP CONSTRAINT ' || quote_ident(c.conname),"
            " 'ALTER TABLE ' || c.conrelid::regclass || ' ADD CONSTRAINT ' || quote_ident(c.conname) || ' '"
            " || pg_get_constraintdef(c.oid)"
            " FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
            " WHERE c.contype IN ('p', 'u') AND c.conrelid = ANY(%s::regclass[])"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.contype = 'f' AND k.conindid = c.conindid)"
            " UNION ALL"
            " SELECT i.indrelid::regclass::text, quote_ident(n.nspname) || '.' || quote_ident(x.relname),"
            " 'DROP INDEX ' || i.indexrelid::regclass,"
            " pg_get_indexdef(i.indexrelid)"
            " FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid JOIN pg_namespace n ON n.oid = x.relnamespace"
            " WHERE i.indrelid = ANY(%s::regclass[])"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
            [names, names],
        )
        dropped = [(_DroppedIndex(table, name, build), drop) for table, name, drop, build in cursor.fetchall()]
        for _, drop in dropped:
            cursor.execute(drop)
    return [index for index, _ in dropped]


def _may_skip_triggers() -> bool:
    """Whether this role may skip the foreign keys' triggers (a superuser's)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
    except ProgrammingError as refused:
        if getattr(refused.__cause__, "sqlstate", None) != INSUFFICIENT_PRIVILEGE:
            raise
        return False
    return True


def _copy_group(
    copies: _Copies,
    group: tuple[type[models.Model], ...],
    indexes: list[_DroppedIndex],
    begin: str,
    stop: threading.Event | None = None,
    say: Callable[[str], None] | None = None,
) -> None:
    """Copy ``group``'s tables on this thread's connection (each copy's transaction beginning with ``begin``),
    then build their indexes again and gather their statistics. A copy that fails sets ``stop``, which ends the
    other connection's copies; its indexes are left to ``_build_missing``."""
    try:
        copies.make(group, say, begin, stop)
    except BaseException:
        if stop is not None:
            stop.set()
        raise
    tables = {model._meta.db_table for model in group}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")  # each index sorted in memory
        for index in indexes:
            if index.table in tables:
                cursor.execute(index.build)
        _analyze(cursor, tables)


def _build_missing(indexes: list[_DroppedIndex]) -> list[DatabaseError]:
    """Build again, each on its own, every index dropped for the copies that is not there (none when the copies
    succeeded; after a failure, those of the tables whose copies or builds failed); the builds that fail."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM unnest(%s::text[]) AS name WHERE to_regclass(name) IS NULL",
            [[index.name for index in indexes]],
        )
        missing = {name for (name,) in cursor.fetchall()}
    failures: list[DatabaseError] = []
    for index in indexes:
        if index.name in missing:
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(index.build)
            except DatabaseError as failed:
                failures.append(failed)
    return failures


def _analyze(cursor: CursorWrapper, tables: Collection[str]) -> None:
    """Gather PostgreSQL's statistics of ``tables``, which the queries that read them next are planned with."""
    cursor.execute(f"ANALYZE {', '.join(connection.ops.quote_name(table) for table in sorted(tables))}")


def _on_own_connection(work: Callable[..., None], *arguments: Any) -> None:
    """``work`` on this thread's own database connection, closed after it (Django opens one per thread)."""
    try:
        work(*arguments)
    finally:
        connection.close()


def _row_count(
    model: type[models.Model],
    patients: int,
    base: dict[type[models.Model], int],
    bounds: dict[type[models.Model], list[int]],
) -> int:
    """How many rows of ``model`` the first ``patients`` patients own: whole blocks, each holding the first block's
    rows again (numbered on from ``base``; ``bounds`` the last id after each of its patients), then a part of one."""
    blocks, rest = divmod(patients, len(bounds[model]))
    return blocks * (bounds[model][-1] - base[model]) + (bounds[model][rest - 1] - base[model] if rest else 0)


def _copy_into(model: type[models.Model], shifts: dict[str, int], own: tuple[str, ...] = ()) -> str:
    """``INSERT INTO`` the model's table ``SELECT`` its rows (``s``) again, their ids and the keys to the copied
    tables shifted by ``shifts`` (per table), the ``own`` columns from the copy's patient (``p``). A row of a table
    not shifted (a derived row) is numbered anew."""
    quote = connection.ops.quote_name
    columns, chosen = [], []
    for column in model._meta.concrete_fields:
        name = quote(str(column.column))
        target = column.related_model._meta.db_table if column.is_relation else None  # type: ignore[union-attr]
        if column.primary_key and not column.is_relation:  # (a key that is also a relation is shifted as one)
            target = model._meta.db_table
            if target not in shifts:
                continue
        columns.append(name)
        if column.attname in own:
            chosen.append(f"p.{name}")
        elif target in shifts:
            chosen.append(f"s.{name} + {shifts[target]}")
        else:
            chosen.append(f"s.{name}")
    table = quote(model._meta.db_table)
    return f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(chosen)} FROM {table} s"


def _finish(knowledge: KnowledgeBase, today: date, lot_ids: list[int]) -> None:
    """PostgreSQL's id sequences moved past the ids given here; each generated lot received as many vials as it
    holds; today's stock."""
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), [clinic.Patient, *WRITTEN]):
            cursor.execute(statement)
        if connection.vendor == "postgresql":
            # The statistics the pages read next are planned with, for every table not copied (each copied one's
            # were gathered after its indexes were built again).
            others = set(connection.introspection.table_names()) - {model._meta.db_table for model in COPIED}
            _analyze(cursor, others)
        if lot_ids:  # the vials counted in one pass: a count per lot reads a page per vial, spread over the clinic
            cursor.execute(
                "UPDATE clinic_lot SET quantity_received = v.vials"
                " FROM (SELECT lot_id, COUNT(*) AS vials FROM clinic_vial GROUP BY lot_id) v"
                f" WHERE v.lot_id = clinic_lot.id AND clinic_lot.id IN ({', '.join(['%s'] * len(lot_ids))})",
                lot_ids,
            )
    _stock(knowledge, today)


__all__ = ["load_scale"]
