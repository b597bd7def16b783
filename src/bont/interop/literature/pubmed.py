"""PubMed's two download formats: the XML of "Save → PubMed XML" (``<PubmedArticleSet>``), read by Biopython's
``Bio.Entrez`` against the NLM DTDs Biopython ships, and the MEDLINE text of "Save → PubMed format" (``PMID- ``
tagged lines), read by ``Bio.Medline``. Abstracts are not read: bont copies none."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from Bio import Entrez, Medline
from Bio.Entrez.Parser import CorruptedXMLError, DataHandler, NotXMLError, ValidationError

from bont.domain.studies import ParsedRecords, Refusal, Study
from bont.interop.literature.records import (
    Found,
    LiteratureFileError,
    citation_of,
    design_of,
    imported_study,
    record_name,
    taken_and_refused,
    year_in,
)
from bont.interop.literature.terms import LiteratureTerms

PUBMED_XML = "PubMed XML"
MEDLINE = "MEDLINE"

_ROOT = re.compile(rb"<PubmedArticleSet[\s>]")
_DOCTYPE = re.compile(rb"<!DOCTYPE\s+PubmedArticleSet\b[^>\[]*>")
_SYSTEM_ID = re.compile(rb'"([^"]*)"\s*>$')
_XML_DECLARATION = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*\?>")
# Biopython keeps the inline formatting of a mixed-content title as text: "<i>OnabotulinumtoxinA</i> in …".
_INLINE_MARKUP = re.compile(r"</?(?:i|b|u|sup|sub)>")
# "S0140-6736(20)30183-5 [pii] 10.1016/S0140-6736(20)30183-5 [doi]": Bio.Medline joins the LID lines of a record.
_TAGGED_DOI = re.compile(r"(\S+)\s*\[doi\]")


def read_pubmed_xml(content: bytes, name: str, terms: LiteratureTerms) -> ParsedRecords:
    """The studies of a PubMed XML file; an article not about botulinum toxin, or without a PMID, is refused."""
    try:
        # Biopython is not annotated: its calls are untyped to mypy.
        document = Entrez.read(io.BytesIO(_with_shipped_dtd(content, name)))  # type: ignore[no-untyped-call]
    except ValidationError as error:
        raise LiteratureFileError(f"{name}: not PubMed XML (<{error.name}> is not in PubMed's DTD)") from None
    except (CorruptedXMLError, NotXMLError) as error:
        raise LiteratureFileError(f"{name}: the XML is malformed or cut short ({error.msg})") from None
    studies, refused = taken_and_refused(
        _article(position, entry, terms) for position, entry in enumerate(document.get("PubmedArticle", []), start=1)
    )
    books = tuple(
        Refusal(f"book record {position}", "a book or chapter: bont imports journal articles")
        for position, _ in enumerate(document.get("PubmedBookArticle", []), start=1)
    )
    return ParsedRecords(PUBMED_XML, studies=studies, refused=refused + books)


def read_medline(text: str, name: str, terms: LiteratureTerms) -> ParsedRecords:
    """The studies of a MEDLINE file; a record not about botulinum toxin, or without a PMID, is refused."""
    records: list[Mapping[str, Any]] = []
    try:
        records.extend(Medline.parse(io.StringIO(text)))  # type: ignore[no-untyped-call]
    except KeyError:
        # Bio.Medline reads an indented line as continuing the tag above it; after a blank line (the end of a
        # record) there is none.
        raise LiteratureFileError(
            f"{name}: malformed MEDLINE after record {len(records)}: an indented line follows a blank line"
        ) from None
    studies, refused = taken_and_refused(
        _medline_record(position, record, terms) for position, record in enumerate(records, start=1)
    )
    if not studies and not refused:
        raise LiteratureFileError(f"{name}: no MEDLINE record (a PMID- line) in the file")
    return ParsedRecords(MEDLINE, studies=studies, refused=refused)


# -- PubMed XML


def _with_shipped_dtd(content: bytes, name: str) -> bytes:
    """``content`` declaring a PubMed DTD Biopython ships: the one it names if shipped, else the newest shipped.

    Biopython downloads a DTD it does not have, and refuses one named by an http address; an import never goes to
    the network, so a file naming a newer DTD (or none) is read against the newest one shipped, whose validation
    still refuses an element it does not define."""
    root = _ROOT.search(content)
    if root is None:
        raise LiteratureFileError(f"{name}: not PubMed XML (no PubmedArticleSet)")
    prologue = content[: root.start()]
    doctype = _DOCTYPE.search(prologue)
    named = _SYSTEM_ID.search(doctype.group()) if doctype else None
    wanted = named.group(1).decode("ascii", "replace").rsplit("/", 1)[-1] if named else ""
    shipped = _shipped_pubmed_dtds()
    if not shipped:
        raise LiteratureFileError(f"{name}: Biopython ships no PubMed DTD to read it against")
    dtd = wanted if wanted in shipped else max(shipped)
    declaration = (
        f'<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle//EN" '
        f'"https://dtd.nlm.nih.gov/ncbi/pubmed/out/{dtd}">'
    ).encode()
    if doctype:
        return content[: doctype.start()] + declaration + content[doctype.end() :]
    if b"<!DOCTYPE" in prologue:
        raise LiteratureFileError(f"{name}: not PubMed XML (an unexpected document type declaration)")
    after = match.end() if (match := _XML_DECLARATION.match(content)) else 0
    return content[:after] + b"\n" + declaration + content[after:]


def _shipped_pubmed_dtds() -> set[str]:
    folders = [DataHandler.global_dtd_dir, DataHandler.local_dtd_dir]
    return {path.name for folder in folders if folder for path in Path(folder).glob("pubmed_*.dtd")}


def _article(position: int, entry: Mapping[str, Any], terms: LiteratureTerms) -> Study | Refusal:
    citation = entry.get("MedlineCitation")
    article = citation.get("Article") if citation else None
    if not citation or not article:
        return Refusal(record_name(position), "no MedlineCitation/Article element")
    pmid = str(citation.get("PMID", "")).strip()
    if not pmid:
        return Refusal(record_name(position), "no PMID")
    listed = entry.get("PubmedData", {}).get("ArticleIdList", [])
    article_ids = {str(item.attributes.get("IdType")): str(item) for item in listed}
    located = {str(item.attributes.get("EIdType")): str(item) for item in article.get("ELocationID", [])}
    journal = article.get("Journal", {})
    issue = journal.get("JournalIssue", {})
    published = issue.get("PubDate", {})
    year = year_in(published.get("Year") or published.get("MedlineDate"))
    if year is None:
        year = next((year_in(str(item.get("Year"))) for item in article.get("ArticleDate", [])), None)
    pagination = article.get("Pagination", {})
    pages = pagination.get("MedlinePgn") or "-".join(
        str(pagination[part]) for part in ("StartPage", "EndPage") if pagination.get(part)
    )
    databanks = [bank for bank in article.get("DataBankList", []) if bank.get("DataBankName") == "ClinicalTrials.gov"]
    found = Found(
        position=position,
        title=_INLINE_MARKUP.sub("", str(article.get("ArticleTitle", ""))),
        year=year,
        design=design_of(article.get("PublicationTypeList", [])),
        authors=tuple(filter(None, (_author(author) for author in article.get("AuthorList", [])))),
        journal=str(journal.get("ISOAbbreviation") or journal.get("Title") or "") or None,
        citation=citation_of(issue.get("Volume"), issue.get("Issue"), pages or None),
        pmid=pmid,
        doi=located.get("doi") or article_ids.get("doi"),
        nct=next((str(number) for bank in databanks for number in bank.get("AccessionNumberList", [])), None),
        keywords=(
            *(str(heading["DescriptorName"]) for heading in citation.get("MeshHeadingList", [])),
            *(str(keyword) for keywords in citation.get("KeywordList", []) for keyword in keywords),
        ),
    )
    return imported_study(found, terms)


def _author(author: Mapping[str, Any]) -> str | None:
    """``Surname Initials`` as PubMed lists authors, or a group's name."""
    if author.get("CollectiveName"):
        return str(author["CollectiveName"])
    surname = author.get("LastName")
    if not surname:
        return None
    initials = author.get("Initials") or "".join(part[0] for part in str(author.get("ForeName", "")).split())
    return f"{surname} {initials}".strip()


# -- MEDLINE


def _medline_record(position: int, record: Mapping[str, Any], terms: LiteratureTerms) -> Study | Refusal:
    pmid = (record.get("PMID") or "").strip()
    if not pmid:
        return Refusal(record_name(position), "no PMID")
    tagged = _TAGGED_DOI.search(" ".join((*_values(record, "LID"), *_values(record, "AID"))))
    registered = (
        value.removeprefix("ClinicalTrials.gov/")
        for value in _values(record, "SI")
        if value.startswith("ClinicalTrials.gov/")
    )
    found = Found(
        position=position,
        title=record.get("TI", ""),
        year=year_in(record.get("DP")),
        design=design_of(_values(record, "PT")),
        authors=(*_values(record, "AU"), *_values(record, "CN")),
        journal=record.get("TA") or record.get("JT"),
        citation=citation_of(record.get("VI"), record.get("IP"), record.get("PG")),
        pmid=pmid,
        doi=tagged.group(1) if tagged else None,
        nct=next(registered, None),
        keywords=(
            # "*Torticollis/drug therapy": the heading without the major-topic star and the subheading.
            *(heading.lstrip("*").split("/")[0] for heading in _values(record, "MH")),
            *_values(record, "OT"),
        ),
    )
    return imported_study(found, terms)


def _values(record: Mapping[str, Any], tag: str) -> tuple[str, ...]:
    """A tag's values: Bio.Medline gives a list for tags that repeat and a string for the others."""
    value = record.get(tag)
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)
