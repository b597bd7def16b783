"""Reading the literature files researchers download into evidence-library records, not yet stored: PubMed XML,
MEDLINE text, ClinicalTrials.gov API v2 JSON and RIS. The format is told from the content, not the file name.

Errors::

    ValueError
    └── LiteratureFileError   the file is none of these formats, is malformed as a whole, or is over
                              ``MAX_FILE_BYTES``

A malformed record inside a good file, or one not about botulinum toxin, is refused on its own
(``ParsedRecords.refused``), never ignored.
"""

from __future__ import annotations

from bont.domain.studies import ParsedRecords
from bont.interop.literature.clinicaltrials import read_clinicaltrials
from bont.interop.literature.pubmed import read_medline, read_pubmed_xml
from bont.interop.literature.records import LiteratureFileError
from bont.interop.literature.ris import read_ris
from bont.interop.literature.terms import LiteratureTerms, Recognition

__all__ = ["MAX_FILE_BYTES", "LiteratureFileError", "LiteratureTerms", "Recognition", "read_literature"]

_FORMATS = "PubMed XML, MEDLINE, ClinicalTrials.gov JSON or RIS"
# The largest file one import reads (a PubMed XML of several thousand articles): a file is read whole into memory,
# so a larger one is refused before any parsing, and imported in parts.
MAX_FILE_BYTES = 50_000_000


def read_literature(content: bytes, name: str, terms: LiteratureTerms) -> ParsedRecords:
    """The records of the literature file ``content`` (called ``name`` in messages), in whichever format it is."""
    if len(content) > MAX_FILE_BYTES:
        raise LiteratureFileError(
            f"{name}: {len(content):,} bytes is over the limit of {MAX_FILE_BYTES // 1_000_000} MB for one import; "
            "split the file"
        )
    if not content.strip():
        raise LiteratureFileError(f"{name}: the file is empty")
    if content.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return read_pubmed_xml(content, name, terms)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise LiteratureFileError(f"{name}: not UTF-8 text (byte {error.start}); save it as UTF-8") from None
    # Line endings as rispy and Bio.Medline expect them.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    start = text.lstrip()
    if start.startswith(("{", "[")):
        return read_clinicaltrials(text, name, terms)
    first_line = start.split("\n", 1)[0]
    if first_line.startswith("PMID-"):
        return read_medline(text, name, terms)
    if first_line.startswith("TY  -"):
        return read_ris(text, name, terms)
    raise LiteratureFileError(f"{name}: not a literature file bont reads ({_FORMATS})")
