"""RIS, the tagged format reference managers export (``TY  - JOUR`` … ``ER  -``), read by ``rispy``.

RIS has no publication type beyond the reference type: a keyword naming one as PubMed does ("Randomized Controlled
Trial", "Meta-Analysis") sets the design; otherwise it is "other"."""

from __future__ import annotations

import re
from typing import Any

import rispy

from bont.domain.studies import ParsedRecords, Refusal, Study
from bont.interop.literature.records import (
    Found,
    LiteratureFileError,
    author_name,
    citation_of,
    clean_doi,
    clean_pmid,
    design_of,
    first_nct,
    imported_study,
    taken_and_refused,
    year_in,
)
from bont.interop.literature.terms import LiteratureTerms

RIS = "RIS"

_START = re.compile(r"^TY  -", re.MULTILINE)
_PMID_NOTE = re.compile(r"\bPMID:?\s*(\d+)", re.IGNORECASE)


def read_ris(text: str, name: str, terms: LiteratureTerms) -> ParsedRecords:
    """The studies of a RIS file; a record not about botulinum toxin, or without a title, is refused."""
    records: list[dict[str, Any]] = rispy.loads(text)
    # rispy drops a record the file ends inside of without a word: a file cut short is refused whole.
    started = len(_START.findall(text))
    if started > len(records):
        raise LiteratureFileError(f"{name}: record {len(records) + 1} has no end (ER) line: the file is cut short")
    if not records:
        raise LiteratureFileError(f"{name}: no RIS record (TY … ER) in the file")
    studies, refused = taken_and_refused(_study(position, record, terms) for position, record in enumerate(records, 1))
    return ParsedRecords(RIS, studies=studies, refused=refused)


def _study(position: int, record: dict[str, Any], terms: LiteratureTerms) -> Study | Refusal:
    notes = [str(note) for note in record.get("notes", [])]
    pmid = clean_pmid(record.get("accession_number")) or next(
        (match.group(1) for note in notes if (match := _PMID_NOTE.search(note)) and clean_pmid(match.group(1))), None
    )
    keywords = tuple(str(keyword) for keyword in record.get("keywords", []))
    start, end = record.get("start_page"), record.get("end_page")
    found = Found(
        position=position,
        title=record.get("title") or record.get("primary_title") or "",
        year=year_in(record.get("year") or record.get("publication_year")),
        design=design_of(keywords),
        authors=tuple(author_name(author) for author in record.get("authors") or record.get("first_authors") or ()),
        journal=record.get("journal_name") or record.get("alternate_title3") or record.get("secondary_title"),
        citation=citation_of(record.get("volume"), record.get("number"), "-".join(filter(None, (start, end))) or None),
        pmid=pmid,
        doi=clean_doi(record.get("doi")),
        nct=first_nct(notes),
        keywords=keywords,
    )
    return imported_study(found, terms)
