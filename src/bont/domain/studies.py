"""The evidence library: published studies and registered trials of botulinum toxin per indication, how strong
each is, and the grid of indications × products a researcher browses.

A *study* is a publication (a trial report, review, meta-analysis or guideline) identified by PMID, DOI or a
curated key; a *trial* is a registration on ClinicalTrials.gov identified by its NCT number (a finished trial may
have both). Curated records come from the knowledge files, each fact with the pages it was read in; imported
records come from PubMed, MEDLINE, ClinicalTrials.gov or RIS files, and an import never overwrites a curated field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date
from enum import StrEnum
from typing import TypeVar


class Design(StrEnum):
    """A study's design, strongest first in ``DESIGN_RANK``."""

    GUIDELINE = "guideline"
    META_ANALYSIS = "meta-analysis"
    SYSTEMATIC_REVIEW = "systematic-review"
    RCT = "rct"
    CROSSOVER = "crossover"
    OPEN_LABEL = "open-label"
    COHORT = "cohort"
    CASE_SERIES = "case-series"
    OTHER = "other"

    @property
    def label(self) -> str:
        return DESIGN_LABELS[self]


DESIGN_LABELS = {
    Design.GUIDELINE: "Guideline",
    Design.META_ANALYSIS: "Meta-analysis",
    Design.SYSTEMATIC_REVIEW: "Systematic review",
    Design.RCT: "Randomised controlled trial",
    Design.CROSSOVER: "Randomised crossover trial",
    Design.OPEN_LABEL: "Open-label study",
    Design.COHORT: "Cohort study",
    Design.CASE_SERIES: "Case series",
    Design.OTHER: "Other",
}

# Where a design sits in the usual hierarchy of evidence for a treatment's effect (lower is stronger): syntheses
# and guidelines over randomised trials over uncontrolled studies.
DESIGN_RANK = {design: rank for rank, design in enumerate(Design)}


class Origin(StrEnum):
    CURATED = "curated"  # from bont's knowledge files, each fact read in the pages it lists
    IMPORTED = "imported"  # from a file a user imported (PubMed, MEDLINE, ClinicalTrials.gov, RIS)


class TrialStatus(StrEnum):
    """ClinicalTrials.gov's overall status, in its API v2 words (lower case, hyphenated)."""

    NOT_YET_RECRUITING = "not-yet-recruiting"
    RECRUITING = "recruiting"
    ENROLLING_BY_INVITATION = "enrolling-by-invitation"
    ACTIVE_NOT_RECRUITING = "active-not-recruiting"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"
    UNKNOWN = "unknown"

    @property
    def ongoing(self) -> bool:
        return self in ONGOING

    @property
    def label(self) -> str:
        return self.value.replace("-", " ").capitalize()


ONGOING = frozenset(
    {
        TrialStatus.NOT_YET_RECRUITING,
        TrialStatus.RECRUITING,
        TrialStatus.ENROLLING_BY_INVITATION,
        TrialStatus.ACTIVE_NOT_RECRUITING,
        TrialStatus.SUSPENDED,
    }
)


@dataclass(frozen=True)
class EvidenceLevel:
    """A grade a guideline or a GRADE assessment gave the evidence for one use, e.g. AAN 2016 Level A for
    onabotulinumtoxinA in chronic migraine.

    ``scheme`` names the grading (``AAN 2016``, ``GRADE``), ``grade`` the level in its own words; ``indication``
    and ``product`` say which use it grades (a guideline grades many; none: the whole study)."""

    scheme: str
    grade: str
    indication: str | None = None
    product: str | None = None
    source: str | None = None  # the guideline that graded it, when not the study itself (a study key)

    def __str__(self) -> str:
        return f"{self.scheme} Level {self.grade}" if self.scheme.startswith("AAN") else f"{self.scheme} {self.grade}"

    @property
    def rank(self) -> int:
        """Lower is stronger: AAN A/B/C/U and GRADE high/moderate/low/very low on one scale of four."""
        return level_rank(self.grade)

    def grades(self, indication: str, product: str) -> bool:
        """Whether this level is about ``indication`` with ``product``."""
        return self.indication in (None, indication) and self.product in (None, product)


_LEVEL_RANK = {"a": 0, "high": 0, "b": 1, "moderate": 1, "c": 2, "low": 2, "u": 3, "very low": 3}
LEVEL_WORDS = tuple(_LEVEL_RANK)  # the grades a filter may name


def level_rank(grade: str) -> int:
    """A grade's place on the common scale (lower is stronger); 4 for a grade of no known scheme."""
    return _LEVEL_RANK.get(grade.strip().lower(), 4)


# Words full-text search leaves out: PostgreSQL's English stop words (Snowball's list), left out on SQLite too, so
# that both engines find the same studies for the same words.
_STOP_WORDS_AS_POSTGRESQL_WRITES_THEM = (
    "i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers"
    " herself it its itself they them their theirs themselves what which who whom this that these those am is"
    " are was were be been being have has had having do does did doing a an the and but if or because as until"
    " while of at by for with about against between into through during before after above below to from up"
    " down in out on off over under again further then once here there when where why how all any both each"
    " few more most other some such no nor not only own same so than too very s t can will just don should now"
)
STOP_WORDS = frozenset(_STOP_WORDS_AS_POSTGRESQL_WRITES_THEM.split())
_WORD = re.compile(r"\w+", re.UNICODE)


def query_words(text: str) -> list[str]:
    """The words of a search that must each match (as a word or its beginning): lower case, stop words left out."""
    return [word for word in _WORD.findall(text.lower()) if word not in STOP_WORDS]


@dataclass(frozen=True)
class PrimaryResult:
    """The primary outcome and what the study found for it, as reported (text: effects come in many shapes)."""

    outcome: str
    effect: str | None = None  # e.g. "−9.0 vs −6.7 headache days per 28 days"
    interval: str | None = None  # the 95 % confidence interval as reported
    p_value: str | None = None  # e.g. "<0.001"


@dataclass(frozen=True)
class Study:
    """One publication about a therapeutic use of botulinum toxin.

    ``read_at`` lists the pages its facts were read in; ``unverified`` names the fields that no page confirmed
    (shown as such). ``source`` links it to the knowledge source id protocols and findings cite, so that a
    protocol resting on a trial leads to it."""

    key: str
    title: str
    year: int | None
    design: Design
    indications: tuple[str, ...]
    products: tuple[str, ...] = ()  # bont product ids; units stay per product
    other_products: tuple[str, ...] = ()  # toxins bont does not carry, named as the study names them
    authors: tuple[str, ...] = ()
    journal: str | None = None
    citation: str | None = None  # volume(issue):pages
    pmid: str | None = None
    doi: str | None = None
    nct: str | None = None
    population: str | None = None
    participants: int | None = None
    doses: str | None = None
    comparator: str | None = None
    result: PrimaryResult | None = None
    follow_up: str | None = None
    levels: tuple[EvidenceLevel, ...] = ()
    source: str | None = None
    read_at: tuple[str, ...] = ()
    unverified: tuple[str, ...] = ()
    origin: Origin = Origin.CURATED
    keywords: tuple[str, ...] = ()  # MeSH terms or keywords an import brought
    imported_fields: tuple[str, ...] = ()  # of a curated record: the fields an import filled (not read in read_at)

    @property
    def first_author(self) -> str | None:
        return self.authors[0] if self.authors else None

    @property
    def short_reference(self) -> str:
        """``Diener HC, Cephalalgia 2010``: how a clinician names a study."""
        who = f"{self.first_author}{' et al.' if len(self.authors) > 1 else ''}" if self.authors else self.title
        where = ", ".join(str(part) for part in (self.journal, self.year) if part)
        return f"{who}, {where}" if where else who

    def searchable_text(self) -> str:
        """What full-text search reads: title, conditions, interventions and outcomes."""
        parts: list[str | None] = [
            self.title,
            " ".join(self.authors),
            self.journal,
            " ".join(self.indications),
            " ".join(self.products),
            " ".join(self.other_products),
            self.population,
            self.doses,
            self.comparator,
            self.result.outcome if self.result else None,
            self.result.effect if self.result else None,
            " ".join(self.keywords),
        ]
        return " ".join(part for part in parts if part)


@dataclass(frozen=True)
class Trial:
    """One registered trial (ClinicalTrials.gov), with what it reports about itself on the date it was read."""

    nct: str
    title: str
    status: TrialStatus
    indications: tuple[str, ...]
    products: tuple[str, ...] = ()
    other_products: tuple[str, ...] = ()
    phase: str | None = None  # "Phase 2", "Phase 2/Phase 3", "Not applicable"
    enrolment: int | None = None
    sponsor: str | None = None
    start: date | None = None
    primary_completion: date | None = None
    results_posted: bool = False
    conditions: tuple[str, ...] = ()  # as registered
    interventions: tuple[str, ...] = ()  # as registered
    primary_outcome: str | None = None
    read_at: tuple[str, ...] = ()
    read_on: date | None = None  # the status is as of this date
    unverified: tuple[str, ...] = ()
    origin: Origin = Origin.CURATED
    imported_fields: tuple[str, ...] = ()

    def searchable_text(self) -> str:
        parts: list[str | None] = [
            self.title,
            " ".join(self.conditions),
            " ".join(self.interventions),
            " ".join(self.indications),
            " ".join(self.products),
            " ".join(self.other_products),
            self.sponsor,
            self.primary_outcome,
        ]
        return " ".join(part for part in parts if part)


NCT_NUMBER = re.compile(r"NCT\d{8}")
PMID = re.compile(r"[1-9]\d{0,8}")


def study_key(pmid: str | None, doi: str | None, nct: str | None, fallback: str) -> str:
    """The key an imported study is stored under: its PMID, else its DOI, else its NCT number, else ``fallback``
    (a curated study keeps its curated key, and an import of the same PMID or DOI finds it by those)."""
    if pmid:
        return f"pmid:{pmid}"
    if doi:
        return f"doi:{doi.lower()}"
    if nct:
        return f"nct:{nct}"
    return fallback


# -- merging an import into what is stored

# Fields an import may never change once set: who the record is (its identifiers would move it), where it came
# from, and the curator's own notes on it.
_IDENTITY = ("key", "origin", "read_at", "unverified", "source", "imported_fields")


@dataclass(frozen=True)
class Merge:
    """What merging an imported record into a stored one did: the record to store and the fields it changed."""

    record: Study | Trial
    changed: tuple[str, ...]


def _empty(value: object) -> bool:
    return value in (None, (), "")


def merge_import(stored: Study | Trial | None, incoming: Study | Trial) -> Merge:
    """Merge ``incoming`` (just parsed from a file) into ``stored``: a new record is added whole; an imported
    record takes the newer values; a curated record keeps every field it has and takes only the ones it lacks,
    naming them in its ``imported_fields`` (an import never loses a curated field, and a page can tell what the
    curator read from what an import brought). Returns the fields that changed (none: the import changed nothing)."""
    if stored is None:
        return Merge(incoming, tuple(f.name for f in fields(incoming) if f.name not in _IDENTITY))
    if type(stored) is not type(incoming):
        raise TypeError("a study merges only with a study, a trial with a trial")
    updates: dict[str, object] = {}
    curated = stored.origin is Origin.CURATED
    for item in fields(stored):
        if item.name in _IDENTITY:
            continue
        old, new = getattr(stored, item.name), getattr(incoming, item.name)
        if _empty(new) or new == old:
            continue
        if curated and not _empty(old):
            continue
        if isinstance(old, tuple) and isinstance(new, tuple) and item.name in _UNION_FIELDS:
            new = tuple(dict.fromkeys((*old, *new)))
            if new == old:
                continue
        updates[item.name] = new
    if not updates:
        return Merge(stored, ())
    changed = tuple(updates)
    if curated:
        updates["imported_fields"] = tuple(dict.fromkeys((*stored.imported_fields, *changed)))
    merged: Study | Trial = replace(stored, **updates)  # type: ignore[arg-type]
    return Merge(merged, changed)


R = TypeVar("R", Study, Trial)


def rewrite_curated(curated: R, stored: R | None) -> R:
    """A curated record as the catalogue now gives it, over the record stored for it: the curator's fields win and
    a field the curator cleared stays cleared; what an import brought is kept where the curator has nothing (an
    imported record now curated gives all its fields; an older curated record only its ``imported_fields``)."""
    if stored is None:
        return curated
    if stored.origin is Origin.IMPORTED:
        merged = merge_import(curated, stored).record
    else:
        carried = {
            name: getattr(stored, name) for name in stored.imported_fields if _empty(getattr(curated, name, None))
        }
        merged = replace(curated, **carried, imported_fields=tuple(carried))
    assert isinstance(merged, type(curated))
    return merged


# Lists an import adds to rather than replaces: an import maps a study to the indications and products it
# recognises, which never removes one a curator or an earlier import named.
_UNION_FIELDS = frozenset({"indications", "products", "other_products", "keywords"})


# -- filters and the evidence map


@dataclass(frozen=True)
class StudyFilter:
    """What a researcher narrows a search to; empty fields do not narrow."""

    text: str = ""
    indication: str | None = None
    product: str | None = None
    design: Design | None = None
    year_from: int | None = None
    year_to: int | None = None
    level: str | None = None  # a grade in its own words ("A", "B"): studies graded at it or better

    def admits(self, study: Study) -> bool:
        """Whether ``study`` passes every filter but the text (which full-text search decides): about the
        indication with the product (``OTHER_PRODUCTS``: a toxin bont does not carry or none named), of the
        design and years, graded at the level or better for that indication and product."""
        if (self.indication or self.product) and not any(
            self.indication in (None, indication) and self.product in (None, product)
            for indication, product in uses_of(study.indications, study.products)
        ):
            return False
        if self.design and study.design is not self.design:
            return False
        if self.year_from and (study.year is None or study.year < self.year_from):
            return False
        if self.year_to and (study.year is None or study.year > self.year_to):
            return False
        return not self.level or any(
            level.rank <= level_rank(self.level)
            and (self.indication is None or level.indication in (None, self.indication))
            and (self.product is None or level.product in (None, self.product))
            for level in study.levels
        )


@dataclass(frozen=True)
class TrialFilter:
    text: str = ""
    indication: str | None = None
    product: str | None = None
    status: TrialStatus | None = None
    phase: str | None = None  # matched within the phase as registered: "2" finds "Phase 2/Phase 3"

    def admits(self, trial: Trial) -> bool:
        if (self.indication or self.product) and not any(
            self.indication in (None, indication) and self.product in (None, product)
            for indication, product in uses_of(trial.indications, trial.products)
        ):
            return False
        if self.status and trial.status is not self.status:
            return False
        return not self.phase or (trial.phase is not None and self.phase.lower() in trial.phase.lower())


@dataclass(frozen=True)
class MapCell:
    """One cell of the evidence map: the studies of one indication with one product."""

    indication: str
    product: str
    studies: int
    best_design: Design | None
    best_level: EvidenceLevel | None
    trials_ongoing: int = 0

    @property
    def strength(self) -> str:
        """The cell's headline: the best guideline grade if any graded it, else the strongest design."""
        if self.best_level is not None:
            return str(self.best_level)
        return self.best_design.label if self.best_design else "No studies"


OTHER_PRODUCTS = "other"  # the map's column for studies of toxins bont does not carry, or of toxin unspecified


@dataclass(frozen=True)
class EvidenceMap:
    indications: tuple[str, ...]
    products: tuple[str, ...]
    cells: Mapping[tuple[str, str], MapCell] = field(default_factory=dict)

    def cell(self, indication: str, product: str) -> MapCell:
        return self.cells.get((indication, product)) or MapCell(indication, product, 0, None, None)


@dataclass(frozen=True)
class CellCount:
    """What a store counts for one cell of the map: its studies and the strongest design among them."""

    studies: int
    best_design: Design


def uses_of(indications: Iterable[str], products: Sequence[str]) -> Iterator[tuple[str, str]]:
    """The map's cells a record is about: each indication with each product (``OTHER_PRODUCTS`` when it names no
    bont product), once each."""
    for indication in dict.fromkeys(indications):
        for product in dict.fromkeys(products or (OTHER_PRODUCTS,)):
            yield indication, product


def evidence_map(
    studies: Iterable[Study], trials: Iterable[Trial], indications: Iterable[str], products: Iterable[str]
) -> EvidenceMap:
    """The grid of ``indications`` × ``products`` (and ``OTHER_PRODUCTS``): per cell the number of studies, the
    strongest design and the best guideline grade, and the trials still running. A study of several products
    counts once in each of their cells; a study naming no bont product counts under ``OTHER_PRODUCTS``."""
    counts: dict[tuple[str, str], CellCount] = {}
    graded: list[Study] = []
    for study in studies:
        if study.levels:
            graded.append(study)
        for cell in uses_of(study.indications, study.products):
            known = counts.get(cell)
            counts[cell] = CellCount(
                (known.studies if known else 0) + 1,
                min((known.best_design, study.design) if known else (study.design,), key=DESIGN_RANK.__getitem__),
            )
    ongoing: dict[tuple[str, str], int] = {}
    for trial in trials:
        if trial.status.ongoing:
            for cell in uses_of(trial.indications, trial.products):
                ongoing[cell] = ongoing.get(cell, 0) + 1
    return assemble_map(counts, graded, ongoing, indications, products)


def assemble_map(
    counts: Mapping[tuple[str, str], CellCount],
    graded: Iterable[Study],
    ongoing: Mapping[tuple[str, str], int],
    indications: Iterable[str],
    products: Iterable[str],
) -> EvidenceMap:
    """The map from what a store counted per cell, the studies a guideline graded (few: read whole), and the
    ongoing trials per cell."""
    best: dict[tuple[str, str], EvidenceLevel] = {}
    for study in graded:
        for cell in uses_of(study.indications, study.products):
            for level in study.levels:
                if level.grades(*cell) and (cell not in best or level.rank < best[cell].rank):
                    best[cell] = level
    cells = {
        cell: MapCell(
            indication=cell[0],
            product=cell[1],
            studies=counts[cell].studies if cell in counts else 0,
            best_design=counts[cell].best_design if cell in counts else None,
            best_level=best.get(cell),
            trials_ongoing=ongoing.get(cell, 0),
        )
        for cell in set(counts) | set(ongoing)
    }
    return EvidenceMap(tuple(indications), (*products, OTHER_PRODUCTS), cells)


def trials_first_for_research(trials: Iterable[Trial], research_areas: frozenset[str]) -> list[Trial]:
    """Trials ordered for the ongoing-research list: those of the indications named as research areas first,
    then ongoing before finished, then the latest start first."""
    return sorted(
        trials,
        key=lambda trial: (
            not research_areas.intersection(trial.indications),
            not trial.status.ongoing,
            -(trial.start.toordinal() if trial.start else 0),
            trial.nct,
        ),
    )


# -- imports and summaries


@dataclass(frozen=True)
class Refusal:
    """A record of an imported file that was not taken, and why (``record`` names it without patient data:
    its position in the file and its PMID, DOI or NCT number when it has one)."""

    record: str
    reason: str


@dataclass(frozen=True)
class ParsedRecords:
    """What a literature file holds, read but not yet stored: its format, its records and the ones refused."""

    format: str  # "PubMed XML", "MEDLINE", "ClinicalTrials.gov JSON", "RIS"
    studies: tuple[Study, ...] = ()
    trials: tuple[Trial, ...] = ()
    refused: tuple[Refusal, ...] = ()


@dataclass(frozen=True)
class ImportReport:
    """What an import did: records added, changed (with the fields), left unchanged, and refused."""

    format: str
    added: tuple[str, ...] = ()
    changed: tuple[tuple[str, tuple[str, ...]], ...] = ()
    unchanged: tuple[str, ...] = ()
    refused: tuple[Refusal, ...] = ()


@dataclass(frozen=True)
class ProductStatus:
    """A product's standing for one indication: approved by its US label, or used off-label."""

    product: str  # product id
    name: str  # "onabotulinumtoxinA (BOTOX)"
    approved: bool
    populations: tuple[str, ...] = ()  # those the label approves it for ("adult", "pediatric")

    @property
    def label_status(self) -> str:
        """ "FDA-approved (adult)", or "off-label"."""
        if not self.approved:
            return "off-label"
        return f"FDA-approved ({', '.join(self.populations)})" if self.populations else "FDA-approved"


@dataclass(frozen=True)
class IndicationEvidence:
    """The evidence summary of one indication a clinician can attach to a prior-authorisation request: its
    codes, each product's label status, the guideline grades, the studies strongest first and the trials."""

    indication: str  # id
    name: str
    diagnosis_codes: tuple[str, ...]  # "G43.709 Chronic migraine without aura, …"
    products: tuple[ProductStatus, ...]
    levels: tuple[EvidenceLevel, ...]
    studies: tuple[Study, ...]
    trials: tuple[Trial, ...]
    prepared_on: date
    studies_total: int = 0  # the indication's studies in the library: more than listed when it has very many


UNGRADED = 9  # the rank of a study no guideline graded for the use asked about


def strongest_first(studies: Iterable[Study], indication: str) -> list[Study]:
    """An indication's studies as its summary lists them: graded best for that indication, then the strongest
    design, then the latest first (undated last)."""
    return sorted(
        studies,
        key=lambda study: (
            min((level.rank for level in study.levels if level.indication in (None, indication)), default=UNGRADED),
            DESIGN_RANK[study.design],
            study.year is None,
            -(study.year or 0),
            study.key,
        ),
    )


# -- plain data: how a record is stored and sent (JSON-ready dictionaries), and read back


def record_as_dict(record: Study | Trial) -> dict[str, object]:
    """A study or trial as plain JSON-ready data (dates as ISO text, enums as their values)."""
    data: dict[str, object] = {}
    for item in fields(record):
        value = getattr(record, item.name)
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, PrimaryResult):
            value = {part.name: getattr(value, part.name) for part in fields(value)}
        elif item.name == "levels":
            value = [{part.name: getattr(level, part.name) for part in fields(level)} for level in value]
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, StrEnum):
            value = value.value
        data[item.name] = value
    return data


def study_from_dict(data: Mapping[str, object]) -> Study:
    values = dict(data)
    result = values.get("result")
    values["result"] = PrimaryResult(**result) if isinstance(result, dict) else None
    values["levels"] = tuple(
        EvidenceLevel(**level) for level in _items(values.get("levels")) if isinstance(level, dict)
    )
    values["design"] = Design(str(values["design"]))
    values["origin"] = Origin(str(values.get("origin", Origin.CURATED)))
    for name in (
        "indications",
        "products",
        "other_products",
        "authors",
        "read_at",
        "unverified",
        "keywords",
        "imported_fields",
    ):
        values[name] = tuple(_items(values.get(name)))
    return Study(**values)  # type: ignore[arg-type]


def trial_from_dict(data: Mapping[str, object]) -> Trial:
    values = dict(data)
    values["status"] = TrialStatus(str(values["status"]))
    values["origin"] = Origin(str(values.get("origin", Origin.CURATED)))
    for name in ("start", "primary_completion", "read_on"):
        text = values.get(name)
        values[name] = date.fromisoformat(text) if isinstance(text, str) else None
    for name in (
        "indications",
        "products",
        "other_products",
        "conditions",
        "interventions",
        "read_at",
        "unverified",
        "imported_fields",
    ):
        values[name] = tuple(_items(values.get(name)))
    return Trial(**values)  # type: ignore[arg-type]


def _items(value: object) -> list[object]:
    return list(value) if isinstance(value, (list, tuple)) else []
