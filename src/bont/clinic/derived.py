"""The rows derived from the records, never entered: the Follow-up list's summary per patient and indication
(``FollowUpSummary``), kept by the same transaction as every write that changes what it is derived from.

``DerivedSummaries.refresh`` is the one hook: the adapters call it for the patient whose sessions, outcomes or
diary days they have just written, inside that write's transaction; it keeps the research page's rows too
(``bont.clinic.responder_verdicts``). A rename copies the new names (``rename_patient``).
``fill_follow_up_summaries`` rebuilds the summary with two set-based statements, for the records already stored
(migration 0013) and for a generated clinic's first block (``bont demo --scale`` copies it with each copy).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

from django.db import connections, transaction
from django.db.models import Max

from bont.clinic import models
from bont.clinic.responder_verdicts import refresh_patient as refresh_responder_verdicts
from bont.domain.knowledge import KnowledgeBase
from bont.services.follow_up import diary_kinds_by_indication, follow_up_summaries
from bont.services.research import verdict_basis


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


def rename_patient(patient_id: int, family_name: str, given_name: str) -> None:
    """The names copied for the list's sort follow the patient's: call inside the transaction that renames."""
    models.FollowUpSummary.objects.filter(patient_id=patient_id).update(family_name=family_name, given_name=given_name)


def fill_follow_up_summaries(
    knowledge: KnowledgeBase, using: str = "default", patients: tuple[int, int] | None = None
) -> None:
    """Rebuild the Follow-up summary from the records in two statements (the same answers as
    ``DerivedSummaries.refresh`` for each patient): the whole clinic's, or that of the patients whose ids are
    ``patients`` (first, last). Plain SQL on the tables as migration 0013 left them, so that the migration can
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
