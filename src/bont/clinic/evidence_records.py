"""The evidence library on the clinic's database (the ``StudyLibrary`` port): each study and trial stored whole as
JSON beside the columns filters read, the indication × product rows the filters and the map count, and one
full-text search over both engines — SQLite's FTS5 tables (``library_study_search``, ``library_trial_search``,
kept by triggers; see migration 0016) or PostgreSQL's stored text search vectors over a GIN index.

Matches are ranked by relevance when there are at most ``RANKED_MATCHES`` of them, else listed the latest first:
ranking reads every match (a word in most of 100,000 studies costs a quarter of a second to rank), and a word
that common says nothing about relevance anyway."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Min
from django.utils import timezone

from bont.clinic import models as clinic
from bont.domain.studies import (
    DESIGN_RANK,
    ONGOING,
    UNGRADED,
    CellCount,
    EvidenceMap,
    Origin,
    Study,
    StudyFilter,
    Trial,
    TrialFilter,
    assemble_map,
    level_rank,
    query_words,
    record_as_dict,
    study_from_dict,
    trial_from_dict,
    uses_of,
)
from bont.services.evidence_library import EvidenceImportError, Found, StudyLibrary

DESIGNS_BY_RANK = {rank: design for design, rank in DESIGN_RANK.items()}
_BATCH = 2_000  # rows read at a time when every record is read
_CHUNK = 500  # values in one IN (...): well under SQLite's limit on parameters


class DjangoStudyLibrary(StudyLibrary):
    def catalogue_fingerprint(self) -> str | None:
        row = clinic.LibraryCatalogue.objects.first()
        return row.fingerprint if row else None

    def write_catalogue(
        self,
        studies: Sequence[tuple[str | None, Study]],
        merged_away: Sequence[str],
        trials: Sequence[Trial],
        fingerprint: str,
    ) -> bool:
        with transaction.atomic():
            _lock_catalogue()
            if self.catalogue_fingerprint() == fingerprint:
                return False  # another process wrote it meanwhile
            curated = {study.key for _, study in studies}
            _delete_studies(merged_away)
            # A curated record no longer in the catalogue: kept as imported if an import brought it too.
            kept = clinic.LibraryStudy.objects.filter(origin=Origin.CURATED.value, brought_by_import=True)
            for key in kept.exclude(key__in=curated).values_list("key", flat=True):
                study = self.study(key)
                assert study is not None
                self._write_studies([(self._id(key), replace(study, origin=Origin.IMPORTED, imported_fields=()))])
            _delete_studies(
                clinic.LibraryStudy.objects.filter(origin=Origin.CURATED.value).exclude(key__in=curated)
                .values_list("key", flat=True)
            )  # fmt: skip
            dropped = clinic.LibraryTrial.objects.filter(origin=Origin.CURATED.value).exclude(
                nct__in=[t.nct for t in trials]
            )
            self._write_trials(
                [replace(trial, origin=Origin.IMPORTED, imported_fields=()) for trial in self.trials_by_nct(
                    list(dropped.filter(brought_by_import=True).values_list("nct", flat=True))
                ).values()]
            )  # fmt: skip
            dropped.filter(brought_by_import=False).delete()
            ids = _ids(clinic.LibraryStudy, "key", [key for key, _ in studies if key is not None])
            self._write_studies([(ids[key] if key is not None else None, study) for key, study in studies])
            self._write_trials(trials)
            clinic.LibraryCatalogue.objects.all().delete()
            clinic.LibraryCatalogue.objects.create(fingerprint=fingerprint, written_at=timezone.now())
            return True

    def studies_with_identifiers(self, keys: Iterable[str], pmids: Iterable[str], dois: Iterable[str]) -> list[Study]:
        rows: set[int] = set()
        for field, values in (("key", keys), ("pmid", pmids), ("doi", dois)):
            rows.update(_ids(clinic.LibraryStudy, field, sorted(set(values))).values())
        records = _records(sorted(rows))
        return [study_from_dict(records[row_id]) for row_id in sorted(rows)]

    def _id(self, key: str) -> int:
        return int(clinic.LibraryStudy.objects.values_list("id", flat=True).get(key=key))

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

    def save(
        self, studies: Sequence[tuple[Study | None, Study]], trials: Sequence[Trial], brought: Iterable[str]
    ) -> None:
        try:
            with transaction.atomic():
                ids = _ids(clinic.LibraryStudy, "key", [stored.key for stored, _ in studies if stored is not None])
                self._write_studies([(ids.get(stored.key) if stored else None, study) for stored, study in studies])
                self._write_trials(trials)
                marked = sorted(set(brought))
                for first in range(0, len(marked), _CHUNK):
                    chunk = marked[first : first + _CHUNK]
                    clinic.LibraryStudy.objects.filter(key__in=chunk, brought_by_import=False).update(
                        brought_by_import=True
                    )
                    clinic.LibraryTrial.objects.filter(nct__in=chunk, brought_by_import=False).update(
                        brought_by_import=True
                    )
        except IntegrityError:
            # Another writer stored one of these identifiers between the reading and the writing.
            raise EvidenceImportError(
                "FILE", "a record's PMID, DOI or key was stored meanwhile by another import; nothing was stored"
            ) from None

    def atomic(self) -> AbstractContextManager[None]:
        return transaction.atomic()

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
            clinic.LibraryStudyGrade.objects.filter(study_id__in=changed[first : first + _CHUNK]).delete()
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
        clinic.LibraryStudyGrade.objects.bulk_create(
            clinic.LibraryStudyGrade(
                study_id=row_id, indication=level.indication, product=level.product, rank=level.rank
            )
            for row_id, study in written
            for level in study.levels
        )

    def _write_trials(self, trials: Sequence[Trial]) -> None:
        ncts = [trial.nct for trial in trials]
        stored = _ids(clinic.LibraryTrial, "nct", ncts)
        for trial in trials:
            if trial.nct in stored:
                clinic.LibraryTrial.objects.filter(pk=stored[trial.nct]).update(**_trial_columns(trial))
        changed = list(stored.values())
        for first in range(0, len(changed), _CHUNK):
            clinic.LibraryTrialUse.objects.filter(trial_id__in=changed[first : first + _CHUNK]).delete()
        clinic.LibraryTrial.objects.bulk_create(
            clinic.LibraryTrial(nct=trial.nct, **_trial_columns(trial)) for trial in trials if trial.nct not in stored
        )
        stored.update(_ids(clinic.LibraryTrial, "nct", ncts))
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
            # On the year the list is sorted by (0 when undated, and a year asked for has four digits): the year
            # index then serves the range, where the year itself would be read row by row.
            conditions.append("s.sort_year >= %s")
            parameters.append(where.year_from)
        if where.year_to:
            conditions.append("s.sort_year BETWEEN 1 AND %s")
            parameters.append(where.year_to)
        if where.level:
            graded = ["g.rank <= %s"]
            parameters.append(level_rank(where.level))
            for column, value in (("indication", where.indication), ("product", where.product)):
                if value:
                    graded.append(f"(g.{column} IS NULL OR g.{column} = %s)")
                    parameters.append(value)
            conditions.append(
                f"s.id IN (SELECT g.study_id FROM clinic_librarystudygrade g WHERE {' AND '.join(graded)})"
            )
        total, estimated, ids = _search(
            _Searched(
                "clinic_librarystudy",
                "clinic_librarystudytext",
                "study_id",
                "library_study_search",
                ("clinic_librarystudywords", "search_words"),
            ),
            where.text,
            conditions,
            parameters,
            LATEST_STUDIES,
            offset,
            limit,
        )
        records = dict(clinic.LibraryStudyDocument.objects.filter(study_id__in=ids).values_list("study_id", "record"))
        return Found(tuple(study_from_dict(records[row_id]) for row_id in ids), total, offset, limit, estimated)

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
            conditions.append("LOWER(s.phase) LIKE %s ESCAPE '!'")
            escaped = where.phase.lower().replace("!", "!!").replace("%", "!%").replace("_", "!_")
            parameters.append(f"%{escaped}%")
        total, estimated, ids = _search(
            _Searched(
                "clinic_librarytrial",
                "clinic_librarytrial",
                "id",
                "library_trial_search",
                ("clinic_librarytrial", "search_vector"),
            ),
            where.text,
            conditions,
            parameters,
            LATEST_TRIALS,
            offset,
            limit,
        )
        records = dict(clinic.LibraryTrial.objects.filter(id__in=ids).values_list("id", "record"))
        return Found(tuple(trial_from_dict(records[row_id]) for row_id in ids), total, offset, limit, estimated)

    def evidence_map(self, indications: Sequence[str], products: Sequence[str]) -> EvidenceMap:
        """Counted per cell in the database (one grouped query per kind); only the graded studies read whole."""
        uses = clinic.LibraryStudyUse.objects.values_list("indication", "product")
        counts = {
            (indication, product): CellCount(studies, DESIGNS_BY_RANK[best])
            for indication, product, studies, best in uses.annotate(
                studies=Count("study_id"), best=Min("study__design_rank")
            ).order_by()
        }
        graded = clinic.LibraryStudyGrade.objects.values_list("study_id", flat=True).distinct()
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

    def strongest_studies(self, indication: str, limit: int) -> Found[Study]:
        about = "s.id IN (SELECT u.study_id FROM clinic_librarystudyuse u WHERE u.indication = %s)"
        grade = (
            f"COALESCE((SELECT MIN(g.rank) FROM clinic_librarystudygrade g WHERE g.study_id = s.id"
            f" AND (g.indication IS NULL OR g.indication = %s)), {UNGRADED})"
        )
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM clinic_librarystudy s WHERE {about}", [indication])
            total = int(cursor.fetchone()[0])
            cursor.execute(
                f"SELECT s.id FROM clinic_librarystudy s WHERE {about}"
                f" ORDER BY {grade}, s.design_rank, s.sort_year DESC, s.key LIMIT %s",
                [indication, indication, limit],
            )
            ids = [row[0] for row in cursor.fetchall()]
        records = _records(ids)
        return Found(tuple(study_from_dict(records[row_id]) for row_id in ids), total, 0, limit)

    def all_trials(self) -> Iterator[Trial]:
        for record in clinic.LibraryTrial.objects.order_by("id").values_list("record", flat=True).iterator(_BATCH):
            yield trial_from_dict(record)


def _study_columns(study: Study) -> dict[str, Any]:
    return {
        "key": study.key,
        "origin": study.origin.value,
        "year": study.year,
        "sort_year": study.year or 0,
        "design": study.design.value,
        "design_rank": DESIGN_RANK[study.design],
        "pmid": study.pmid,
        "doi": study.doi.lower() if study.doi else None,
        "nct": study.nct,
        "source": study.source,
    }


LATEST_STUDIES = "s.sort_year DESC, s.id DESC"  # undated (0) last, read backwards along library_study_by_year
LATEST_TRIALS = "s.start IS NULL, s.start DESC, s.id DESC"  # undated last on both engines (a library holds few)


def _lock_catalogue() -> None:
    """Let one process at a time write the catalogue (the caller holds a transaction): PostgreSQL's advisory lock,
    or SQLite's write lock, taken by a write."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(16016)")  # this table's own number (issue 16, migration 16)
        else:
            cursor.execute("UPDATE clinic_librarycatalogue SET fingerprint = fingerprint")


def _delete_studies(keys: Iterable[str]) -> None:
    doomed = sorted(set(keys))
    for first in range(0, len(doomed), _CHUNK):
        clinic.LibraryStudy.objects.filter(key__in=doomed[first : first + _CHUNK]).delete()


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
    # PostgreSQL's table and column of words (a narrow tsvector under a GIN index, the row's id in ``text_key``)
    # that the matches of a search are counted and paged latest first through; ranked and filtered matches are
    # read through ``search_vector`` of ``text_table`` (the full vector, ranked by).
    words: tuple[str, str]


def _search(
    searched: _Searched,
    text: str,
    conditions: list[str],
    parameters: list[Any],
    latest_first: str,
    offset: int,
    limit: int,
) -> tuple[int, bool, list[int]]:
    """How many rows of the table meet ``conditions`` and, when ``text`` has words, match every one of them (each
    also as a prefix), whether that number is an estimate (``_count``); and the ids of one page of them: most
    relevant first when the words match at most ``RANKED_MATCHES`` records of the library, else the latest first."""
    words = query_words(text)
    if not words:
        total, ids = _page(searched.table, conditions, parameters, latest_first, offset, limit)
        return total, False, ids
    if connection.vendor == "sqlite":
        # Each word quoted: FTS5 syntax in a user's words is text, not operators.
        query: Any = " ".join(f'"{word}"*' for word in words)
        matching = f"FROM {searched.search} WHERE {searched.search} MATCH %s"
        matched, ranked = f"SELECT rowid AS id {matching}", f"SELECT rowid AS id, rank {matching}"
        ranked_parameters = [query]
    else:
        query = " & ".join(f"{word}:*" for word in words)
        words_table, words_column = searched.words
        key = searched.text_key
        matching = f"FROM {words_table} WHERE {words_column} @@ to_tsquery('english', %s)"
        matched = f"SELECT {key} AS id {matching}"
        # Ranked and filtered matches are read from the text table's own index: they are few, and each needs
        # its full vector anyway; only the count and the latest-first page of many go through the words.
        relevance = "-ts_rank(t.search_vector, to_tsquery('english', %s))"
        text_matching = f"FROM {searched.text_table} t WHERE t.search_vector @@ to_tsquery('english', %s)"
        ranked = f"SELECT t.{key} AS id, {relevance} AS rank {text_matching}"
        ranked_parameters = [query, query]
    with connection.cursor() as cursor:
        if conditions:
            # Counted, put in order and ranked when few in one pass over the matches that pass the filters: SQLite
            # works out the rank of a match only for those it reads (a match the filters drop costs none);
            # PostgreSQL ranks them only when the window over them counts few.
            filters = " AND ".join(conditions)
            if connection.vendor == "sqlite":
                cursor.execute(
                    f"SELECT s.id, f.rank FROM {searched.table} s JOIN ({ranked}) f ON f.id = s.id WHERE {filters}"
                    f" ORDER BY {latest_first}",
                    [*ranked_parameters, *parameters],
                )
                rows = cursor.fetchall()
                ids = [row[0] for row in rows]
                ranks = {row_id: float(rank) for row_id, rank in rows}
            else:
                cursor.execute(
                    f"SELECT s.id, CASE WHEN COUNT(*) OVER () <= {RANKED_MATCHES} THEN {relevance} END"
                    f" FROM {searched.table} s JOIN {searched.text_table} t ON t.{key} = s.id"
                    f" WHERE t.search_vector @@ to_tsquery('english', %s) AND {filters} ORDER BY {latest_first}",
                    [query, query, *parameters],
                )
                rows = cursor.fetchall()
                ids = [row[0] for row in rows]
                ranks = {row_id: float(rank) for row_id, rank in rows if rank is not None}
            if 1 < len(ids) <= RANKED_MATCHES:
                ids.sort(key=ranks.__getitem__)  # stable: the latest first among equals
            return len(ids), False, ids[offset : offset + limit]
        matches, estimated = _count(searched.words, matching, query)
        if matches == 0:
            return 0, False, []
        if matches <= RANKED_MATCHES:
            cursor.execute(
                f"SELECT s.id FROM {searched.table} s JOIN ({ranked}) f ON f.id = s.id"
                f" ORDER BY f.rank, {latest_first} LIMIT %s OFFSET %s",
                [*ranked_parameters, limit, offset],
            )
        else:  # every match is a record: the count is the search's own
            # Joined, not "IN": SQLite keeps only the page's rows while it reads the matches, where an IN list
            # of tens of thousands is first built as a table of its own (a word in half of 100,000 studies:
            # 29 ms against 45); PostgreSQL reads the year index backwards and stops at the page either way.
            cursor.execute(
                f"SELECT s.id FROM ({matched}) f JOIN {searched.table} s ON s.id = f.id"
                f" ORDER BY {latest_first} LIMIT %s OFFSET %s",
                [query, limit, offset],
            )
        return matches, estimated, [row[0] for row in cursor.fetchall()]


# PostgreSQL counts the matches of a word in most of a large library by visiting each of them (a word in 56,000 of
# 100,000 studies: 25 to 45 ms, growing with the library), where SQLite's FTS5 counts them from its own index. Above
# this many matches by the planner's reckoning, the number is estimated from a sample of the library instead.
ESTIMATED_ABOVE = 20_000
SAMPLED_ROWS = 10_000  # about: a proportion near one half then within about ±2 % (block sampling)


def _count(words: tuple[str, str], matching: str, query: str) -> tuple[int, bool]:
    """How many records the words match, and whether that is an estimate. Exactly on SQLite, and on PostgreSQL
    when the planner expects at most ``ESTIMATED_ABOVE``; else the share of matches in a sample of about
    ``SAMPLED_ROWS`` records times the records in the table, to two significant figures. The sample is the same
    for the same library (``REPEATABLE``), so a search shows the same figure each time."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"EXPLAIN (FORMAT JSON) SELECT 1 {matching}", [query])
            planned = _planned_rows(cursor.fetchone()[0])
            if planned > ESTIMATED_ABOVE:
                estimate = _sampled_count(cursor, words, query)
                if estimate is not None and estimate > ESTIMATED_ABOVE:
                    return _two_significant_figures(estimate), True
            # Counted through the text search index: PostgreSQL prices that as though it visited every matching row
            # and would scan the whole table instead (a word in half of 100,000 studies: 40 ms against 90).
            cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"SELECT COUNT(*) {matching}", [query])
        return int(cursor.fetchone()[0]), False


def _planned_rows(plan: Any) -> float:
    """The rows PostgreSQL's planner expects of an ``EXPLAIN (FORMAT JSON)`` (a list, or its text)."""
    if isinstance(plan, str):
        plan = json.loads(plan)
    return float(plan[0]["Plan"]["Plan Rows"])


def _sampled_count(cursor: Any, words: tuple[str, str], query: str) -> int | None:
    """The matches in a block sample of the table of words, scaled to the table's size as the last VACUUM or
    ANALYZE counted it (autovacuum keeps it close); None for a table never counted so."""
    table, column = words
    cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
    rows = float(cursor.fetchone()[0])
    if rows <= 0:
        return None
    percent = min(100.0, 100.0 * SAMPLED_ROWS / rows)
    cursor.execute(
        f"SELECT COUNT(*) FILTER (WHERE {column} @@ to_tsquery('english', %s)), COUNT(*)"
        f" FROM {table} TABLESAMPLE SYSTEM (%s) REPEATABLE (0)",
        [query, percent],
    )
    matched, sampled = cursor.fetchone()
    return round(rows * matched / sampled) if sampled else 0


def _two_significant_figures(number: int) -> int:
    return int(float(f"{number:.2g}"))


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
