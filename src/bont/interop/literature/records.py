"""What every literature reader shares: the file error, naming a record in a refusal, the design a publication
type implies, and turning what a reader found into an imported ``Study`` (or a refusal)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from bont.domain.studies import DESIGN_RANK, NCT_NUMBER, PMID, Design, Origin, Refusal, Study, Trial, study_key
from bont.interop.literature.terms import LiteratureTerms


class LiteratureFileError(ValueError):
    """A file that is no literature format bont reads, or is malformed as a whole; the message names the file."""


class IdentifierError(ValueError):
    """A PMID, DOI or NCT number a record gives that is not one: the record is refused with this message."""


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

# A DOI as resolvers and reference lists write it: "https://doi.org/10.…", "http://dx.doi.org/10.…", "doi: 10.…".
_DOI_PREFIX = re.compile(r"^(?:(?:https?://)?(?:dx\.|www\.)?doi\.org/|doi:\s*)", re.IGNORECASE)
# The curated catalogue's pattern (``bont.knowledge.catalogue``). Braces, double quotes and backslashes no DOI in
# use holds; refused, they cannot reach an export in which they would end a value early (BibTeX, RIS).
DOI = re.compile(r"10\.\d{4,9}/[^\s{}\"\\]+")
DOI_MAX_LENGTH = 190  # so that a study keyed by its DOI ("doi:…") fits the library's 200-character key column
# A trial number named in free text ("Trial registration: NCT01234567"); one of the wrong length is refused.
_NCT_IN_TEXT = re.compile(r"\bNCT\d+\b")


def design_of(publication_types: Iterable[str]) -> Design:
    designs = [_DESIGNS[kind] for kind in (str(kind).strip().lower() for kind in publication_types) if kind in _DESIGNS]
    return min(designs, key=DESIGN_RANK.__getitem__, default=Design.OTHER)


def record_name(position: int, *, pmid: str | None = None, doi: str | None = None, nct: str | None = None) -> str:
    """``record 3 (PMID 90000003)``: a record by its place in the file and its first identifier."""
    identifier = f"PMID {pmid}" if pmid else f"DOI {doi}" if doi else nct
    return f"record {position} ({identifier})" if identifier else f"record {position}"


def clean_doi(value: str | None) -> str | None:
    """A DOI as stored: without a resolver prefix or trailing punctuation, in lower case (DOIs are
    case-insensitive); None when ``value`` is empty. Raises ``IdentifierError`` when it is not a DOI."""
    written = " ".join((value or "").split())
    doi = _DOI_PREFIX.sub("", written).rstrip(".,;:").lower()
    if not doi:
        return None
    if len(doi) > DOI_MAX_LENGTH or not DOI.fullmatch(doi) or not doi.isprintable():
        raise IdentifierError(f"DOI '{_quoted(written)}' is not a DOI")
    return doi


def clean_pmid(value: str | None) -> str | None:
    """A PMID; None when ``value`` is empty. Raises ``IdentifierError`` when it is not a PMID."""
    written = " ".join((value or "").split())
    if not written:
        return None
    if not PMID.fullmatch(written):
        raise IdentifierError(f"PMID '{_quoted(written)}' is not a PMID")
    return written


def clean_nct(value: str | None) -> str | None:
    """An NCT number; None when ``value`` is empty. Raises ``IdentifierError`` when it is not an NCT number."""
    written = " ".join((value or "").split())
    if not written:
        return None
    if not NCT_NUMBER.fullmatch(written):
        raise IdentifierError(f"NCT number '{_quoted(written)}' is not an NCT number")
    return written


def nct_in(texts: Iterable[str]) -> str | None:
    """The first trial number named in ``texts`` (free text, such as a note), as written there."""
    return next((match.group() for text in texts if (match := _NCT_IN_TEXT.search(text))), None)


def _quoted(value: str) -> str:
    # A refusal quotes what the file gave, shortened: a file may hold anything in a field.
    return value if len(value) <= 60 else f"{value[:59]}…"


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
    """What a reader found in one record of a publication, before recognition; identifiers as the file gives them
    (``imported_study`` checks them)."""

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


def imported_study(found: Found, terms: LiteratureTerms) -> Study | Refusal:
    """The imported ``Study`` of ``found`` (its identifiers as the file gives them), or its refusal when an
    identifier is not one, it has no title or it is not about botulinum toxin."""
    problems: list[str] = []
    pmid = _checked(clean_pmid, found.pmid, problems)
    doi = _checked(clean_doi, found.doi, problems)
    nct = _checked(clean_nct, found.nct, problems)
    name = record_name(found.position, pmid=pmid, doi=doi, nct=nct)
    if problems:
        return Refusal(name, "; ".join(problems))
    title = " ".join(found.title.split())
    if not title:
        return Refusal(name, "no title")
    keywords = tuple(dict.fromkeys(" ".join(keyword.split()) for keyword in found.keywords if keyword.strip()))
    recognised = terms.recognise([title, *keywords])
    if not recognised.about_toxin:
        return Refusal(name, NOT_ABOUT_TOXIN)
    return Study(
        key=study_key(pmid, doi, nct, title_key(title, found.year)),
        title=title,
        year=found.year,
        design=found.design,
        indications=recognised.indications,
        products=recognised.products,
        other_products=recognised.other_products,
        authors=found.authors,
        journal=found.journal,
        citation=found.citation,
        pmid=pmid,
        doi=doi,
        nct=nct,
        origin=Origin.IMPORTED,
        read_at=(),
        keywords=keywords,
    )


def _checked(clean: Callable[[str | None], str | None], value: str | None, problems: list[str]) -> str | None:
    try:
        return clean(value)
    except IdentifierError as error:
        problems.append(str(error))
        return None


def taken_and_refused(outcomes: Iterable[Kept | Refusal]) -> tuple[tuple[Kept, ...], tuple[Refusal, ...]]:
    """The records a reader kept, and the ones it refused, each in file order."""
    listed = list(outcomes)
    return (
        tuple(outcome for outcome in listed if not isinstance(outcome, Refusal)),
        tuple(outcome for outcome in listed if isinstance(outcome, Refusal)),
    )
