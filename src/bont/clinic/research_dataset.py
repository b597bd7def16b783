"""The analysis dataset of registry analytics (``bont.domain.research.dataset``), read from the clinic's records in
bulk: one streamed query per kind of record, never one per patient, into a pyarrow Table per table of the dataset.

What is left out: sessions, outcome measurements and adverse events withdrawn as entered in error, doses given
elsewhere (``ExternalAdministration``), measurements derived from diaries (the diary days are in the dataset),
conditions recorded as text or resolved, and every identifier (names, record number, birth date, database ids,
lots, free text). Patients without a session are not in it. A diary day is classified by the domain
(``classify_day`` with the knowledge's headache-day rules), as the chart classifies it; a stored day that no longer
reads (a value the diary does not know) is left out and counted, so one bad row never stops an export.

Every stored outcome measurement is read whatever its source, as the chart reads them, with its place in the order
the patient's measurements were entered (the chart's tie-break between two scores of one day).

De-identified (``shift=True``, the default): every date of a patient moves by ``date_offset(secret, patient key)``
and pseudonyms come from ``pseudonym(secret, site, key)``, for a secret drawn per extract unless one is given; a
record dated after the patient's last day (``export_horizon(today)`` moved back by their offset: a secret real day
of the year before ``today``) is left out, and so is a patient with no session by then. Every patient's
``follow_up_end`` is the horizon, and a series' discontinuation and a condition's being active are judged on the
patient's last day. With ``shift=False`` dates are real, every record is kept (unless ``cut`` is asked, to choose
an export's cohort on the same records) and ``follow_up_end`` is ``today``, for the clinic's own analyses whose
only output is aggregates.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa

from bont.clinic import models
from bont.domain.errors import FieldError
from bont.domain.knowledge import KnowledgeBase
from bont.domain.outcomes import classify_day
from bont.domain.research.analyses import DISCONTINUED_AFTER_DAYS
from bont.domain.research.dataset import DATASET, OTHER_ADVERSE_EVENT, ColumnType, Table
from bont.domain.research.deidentification import age_band, date_offset, export_horizon, pseudonym
from bont.services.outcomes import HEADACHE, bladder_entry, headache_entry

__all__ = ["ResearchDataset", "arrow_schema", "extract_dataset"]

_CHUNK = 2000  # rows fetched per round trip while streaming
_BATCH = 65_536  # rows per pyarrow record batch
# Units and scale values are stored to hundredths (``units_field``, ``OutcomeRecord.value``): kept exact.
_ARROW_TYPES: dict[ColumnType, pa.DataType] = {
    ColumnType.STRING: pa.string(),
    ColumnType.INTEGER: pa.int64(),
    ColumnType.DECIMAL: pa.decimal128(12, 2),
    ColumnType.DATE: pa.date32(),
    ColumnType.BOOLEAN: pa.bool_(),
}


def arrow_schema(table: Table) -> pa.Schema:
    """The pyarrow schema of a dataset table, its columns in the data dictionary's order."""
    return pa.schema([pa.field(column.name, _ARROW_TYPES[column.type]) for column in table.columns])


@dataclass(frozen=True)
class ResearchDataset:
    """The dataset's tables by name, whether its dates are shifted, and how many stored diary days did not read."""

    site: str
    tables: Mapping[str, pa.Table]
    shifted: bool
    unreadable_diary_days: int


class _Deidentifier:
    """The pseudonyms of patients and sessions and the patients' date offsets (each patient's computed once), or
    real dates when not shifting; and which records are kept: with the cut, those on or before the patient's last
    day (``export_horizon`` moved back by the patient's offset), else every record."""

    def __init__(self, site: str, secret: bytes, shift: bool, cut: bool, today: date) -> None:
        if shift and not cut:
            raise ValueError("shifted dates need the cut: records up to the export would give the offsets back")
        self._site, self._secret, self._shift, self._today = site, secret, shift, today
        self._horizon = export_horizon(today) if cut else None
        # Every patient's end of follow-up: in an export the horizon, the same shifted day for all (a different
        # real day for each); with real dates ``today``.
        self.follow_up_end = export_horizon(today) if shift else today
        self._pseudonyms: dict[int, str] = {}
        self._offsets: dict[int, timedelta] = {}

    def pseudonym(self, patient_id: int) -> str:
        if patient_id not in self._pseudonyms:
            self._pseudonyms[patient_id] = pseudonym(self._secret, self._site, f"patient:{patient_id}")
        return self._pseudonyms[patient_id]

    def session(self, session_id: int) -> str:
        return pseudonym(self._secret, self._site, f"session:{session_id}")

    def _offset(self, patient_id: int) -> timedelta:
        if patient_id not in self._offsets:
            self._offsets[patient_id] = timedelta(days=date_offset(self._secret, f"patient:{patient_id}"))
        return self._offsets[patient_id]

    def day(self, patient_id: int, day: date) -> date:
        return day + self._offset(patient_id) if self._shift else day

    def last_day(self, patient_id: int) -> date:
        """The patient's last real day in the dataset: with the cut, their own secret day of the year before
        ``today``; without it ``today``."""
        return self._horizon - self._offset(patient_id) if self._horizon is not None else self._today

    def keeps(self, patient_id: int, day: date) -> bool:
        return self._horizon is None or day <= self.last_day(patient_id)


def _streamed(query: Any) -> Iterator[tuple[Any, ...]]:
    return iter(query.iterator(chunk_size=_CHUNK))


class _Columns:
    """A table's columns filled row by row into pyarrow record batches (a clinic's million sessions are not held
    as Python objects), then one pyarrow Table of the data dictionary's schema."""

    def __init__(self, table: Table) -> None:
        self._schema = arrow_schema(table)
        self._values: dict[str, list[Any]] = {name: [] for name in table.column_names}
        self._batches: list[pa.RecordBatch] = []

    def add(self, **row: Any) -> None:
        for name, values in self._values.items():
            values.append(row[name])
        if len(self._values["site"]) == _BATCH:
            self._flush()

    def _flush(self) -> None:
        self._batches.append(pa.record_batch(list(self._values.values()), schema=self._schema))
        for values in self._values.values():
            values.clear()

    def arrow(self) -> pa.Table:
        self._flush()
        return pa.Table.from_batches(self._batches, schema=self._schema)


def extract_dataset(
    knowledge: KnowledgeBase,
    *,
    site: str,
    today: date,
    secret: bytes | None = None,
    shift: bool = True,
    cut: bool | None = None,
) -> ResearchDataset:
    """The clinic's analysis dataset as read on ``today`` for the site ``site``; ``cut`` (by default when shifting)
    leaves out what is after each patient's last day, which an unshifted extract does too when it chooses the
    patients of an export (so that nothing after the cut decides who is in it)."""
    patients = _Deidentifier(
        site, secret if secret is not None else secrets.token_bytes(32), shift, shift if cut is None else cut, today
    )
    columns = {table.name: _Columns(table) for table in DATASET}
    population = {
        protocol.id: str(protocol.population)
        for indication in knowledge.indications.values()
        for protocol in indication.protocols
    }

    first_session: dict[int, date] = {}
    session_ids: set[int] = set()
    cycle_days: dict[tuple[int, str], set[date]] = defaultdict(set)
    sessions = models.TreatmentSession.objects.filter(withdrawn_reason="").order_by("patient_id", "date", "pk")
    for session_id, patient_id, day, indication, product, protocol, units in _streamed(
        sessions.values_list("pk", "patient_id", "date", "indication", "product", "protocol", "total_units")
    ):
        if not patients.keeps(patient_id, day):
            continue
        first_session.setdefault(patient_id, day)
        session_ids.add(session_id)
        days = cycle_days[(patient_id, indication)]
        days.add(day)  # in date order: the session opens the cycle numbered by the distinct days so far
        columns["sessions"].add(
            site=site,
            patient=patients.pseudonym(patient_id),
            session=patients.session(session_id),
            day=patients.day(patient_id, day),
            indication=indication,
            product=product,
            population=population.get(protocol, ""),
            units=units,
            cycle=len(days),
        )
    for (patient_id, indication), days in cycle_days.items():
        columns["series"].add(
            site=site,
            patient=patients.pseudonym(patient_id),
            indication=indication,
            discontinued=(patients.last_day(patient_id) - max(days)).days > DISCONTINUED_AFTER_DAYS,
        )

    # Active on the patient's last day in the dataset: begun by then (or undated), not resolved before it.
    recorded = models.PatientCondition.objects.order_by("patient_id", "pk")
    codes: dict[str, str | None] = {}  # a clinic writes the same few terms again and again
    coded: set[tuple[int, str]] = set()
    for patient_id, term, onset, resolved_on in _streamed(
        recorded.values_list("patient_id", "term", "onset", "resolved_on")
    ):
        if patient_id not in first_session or not patients.keeps(patient_id, onset or date.min):
            continue
        if resolved_on is not None and resolved_on < patients.last_day(patient_id):
            continue
        if term not in codes:
            codes[term] = knowledge.condition_code(term)  # None for a name: free text, never exported
        code = codes[term]
        if code is not None and (patient_id, code) not in coded:
            coded.add((patient_id, code))  # "g43709" and "G43.709" are one condition
            columns["conditions"].add(site=site, patient=patients.pseudonym(patient_id), code=code)

    # Every source, as the chart reads them; in order of entry (the primary key), which breaks a same-day tie.
    measured = models.OutcomeRecord.objects.filter(withdrawn_reason="").order_by("patient_id", "pk")
    entries: dict[int, int] = defaultdict(int)
    for patient_id, indication, instrument, day, period_start, value, rank in _streamed(
        measured.values_list("patient_id", "indication", "instrument", "measured_on", "period_start", "value", "rank")
    ):
        if patient_id in first_session and patients.keeps(patient_id, day):
            entries[patient_id] += 1
            columns["measurements"].add(
                site=site,
                patient=patients.pseudonym(patient_id),
                indication=indication,
                instrument=instrument,
                day=patients.day(patient_id, day),
                period_start=None if period_start is None else patients.day(patient_id, period_start),
                # An ordinal or binary score (a grade) is its rank on the instrument's scale, 0 for the first grade.
                value=value if value is not None or rank is None else Decimal(rank),
                entry=entries[patient_id],
            )

    unreadable = _diary_days(knowledge, site, patients, first_session, columns["diary_days"])

    events = models.AdverseEvent.objects.filter(withdrawn_reason="").order_by("patient_id", "onset", "pk")
    for patient_id, session_id, onset, term, severity, serious in _streamed(
        events.values_list("patient_id", "suspected_session_id", "onset", "event", "severity", "serious")
    ):
        if patient_id in first_session and patients.keeps(patient_id, onset):
            columns["adverse_events"].add(
                site=site,
                patient=patients.pseudonym(patient_id),
                session=patients.session(session_id) if session_id in session_ids else None,
                day=patients.day(patient_id, onset),
                # typed as no term of the vocabulary: free text, never exported
                term=knowledge.adverse_event_id(term) or OTHER_ADVERSE_EVENT,
                severity=severity,
                serious=serious,
            )

    for patient_id, born, sex in _streamed(
        models.Patient.objects.order_by("pk").values_list("pk", "birth_date", "sex")
    ):
        if patient_id in first_session:
            columns["patients"].add(
                site=site,
                patient=patients.pseudonym(patient_id),
                sex=sex,
                age_band=age_band(born, first_session[patient_id]),
                follow_up_end=patients.follow_up_end,
            )

    return ResearchDataset(site, {name: table.arrow() for name, table in columns.items()}, shift, unreadable)


def _diary_days(
    knowledge: KnowledgeBase, site: str, patients: _Deidentifier, treated: Mapping[int, date], columns: _Columns
) -> int:
    """Fill the diary days, each headache day classified by the domain; returns how many did not read."""
    rules = knowledge.headache_day_rules
    unreadable = 0
    diary = models.DiaryDay.objects.order_by("patient_id", "kind", "day")
    for patient_id, kind, day, entry in _streamed(diary.values_list("patient_id", "kind", "day", "entry")):
        if patient_id not in treated or not patients.keeps(patient_id, day):
            continue
        row: dict[str, Any] = {
            "headache_day": None,
            "migraine_day": None,
            "acute_medication_day": None,
            "voids": None,
            "incontinence_episodes": None,
        }
        try:
            if not isinstance(entry, Mapping):
                raise FieldError("entry", "does not read as a diary day")
            if kind == HEADACHE:
                if rules is None:  # a knowledge base without the day rules cannot classify a headache day
                    raise FieldError("entry", "cannot be classified")
                classes = classify_day(headache_entry(entry, day), rules)
                row.update(
                    headache_day=classes.headache_day,
                    migraine_day=classes.migraine_day,
                    acute_medication_day=classes.acute_medication_day,
                )
            else:
                bladder = bladder_entry(entry, day)
                row.update(voids=bladder.voids, incontinence_episodes=bladder.incontinence_episodes)
        except FieldError:
            unreadable += 1
            continue
        columns.add(
            site=site, patient=patients.pseudonym(patient_id), kind=kind, day=patients.day(patient_id, day), **row
        )
    return unreadable
