"""What every literature reader shares: the file error, naming a record in a refusal, the design a publication
type implies, and turning what a reader found into an imported ``Study`` (or a refusal)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from bont.domain.studies import DESIGN_RANK, NCT_NUMBER, PMID, Design, Origin, Refusal, Study, Trial, study_key
from bont.interop.literature.terms import LiteratureTerms


class LiteratureFileError(ValueError):
    """A file that is no literature format bont reads, or is malformed as a whole; the message names the file."""


NOT_ABOUT_TOXIN = "not about botulinum toxin"

Kept = TypeVar("Kept", Study, Trial)

# PubMed's publication types (and the same words as RIS keywords) and the design each implies; a record of several
# types takes the strongest (``DESIGN_RANK``).
_DESIGNS = {
    "randomized controlled trial": Design.RCT,
    "meta-analysis": Design.META_ANALYSIS,
    "network meta-analysis": Design.META_ANALYSIS,
    "systematic review": Design.SYSTEMATIC_REVIEW,
    "practice guideline": Design.GUIDELINE,
    "guideline": Design.GUIDELINE,
    # A trial PubMed does not call randomised.
    "clinical trial": Design.OPEN_LABEL,
    "clinical trial, phase i": Design.OPEN_LABEL,
    "clinical trial, phase ii": Design.OPEN_LABEL,
    "clinical trial, phase iii": Design.OPEN_LABEL,
    "clinical trial, phase iv": Design.OPEN_LABEL,
    "controlled clinical trial": Design.OPEN_LABEL,
    "observational study": Design.COHORT,
    "case reports": Design.CASE_SERIES,
}

_DOI_PREFIX = re.compile(r"^\s*(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)


def design_of(publication_types: Iterable[str]) -> Design:
    designs = [_DESIGNS[kind] for kind in (str(kind).strip().lower() for kind in publication_types) if kind in _DESIGNS]
    return min(designs, key=DESIGN_RANK.__getitem__, default=Design.OTHER)


def record_name(position: int, *, pmid: str | None = None, doi: str | None = None, nct: str | None = None) -> str:
    """``record 3 (PMID 90000003)``: a record by its place in the file and its first identifier."""
    identifier = f"PMID {pmid}" if pmid else f"DOI {doi}" if doi else nct
    return f"record {position} ({identifier})" if identifier else f"record {position}"


def clean_doi(value: str | None) -> str | None:
    """A DOI as stored: without a resolver prefix, in lower case (DOIs are case-insensitive)."""
    doi = _DOI_PREFIX.sub("", value or "").strip().lower()
    return doi or None


def clean_pmid(value: str | None) -> str | None:
    """A PMID, or None when ``value`` is not one."""
    value = (value or "").strip()
    return value if PMID.fullmatch(value) else None


def first_nct(values: Iterable[str]) -> str | None:
    for value in values:
        if match := NCT_NUMBER.search(value):
            return match.group()
    return None


def year_in(value: str | None) -> int | None:
    """The year a date as the formats write it begins with ("2023 Jan-Feb", "2021///", "2024-03-01")."""
    match = re.match(r"\s*(\d{4})", value or "")
    return int(match.group(1)) if match else None


def author_name(written: str) -> str:
    """``Surname Initials`` as PubMed lists authors, from ``Surname, Given Names`` as reference managers write them
    ("Lund, Hanna" → "Lund H", "Dupont, Jean-Pierre" → "Dupont JP"); a name without a comma is kept as written."""
    surname, comma, given = written.partition(",")
    if not comma:
        return written.strip()
    initials = "".join(part[0].upper() for part in re.split(r"[\s.\-]+", given) if part)
    return f"{surname.strip()} {initials}".strip()


def citation_of(volume: str | None, issue: str | None, pages: str | None) -> str | None:
    """``volume(issue):pages``, as a reference list writes it; none without a volume."""
    if not volume:
        return None
    return f"{volume}{f'({issue})' if issue else ''}{f':{pages}' if pages else ''}"


def title_key(title: str, year: int | None) -> str:
    """The key of a record with no PMID, DOI or NCT number: the same title and year give the same key, whatever the
    case, accents or punctuation of the title."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    normalised = " ".join(re.findall(r"[a-z0-9]+", folded))
    digest = hashlib.sha256(f"{normalised}|{year or ''}".encode()).hexdigest()[:16]
    return f"title:{year or 'undated'}:{digest}"


@dataclass(frozen=True)
class Found:
    """What a reader found in one record of a publication, before recognition."""

    position: int
    title: str
    year: int | None = None
    design: Design = Design.OTHER
    authors: tuple[str, ...] = ()
    journal: str | None = None
    citation: str | None = None
    pmid: str | None = None
    doi: str | None = None
    nct: str | None = None
    keywords: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return record_name(self.position, pmid=self.pmid, doi=self.doi, nct=self.nct)


def imported_study(found: Found, terms: LiteratureTerms) -> Study | Refusal:
    """The imported ``Study`` of ``found``, or its refusal when it has no title or is not about botulinum toxin."""
    title = " ".join(found.title.split())
    if not title:
        return Refusal(found.name, "no title")
    keywords = tuple(dict.fromkeys(" ".join(keyword.split()) for keyword in found.keywords if keyword.strip()))
    recognised = terms.recognise([title, *keywords])
    if not recognised.about_toxin:
        return Refusal(found.name, NOT_ABOUT_TOXIN)
    return Study(
        key=study_key(found.pmid, found.doi, found.nct, title_key(title, found.year)),
        title=title,
        year=found.year,
        design=found.design,
        indications=recognised.indications,
        products=recognised.products,
        other_products=recognised.other_products,
        authors=found.authors,
        journal=found.journal,
        citation=found.citation,
        pmid=found.pmid,
        doi=found.doi,
        nct=found.nct,
        origin=Origin.IMPORTED,
        read_at=(),
        keywords=keywords,
    )


def taken_and_refused(outcomes: Iterable[Kept | Refusal]) -> tuple[tuple[Kept, ...], tuple[Refusal, ...]]:
    """The records a reader kept, and the ones it refused, each in file order."""
    listed = list(outcomes)
    return (
        tuple(outcome for outcome in listed if not isinstance(outcome, Refusal)),
        tuple(outcome for outcome in listed if isinstance(outcome, Refusal)),
    )
