"""The evidence library on the clinic's database (the ``StudyLibrary`` port): each study and trial stored whole as
JSON beside the columns filters read, the indication × product rows the filters and the map count, and one
full-text search over both engines — SQLite's FTS5 tables (``library_study_search``, ``library_trial_search``,
kept by triggers; see migration 0016) or PostgreSQL's stored text search vectors over a GIN index.

Matches are ranked by relevance when there are at most ``RANKED_MATCHES`` of them, else listed the latest first:
ranking reads every match (a word in most of 100,000 studies costs a quarter of a second to rank), and a word
that common says nothing about relevance anyway."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Min
from django.utils import timezone

from bont.clinic import models as clinic
from bont.domain.studies import (
    DESIGN_RANK,
    ONGOING,
    CellCount,
    EvidenceLevel,
    EvidenceMap,
    Study,
    StudyFilter,
    Trial,
    TrialFilter,
    assemble_map,
    record_as_dict,
    study_from_dict,
    trial_from_dict,
    uses_of,
)
from bont.services.evidence_library import Found, StudyLibrary

DESIGNS_BY_RANK = {rank: design for design, rank in DESIGN_RANK.items()}
_WORD = re.compile(r"\w+", re.UNICODE)
_BATCH = 2_000  # rows read at a time when every record is read
_CHUNK = 500  # values in one IN (...): well under SQLite's limit on parameters


class DjangoStudyLibrary(StudyLibrary):
    def catalogue_fingerprint(self) -> str | None:
        row = clinic.LibraryCatalogue.objects.first()
        return row.fingerprint if row else None

    def write_catalogue(self, studies: Sequence[Study], trials: Sequence[Trial], fingerprint: str) -> None:
        with transaction.atomic():
            curated = {study.key for study in studies}
            clinic.LibraryStudy.objects.filter(origin="curated").exclude(key__in=curated).delete()
            clinic.LibraryTrial.objects.filter(origin="curated").exclude(nct__in={t.nct for t in trials}).delete()
            # A curated study is written over its row, or over the row an import stored under its PMID or DOI.
            rows = self._matching_rows(studies)
            self._write_studies([(row, study) for row, study in zip(rows, studies, strict=True)])
            self._write_trials(trials)
            clinic.LibraryCatalogue.objects.all().delete()
            clinic.LibraryCatalogue.objects.create(fingerprint=fingerprint, written_at=timezone.now())

    def matching_studies(self, studies: Sequence[Study]) -> list[Study | None]:
        rows = self._matching_rows(studies)
        found = _records([row for row in rows if row is not None])
        return [study_from_dict(found[row]) if row is not None else None for row in rows]

    def _matching_rows(self, studies: Sequence[Study]) -> list[int | None]:
        """Each study's stored row: the one with its key, else its PMID, DOI or NCT number (read in a few queries
        for any number of studies)."""
        wanted = {
            "key": {study.key for study in studies},
            "pmid": {study.pmid for study in studies if study.pmid},
            "doi": {study.doi.lower() for study in studies if study.doi},
            "nct": {study.nct for study in studies if study.nct},
        }
        by: dict[str, dict[str, int]] = {name: {} for name in wanted}
        for name, values in wanted.items():
            ordered = sorted(values)
            for first in range(0, len(ordered), _CHUNK):
                chunk = ordered[first : first + _CHUNK]
                for row_id, value in (
                    clinic.LibraryStudy.objects.filter(**{f"{name}__in": chunk}).order_by("-id").values_list("id", name)
                ):
                    by[name][value] = row_id  # the oldest row last: it wins
        return [
            by["key"].get(study.key)
            or (by["pmid"].get(study.pmid) if study.pmid else None)
            or (by["doi"].get(study.doi.lower()) if study.doi else None)
            or (by["nct"].get(study.nct) if study.nct else None)
            for study in studies
        ]

    def trials_by_nct(self, ncts: Sequence[str]) -> dict[str, Trial]:
        found: dict[str, Trial] = {}
        for first in range(0, len(ncts), _CHUNK):
            chunk = list(ncts[first : first + _CHUNK])
            found.update(
                (nct, trial_from_dict(record))
                for nct, record in clinic.LibraryTrial.objects.filter(nct__in=chunk).values_list("nct", "record")
            )
        return found

    def study(self, key: str) -> Study | None:
        row = clinic.LibraryStudy.objects.filter(key=key).values_list("id", flat=True).first()
        return study_from_dict(_records([row])[row]) if row is not None else None

    def save(self, studies: Sequence[tuple[Study | None, Study]], trials: Sequence[Trial]) -> None:
        with transaction.atomic():
            ids = _ids(clinic.LibraryStudy, "key", [stored.key for stored, _ in studies if stored is not None])
            self._write_studies([(ids.get(stored.key) if stored else None, study) for stored, study in studies])
            self._write_trials(trials)

    def _write_studies(self, studies: Sequence[tuple[int | None, Study]]) -> None:
        """Store each study over its row (an id) or as a new one: new rows written in bulk, with their documents
        and uses."""
        new = [study for row_id, study in studies if row_id is None]
        for row_id, study in studies:
            if row_id is not None:
                clinic.LibraryStudy.objects.filter(pk=row_id).update(**_study_columns(study))
                clinic.LibraryStudyDocument.objects.filter(study_id=row_id).update(record=record_as_dict(study))
                clinic.LibraryStudyText.objects.filter(study_id=row_id).update(search_text=study.searchable_text())
        changed = [row_id for row_id, _ in studies if row_id is not None]
        for first in range(0, len(changed), _CHUNK):
            clinic.LibraryStudyUse.objects.filter(study_id__in=changed[first : first + _CHUNK]).delete()
        clinic.LibraryStudy.objects.bulk_create(clinic.LibraryStudy(**_study_columns(study)) for study in new)
        ids = _ids(clinic.LibraryStudy, "key", [study.key for study in new])
        clinic.LibraryStudyDocument.objects.bulk_create(
            clinic.LibraryStudyDocument(study_id=ids[study.key], record=record_as_dict(study)) for study in new
        )
        clinic.LibraryStudyText.objects.bulk_create(
            clinic.LibraryStudyText(study_id=ids[study.key], search_text=study.searchable_text()) for study in new
        )
        written = [(row_id if row_id is not None else ids[study.key], study) for row_id, study in studies]
        clinic.LibraryStudyUse.objects.bulk_create(
            clinic.LibraryStudyUse(study_id=row_id, indication=indication, product=product)
            for row_id, study in written
            for indication, product in uses_of(study.indications, study.products)
        )

    def _write_trials(self, trials: Sequence[Trial]) -> None:
        stored: dict[str, int] = {}
        ncts = [trial.nct for trial in trials]
        for first in range(0, len(ncts), _CHUNK):
            stored.update(
                clinic.LibraryTrial.objects.filter(nct__in=ncts[first : first + _CHUNK]).values_list("nct", "id")
            )
        for trial in trials:
            if trial.nct in stored:
                clinic.LibraryTrial.objects.filter(pk=stored[trial.nct]).update(**_trial_columns(trial))
        changed = list(stored.values())
        for first in range(0, len(changed), _CHUNK):
            clinic.LibraryTrialUse.objects.filter(trial_id__in=changed[first : first + _CHUNK]).delete()
        clinic.LibraryTrial.objects.bulk_create(
            clinic.LibraryTrial(nct=trial.nct, **_trial_columns(trial)) for trial in trials if trial.nct not in stored
        )
        for first in range(0, len(ncts), _CHUNK):
            stored.update(
                clinic.LibraryTrial.objects.filter(nct__in=ncts[first : first + _CHUNK]).values_list("nct", "id")
            )
        clinic.LibraryTrialUse.objects.bulk_create(
            clinic.LibraryTrialUse(trial_id=stored[trial.nct], indication=indication, product=product)
            for trial in trials
            for indication, product in uses_of(trial.indications, trial.products)
        )

    # -- search

    def search_studies(self, where: StudyFilter, offset: int, limit: int) -> Found[Study]:
        conditions, parameters = [], []
        if where.indication or where.product:
            uses, use_parameters = _use_condition("clinic_librarystudyuse", "study_id", where)
            conditions.append(uses)
            parameters += use_parameters
        if where.design:
            conditions.append("s.design = %s")
            parameters.append(where.design.value)
        if where.year_from:
            conditions.append("s.year >= %s")
            parameters.append(where.year_from)
        if where.year_to:
            conditions.append("s.year <= %s")
            parameters.append(where.year_to)
        if where.level:
            conditions.append("s.best_level_rank <= %s")
            parameters.append(EvidenceLevel("", where.level).rank)
        total, ids = _search(
            _Searched("clinic_librarystudy", "clinic_librarystudytext", "study_id", "library_study_search"),
            where.text,
            conditions,
            parameters,
            "s.year DESC, s.id DESC",
            offset,
            limit,
        )
        records = dict(clinic.LibraryStudyDocument.objects.filter(study_id__in=ids).values_list("study_id", "record"))
        return Found(tuple(study_from_dict(records[row_id]) for row_id in ids), total, offset, limit)

    def search_trials(self, where: TrialFilter, offset: int, limit: int) -> Found[Trial]:
        conditions, parameters = [], []
        if where.indication or where.product:
            uses, use_parameters = _use_condition("clinic_librarytrialuse", "trial_id", where)
            conditions.append(uses)
            parameters += use_parameters
        if where.status:
            conditions.append("s.status = %s")
            parameters.append(where.status.value)
        if where.phase:
            conditions.append("LOWER(s.phase) LIKE %s")
            parameters.append(f"%{where.phase.lower()}%")
        total, ids = _search(
            _Searched("clinic_librarytrial", "clinic_librarytrial", "id", "library_trial_search"),
            where.text,
            conditions,
            parameters,
            "s.start DESC, s.id DESC",
            offset,
            limit,
        )
        records = dict(clinic.LibraryTrial.objects.filter(id__in=ids).values_list("id", "record"))
        return Found(tuple(trial_from_dict(records[row_id]) for row_id in ids), total, offset, limit)

    def evidence_map(self, indications: Sequence[str], products: Sequence[str]) -> EvidenceMap:
        """Counted per cell in the database (one grouped query per kind); only the graded studies read whole."""
        uses = clinic.LibraryStudyUse.objects.values_list("indication", "product")
        counts = {
            (indication, product): CellCount(studies, DESIGNS_BY_RANK[best])
            for indication, product, studies, best in uses.annotate(
                studies=Count("study_id"), best=Min("study__design_rank")
            ).order_by()
        }
        graded = clinic.LibraryStudy.objects.filter(best_level_rank__isnull=False).values_list("id", flat=True)
        records = _records(list(graded))
        ongoing = {
            (indication, product): trials
            for indication, product, trials in clinic.LibraryTrialUse.objects.filter(
                trial__status__in=[status.value for status in ONGOING]
            )
            .values_list("indication", "product")
            .annotate(trials=Count("trial_id"))
            .order_by()
        }
        studies = [study_from_dict(record) for record in records.values()]
        return assemble_map(counts, studies, ongoing, indications, products)

    def study_keys_by_source(self) -> dict[str, str]:
        cited = clinic.LibraryStudy.objects.filter(source__isnull=False).order_by("-id")
        return {source: key for source, key in cited.values_list("source", "key") if source}  # the oldest wins

    def all_studies(self) -> Iterator[Study]:
        documents = clinic.LibraryStudyDocument.objects.order_by("study_id").values_list("record", flat=True)
        for record in documents.iterator(_BATCH):
            yield study_from_dict(record)

    def all_trials(self) -> Iterator[Trial]:
        for record in clinic.LibraryTrial.objects.order_by("id").values_list("record", flat=True).iterator(_BATCH):
            yield trial_from_dict(record)


def _study_columns(study: Study) -> dict[str, Any]:
    return {
        "key": study.key,
        "origin": study.origin.value,
        "year": study.year,
        "design": study.design.value,
        "design_rank": DESIGN_RANK[study.design],
        "best_level_rank": min((level.rank for level in study.levels), default=None),
        "pmid": study.pmid,
        "doi": study.doi.lower() if study.doi else None,
        "nct": study.nct,
        "source": study.source,
    }


def _ids(model: type[clinic.LibraryStudy | clinic.LibraryTrial], field: str, values: Sequence[str]) -> dict[str, int]:
    """The row id of each value of a unique (or, for the NCT number of studies, the oldest row's) column."""
    found: dict[str, int] = {}
    for first in range(0, len(values), _CHUNK):
        chunk = values[first : first + _CHUNK]
        for value, row_id in model.objects.filter(**{f"{field}__in": chunk}).order_by("-id").values_list(field, "id"):
            found[value] = row_id  # the oldest row last: it wins
    return found


def _records(row_ids: Sequence[int]) -> dict[int, Any]:
    """The stored records (plain data) of these studies' rows."""
    found: dict[int, Any] = {}
    for first in range(0, len(row_ids), _CHUNK):
        chunk = row_ids[first : first + _CHUNK]
        found.update(clinic.LibraryStudyDocument.objects.filter(study_id__in=chunk).values_list("study_id", "record"))
    return found


def _trial_columns(trial: Trial) -> dict[str, Any]:
    return {
        "origin": trial.origin.value,
        "title": trial.title,
        "status": trial.status.value,
        "phase": trial.phase or "",
        "start": trial.start,
        "search_text": trial.searchable_text(),
        "record": record_as_dict(trial),
    }


def _use_condition(table: str, key: str, where: StudyFilter | TrialFilter) -> tuple[str, list[Any]]:
    """The records about the filter's indication and product: their ids read from the uses' index."""
    parts, parameters = [], []
    if where.indication:
        parts.append("u.indication = %s")
        parameters.append(where.indication)
    if where.product:
        parts.append("u.product = %s")
        parameters.append(where.product)
    return f"s.id IN (SELECT u.{key} FROM {table} u WHERE {' AND '.join(parts)})", parameters


RANKED_MATCHES = 5_000


@dataclass(frozen=True)
class _Searched:
    table: str  # the records' columns the filters read (as ``s``)
    text_table: str  # where their search_text is
    text_key: str  # its column holding the record's id
    search: str  # SQLite's FTS5 table over it


def _search(
    searched: _Searched,
    text: str,
    conditions: list[str],
    parameters: list[Any],
    latest_first: str,
    offset: int,
    limit: int,
) -> tuple[int, list[int]]:
    """How many rows of the table meet ``conditions`` and, when ``text`` has words, match every one of them (each
    also as a prefix); and the ids of one page of them: most relevant first when the words match at most
    ``RANKED_MATCHES`` records of the library, else the latest first."""
    words = _WORD.findall(text.lower())
    if not words:
        return _page(searched.table, conditions, parameters, latest_first, offset, limit)
    if connection.vendor == "sqlite":
        # Each word quoted: FTS5 syntax in a user's words is text, not operators.
        query: Any = " ".join(f'"{word}"*' for word in words)
        matching = f"FROM {searched.search} WHERE {searched.search} MATCH %s"
        matched, ranked = f"SELECT rowid {matching}", f"SELECT rowid AS id, rank {matching}"
        ranked_parameters = [query]
    else:
        query = " & ".join(f"{word}:*" for word in words)
        matching = f"FROM {searched.text_table} WHERE search_vector @@ to_tsquery('english', %s)"
        matched = f"SELECT {searched.text_key} {matching}"
        relevance = "-ts_rank(search_vector, to_tsquery('english', %s))"
        ranked = f"SELECT {searched.text_key} AS id, {relevance} AS rank {matching}"
        ranked_parameters = [query, query]
    filters = f" AND {' AND '.join(conditions)}" if conditions else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) {matching}", [query])
        matches = int(cursor.fetchone()[0])
        if matches == 0:
            return 0, []
        if matches <= RANKED_MATCHES:
            # Few enough to rank: every match that passes the filters, in order (SQLite ranks only those).
            cursor.execute(
                f"SELECT s.id FROM {searched.table} s JOIN ({ranked}) f ON f.id = s.id WHERE TRUE{filters}"
                f" ORDER BY f.rank, {latest_first}",
                [*ranked_parameters, *parameters],
            )
        elif not conditions:
            # Every match is a record: the count is the search's own.
            cursor.execute(
                f"SELECT s.id FROM {searched.table} s WHERE s.id IN ({matched})"
                f" ORDER BY {latest_first} LIMIT %s OFFSET %s",
                [query, limit, offset],
            )
            return matches, [row[0] for row in cursor.fetchall()]
        else:
            # Counted and ordered in one pass over the matches that pass the filters.
            cursor.execute(
                f"SELECT s.id FROM {searched.table} s WHERE s.id IN ({matched}){filters} ORDER BY {latest_first}",
                [query, *parameters],
            )
        ids = [row[0] for row in cursor.fetchall()]
        return len(ids), ids[offset : offset + limit]


def _page(
    table: str, conditions: list[str], parameters: list[Any], order: str, offset: int, limit: int
) -> tuple[int, list[int]]:
    """How many rows meet ``conditions``, and the ids of one page of them in ``order``."""
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table} s{where}", parameters)
        total = int(cursor.fetchone()[0])
        if total <= offset:
            return total, []
        cursor.execute(
            f"SELECT s.id FROM {table} s{where} ORDER BY {order} LIMIT %s OFFSET %s", [*parameters, limit, offset]
        )
        return total, [row[0] for row in cursor.fetchall()]
