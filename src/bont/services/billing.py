"""Use case: the claim lines of the sessions given, for a date range or one session, and their CSV export.

Each session's lines come from ``bont.domain.billing.bill`` (the procedure code once, one guidance code, the
drug in whole billing units with JW or JZ, the 11-digit NDC and its quantity, the ICD-10-CM codes); this module
adds who and where: the patient's MRN and name, the rendering clinician's NPI and the clinic's place of service.
The ``BillingRecords`` port reads the sessions (the Django adapter is ``bont.clinic.billing_records``).
Withdrawn sessions are never billed.

A year's export bills a few hundred thousand sessions but only some thousands of distinct claims (the same
product, indication, sites, units, vials and diagnoses): each distinct claim is priced, and its CSV columns
written, once per export (``_Claims``); a session adds only its id, date and patient.
"""

from __future__ import annotations

import abc
import csv
import io
from collections import deque
from collections.abc import Collection, Iterator
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import NamedTuple

from bont.domain.billing import (
    BilledSite,
    BillingRules,
    LineKind,
    SessionBill,
    SessionToBill,
    VialUsed,
    bill,
    billed_muscles,
)
from bont.domain.errors import FieldError
from bont.domain.knowledge import KnowledgeBase
from bont.domain.memo import remember
from bont.services.paging import page_within


class BillingError(FieldError):
    """A billing question was refused; ``field`` names the input at fault."""


@dataclass(frozen=True)
class ClaimContent:
    """What a session's claim is built from apart from who gave it, to whom and when: the same for every session
    that gave the same product for the same indication in the same sites and units from the same vials (a clinic
    repeats a few hundred of them). Its hash is computed once: a year's export looks up each session's."""

    product: str
    indication: str
    guidance: str  # comma-separated guidance ids, as recorded
    sites: tuple[tuple[str, str | None], ...]  # (muscle, side)
    total_units: Decimal
    units_discarded: Decimal
    protocol: str = ""  # the protocol id recorded, or ""
    vials: tuple[VialUsed, ...] = ()  # the vials drawn from, with the NDC recorded on their lot

    @cached_property
    def _hash(self) -> int:
        return hash(tuple(getattr(self, field.name) for field in fields(self)))

    def __hash__(self) -> int:
        return self._hash


class BillableSession(NamedTuple):
    """A session as billing reads it: what was given where and what was discarded (its claim content), for whom and
    by whom. (A named tuple, not a frozen dataclass: a year's export makes hundreds of thousands, and a tuple is
    made several times faster.)"""

    session_id: int
    on: date
    patient_mrn: str
    content: ClaimContent
    patient_name: str = ""  # "Family, Given"
    conditions: tuple[str, ...] = ()  # the patient's condition terms open on the day (ICD-10-CM codes or names)
    clinician: str = ""  # the username of the clinician who gave it
    clinician_npi: str = ""  # their NPI, "" when none is on file


class BillingRecords(abc.ABC):
    """Reads the sessions to bill."""

    @abc.abstractmethod
    def sessions(self, start: date, end: date, muscles: Collection[str] | None = None) -> Iterator[BillableSession]:
        """The sessions given from ``start`` to ``end`` (both included) that were not withdrawn, by date then id,
        read a chunk at a time as they are consumed (a year's export never holds the year in memory). With
        ``muscles``, a session's ``sites`` are only those in these muscles (billing reads only the muscles that
        change a claim, ``bont.domain.billing.billed_muscles``); every site otherwise."""

    @abc.abstractmethod
    def session_date(self, session_id: int) -> date | None:
        """The day of the session (withdrawn or not), None when there is no such session."""


@dataclass(frozen=True)
class BillingLine:
    """One claim line with the session's patient, diagnosis, provider and place of service."""

    session_id: int
    date: date
    patient_mrn: str
    patient_name: str
    product: str
    indication: str
    diagnoses: tuple[str, ...]  # ICD-10-CM
    kind: LineKind
    code: str  # CPT (procedure, guidance) or HCPCS (drug)
    modifier: str  # "", "JW" or "JZ"
    billing_units: int  # whole units of service, never a fraction
    exact_units: Decimal | None  # drug lines: the product units administered or discarded, exact
    exact_billing_units: Decimal | None  # drug lines: the same in billing units, exact
    ndc: str | None  # drug lines: 11 digits in 5-4-2 form
    ndc_unit: str | None  # UN (each vial) or ML
    ndc_quantity: Decimal | None
    rendering_npi: str
    place_of_service: str
    note: str


BILLING_COLUMNS = (
    "session_id",
    "date_of_service",
    "patient_mrn",
    "patient_name",
    "icd10_cm",
    "code",
    "modifier",
    "billing_units",
    "exact_units",
    "exact_billing_units",
    "ndc_11",
    "ndc_unit",
    "ndc_quantity",
    "rendering_npi",
    "place_of_service",
    "product",
    "indication",
    "note",
)


def _rules(knowledge: KnowledgeBase) -> BillingRules:
    if knowledge.billing is None:
        raise BillingError("knowledge", "the knowledge base holds no billing rules (billing.yaml)")
    return knowledge.billing


def _claim_key(session: BillableSession) -> tuple[object, ...]:
    """What ``bill`` reads of a session: two sessions with the same key have the same claim."""
    return (session.content, session.conditions)


CLAIMS_KEPT = 50_000  # distinct claims kept per export: bounds its memory whatever the clinic's variety
PATIENTS_KEPT = 250_000  # patients' columns kept per export (a few megabytes): a year meets most of a clinic


class _Claims:
    """The claims of one export, each distinct one priced once (``bill`` depends only on ``_claim_key``)."""

    def __init__(self, knowledge: KnowledgeBase, place_of_service: str | None) -> None:
        self.knowledge = knowledge
        self.rules = _rules(knowledge)  # refuses (BillingError) before any session is read
        self.place_of_service = place_of_service or self.rules.default_place_of_service
        self.bills: dict[tuple[object, ...], SessionBill] = {}

    def bill(self, session: BillableSession) -> SessionBill:
        key = _claim_key(session)
        found = self.bills.get(key)
        if found is None:
            content = session.content
            found = remember(
                self.bills,
                key,
                bill(
                    self.knowledge,
                    self.rules,
                    SessionToBill(
                        product=content.product,
                        indication=content.indication,
                        sites=tuple(BilledSite(muscle, side or None) for muscle, side in content.sites),
                        units_administered=content.total_units,
                        units_discarded=content.units_discarded,
                        guidance=tuple(g.strip() for g in content.guidance.split(",") if g.strip()),
                        protocol=content.protocol,
                        conditions=session.conditions,
                        vials=content.vials,
                    ),
                ),
                CLAIMS_KEPT,
            )
        return found

    def lines(self, session: BillableSession) -> Iterator[BillingLine]:
        claim = self.bill(session)
        npi_note = (
            "" if session.clinician_npi else f"no NPI is on file for the clinician {session.clinician or '(unknown)'}"
        )
        for index, line in enumerate(claim.lines):
            note = "; ".join(part for part in (line.note, npi_note if index == 0 else "") if part)
            yield BillingLine(
                session_id=session.session_id,
                date=session.on,
                patient_mrn=session.patient_mrn,
                patient_name=session.patient_name,
                product=session.content.product,
                indication=session.content.indication,
                diagnoses=claim.diagnoses,
                kind=line.kind,
                code=line.code,
                modifier=line.modifier,
                billing_units=line.units,
                exact_units=line.exact_units,
                exact_billing_units=line.exact_billing_units,
                ndc=line.ndc,
                ndc_unit=line.ndc_unit,
                ndc_quantity=line.ndc_quantity,
                rendering_npi=session.clinician_npi,
                place_of_service=self.place_of_service,
                note=note,
            )


def _billed(
    records: BillingRecords, knowledge: KnowledgeBase, start: date, end: date, place_of_service: str | None
) -> tuple[_Claims, Iterator[BillableSession]]:
    claims = _Claims(knowledge, place_of_service)
    return claims, records.sessions(start, end, billed_muscles(knowledge))


def billing_lines(
    records: BillingRecords, knowledge: KnowledgeBase, start: date, end: date, place_of_service: str | None = None
) -> tuple[BillingLine, ...]:
    """Claim lines for the sessions in [start, end], session by session: the procedure code, the guidance code,
    the drug administered (JZ when nothing billable was discarded) and the JW line for the drug discarded.
    ``place_of_service`` is the clinic's (default: the knowledge's, 11 Office)."""
    claims, sessions = _billed(records, knowledge, start, end, place_of_service)
    return tuple(line for session in sessions for line in claims.lines(session))


BILLING_LINES_PER_PAGE = 200


@dataclass(frozen=True)
class BillingPage:
    """One page of a period's claim lines, with the billing units per code and modifier over the whole period."""

    lines: tuple[BillingLine, ...]
    totals: tuple[tuple[str, str, int], ...]  # (code, modifier or "", billing units), by code and modifier
    line_count: int  # the period's claim lines
    page: int  # from 1: the one asked for, or the last when one beyond it was asked
    per_page: int


def billing_page(
    records: BillingRecords,
    knowledge: KnowledgeBase,
    start: date,
    end: date,
    page: int = 1,
    per_page: int = BILLING_LINES_PER_PAGE,
    place_of_service: str | None = None,
) -> BillingPage:
    """The claim lines of :func:`billing_lines` on page ``page`` of ``per_page`` (the last page when ``page`` is
    beyond it), and the totals of the whole period. The sessions are read once and only the page's lines are kept:
    a year of a large clinic has hundreds of thousands."""
    per_page = max(per_page, 1)
    claims, sessions = _billed(records, knowledge, start, end, place_of_service)
    first = (max(page, 1) - 1) * per_page
    totals: dict[tuple[str, str], int] = {}
    asked: list[BillingLine] = []
    latest: deque[BillingLine] = deque(maxlen=per_page)  # the last page's, should the page asked be beyond it
    count = 0
    for session in sessions:
        for line in claims.lines(session):
            key = (line.code, line.modifier)
            totals[key] = totals.get(key, 0) + line.billing_units
            if first <= count < first + per_page:
                asked.append(line)
            latest.append(line)
            count += 1
    number = page_within(page, count, per_page)
    lines = asked if number == max(page, 1) else list(latest)[len(latest) - (count - (number - 1) * per_page) :]
    return BillingPage(
        lines=tuple(lines),
        totals=tuple((code, modifier, units) for (code, modifier), units in sorted(totals.items())),
        line_count=count,
        page=number,
        per_page=per_page,
    )


def session_billing(
    records: BillingRecords, knowledge: KnowledgeBase, session_id: int, place_of_service: str | None = None
) -> tuple[BillingLine, ...]:
    """The claim lines of one session (none when it was withdrawn); raises ``BillingError`` (field
    ``session``) when there is no such session."""
    on = records.session_date(session_id)
    if on is None:
        raise BillingError("session", "no session with this id")
    claims, sessions = _billed(records, knowledge, on, on, place_of_service)
    return tuple(line for session in sessions if session.session_id == session_id for line in claims.lines(session))


def _number(value: Decimal | None) -> str:
    return "" if value is None else f"{value.normalize():f}"


def _text(value: str) -> str:
    """Typed text (an MRN, a name) as a spreadsheet shows it, never as a formula (OWASP, CSV injection)."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _patient_columns(patient_mrn: str, patient_name: str) -> list[object]:
    """The third and fourth columns of ``BILLING_COLUMNS``, after the session's id and date: its patient."""
    return [_text(patient_mrn), _text(patient_name)]


def _claim_columns(line: BillingLine) -> list[object]:
    """The other columns of ``BILLING_COLUMNS``: the claim line, the same for every session with that claim."""
    return [
        " ".join(line.diagnoses),
        line.code,
        line.modifier,
        line.billing_units,
        _number(line.exact_units),
        _number(line.exact_billing_units),
        line.ndc or "",
        line.ndc_unit or "",
        _number(line.ndc_quantity),
        line.rendering_npi,
        line.place_of_service,
        line.product,
        line.indication,
        line.note,
    ]


def billing_csv(
    records: BillingRecords, knowledge: KnowledgeBase, start: date, end: date, place_of_service: str | None = None
) -> Iterator[str]:
    """The claim lines of :func:`billing_lines` as CSV, one row per line in ``BILLING_COLUMNS`` order, yielded as
    the sessions are read (the header, then each session's rows together), so that an export of any length is
    streamed. Refuses (``BillingError``) before the first row when the knowledge base holds no billing rules."""
    claims, sessions = _billed(records, knowledge, start, end, place_of_service)
    return _csv_rows(claims, sessions)


def _csv_rows(claims: _Claims, sessions: Iterator[BillableSession]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def row(values: list[object]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    # A CSV row is its fields, each quoted alone, joined by commas: the session's id and date (never quoted),
    # its patient's columns, written once per patient, and the claim's, written once per distinct claim and
    # rendering clinician, is the same row.
    tails: dict[tuple[object, ...], tuple[str, ...]] = {}
    patients: dict[tuple[str, str], str] = {}
    days: dict[date, str] = {}
    yield row(list(BILLING_COLUMNS))
    for session in sessions:
        key = (session.content, session.conditions, session.clinician_npi, session.clinician)
        found = tails.get(key)
        if found is None:
            found = remember(
                tails, key, tuple(row(_claim_columns(line)) for line in claims.lines(session)), CLAIMS_KEPT
            )
        if not found:
            continue
        patient = patients.get((session.patient_mrn, session.patient_name))
        if patient is None:
            patient = remember(
                patients,
                (session.patient_mrn, session.patient_name),
                row(_patient_columns(session.patient_mrn, session.patient_name))[:-1],  # without its line end
                PATIENTS_KEPT,
            )
        day = days.get(session.on)
        if day is None:
            day = remember(days, session.on, session.on.isoformat(), PATIENTS_KEPT)
        head = f"{session.session_id},{day},{patient},"
        yield head + head.join(found)  # each of the session's rows: its columns, then the claim line's
