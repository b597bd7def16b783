"""The rows derived from the records, never entered: the Follow-up list's summary per patient and indication
(``FollowUpSummary``) and what billing reads of each session given (``SessionClaimInputs``), kept by the same
transaction as every write that changes what they are derived from.

``DerivedSummaries.refresh`` is the one hook: the adapters call it for the patient whose sessions, outcomes or
diary days they have just written, inside that write's transaction; it keeps the research page's rows too
(``bont.clinic.responder_verdicts``). A rename copies the new names (``rename_patient``).
``fill_follow_up_summaries`` rebuilds the summary with two set-based statements, for the records already stored
(migration 0013) and for a generated clinic's first block (``bont demo --scale`` copies it with each copy);
``fill_claim_inputs`` does the same for the claim inputs (migration 0015).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from functools import cached_property
from typing import Any

from django.db import connections, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Max

from bont.clinic import models
from bont.clinic.responder_verdicts import refresh_patient as refresh_responder_verdicts
from bont.domain.knowledge import KnowledgeBase
from bont.services.follow_up import diary_kinds_by_indication, follow_up_summaries
from bont.services.research import verdict_basis

CENTS = Decimal("0.01")  # the units fields' two decimal places


class DerivedSummaries:
    """Recomputes one patient's derived rows from that patient's records (a few indexed queries)."""

    def __init__(self, knowledge: KnowledgeBase) -> None:
        self.knowledge = knowledge
        self._deferred: set[int] | None = None

    @cached_property
    def verdict_basis(self) -> str:
        return verdict_basis(self.knowledge)

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Inside one transaction that writes records (a unit of work, an outcome replaced, the demo clinic's
        load): each patient written is refreshed once, at the end of the block, instead of after every write.
        Inside another such block, the patients are handed to it: its end refreshes them."""
        outer, written = self._deferred, set[int]()
        self._deferred = written
        try:
            yield
        finally:
            self._deferred = outer
        if outer is not None:
            outer.update(written)
            return
        for patient_id in sorted(written):
            self.refresh(patient_id)

    def forget_deferred(self) -> None:
        """The innermost deferred block's writes are rolled back: nothing of them to refresh at its end."""
        if self._deferred is not None:
            self._deferred.clear()

    def refresh(self, patient_id: int) -> None:
        """Call inside the transaction that wrote the patient's sessions, outcomes or diary days."""
        if self._deferred is not None:
            self._deferred.add(patient_id)
            return
        # Two writers of the same patient's records refresh one after the other, each reading what the other
        # committed. No key update: a writer that has just inserted a row pointing to the patient holds a
        # key-share lock on it (PostgreSQL); SQLite's write transaction already serialises them.
        names = (
            models.Patient.objects.select_for_update(no_key=True)
            .filter(pk=patient_id)
            .values_list("family_name", "given_name")
            .first()
        )
        if names is None:
            return
        self._refresh_follow_up(patient_id, *names)
        _refresh_claim_inputs(patient_id)
        refresh_responder_verdicts(self.knowledge, patient_id, self.verdict_basis)  # and the research page's rows

    def _refresh_follow_up(self, patient_id: int, family_name: str, given_name: str) -> None:
        given = models.TreatmentSession.objects.filter(patient_id=patient_id, withdrawn_reason="")
        measured = models.OutcomeRecord.objects.filter(patient_id=patient_id, withdrawn_reason="")
        diaries = models.DiaryDay.objects.filter(patient_id=patient_id)
        summaries = follow_up_summaries(
            self.knowledge,
            dict(given.values("indication").annotate(last=Max("date")).values_list("indication", "last")),
            dict(measured.values("indication").annotate(last=Max("measured_on")).values_list("indication", "last")),
            dict(diaries.values("kind").annotate(last=Max("day")).values_list("kind", "last")),
        )
        kept = {row.indication: row for row in models.FollowUpSummary.objects.filter(patient_id=patient_id)}
        for summary in summaries:
            values = {
                "family_name": family_name,
                "given_name": given_name,
                "last_session": summary.last_session,
                "assessment_pending_since": summary.assessment_pending_since,
            }
            row = kept.pop(summary.indication, None)
            if row is None:
                models.FollowUpSummary.objects.create(patient_id=patient_id, indication=summary.indication, **values)
            elif any(getattr(row, name) != value for name, value in values.items()):
                models.FollowUpSummary.objects.filter(pk=row.pk).update(**values)
        if kept:  # every session of these indications withdrawn
            models.FollowUpSummary.objects.filter(pk__in=[row.pk for row in kept.values()]).delete()
        # After the summary rows, as the fill writes them (the same order of locks); written whatever was there.
        if summaries:
            treated = models.TreatedPatient(patient_id=patient_id)
            models.TreatedPatient.objects.bulk_create([treated], ignore_conflicts=True)
        else:
            models.TreatedPatient.objects.filter(patient_id=patient_id).delete()


def rename_patient(patient_id: int, family_name: str, given_name: str) -> None:
    """The names copied for the list's sort follow the patient's: call inside the transaction that renames."""
    models.FollowUpSummary.objects.filter(patient_id=patient_id).update(family_name=family_name, given_name=given_name)


def fill_follow_up_summaries(
    knowledge: KnowledgeBase,
    using: str = "default",
    patients: tuple[int, int] | None = None,
    treated_patients: bool = True,
) -> None:
    """Rebuild the Follow-up summary from the records in two statements (the same answers as
    ``DerivedSummaries.refresh`` for each patient): the whole clinic's, or that of the patients whose ids are
    ``patients`` (first, last); and the patients treated, unless ``treated_patients`` is false (migration 0013,
    which comes before their table). Plain SQL on the tables as migration 0013 left them, so that the migration can
    call it."""
    served: dict[str, list[str]] = {}
    for indication, kinds in diary_kinds_by_indication(knowledge).items():
        for kind in kinds:
            served.setdefault(kind, []).append(indication)
    diary_assessed, parameters = "", []
    for kind, indications in sorted(served.items()):
        diary_assessed += (
            f" OR (s.indication IN ({', '.join(['%s'] * len(indications))}) AND EXISTS (SELECT 1 FROM"
            " clinic_diaryday d WHERE d.patient_id = s.patient_id AND d.kind = %s AND d.day > s.last_session))"
        )
        parameters += [*sorted(indications), kind]
    chosen, among = ("", []) if patients is None else (" AND patient_id BETWEEN %s AND %s", list(patients))
    with transaction.atomic(using=using), connections[using].cursor() as cursor:  # never half rebuilt
        cursor.execute(f"DELETE FROM clinic_followupsummary WHERE 1 = 1{chosen}", among)
        cursor.execute(
            "INSERT INTO clinic_followupsummary"
            " (patient_id, indication, family_name, given_name, last_session, assessment_pending_since)"
            " SELECT s.patient_id, s.indication, p.family_name, p.given_name, s.last_session,"
            " CASE WHEN EXISTS (SELECT 1 FROM clinic_outcomerecord o WHERE o.patient_id = s.patient_id"
            " AND o.indication = s.indication AND o.withdrawn_reason = '' AND o.measured_on > s.last_session)"
            f"{diary_assessed} THEN NULL ELSE s.last_session END"
            " FROM (SELECT patient_id, indication, MAX(date) AS last_session FROM clinic_treatmentsession"
            f" WHERE withdrawn_reason = ''{chosen} GROUP BY patient_id, indication) s"
            " JOIN clinic_patient p ON p.id = s.patient_id",
            [*parameters, *among],  # in the order of their placeholders
        )
        if treated_patients:
            fill_treated_patients(cursor, patients)


def fill_treated_patients(cursor: CursorWrapper, patients: tuple[int, int] | None = None) -> None:
    """The patients treated as the Follow-up summary now holds them: all, or those whose ids are ``patients``."""
    chosen, among = ("1 = 1", []) if patients is None else ("patient_id BETWEEN %s AND %s", list(patients))
    cursor.execute(f"DELETE FROM clinic_treatedpatient WHERE {chosen}", among)
    cursor.execute(  # (a patient a recording transaction has just added, already there)
        "INSERT INTO clinic_treatedpatient (patient_id)"
        f" SELECT DISTINCT patient_id FROM clinic_followupsummary WHERE {chosen} ON CONFLICT DO NOTHING",
        among,
    )


_CLAIM_INPUTS = "clinic_sessionclaiminputs"
_CLAIM_CONTENT = "clinic_claimcontent"
# A claim content's columns, in the order the claim inputs' queries give them and billing reads them.
CONTENT_COLUMNS = ("indication", "product", "protocol", "guidance", "total_units", "units_discarded", "sites", "vials")
_CONTENT_COLUMNS = ", ".join(CONTENT_COLUMNS)
_CLAIM_COLUMNS = f"session_id, date, patient_id, clinician_id, {_CONTENT_COLUMNS}"
CLAIM_ROWS_AT_ONCE = 5_000  # claim inputs written per statement by a fill


def claim_inputs_query(vendor: str, chosen: str) -> str:
    """The claim inputs of the sessions given that ``chosen`` (a condition on the session ``s``) picks, in
    ``_CLAIM_COLUMNS`` order: the session's own values, its sites and its vial draws as JSON lists in the order
    they were recorded. The one definition the refresh and the fills share, so that a row kept equals a row
    rebuilt."""
    if vendor == "postgresql":
        sites = (
            "(SELECT COALESCE(json_agg(json_build_array(muscle, side) ORDER BY id)::text, '[]')"
            " FROM clinic_sessionsite WHERE session_id = s.id)"
        )
        vials = (
            "(SELECT COALESCE(json_agg(json_build_array(l.vial_units::text, d.units::text, l.ndc) ORDER BY d.id)::text,"
            " '[]') FROM clinic_vialdraw d JOIN clinic_vial v ON v.id = d.vial_id JOIN clinic_lot l ON l.id = v.lot_id"
            " WHERE d.session_id = s.id)"
        )
    else:  # SQLite aggregates a subquery's rows in its order
        sites = (
            "(SELECT json_group_array(json_array(muscle, side)) FROM"
            " (SELECT muscle, side FROM clinic_sessionsite WHERE session_id = s.id ORDER BY id))"
        )
        vials = (
            "(SELECT json_group_array(json_array(vial_units, units, ndc)) FROM"
            " (SELECT CAST(l.vial_units AS TEXT) AS vial_units, CAST(d.units AS TEXT) AS units, l.ndc"
            " FROM clinic_vialdraw d JOIN clinic_vial v ON v.id = d.vial_id JOIN clinic_lot l ON l.id = v.lot_id"
            " WHERE d.session_id = s.id ORDER BY d.id))"
        )
    return (
        "SELECT s.id AS session_id, s.date, s.patient_id, s.clinician_id, s.indication, s.product, s.protocol,"
        f" s.guidance, s.total_units, s.units_discarded, {sites} AS sites, {vials} AS vials"
        f" FROM clinic_treatmentsession s WHERE s.withdrawn_reason = '' AND {chosen}"
    )


def _digest(content: tuple[Any, ...]) -> str:
    """The claim content's key: its values as text (the units to hundredths, however the driver gives them)."""
    indication, product, protocol, guidance, total_units, units_discarded, sites, vials = content
    units = [f"{Decimal(str(amount)).quantize(CENTS)}" for amount in (total_units, units_discarded)]
    text = json.dumps([indication, product, protocol, guidance, *units, sites, vials], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _content_ids(cursor: CursorWrapper, contents: Collection[tuple[Any, ...]]) -> dict[tuple[Any, ...], int]:
    """The id of each claim content (values in ``_CONTENT_COLUMNS`` order), written when it is new. Two writers of
    the same new content: the second's insert waits for the first's and then writes nothing (PostgreSQL), or the
    writes are one after the other (SQLite); either way both read the one row."""
    digests = {content: _digest(content) for content in contents}
    ids = _content_ids_of(cursor, set(digests.values()))
    new = {digest: content for content, digest in digests.items() if digest not in ids}
    if new:
        cursor.executemany(
            f"INSERT INTO {_CLAIM_CONTENT} (digest, {_CONTENT_COLUMNS}) VALUES ({', '.join(['%s'] * 9)})"
            " ON CONFLICT (digest) DO NOTHING",
            [(digest, *content) for digest, content in sorted(new.items())],
        )
        ids.update(_content_ids_of(cursor, set(new)))
    return {content: ids[digest] for content, digest in digests.items()}


def _content_ids_of(cursor: CursorWrapper, digests: Collection[str]) -> dict[str, int]:
    """The ids of the claim contents stored with these digests."""
    ids: dict[str, int] = {}
    wanted = sorted(digests)
    for start in range(0, len(wanted), 500):
        part = wanted[start : start + 500]
        cursor.execute(
            f"SELECT digest, id FROM {_CLAIM_CONTENT} WHERE digest IN ({', '.join(['%s'] * len(part))})", part
        )
        ids.update(cursor.fetchall())
    return ids


def _write_claim_inputs(cursor: CursorWrapper, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert these claim inputs (``_CLAIM_COLUMNS`` order), each with the id of its claim content."""
    if not rows:
        return
    contents = _content_ids(cursor, {row[4:] for row in rows})
    cursor.executemany(
        f"INSERT INTO {_CLAIM_INPUTS} (session_id, date, patient_id, clinician_id, content_id)"
        " VALUES (%s, %s, %s, %s, %s)",
        [(*row[:4], contents[row[4:]]) for row in rows],
    )


def _refresh_claim_inputs(patient_id: int) -> None:
    """The patient's claim inputs as their sessions now stand: a row for each session given, written only where
    it changed (a session recorded is one INSERT)."""
    connection = transaction.get_connection()
    with connection.cursor() as cursor:
        cursor.execute(claim_inputs_query(connection.vendor, "s.patient_id = %s"), [patient_id])
        wanted = {row[0]: tuple(row) for row in cursor.fetchall()}
        cursor.execute(
            f"SELECT i.session_id, i.date, i.patient_id, i.clinician_id, {_content_of('c')}"
            f" FROM {_CLAIM_INPUTS} i JOIN {_CLAIM_CONTENT} c ON c.id = i.content_id WHERE i.patient_id = %s",
            [patient_id],
        )
        stored = {row[0]: tuple(row) for row in cursor.fetchall()}
        stale = [session_id for session_id, row in stored.items() if wanted.get(session_id) != row]
        if stale:  # withdrawn, or changed: a changed row is written again
            cursor.execute(f"DELETE FROM {_CLAIM_INPUTS} WHERE session_id IN ({', '.join(['%s'] * len(stale))})", stale)
        changed = [row for session_id, row in sorted(wanted.items()) if stored.get(session_id) != row]
        _write_claim_inputs(cursor, changed)


def _content_of(alias: str) -> str:
    return ", ".join(f"{alias}.{column}" for column in CONTENT_COLUMNS)


def fill_claim_inputs(using: str = "default", patients: tuple[int, int] | None = None) -> None:
    """Write again the claim inputs of every session given (or of the patients whose ids are ``patients``, first
    and last), in date order, in place of those stored; the claim contents already stored are kept. Plain SQL on
    the tables as migration 0022 left them, so that the migration can call it."""
    connection = connections[using]
    chosen, among = ("1 = 1", []) if patients is None else ("s.patient_id BETWEEN %s AND %s", list(patients))
    with transaction.atomic(using=using), connection.cursor() as cursor, _large_cache(cursor, connection.vendor):
        # Derived in the sessions' order, each session's sites and draws read where they lie; then written by date.
        cursor.execute(
            f"CREATE TEMPORARY TABLE claim_inputs_filled AS {claim_inputs_query(connection.vendor, chosen)}"
            " ORDER BY s.id",
            among,
        )
        cursor.execute(
            f"DELETE FROM {_CLAIM_INPUTS}" + ("" if patients is None else " WHERE patient_id BETWEEN %s AND %s"),
            among,
        )
        with connection.chunked_cursor() as filled:
            filled.execute(f"SELECT {_CLAIM_COLUMNS} FROM claim_inputs_filled ORDER BY date, session_id")
            while rows := filled.fetchmany(CLAIM_ROWS_AT_ONCE):
                _write_claim_inputs(cursor, [tuple(row) for row in rows])
        cursor.execute("DROP TABLE claim_inputs_filled")


@contextmanager
def _large_cache(cursor: CursorWrapper, vendor: str) -> Iterator[None]:
    """On SQLite, a 256 MB page cache while millions of rows are written: the session and patient indexes take
    them in no order, and with the default 2 MB each insert rereads their pages from the file."""
    if vendor != "sqlite":
        yield
        return
    cursor.execute("PRAGMA cache_size")
    (kept,) = cursor.fetchone()
    cursor.execute("PRAGMA cache_size = -262144")
    try:
        yield
    finally:
        cursor.execute(f"PRAGMA cache_size = {int(kept)}")
