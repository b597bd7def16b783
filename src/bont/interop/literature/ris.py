"""RIS, the tagged format reference managers export (``TY  - JOUR`` … ``ER  -``), read by ``rispy``.

RIS has no publication type beyond the reference type: a keyword naming one as PubMed does ("Randomized Controlled
Trial", "Meta-Analysis") sets the design; otherwise it is "other".

Each record (``TY`` to ``ER``) is read on its own, so that whatever is wrong with one refuses that record alone:
rispy carries state from one record to the next (an indented line just after ``TY`` continues the previous
record's last tag, and fails)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import rispy

from bont.domain.studies import ParsedRecords, Refusal, Study
from bont.interop.literature.records import (
    Found,
    LiteratureFileError,
    author_name,
    citation_of,
    design_of,
    imported_study,
    nct_in,
    record_name,
    taken_and_refused,
    year_in,
)
from bont.interop.literature.terms import LiteratureTerms

RIS = "RIS"

_START = re.compile(r"^TY  -", re.MULTILINE)
_PMID_NOTE = re.compile(r"\bPMID:?\s*(\d+)", re.IGNORECASE)
_END = re.compile(r"^ER  -", re.MULTILINE)


def read_ris(text: str, name: str, terms: LiteratureTerms) -> ParsedRecords:
    """The studies of a RIS file; a record not about botulinum toxin, without a title, or unreadable, is refused."""
    chunks = _records(text)
    if not chunks:
        raise LiteratureFileError(f"{name}: no RIS record (TY … ER) in the file")
    if not _END.search(chunks[-1]):
        raise LiteratureFileError(f"{name}: record {len(chunks)} has no end (ER) line: the file is cut short")
    studies, refused = taken_and_refused(_study(position, chunk, terms) for position, chunk in enumerate(chunks, 1))
    return ParsedRecords(RIS, studies=studies, refused=refused)


def _records(text: str) -> list[str]:
    """The text of each record, from its ``TY`` line to the next record's."""
    starts = [match.start() for match in _START.finditer(text)]
    return [text[start:end] for start, end in zip(starts, [*starts[1:], len(text)], strict=True)]


def _study(position: int, chunk: str, terms: LiteratureTerms) -> Study | Refusal:
    try:
        records: list[dict[str, Any]] = rispy.loads(chunk)
        if not records:  # rispy drops a record without its ER line
            return Refusal(record_name(position), "no end (ER) line")
        return imported_study(_found(position, records[0]), terms)
    except Exception as error:  # whatever is wrong with one record refuses it alone, never the file
        return Refusal(record_name(position), f"unreadable ({type(error).__name__}: {error})")


def _found(position: int, record: dict[str, Any]) -> Found:
    notes = list(_all(record, "notes"))
    accession = _first(record, "accession_number") or ""
    database = (_first(record, "name_of_database") or "").lower()
    # The accession number is a PMID in a record of PubMed or MEDLINE, and a number in one naming no database;
    # another database's (CINAHL, Embase, Web of Science) is not.
    in_pubmed = "pubmed" in database or "medline" in database if database else accession.isdigit()
    pmid = (accession if in_pubmed else None) or next(
        (match.group(1) for note in notes if (match := _PMID_NOTE.search(note))), None
    )
    keywords = tuple(_all(record, "keywords"))
    start, end = _first(record, "start_page"), _first(record, "end_page")
    return Found(
        position=position,
        title=_first(record, "title", "primary_title") or "",
        year=year_in(_first(record, "year", "publication_year")),
        design=design_of(keywords),
        authors=tuple(author_name(author) for author in (_all(record, "authors") or _all(record, "first_authors"))),
        journal=_first(record, "journal_name", "alternate_title3", "secondary_title"),
        citation=citation_of(
            _first(record, "volume"), _first(record, "number"), "-".join(filter(None, (start, end))) or None
        ),
        pmid=pmid,
        doi=_first(record, "doi"),
        nct=nct_in(notes),
        keywords=keywords,
    )


def _first(record: dict[str, Any], *names: str) -> str | None:
    """The first value of the first of ``names`` the record has: rispy gives a list for a tag that a record
    repeats ("multiple key occurrences", in its words) or that is a list tag."""
    return next(_values(record, *names), None)


def _all(record: dict[str, Any], name: str) -> tuple[str, ...]:
    return tuple(_values(record, name))


def _values(record: dict[str, Any], *names: str) -> Iterator[str]:
    for name in names:
        value = record.get(name)
        for item in value if isinstance(value, list) else (value,):
            if isinstance(item, str) and item.strip():
                yield item.strip()
