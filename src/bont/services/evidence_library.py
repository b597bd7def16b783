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
from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar, cast

from bont.domain.errors import FieldError
from bont.domain.knowledge import KnowledgeBase
from bont.domain.protocols import LabelStatus
from bont.domain.studies import (
    EvidenceMap,
    ImportReport,
    IndicationEvidence,
    Merge,
    ParsedRecords,
    ProductStatus,
    Study,
    StudyFilter,
    Trial,
    TrialFilter,
    merge_import,
    strongest_first,
    study_key,
    trials_first_for_research,
)

PER_PAGE = 25
MAX_PER_PAGE = 200
MAX_PAGE = 1_000_000  # far past any library's last page, well inside every engine's integers
SEARCH_TEXT_LIMIT = 200  # characters of a search query


class EvidenceQueryError(FieldError):
    """A search or summary was asked with a value that names nothing (the field is named); nothing was read."""


R = TypeVar("R", Study, Trial)


@dataclass(frozen=True)
class Found(Generic[R]):
    """One page of a search: the records on it and how many matched in all."""

    records: tuple[R, ...]
    total: int
    offset: int
    limit: int

    @property
    def page(self) -> int:
        return self.offset // self.limit + 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.limit))


class StudyLibrary(abc.ABC):
    """Where the library's studies and trials are kept and searched."""

    @abc.abstractmethod
    def catalogue_fingerprint(self) -> str | None:
        """The fingerprint of the curated catalogue last written, or None."""

    @abc.abstractmethod
    def write_catalogue(self, studies: Sequence[Study], trials: Sequence[Trial], fingerprint: str) -> None:
        """Replace the curated records with these (a curated record no longer in the catalogue is removed) and
        remember the fingerprint; one transaction."""

    @abc.abstractmethod
    def matching_studies(self, studies: Sequence[Study]) -> list[Study | None]:
        """For each study, the stored one with the same key, PMID, DOI or NCT number (in that order), if any."""

    @abc.abstractmethod
    def trials_by_nct(self, ncts: Sequence[str]) -> dict[str, Trial]:
        """The stored trials of these NCT numbers (those stored)."""

    def trial(self, nct: str) -> Trial | None:
        return self.trials_by_nct([nct]).get(nct)

    @abc.abstractmethod
    def study(self, key: str) -> Study | None: ...

    @abc.abstractmethod
    def save(self, studies: Sequence[tuple[Study | None, Study]], trials: Sequence[Trial]) -> None:
        """Store new and changed records in one transaction; a study is given with the stored record it replaces
        (None: a new one), whose key it keeps."""

    @abc.abstractmethod
    def search_studies(self, where: StudyFilter, offset: int, limit: int) -> Found[Study]:
        """Studies matching ``where``: by full-text relevance when it has text, else the latest first."""

    @abc.abstractmethod
    def search_trials(self, where: TrialFilter, offset: int, limit: int) -> Found[Trial]:
        """Trials matching ``where``: by relevance when it has text, else the latest start first."""

    @abc.abstractmethod
    def evidence_map(self, indications: Sequence[str], products: Sequence[str]) -> EvidenceMap:
        """The map of these indications × products (``bont.domain.studies.evidence_map``) over every record."""

    @abc.abstractmethod
    def study_keys_by_source(self) -> dict[str, str]:
        """The key of the study that is each knowledge source (its ``source``)."""

    @abc.abstractmethod
    def all_studies(self) -> Iterable[Study]: ...

    @abc.abstractmethod
    def all_trials(self) -> Iterable[Trial]: ...


def keep_catalogue(library: StudyLibrary, studies: Sequence[Study], trials: Sequence[Trial], fingerprint: str) -> bool:
    """Write the curated catalogue into the library when its files changed since it was last written; returns
    whether it wrote. Curated fields win; a field the curator left empty keeps what an import gave it."""
    if library.catalogue_fingerprint() == fingerprint:
        return False
    stored_trials = library.trials_by_nct([trial.nct for trial in trials])
    kept_studies = [
        _curated_first(study, stored) for study, stored in zip(studies, library.matching_studies(studies), strict=True)
    ]
    kept_trials = [_curated_first(trial, stored_trials.get(trial.nct)) for trial in trials]
    library.write_catalogue(kept_studies, kept_trials, fingerprint)
    return True


def _curated_first(curated: R, stored: R | None) -> R:
    if stored is None:
        return curated
    merged = merge_import(curated, stored).record  # the curated record as the one kept, the stored as news
    assert isinstance(merged, type(curated))
    return merged


def import_records(library: StudyLibrary, parsed: ParsedRecords) -> ImportReport:
    """Store what a literature file holds: each record added, or merged into the one with the same identifier
    (an imported record takes the newer values, a curated one only the fields it lacks); all in one transaction.
    Reports what was added, changed (with the fields), unchanged and refused."""
    studies = _merged(parsed.studies, library.matching_studies(parsed.studies), lambda study: study.key)
    stored_trials = library.trials_by_nct([trial.nct for trial in parsed.trials])
    trials = _merged(parsed.trials, [stored_trials.get(t.nct) for t in parsed.trials], lambda trial: trial.nct)
    added: list[str] = []
    changed: list[tuple[str, tuple[str, ...]]] = []
    unchanged: list[str] = []
    for key, (original, _, fields) in [*studies.items(), *trials.items()]:
        if not fields:
            unchanged.append(key)
        elif original is None:
            added.append(key)
        else:
            changed.append((key, fields))
    library.save(
        [(original, record) for original, record, fields in studies.values() if fields],
        [record for _, record, fields in trials.values() if fields],
    )
    return ImportReport(parsed.format, tuple(added), tuple(changed), tuple(unchanged), parsed.refused)


def _merged(
    incoming: Sequence[R], stored: Sequence[R | None], key_of: Callable[[R], str]
) -> dict[str, tuple[R | None, R, tuple[str, ...]]]:
    """Per record to store (by its stored key, else its own): the stored record, the record merged from every
    incoming one for it (a file may hold the same study twice), and the fields that changed, in order."""
    merged: dict[str, tuple[R | None, R, tuple[str, ...]]] = {}
    for record, match in zip(incoming, stored, strict=True):
        key = key_of(match) if match is not None else key_of(record)
        original: R | None = merged[key][0] if key in merged else match
        current: R | None = merged[key][1] if key in merged else match
        earlier: tuple[str, ...] = merged[key][2] if key in merged else ()
        outcome: Merge = merge_import(current, record)
        merged[key] = (original, cast(R, outcome.record), tuple(dict.fromkeys((*earlier, *outcome.changed))))
    return merged


# -- reading


def search_studies(
    library: StudyLibrary, knowledge: KnowledgeBase, where: StudyFilter, page: int = 1, per_page: int = PER_PAGE
) -> Found[Study]:
    _check_filter(knowledge, where.indication, where.product, where.text)
    return library.search_studies(where, *_window(page, per_page))


def search_trials(
    library: StudyLibrary, knowledge: KnowledgeBase, where: TrialFilter, page: int = 1, per_page: int = PER_PAGE
) -> Found[Trial]:
    _check_filter(knowledge, where.indication, where.product, where.text)
    return library.search_trials(where, *_window(page, per_page))


def every_study(library: StudyLibrary, knowledge: KnowledgeBase, where: StudyFilter) -> list[Study]:
    """Every study a search finds (for an export), read a page at a time."""
    _check_filter(knowledge, where.indication, where.product, where.text)
    return _every(lambda offset: library.search_studies(where, offset, MAX_PER_PAGE))


def every_trial(library: StudyLibrary, knowledge: KnowledgeBase, where: TrialFilter) -> list[Trial]:
    _check_filter(knowledge, where.indication, where.product, where.text)
    return _every(lambda offset: library.search_trials(where, offset, MAX_PER_PAGE))


def _every(page_at: Callable[[int], Found[R]]) -> list[R]:
    records: list[R] = []
    while True:
        found = page_at(len(records))
        records.extend(found.records)
        if not found.records or len(records) >= found.total:
            return records


def _window(page: int, per_page: int) -> tuple[int, int]:
    if not 1 <= page <= MAX_PAGE:
        raise EvidenceQueryError("page", f"give a page number from 1 to {MAX_PAGE:,}")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise EvidenceQueryError("per_page", f"give 1 to {MAX_PER_PAGE} records per page")
    return (page - 1) * per_page, per_page


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


def indication_evidence(
    library: StudyLibrary, knowledge: KnowledgeBase, indication_id: str, today: date
) -> IndicationEvidence:
    """The evidence summary of one indication: its codes, each product's label status for it, the guideline
    grades, its studies strongest first and its registered trials (ongoing first)."""
    indication = knowledge.indications.get(indication_id)
    if indication is None:
        raise EvidenceQueryError("indication", f"'{indication_id}' is not an indication bont knows")
    studies = strongest_first(library.search_studies(StudyFilter(indication=indication_id), 0, MAX_PER_PAGE).records)
    trials = library.search_trials(TrialFilter(indication=indication_id), 0, MAX_PER_PAGE).records
    approved = {protocol.product for protocol in indication.protocols if protocol.status is LabelStatus.APPROVED}
    used = dict.fromkeys(protocol.product for protocol in indication.protocols)
    for study in studies:
        used.update(dict.fromkeys(study.products))
    products = tuple(
        ProductStatus(product, _product_name(knowledge, product), product in approved)
        for product in used
        if product in knowledge.products
    )
    levels = tuple(
        dict.fromkeys(level for study in studies for level in study.levels if level.indication in (None, indication_id))
    )
    return IndicationEvidence(
        indication=indication_id,
        name=indication.name,
        diagnosis_codes=tuple(str(entry.value) for entry in indication.icd10),
        products=products,
        levels=levels,
        studies=tuple(studies),
        trials=tuple(sorted(trials, key=lambda trial: (not trial.status.ongoing, trial.nct))),
        prepared_on=today,
    )


def _product_name(knowledge: KnowledgeBase, product_id: str) -> str:
    product = knowledge.products[product_id]
    return f"{product.established_name} ({product.brand})"


__all__ = [
    "MAX_PER_PAGE",
    "PER_PAGE",
    "EvidenceQueryError",
    "Found",
    "StudyLibrary",
    "every_study",
    "every_trial",
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
