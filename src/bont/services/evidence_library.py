"""Use cases of the evidence library: keep the curated catalogue written into the library, import a literature
file (idempotent: the same PMID, DOI or NCT number updates its record, and no import loses a curated field),
search studies and trials with filters, the evidence map of indications × products, and the evidence summary of
one indication.

The ``StudyLibrary`` port is implemented by ``bont.clinic.evidence_records`` (SQLite FTS5 or PostgreSQL full-text
search behind one interface) and by an in-memory fake in the tests.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar, cast

from bont.domain.errors import FieldError
from bont.domain.knowledge import KnowledgeBase
from bont.domain.protocols import LabelStatus
from bont.domain.studies import (
    LEVEL_WORDS,
    EvidenceLevel,
    EvidenceMap,
    ImportReport,
    IndicationEvidence,
    Origin,
    ParsedRecords,
    ProductStatus,
    Refusal,
    Study,
    StudyFilter,
    Trial,
    TrialFilter,
    merge_import,
    rewrite_curated,
    study_key,
    trials_first_for_research,
)
from bont.services.paging import page_count

PER_PAGE = 25
MAX_PER_PAGE = 200
PHASE_LENGTH = 40  # "Early Phase 1", "Phase 2/Phase 3": a longer phase matches nothing
MAX_PAGE = 1_000_000  # far past any library's last page, well inside every engine's integers
SEARCH_TEXT_LIMIT = 200  # characters of a search query


class EvidenceQueryError(FieldError):
    """A search or summary was asked with a value that names nothing (the field is named); nothing was read."""


R = TypeVar("R", Study, Trial)


@dataclass(frozen=True)
class Found(Generic[R]):
    """One page of a search: the records on it and how many matched in all, or about how many when the words
    match so much of a large library that counting every match would cost more than the search itself
    (``total_is_estimate``: the total then has two significant figures)."""

    records: tuple[R, ...]
    total: int
    offset: int
    limit: int
    total_is_estimate: bool = False

    @property
    def page(self) -> int:
        return self.offset // self.limit + 1

    @property
    def pages(self) -> int:
        counted = page_count(self.total, self.limit)
        if not self.total_is_estimate:
            return counted
        # An estimated total may fall a little short of the matches or pass them: a full page may have another
        # after it, and a page that is not full is the last.
        return max(counted, self.page + 1) if len(self.records) == self.limit else self.page


class EvidenceImportError(FieldError):
    """An import could not be stored (two stored studies claim one of its records, found as it was written);
    nothing of the command's files was stored."""


class StudyLibrary(abc.ABC):
    """Where the library's studies and trials are kept and searched."""

    @abc.abstractmethod
    def catalogue_fingerprint(self) -> str | None:
        """The fingerprint of the curated catalogue last written, or None."""

    @abc.abstractmethod
    def write_catalogue(
        self,
        studies: Sequence[tuple[str | None, Study]],
        merged_away: Sequence[str],
        trials: Sequence[Trial],
        fingerprint: str,
    ) -> bool:
        """In one transaction, unless another process wrote this fingerprint meanwhile (then False): write each
        curated study over the stored one whose key is given (None: a new one), delete the ``merged_away`` studies
        (imported copies of a curated study), write the trials, and make a curated record no longer in the catalogue
        an imported one if an import brought it too, else remove it; remember the fingerprint."""  # fmt: skip

    @abc.abstractmethod
    def studies_with_identifiers(self, keys: Iterable[str], pmids: Iterable[str], dois: Iterable[str]) -> list[Study]:
        """The stored studies with any of these keys, PMIDs or DOIs (DOIs in lower case)."""

    @abc.abstractmethod
    def trials_by_nct(self, ncts: Sequence[str]) -> dict[str, Trial]:
        """The stored trials of these NCT numbers (those stored)."""

    def trial(self, nct: str) -> Trial | None:
        return self.trials_by_nct([nct]).get(nct)

    @abc.abstractmethod
    def study(self, key: str) -> Study | None: ...

    @abc.abstractmethod
    def save(
        self, studies: Sequence[tuple[Study | None, Study]], trials: Sequence[Trial], brought: Iterable[str]
    ) -> None:
        """Store new and changed records in one transaction; a study is given with the stored record it replaces
        (None: a new one), whose key it keeps. ``brought``: the keys and NCT numbers of the stored records the
        import brought again (changed or not), kept should the catalogue drop them. Raises
        ``EvidenceImportError`` when the store refuses a record (nothing stored)."""

    @abc.abstractmethod
    def atomic(self) -> AbstractContextManager[None]:
        """One transaction around several imports: all of them are stored, or none."""

    @abc.abstractmethod
    def search_studies(self, where: StudyFilter, offset: int, limit: int) -> Found[Study]:
        """Studies matching ``where``: by full-text relevance when it has words, else the latest first."""

    @abc.abstractmethod
    def strongest_studies(self, indication: str, limit: int) -> Found[Study]:
        """An indication's studies strongest first (``bont.domain.studies.strongest_first``), at most ``limit``,
        with how many it has."""

    @abc.abstractmethod
    def search_trials(self, where: TrialFilter, offset: int, limit: int) -> Found[Trial]:
        """Trials matching ``where``: by relevance when it has words, else the latest start first."""

    @abc.abstractmethod
    def evidence_map(self, indications: Sequence[str], products: Sequence[str]) -> EvidenceMap:
        """The map of these indications × products (``bont.domain.studies.evidence_map``) over every record."""

    @abc.abstractmethod
    def study_keys_by_source(self) -> dict[str, str]:
        """The key of the study that is each knowledge source (its ``source``)."""

    @abc.abstractmethod
    def all_trials(self) -> Iterable[Trial]: ...


class _Identified:
    """Stored and pending studies found by key, PMID or DOI: the one record of a paper, whichever identifiers an
    import or the catalogue gives it."""

    def __init__(self, studies: Iterable[Study]) -> None:
        self.by: dict[tuple[str, str], str] = {}
        for study in studies:
            self.add(study, study.key)

    @staticmethod
    def identifiers(study: Study) -> list[tuple[str, str]]:
        found = [("key", study.key)]
        if study.pmid:
            found.append(("pmid", study.pmid))
        if study.doi:
            found.append(("doi", study.doi.lower()))
        return found

    def add(self, study: Study, key: str) -> None:
        for identifier in self.identifiers(study):
            self.by.setdefault(identifier, key)

    def keys(self, study: Study) -> list[str]:
        """The keys of the records with any of the study's identifiers, its key's first, once each."""
        return list(dict.fromkeys(self.by[i] for i in self.identifiers(study) if i in self.by))


def keep_catalogue(library: StudyLibrary, studies: Sequence[Study], trials: Sequence[Trial], fingerprint: str) -> bool:
    """Write the curated catalogue into the library when its files changed since it was last written; returns
    whether it wrote. The curator's fields win and a field the curator cleared stays cleared; what imports brought
    stays where the curator has nothing; imported copies of a curated study (found by PMID or DOI) are merged into
    it."""
    if library.catalogue_fingerprint() == fingerprint:
        return False
    stored = library.studies_with_identifiers(
        (s.key for s in studies), (s.pmid for s in studies if s.pmid), (s.doi.lower() for s in studies if s.doi)
    )
    by_key = {study.key: study for study in stored}
    identified = _Identified(stored)
    writes: list[tuple[str | None, Study]] = []
    merged_away: list[str] = []
    for curated in studies:
        matches = [by_key[key] for key in identified.keys(curated)]
        record = curated
        for match in matches:
            record = rewrite_curated(record, match)
        writes.append((matches[0].key if matches else None, record))
        merged_away.extend(match.key for match in matches[1:] if match.origin is Origin.IMPORTED)
    stored_trials = library.trials_by_nct([trial.nct for trial in trials])
    kept_trials = [rewrite_curated(trial, stored_trials.get(trial.nct)) for trial in trials]
    return library.write_catalogue(writes, merged_away, kept_trials, fingerprint)


def import_files(library: StudyLibrary, files: Sequence[ParsedRecords]) -> list[ImportReport]:
    """Store what several literature files hold, in one transaction: all of them, or (on an
    ``EvidenceImportError``) none."""
    with library.atomic():
        return [import_records(library, parsed) for parsed in files]


def import_records(library: StudyLibrary, parsed: ParsedRecords) -> ImportReport:
    """Store what a literature file holds: each record added, or merged into the one with the same key, PMID or DOI
    (an imported record takes the newer values, a curated one only the fields it lacks); all in one transaction.
    A record whose identifiers belong to two different stored studies is refused with the reason (they are merged
    by hand, not guessed). Reports what was added, changed (with the fields), unchanged and refused."""
    stored = library.studies_with_identifiers(
        (s.key for s in parsed.studies),
        (s.pmid for s in parsed.studies if s.pmid),
        (s.doi.lower() for s in parsed.studies if s.doi),
    )
    originals: dict[str, Study] = {study.key: study for study in stored}
    identified = _Identified(stored)
    pending: dict[str, tuple[Study, tuple[str, ...]]] = {}  # key → (the record to store, the fields it changed)
    refused = list(parsed.refused)
    for number, incoming in enumerate(parsed.studies, start=1):
        keys = identified.keys(incoming)
        if len(keys) > 1:
            refused.append(Refusal(_named(number, incoming), f"its identifiers belong to studies {' and '.join(keys)}"))
            continue
        key = keys[0] if keys else incoming.key
        current, earlier = pending.get(key, (originals.get(key), ()))
        outcome = merge_import(current, incoming)
        record = cast(Study, outcome.record)
        others = [other for other in _Identified([record]).identifiers(record) if identified.by.get(other, key) != key]
        if others:
            refused.append(
                Refusal(_named(number, incoming), f"its {others[0][0].upper()} is study {identified.by[others[0]]}")
            )
            continue
        identified.add(record, key)
        pending[key] = (record, tuple(dict.fromkeys((*earlier, *outcome.changed))))
    stored_trials = library.trials_by_nct([trial.nct for trial in parsed.trials])
    trial_originals = dict(stored_trials)
    pending_trials: dict[str, tuple[Trial, tuple[str, ...]]] = {}
    for incoming_trial in parsed.trials:
        current_trial, earlier = pending_trials.get(incoming_trial.nct, (trial_originals.get(incoming_trial.nct), ()))
        trial_outcome = merge_import(current_trial, incoming_trial)
        merged_trial = cast(Trial, trial_outcome.record)
        pending_trials[incoming_trial.nct] = (merged_trial, tuple(dict.fromkeys((*earlier, *trial_outcome.changed))))
    added: list[str] = []
    changed: list[tuple[str, tuple[str, ...]]] = []
    unchanged: list[str] = []
    for key, original, fields in [
        *((key, originals.get(key), fields) for key, (_, fields) in pending.items()),
        *((nct, trial_originals.get(nct), fields) for nct, (_, fields) in pending_trials.items()),
    ]:
        if not fields:
            unchanged.append(key)
        elif original is None:
            added.append(key)
        else:
            changed.append((key, fields))
    library.save(
        [(originals.get(key), record) for key, (record, fields) in pending.items() if fields],
        [trial for trial, fields in pending_trials.values() if fields],
        brought=[key for key in (*pending, *pending_trials) if key in originals or key in trial_originals],
    )
    return ImportReport(parsed.format, tuple(added), tuple(changed), tuple(unchanged), tuple(refused))


def _named(number: int, study: Study) -> str:
    """A record of a file named by its place and its identifiers (never by its title)."""
    identifiers = ", ".join(f"{name.upper()} {value}" for name, value in _Identified.identifiers(study)[1:])
    return f"record {number}" + (f" ({identifiers})" if identifiers else "")


# -- reading


def search_studies(
    library: StudyLibrary, knowledge: KnowledgeBase, where: StudyFilter, page: int = 1, per_page: int = PER_PAGE
) -> Found[Study]:
    _check_study_filter(knowledge, where)
    return library.search_studies(where, *_window(page, per_page))


def search_trials(
    library: StudyLibrary, knowledge: KnowledgeBase, where: TrialFilter, page: int = 1, per_page: int = PER_PAGE
) -> Found[Trial]:
    _check_trial_filter(knowledge, where)
    return library.search_trials(where, *_window(page, per_page))


def every_study(library: StudyLibrary, knowledge: KnowledgeBase, where: StudyFilter) -> list[Study]:
    """Every study a search finds (for an export), read a page at a time."""
    _check_study_filter(knowledge, where)
    return _every(lambda offset: library.search_studies(where, offset, MAX_PER_PAGE))


def every_trial(library: StudyLibrary, knowledge: KnowledgeBase, where: TrialFilter) -> list[Trial]:
    _check_trial_filter(knowledge, where)
    return _every(lambda offset: library.search_trials(where, offset, MAX_PER_PAGE))


def _every(page_at: Callable[[int], Found[R]]) -> list[R]:
    records: list[R] = []
    while True:
        found = page_at(len(records))
        records.extend(found.records)
        # A page shorter than asked is the last; an estimated total may be a little short of the matches.
        if len(found.records) < found.limit or (not found.total_is_estimate and len(records) >= found.total):
            return records


def _window(page: int, per_page: int) -> tuple[int, int]:
    if not 1 <= page <= MAX_PAGE:
        raise EvidenceQueryError("page", f"give a page number from 1 to {MAX_PAGE:,}")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise EvidenceQueryError("per_page", f"give 1 to {MAX_PER_PAGE} records per page")
    return (page - 1) * per_page, per_page


def _check_study_filter(knowledge: KnowledgeBase, where: StudyFilter) -> None:
    _check_filter(knowledge, where.indication, where.product, where.text)
    if where.level and where.level.strip().lower() not in LEVEL_WORDS:
        raise EvidenceQueryError("level", f"give one of {', '.join(LEVEL_WORDS)}")
    for name, year in (("year_from", where.year_from), ("year_to", where.year_to)):
        if year is not None and not 1000 <= year <= 9999:
            raise EvidenceQueryError(name, "give a year of four digits")


def _check_trial_filter(knowledge: KnowledgeBase, where: TrialFilter) -> None:
    _check_filter(knowledge, where.indication, where.product, where.text)
    if where.phase and len(where.phase) > PHASE_LENGTH:
        raise EvidenceQueryError("phase", f"give at most {PHASE_LENGTH} characters")


def _check_filter(knowledge: KnowledgeBase, indication: str | None, product: str | None, text: str) -> None:
    if indication and indication not in knowledge.indications:
        raise EvidenceQueryError("indication", f"'{indication}' is not an indication bont knows")
    if product and product not in knowledge.products and product != "other":
        raise EvidenceQueryError("product", f"'{product}' is not a product bont knows")
    if len(text) > SEARCH_TEXT_LIMIT:
        raise EvidenceQueryError("query", f"give at most {SEARCH_TEXT_LIMIT} characters")


def study_by_key(library: StudyLibrary, key: str) -> Study:
    study = library.study(key)
    if study is None:
        raise EvidenceQueryError("study", "no study of the library has this key")
    return study


def trial_by_nct(library: StudyLibrary, nct: str) -> Trial:
    trial = library.trial(nct.upper())
    if trial is None:
        raise EvidenceQueryError("trial", "no registered trial of the library has this NCT number")
    return trial


def studies_by_source(library: StudyLibrary) -> dict[str, str]:
    """The key of the study that has each knowledge source id as its ``source``, so that a protocol or finding
    citing that source leads to the study it rests on."""
    return library.study_keys_by_source()


def library_map(library: StudyLibrary, knowledge: KnowledgeBase) -> EvidenceMap:
    """The evidence map over every study and trial of the library, indications in the knowledge base's order."""
    return library.evidence_map(list(knowledge.indications), list(knowledge.products))


def ongoing_research(library: StudyLibrary, research_areas: frozenset[str]) -> list[Trial]:
    """Every registered trial, the research areas' first, ongoing before finished."""
    return trials_first_for_research(library.all_trials(), research_areas)


SUMMARY_STUDIES = 200  # an indication's strongest studies a summary lists (it says how many there are in all)


def indication_evidence(
    library: StudyLibrary, knowledge: KnowledgeBase, indication_id: str, today: date
) -> IndicationEvidence:
    """The evidence summary of one indication: its codes, each product's label status for it (with the
    populations the label approves it for), the guideline grades for it, its strongest studies and its registered
    trials (ongoing first)."""
    indication = knowledge.indications.get(indication_id)
    if indication is None:
        raise EvidenceQueryError("indication", f"'{indication_id}' is not an indication bont knows")
    strongest = library.strongest_studies(indication_id, SUMMARY_STUDIES)
    trials = every_trial(library, knowledge, TrialFilter(indication=indication_id))
    approved: dict[str, list[str]] = {}
    for protocol in indication.protocols:
        if protocol.status is LabelStatus.APPROVED:
            approved.setdefault(protocol.product, []).append(str(protocol.population))
    used = dict.fromkeys(protocol.product for protocol in indication.protocols)
    for study in strongest.records:
        used.update(dict.fromkeys(study.products))
    products = tuple(
        ProductStatus(
            product, _product_name(knowledge, product), product in approved,
            tuple(dict.fromkeys(approved.get(product, ()))),
        )
        for product in used
        if product in knowledge.products
    )  # fmt: skip
    levels: dict[tuple[str, str, str | None, str | None], EvidenceLevel] = {}
    for study in strongest.records:
        for level in study.levels:
            if level.indication in (None, indication_id):
                # One grade once, as the guideline gave it (its copies on the trials it rests on name it as source).
                levels.setdefault((level.scheme, level.grade, level.indication, level.product), level)
    return IndicationEvidence(
        indication=indication_id,
        name=indication.name,
        diagnosis_codes=tuple(str(entry.value) for entry in indication.icd10),
        products=products,
        levels=tuple(levels.values()),
        studies=strongest.records,
        trials=tuple(sorted(trials, key=lambda trial: (not trial.status.ongoing, trial.nct))),
        prepared_on=today,
        studies_total=strongest.total,
    )


def _product_name(knowledge: KnowledgeBase, product_id: str) -> str:
    product = knowledge.products[product_id]
    return f"{product.established_name} ({product.brand})"


__all__ = [
    "MAX_PAGE",
    "MAX_PER_PAGE",
    "PER_PAGE",
    "PHASE_LENGTH",
    "SUMMARY_STUDIES",
    "EvidenceImportError",
    "EvidenceQueryError",
    "Found",
    "StudyLibrary",
    "every_study",
    "every_trial",
    "import_files",
    "import_records",
    "indication_evidence",
    "keep_catalogue",
    "library_map",
    "ongoing_research",
    "search_studies",
    "search_trials",
    "studies_by_source",
    "study_by_key",
    "study_key",
    "trial_by_nct",
]
