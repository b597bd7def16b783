"""The research page's derived rows, never entered: each patient's latest responder verdict per indication and
instrument (``ResponderVerdict``) and sessions per indication and product (``SessionTally``), their totals, which
the page reads (``VerdictTotal``, ``SessionTotal``: each change of a patient's rows adds its difference, so the
page reads a few dozen rows whatever the clinic's size), and what the verdicts were computed with
(``ResponderVerdictBasis``).

Every row is computed by the code the chart judges with (``bont.services.research.latest_verdicts``), from the
patient's records read as the outcome adapter reads them, so that the stored answers cannot drift from the chart's:

- ``refresh_patient``: one patient, inside the transaction that wrote their sessions, outcomes or diary days (called
  by ``bont.clinic.derived.DerivedSummaries.refresh``, the one hook of the recording adapters);
- ``rebuild``: every patient, a chunk per transaction (``bont research refresh``: after an upgrade, and when the
  knowledge the verdicts rest on changed, which the research page detects by the basis and then shows no rate);
- ``fill_generated``: a generated clinic (``bont demo --scale``), judging its first block of patients and copying
  their rows to the copies of that block.

The clinic's continuation settings do not enter a verdict (they change the continuation advice, not the responder
definition), so changing one rebuilds nothing; the contract tests check the stored counts against a recomputation
after each kind of write, a setting changed included.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence

from django.db import connection, transaction

from bont.clinic import models
from bont.domain.knowledge import KnowledgeBase
from bont.services.outcome_ports import ContinuationSetting, OutcomeHistory, OutcomeRecords
from bont.services.research import latest_verdicts, verdict_basis

REBUILD_CHUNK = 100  # patients judged per transaction: a recording meanwhile waits for one chunk at most (1–2 s)
_BASIS_ROW = 1


def _outcome_records(knowledge: KnowledgeBase) -> OutcomeRecords:
    """The outcome adapter, to read histories in bulk as the chart reads them."""
    # Imported when used: the adapter keeps these rows through bont.clinic.derived, which imports this module.
    from bont.clinic.derived import DerivedSummaries
    from bont.clinic.outcome_records import DjangoOutcomeRecords

    return DjangoOutcomeRecords(DerivedSummaries(knowledge))


def _store(
    knowledge: KnowledgeBase,
    records: OutcomeRecords,
    histories: Sequence[OutcomeHistory],
    settings: dict[str, ContinuationSetting],
) -> None:
    """Replace the derived rows of these patients by what their histories give now, and change the totals by the
    difference."""
    verdicts, tallies = [], []
    for history in histories:
        verdicts += [
            models.ResponderVerdict(
                patient_id=history.patient_id, indication=v.indication, instrument=v.instrument, status=v.status
            )
            for v in latest_verdicts(records, knowledge, history, settings)
        ]
        given = Counter((session.indication, session.product) for session in history.sessions)
        tallies += [
            models.SessionTally(patient_id=history.patient_id, indication=indication, product=product, sessions=count)
            for (indication, product), count in sorted(given.items())
        ]
    patient_ids = [history.patient_id for history in histories]
    kept_verdicts = models.ResponderVerdict.objects.filter(patient_id__in=patient_ids)
    kept_tallies = models.SessionTally.objects.filter(patient_id__in=patient_ids)
    judged: Counter[tuple[str, ...]] = Counter((v.indication, v.instrument, v.status) for v in verdicts)
    judged.subtract(kept_verdicts.values_list("indication", "instrument", "status"))
    treated: defaultdict[tuple[str, ...], list[int]] = defaultdict(lambda: [0, 0])  # sessions, patients
    for tally in tallies:
        treated[(tally.indication, tally.product)][0] += tally.sessions
        treated[(tally.indication, tally.product)][1] += 1
    for indication, product, sessions in kept_tallies.values_list("indication", "product", "sessions"):
        treated[(indication, product)][0] -= sessions
        treated[(indication, product)][1] -= 1
    kept_verdicts.delete()
    kept_tallies.delete()
    models.ResponderVerdict.objects.bulk_create(verdicts)
    models.SessionTally.objects.bulk_create(tallies)
    _add_to_totals(
        models.VerdictTotal,
        ("indication", "instrument", "status"),
        ("patients",),
        {key: [patients] for key, patients in judged.items()},
    )
    _add_to_totals(models.SessionTotal, ("indication", "product"), ("sessions", "patients"), treated)


def _add_to_totals(
    model: type[models.VerdictTotal | models.SessionTotal],
    key: tuple[str, ...],
    counted: tuple[str, ...],
    changes: Mapping[tuple[str, ...], Sequence[int]],
) -> None:
    """Add ``changes`` to the totals' ``counted`` columns (inserting the rows not there yet), in one statement, in
    the order of their keys: two transactions changing the same totals never wait for each other in a cycle."""
    rows: list[tuple[str | int, ...]] = [(*k, *change) for k, change in sorted(changes.items()) if any(change)]
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(column) for column in (*key, *counted))
    values = ", ".join(["(" + ", ".join(["%s"] * (len(key) + len(counted))) + ")"] * len(rows))
    added = ", ".join(f"{quote(column)} = {table}.{quote(column)} + excluded.{quote(column)}" for column in counted)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES {values} "
            f"ON CONFLICT ({', '.join(quote(column) for column in key)}) DO UPDATE SET {added}",
            [value for row in rows for value in row],
        )


def refresh_patient(knowledge: KnowledgeBase, patient_id: int, basis: str) -> None:
    """Recompute the patient's stored verdicts and session tallies with ``knowledge`` (whose ``verdict_basis`` is
    ``basis``). Call inside the transaction that wrote the patient's sessions, outcomes or diary days, the patient's
    row locked (``DerivedSummaries.refresh`` does both)."""
    records = _outcome_records(knowledge)
    _store(knowledge, records, list(records.outcome_histories([patient_id])), records.continuation_settings())
    stored = models.ResponderVerdictBasis.objects.values_list("basis", flat=True).first()
    if stored is None:  # the clinic's first verdicts
        models.ResponderVerdictBasis.objects.get_or_create(pk=_BASIS_ROW, defaults={"basis": basis})
    elif stored and stored != basis:
        # Judged with other knowledge than the others (a process not restarted after the files changed): the rows
        # are no longer of one basis, and the research page asks for `bont research refresh` rather than mix them.
        models.ResponderVerdictBasis.objects.filter(pk=_BASIS_ROW).update(basis="")


def _judge(knowledge: KnowledgeBase, patient_ids: Sequence[int]) -> None:
    """Judge these patients again, in one transaction, their rows locked as a recording transaction locks them."""
    records = _outcome_records(knowledge)
    with transaction.atomic():
        if connection.features.has_select_for_update:
            list(models.Patient.objects.select_for_update(no_key=True).filter(pk__in=patient_ids).values_list("pk"))
        _store(knowledge, records, list(records.outcome_histories(patient_ids)), records.continuation_settings())


def rebuild(knowledge: KnowledgeBase, progress: Callable[[int, int], None] | None = None) -> int:
    """Judge every patient again with ``knowledge`` (``bont research refresh``); returns how many patients. The
    research page shows no rate until the last chunk is stored: a chunk per transaction, so that the clinic's
    recording goes on meanwhile (a patient recorded during the rebuild is judged by their own transaction, and again
    by the chunk that holds them, which reads what was committed)."""
    # Each chunk replaces its patients' rows and changes the totals by the difference, as a patient's own refresh
    # does, under the same lock: the totals stay the sum of the rows whatever is recorded meanwhile.
    models.ResponderVerdictBasis.objects.update_or_create(pk=_BASIS_ROW, defaults={"basis": ""})
    patient_ids = list(models.Patient.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(patient_ids), REBUILD_CHUNK):
        _judge(knowledge, patient_ids[start : start + REBUILD_CHUNK])
        if progress is not None:
            progress(min(start + REBUILD_CHUNK, len(patient_ids)), len(patient_ids))
    models.ResponderVerdictBasis.objects.update_or_create(pk=_BASIS_ROW, defaults={"basis": verdict_basis(knowledge)})
    return len(patient_ids)


def fill_generated(knowledge: KnowledgeBase, first_patient: int, block: int, patients: int) -> None:
    """The derived rows of a generated clinic (``bont.clinic.scale``): its patients ``first_patient`` onwards, each
    the copy of the first block's patient in the same place (``first_patient + n`` holds the records of
    ``first_patient + n % block``). The block is judged; each copy then takes its original's rows, the clinic
    doubling at each ``INSERT … SELECT`` as the generator's copies do."""
    for start in range(first_patient, first_patient + block, REBUILD_CHUNK):
        _judge(knowledge, range(start, min(start + REBUILD_CHUNK, first_patient + block)))
    quote = connection.ops.quote_name
    written = block
    with transaction.atomic(), connection.cursor() as cursor:
        while written < patients:
            adding = min(written, patients - written)
            for model, columns in (
                (models.ResponderVerdict, ("indication", "instrument", "status")),
                (models.SessionTally, ("indication", "product", "sessions")),
            ):
                chosen = ", ".join(quote(column) for column in columns)
                cursor.execute(
                    f"INSERT INTO {quote(model._meta.db_table)} ({quote('patient_id')}, {chosen}) "
                    f"SELECT {quote('patient_id')} + %s, {chosen} FROM {quote(model._meta.db_table)} "
                    f"WHERE {quote('patient_id')} >= %s AND {quote('patient_id')} < %s",
                    [written, first_patient, first_patient + adding],
                )
            written += adding
        # The copies' rows are counted at once.
        for total, rows, key, counted in (
            (models.VerdictTotal, models.ResponderVerdict, "indication, instrument, status", ("patients", "COUNT(*)")),
            (
                models.SessionTotal,
                models.SessionTally,
                "indication, product",
                ("sessions, patients", "SUM(sessions), COUNT(*)"),
            ),
        ):
            cursor.execute(f"DELETE FROM {quote(total._meta.db_table)}")
            cursor.execute(
                f"INSERT INTO {quote(total._meta.db_table)} ({key}, {counted[0]}) "
                f"SELECT {key}, {counted[1]} FROM {quote(rows._meta.db_table)} GROUP BY {key}"
            )
        models.ResponderVerdictBasis.objects.update_or_create(
            pk=_BASIS_ROW, defaults={"basis": verdict_basis(knowledge)}
        )


__all__ = ["fill_generated", "rebuild", "refresh_patient"]
