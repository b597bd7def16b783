"""The audit trail's two halves and the clinic-wide search over them.

Changes are kept by the records' own versions (every create, change and withdrawal, with who made it); what
they cannot show is who *read* a chart, a session, a report or an export. The ``AccessLog`` port appends one
access per read and never changes or removes one; the Django adapter is ``bont.clinic.access_log``.

An actor is a username, or ``None`` for the command line run without a named operator (``--as`` or
``BONT_OPERATOR``): the audit says so plainly (``NO_OPERATOR``) instead of leaving the column blank.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from bont.domain.errors import FieldError

NO_OPERATOR = "command line (no operator named)"
PAGE_SIZE = 50
MAXIMUM_PAGE = 1_000_000
USERNAME_LENGTH = 150  # Django's username field
MRN_LENGTH = 40


class Channel(StrEnum):
    WEB = "web"
    API = "api"
    CLI = "cli"


class Action(StrEnum):
    """What an access did: opened a page or document (read), printed one (print), took data away (export)."""

    READ = "read"
    PRINT = "print"
    EXPORT = "export"


class AuditKind(StrEnum):
    """What the clinic-wide search looks for: record changes (the versions), reads (print included), exports."""

    CHANGE = "change"
    READ = "read"
    EXPORT = "export"


@dataclass(frozen=True)
class Access:
    """One read to append: who, by which channel, what (``target`` and its id) of which patient, from where."""

    actor: str | None
    channel: Channel
    action: Action
    target: str  # chart, session, audit, continuation-report, procedure-sheet, billing-export, ...
    patient_mrn: str | None = None
    object_id: str = ""
    remote_address: str | None = None


@dataclass(frozen=True)
class AccessEntry:
    """A stored access."""

    at: datetime
    actor: str
    channel: str
    action: str
    target: str
    patient_mrn: str | None
    object_id: str
    remote_address: str | None


@dataclass(frozen=True)
class AuditQuery:
    """The clinic-wide search: every filter optional; the dates are the clinic's days, both included."""

    username: str = ""
    mrn: str = ""
    start: date | None = None
    end: date | None = None
    kind: AuditKind | None = None


@dataclass(frozen=True)
class AuditRow:
    """One row of the clinic-wide search: a version of a record (kind ``change``) or an access."""

    when: datetime
    who: str  # a username, or NO_OPERATOR
    kind: AuditKind
    what: str  # "session 12", "chart", "billing-export", ...
    change: str  # created, changed, withdrawn...; for an access its action and channel ("read (web)")
    patient_mrn: str | None
    remote_address: str | None


@dataclass(frozen=True)
class AuditPage:
    rows: tuple[AuditRow, ...]
    page: int
    has_next: bool


class AuditSearchError(FieldError):
    """A filter of the clinic-wide search was refused."""


class AccessLog(abc.ABC):
    """Reads appended, never changed; and the search over reads and record versions together."""

    @abc.abstractmethod
    def record(self, access: Access) -> None:
        """Append one access. An MRN no patient has is kept as no patient (a refused read names none)."""

    @abc.abstractmethod
    def for_patient(self, mrn: str) -> tuple[AccessEntry, ...]:
        """Every access to the patient's data, latest first."""

    @abc.abstractmethod
    def search(self, query: AuditQuery, offset: int, limit: int) -> tuple[AuditRow, ...]:
        """Versions and accesses matching ``query``, latest first, rows ``offset`` to ``offset + limit``; the
        database does the sorting and slicing, so a page never loads the whole trail."""


def log_access(log: AccessLog, access: Access) -> None:
    log.record(access)


def search_audit(log: AccessLog, query: AuditQuery, page: int = 1) -> AuditPage:
    """One page (``PAGE_SIZE`` rows) of the clinic-wide audit; refused as ``check_audit_query`` refuses, or
    naming ``page`` when it is not a page number from 1."""
    if page < 1 or page > MAXIMUM_PAGE:
        raise AuditSearchError("page", "must be a page number from 1")
    check_audit_query(query)
    rows = log.search(query, (page - 1) * PAGE_SIZE, PAGE_SIZE + 1)  # one more: is there a next page?
    return AuditPage(rows[:PAGE_SIZE], page, len(rows) > PAGE_SIZE)


def check_audit_query(query: AuditQuery) -> None:
    """Refuse, naming the filter, a reversed range or a filter longer than any username or MRN."""
    if len(query.username) > USERNAME_LENGTH:
        raise AuditSearchError("user", f"at most {USERNAME_LENGTH} characters")
    if len(query.mrn) > MRN_LENGTH:
        raise AuditSearchError("mrn", f"at most {MRN_LENGTH} characters")
    if query.start is not None and query.end is not None and query.end < query.start:
        raise AuditSearchError("end", "is before the start")


CSV_HEADER = ("when", "who", "kind", "what", "change", "patient_mrn", "remote_address")
EXPORT_BATCH = 500


def audit_export(log: AccessLog, query: AuditQuery) -> Iterator[tuple[str, ...]]:
    """Every row of the search for the CSV export, a header first, read from the database a batch at a time
    (an export of a year of the clinic's trail is streamed, never held whole). Check the query first with
    ``check_audit_query``."""
    yield CSV_HEADER
    offset = 0
    while True:
        rows = log.search(query, offset, EXPORT_BATCH)
        for row in rows:
            yield (
                row.when.isoformat(),
                row.who,
                row.kind.value,
                row.what,
                row.change,
                row.patient_mrn or "",
                row.remote_address or "",
            )
        if len(rows) < EXPORT_BATCH:
            return
        offset += EXPORT_BATCH
