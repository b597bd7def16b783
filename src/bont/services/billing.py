"""Use case: claim lines for the sessions given: HCPCS billing units, the JW line for discarded units (JZ when
nothing was discarded) and the CPT codes, for a date range or one session, and their CSV export.

The amounts come from ``bont.domain.billing.bill``; the ``BillingRecords`` port reads the sessions (the
Django adapter is ``bont.clinic.billing_records``). Withdrawn sessions are never billed.
"""

from __future__ import annotations

import abc
import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from bont.domain.billing import BilledSite, BillingSummary, bill
from bont.domain.errors import FieldError
from bont.domain.knowledge import KnowledgeBase
from bont.domain.protocols import Guidance


class BillingError(FieldError):
    """A billing question was refused; ``field`` names the input at fault."""


@dataclass(frozen=True)
class BillableSession:
    """A session as billing reads it: what was given where, and what was discarded."""

    session_id: int
    on: date
    patient_mrn: str
    product: str
    indication: str
    guidance: str  # comma-separated guidance ids, as recorded
    sites: tuple[tuple[str, str | None], ...]  # (muscle, side)
    total_units: Decimal
    units_discarded: Decimal


class BillingRecords(abc.ABC):
    """Reads the sessions to bill."""

    @abc.abstractmethod
    def sessions(self, start: date, end: date) -> tuple[BillableSession, ...]:
        """The sessions given from ``start`` to ``end`` (both included) that were not withdrawn, by date then id."""

    @abc.abstractmethod
    def session_date(self, session_id: int) -> date | None:
        """The day of the session (withdrawn or not), None when there is no such session."""


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
    cpt: str  # the CPT codes, space-separated


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


def _line(session: BillableSession, summary: BillingSummary, modifier: str, units: Decimal) -> BillingLine:
    return BillingLine(
        session_id=session.session_id,
        date=session.on,
        patient_mrn=session.patient_mrn,
        product=session.product,
        indication=session.indication,
        hcpcs=summary.hcpcs,
        modifier=modifier,
        units=units,
        billing_units=units / summary.units_per_billing_unit,
        cpt=" ".join(summary.cpt),
    )


def billing_lines(records: BillingRecords, knowledge: KnowledgeBase, start: date, end: date) -> tuple[BillingLine, ...]:
    """Claim lines for the sessions in [start, end]: the administered units (with JZ when nothing was
    discarded), and a separate JW line for the discarded units."""
    lines: list[BillingLine] = []
    for session in records.sessions(start, end):
        guidance = [Guidance(g) for g in session.guidance.split(",") if g.strip() in Guidance._value2member_map_]
        summary = bill(
            knowledge,
            session.product,
            knowledge.indication(session.indication),
            [BilledSite(muscle, side or None) for muscle, side in session.sites],
            session.total_units,
            session.units_discarded,
            guidance,
        )
        lines.append(_line(session, summary, "JZ" if summary.modifier == "JZ" else "", summary.units_administered))
        if summary.modifier == "JW":
            lines.append(_line(session, summary, "JW", summary.units_discarded))
    return tuple(lines)


def session_billing(records: BillingRecords, knowledge: KnowledgeBase, session_id: int) -> tuple[BillingLine, ...]:
    """The claim lines of one session (none when it was withdrawn); raises ``BillingError`` (field
    ``session``) when there is no such session."""
    on = records.session_date(session_id)
    if on is None:
        raise BillingError("session", "no session with this id")
    return tuple(line for line in billing_lines(records, knowledge, on, on) if line.session_id == session_id)


def billing_csv(lines: tuple[BillingLine, ...] | list[BillingLine]) -> str:
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
