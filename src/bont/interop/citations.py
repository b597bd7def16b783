"""Exports of the evidence library's search results for reference managers and spreadsheets: RIS (rispy), BibTeX
(bibtexparser, values LaTeX-encoded with pylatexenc), CSV and CSL-JSON (the Citation Style Language's input).

Each export takes studies and registered trials (``bont.domain.studies``) and returns text; ``export_records``
picks the format and says what the text is (media type, file suffix). Every figure is exported as the record
states it: the doses text keeps its product's units, and nothing is converted or summed."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from enum import StrEnum

import rispy
from bibtexparser.entrypoint import write_string
from bibtexparser.library import Library
from bibtexparser.model import Entry, Field
from pylatexenc.latexencode import UnicodeToLatexEncoder

from bont.domain.studies import Design, Study, Trial

Record = Study | Trial


class ExportFormat(StrEnum):
    RIS = "ris"
    BIBTEX = "bibtex"
    CSV = "csv"
    CSLJSON = "csljson"


MEDIA_TYPES = {
    ExportFormat.RIS: ("application/x-research-info-systems", ".ris"),
    ExportFormat.BIBTEX: ("application/x-bibtex", ".bib"),
    ExportFormat.CSV: ("text/csv; charset=utf-8", ".csv"),
    ExportFormat.CSLJSON: ("application/vnd.citationstyles.csl+json", ".json"),
}

REGISTRY = "ClinicalTrials.gov"


def trial_url(nct: str) -> str:
    return f"https://clinicaltrials.gov/study/{nct}"


def pubmed_url(pmid: str) -> str:
    return f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/"


def export_records(records: Iterable[Record], format: ExportFormat) -> tuple[str, str, str]:
    """``records`` in ``format``: the text, its media type and its file suffix. A CSV holds studies or trials,
    not both (their columns differ); ``ValueError`` says so."""
    records = list(records)
    media_type, suffix = MEDIA_TYPES[format]
    if format is ExportFormat.RIS:
        return to_ris(records), media_type, suffix
    if format is ExportFormat.BIBTEX:
        return to_bibtex(records), media_type, suffix
    if format is ExportFormat.CSLJSON:
        return to_csl_json(records), media_type, suffix
    studies = [record for record in records if isinstance(record, Study)]
    trials = [record for record in records if isinstance(record, Trial)]
    if studies and trials:
        raise ValueError("a CSV export holds studies or trials, not both: export each on its own")
    return (trials_csv(trials) if trials else studies_csv(studies)), media_type, suffix


# -- what every format needs: names, citation parts, keys

# PubMed writes an author as the family name then the initials ("Manack Adams A"); an import may bring
# "Family, Given". Anything else (a group, a committee) is kept whole.
_PUBMED_NAME = re.compile(r"(?P<family>.+?)\s+(?P<initials>[A-Z]{1,4})")
_CITATION = re.compile(r"(?P<volume>[^():]+)?(?:\((?P<issue>[^)]*)\))?(?::(?P<pages>.+))?")


def name_parts(author: str) -> tuple[str, str] | None:
    """``(family, given)`` of an author as the record names them, initials dotted (``Aurora SK`` →
    ``("Aurora", "S. K.")``); ``None`` for a name that is not a person's (a group, kept whole)."""
    if "," in author:
        family, _, given = author.partition(",")
        return family.strip(), given.strip()
    if match := _PUBMED_NAME.fullmatch(author.strip()):
        return match["family"], " ".join(f"{initial}." for initial in match["initials"])
    return None


def citation_parts(citation: str | None) -> dict[str, str]:
    """Volume, issue and pages of a PubMed-style citation (``30(7):793-803``); a bare range is pages. The
    abbreviated last page PubMed writes (``804-14``) is written out (``814``): reference managers read it whole."""
    if not citation:
        return {}
    text = citation.strip()
    if re.fullmatch(r"\d+-\d+", text):
        text = f":{text}"
    match = _CITATION.fullmatch(text)
    if match is None:
        return {}
    parts = {name: value.strip() for name, value in match.groupdict().items() if value and value.strip()}
    if pages := parts.get("pages"):
        first, dash, last = pages.partition("-")
        if dash and first.isdigit() and last.isdigit() and len(last) < len(first):
            last = first[: len(first) - len(last)] + last
        parts["first_page"] = first
        if dash:
            parts["last_page"] = last
            parts["pages"] = f"{first}-{last}"
    return parts


def citation_keys(records: Sequence[Record]) -> list[str]:
    """A citation key per record, the same in every export and every time: a trial's NCT number; a study's first
    author and year, then its key in the library (``aurora2010-preempt-1``). Keys the cleaning made equal get a
    number, in the order of ``records``."""
    keys: list[str] = []
    taken: set[str] = set()
    for record in records:
        # Only letters, digits and hyphens: a key ends at a comma or brace in BibTeX.
        key = (
            (re.sub(r"[^A-Za-z0-9-]+", "", record.nct) or "trial") if isinstance(record, Trial) else _study_key(record)
        )
        unique, n = key, 1
        while unique in taken:
            n += 1
            unique = f"{key}-{n}"
        taken.add(unique)
        keys.append(unique)
    return keys


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _study_key(study: Study) -> str:
    author = study.first_author
    parts = name_parts(author) if author else None
    # A person by the whole family name (Manack Adams → manackadams); a group or an anonymous study by its first word.
    who = parts[0] if parts else next(iter((author or study.title).split()), "")
    stem = re.sub(r"[^a-z]", "", _ascii(who).lower()) or "study"
    own = re.sub(r"[^a-z0-9-]+", "", _ascii(study.key).lower())
    return f"{stem}{study.year or 'nd'}-{own}"


def _levels(study: Study) -> str:
    """The guideline grades as a reader names them: ``AAN 2016 Level A (chronic-migraine, onabotulinumtoxinA)``."""
    return "; ".join(
        f"{level} ({', '.join(part for part in (level.indication, level.product) if part)})"
        if level.indication or level.product
        else str(level)
        for level in study.levels
    )


def primary_result(study: Study) -> str:
    """The primary outcome and what the study found, in one line: ``outcome: effect (95% CI …), p …``."""
    if study.result is None:
        return ""
    result = study.result
    interval = result.interval
    if interval and "CI" not in interval:
        interval = f"95% CI {interval}"
    found = ", ".join(
        part for part in (result.effect, interval, f"p {result.p_value}" if result.p_value else None) if part
    )
    return f"{result.outcome}: {found}" if found else result.outcome


def _one_line(text: str) -> str:
    # RIS is one value per line: a line break inside a value would start a new tag.
    return " ".join(text.split())


def _study_notes(study: Study) -> list[str]:
    """What a reference manager has no field for, one note each, in plain words."""
    notes = [
        f"Design: {study.design.label}",
        f"Participants: {study.participants}" if study.participants is not None else "",
        f"Population: {study.population}" if study.population else "",
        f"Doses: {study.doses}" if study.doses else "",
        f"Comparator: {study.comparator}" if study.comparator else "",
        f"Primary outcome: {primary_result(study)}" if study.result else "",
        f"Follow-up: {study.follow_up}" if study.follow_up else "",
        f"Evidence levels: {_levels(study)}" if study.levels else "",
        f"Registration: {study.nct}" if study.nct else "",
    ]
    return [_one_line(note) for note in notes if note]


def _trial_notes(trial: Trial) -> list[str]:
    notes = [
        f"Status: {trial.status.label}" + (f" (as of {trial.read_on:%Y-%m-%d})" if trial.read_on else ""),
        f"Phase: {trial.phase}" if trial.phase else "",
        f"Enrolment: {trial.enrolment}" if trial.enrolment is not None else "",
        f"Start: {trial.start:%Y-%m-%d}" if trial.start else "",
        f"Primary completion: {trial.primary_completion:%Y-%m-%d}" if trial.primary_completion else "",
        f"Results posted: {'yes' if trial.results_posted else 'no'}",
        f"Primary outcome: {trial.primary_outcome}" if trial.primary_outcome else "",
    ]
    return [_one_line(note) for note in notes if note]


def _is_article(study: Study) -> bool:
    """Whether a study cites as a journal article: any study with a journal (guidelines and reviews included, as
    they are published); a guideline or review known by no journal is a report."""
    return bool(study.journal) or study.design not in (Design.GUIDELINE, Design.SYSTEMATIC_REVIEW)


# -- RIS


class _RisWriter(rispy.RisWriter):  # type: ignore[misc]  # rispy is untyped; its writers are made to subclass
    """rispy's writer without the running number it puts before each record, which RIS does not define."""

    def set_header(self, count: int) -> str:
        return ""


def to_ris(records: Sequence[Record]) -> str:
    """RIS (the Research Information Systems tagged format): a journal study as ``JOUR``, a guideline or review
    known by no journal as ``RPRT``, a registered trial as ``ELEC`` (a record on ClinicalTrials.gov, with its URL
    and the accession number ``AN`` its NCT number). The design is the type of work (``M3``)."""
    return str(
        rispy.dumps(
            [_ris_study(r) if isinstance(r, Study) else _ris_trial(r) for r in records], implementation=_RisWriter
        )
    )


def _ris_entry(entry: dict[str, str | list[str] | None]) -> dict[str, object]:
    """The tags of ``entry`` that have a value, each value on one line: a line break inside a value would start
    a line of its own, which a reader takes for a tag (``ER  -`` would end the record)."""
    one_line: dict[str, object] = {}
    for tag, value in entry.items():
        if isinstance(value, list):
            value = [line for line in map(_one_line, value) if line]
        elif value is not None:
            value = _one_line(value)
        if value:
            one_line[tag] = value
    return one_line


def _ris_study(study: Study) -> dict[str, object]:
    parts = citation_parts(study.citation)
    return _ris_entry(
        {
            "type_of_reference": "JOUR" if _is_article(study) else "RPRT",
            "title": study.title,
            "authors": [_ris_name(author) for author in study.authors],
            "secondary_title": study.journal,
            "year": str(study.year) if study.year else None,
            "volume": parts.get("volume"),
            "number": parts.get("issue"),
            "start_page": parts.get("first_page"),
            "end_page": parts.get("last_page"),
            "doi": study.doi,
            "accession_number": study.pmid,
            "name_of_database": "PubMed" if study.pmid else None,
            "urls": [pubmed_url(study.pmid)] if study.pmid else [],
            "type_of_work": study.design.label,
            "keywords": [*study.indications, *study.products, *study.other_products],
            "notes": _study_notes(study),
        }
    )


def _ris_trial(trial: Trial) -> dict[str, object]:
    return _ris_entry(
        {
            "type_of_reference": "ELEC",
            "title": trial.title,
            "authors": [trial.sponsor] if trial.sponsor else [],
            "accession_number": trial.nct,
            "name_of_database": REGISTRY,
            "urls": [trial_url(trial.nct)],
            "access_date": f"{trial.read_on:%Y/%m/%d}" if trial.read_on else None,
            "type_of_work": trial.phase,
            "keywords": [*trial.indications, *trial.products, *trial.other_products],
            "notes": _trial_notes(trial),
        }
    )


def _ris_name(author: str) -> str:
    parts = name_parts(author)
    return f"{parts[0]}, {parts[1]}" if parts else author


# -- BibTeX

# LaTeX for every character TeX treats specially and every non-ASCII one it knows (é → \'e, − → a math minus);
# characters it has no macro for (CJK) stay as written, for biber and XeLaTeX.
_LATEX = UnicodeToLatexEncoder(unknown_char_policy="keep", unknown_char_warning=False)
# Fields biblatex reads verbatim, where a LaTeX escape would break the link: percent-encoded instead, as a URL
# writes a brace or backslash, so that no value can close the entry early.
_VERBATIM = frozenset({"doi", "url", "pmid", "urldate"})
_URL_ESCAPES = str.maketrans({"{": "%7B", "}": "%7D", "\\": "%5C"})


def to_bibtex(records: Sequence[Record]) -> str:
    """BibTeX: a study as ``@article`` (a guideline or review known by no journal as ``@misc``, the one type that
    BibTeX and biblatex both know for it), a registered trial as ``@misc`` with its ClinicalTrials.gov ``url``.
    Titles are braced whole so that no style changes their case (onabotulinumtoxinA)."""
    library = Library()
    for record, key in zip(records, citation_keys(records), strict=True):
        library.add(_bibtex_study(record, key) if isinstance(record, Study) else _bibtex_trial(record, key))
    return write_string(library)


def _bibtex_entry(kind: str, key: str, values: dict[str, str | None]) -> Entry:
    fields = [
        # The author list is encoded name by name (``_bibtex_name``).
        Field(name, value if name == "author" else _verbatim(value) if name in _VERBATIM else _latex(name, value))
        for name, value in values.items()
        if value not in (None, "")
    ]
    return Entry(kind, key, fields)


def _verbatim(value: str) -> str:
    return _one_line(value).translate(_URL_ESCAPES)


def _latex(name: str, value: str) -> str:
    encoded = _LATEX.unicode_to_latex(_one_line(value))
    return f"{{{encoded}}}" if name == "title" else encoded


def _bibtex_study(study: Study, key: str) -> Entry:
    parts = citation_parts(study.citation)
    return _bibtex_entry(
        "article" if _is_article(study) else "misc",
        key,
        {
            "author": " and ".join(_bibtex_name(author) for author in study.authors),
            "title": study.title,
            "journal": study.journal,
            "year": str(study.year) if study.year else None,
            "volume": parts.get("volume"),
            "number": parts.get("issue"),
            "pages": parts.get("pages", "").replace("-", "--") or None,
            "doi": study.doi,
            "pmid": study.pmid,
            "keywords": ", ".join((*study.indications, *study.products, *study.other_products)),
            "note": "; ".join(_study_notes(study)),
        },
    )


def _bibtex_trial(trial: Trial, key: str) -> Entry:
    return _bibtex_entry(
        "misc",
        key,
        {
            # An organisation, braced so that BibTeX does not take its last word for a family name.
            "author": f"{{{_LATEX.unicode_to_latex(_one_line(trial.sponsor))}}}" if trial.sponsor else None,
            "title": trial.title,
            "howpublished": f"{REGISTRY}, {trial.nct}",
            "url": trial_url(trial.nct),
            "urldate": f"{trial.read_on:%Y-%m-%d}" if trial.read_on else None,
            "keywords": ", ".join((*trial.indications, *trial.products, *trial.other_products)),
            "note": "; ".join(_trial_notes(trial)),
        },
    )


def _bibtex_name(author: str) -> str:
    """``Family, Given`` in LaTeX; a group's name braced whole, as BibTeX reads an organisation."""
    author = _one_line(author)
    parts = name_parts(author)
    if parts is None:
        return f"{{{_LATEX.unicode_to_latex(author)}}}"
    return f"{_LATEX.unicode_to_latex(parts[0])}, {_LATEX.unicode_to_latex(parts[1])}"


# -- CSV

STUDY_COLUMNS = (
    "key",
    "title",
    "authors",
    "journal",
    "year",
    "design",
    "indications",
    "products",
    "participants",
    "comparator",
    "primary outcome",
    "effect",
    "CI",
    "p",
    "evidence levels",
    "doses",
    "PMID",
    "DOI",
    "NCT",
    "origin",
)
TRIAL_COLUMNS = (
    "NCT",
    "title",
    "status",
    "phase",
    "enrolment",
    "sponsor",
    "start",
    "primary completion",
    "results posted",
    "indications",
    "products",
)


def _cell(value: object) -> str:
    """A cell as a spreadsheet shows it, never as a formula (OWASP, CSV injection), as bont's billing export."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([_cell(value) for value in row] for row in rows)
    return buffer.getvalue()


def studies_csv(studies: Iterable[Study]) -> str:
    """One row per study in ``STUDY_COLUMNS``; lists joined with "; "."""
    return _csv(
        STUDY_COLUMNS,
        (
            (
                study.key,
                study.title,
                "; ".join(study.authors),
                study.journal,
                study.year,
                study.design.label,
                "; ".join(study.indications),
                "; ".join((*study.products, *study.other_products)),
                study.participants,
                study.comparator,
                study.result.outcome if study.result else None,
                study.result.effect if study.result else None,
                study.result.interval if study.result else None,
                study.result.p_value if study.result else None,
                _levels(study),
                study.doses,
                study.pmid,
                study.doi,
                study.nct,
                study.origin.value,
            )
            for study in studies
        ),
    )


def trials_csv(trials: Iterable[Trial]) -> str:
    """One row per registered trial in ``TRIAL_COLUMNS``; dates as YYYY-MM-DD."""
    return _csv(
        TRIAL_COLUMNS,
        (
            (
                trial.nct,
                trial.title,
                trial.status.label,
                trial.phase,
                trial.enrolment,
                trial.sponsor,
                trial.start.isoformat() if trial.start else None,
                trial.primary_completion.isoformat() if trial.primary_completion else None,
                "yes" if trial.results_posted else "no",
                "; ".join(trial.indications),
                "; ".join((*trial.products, *trial.other_products)),
            )
            for trial in trials
        ),
    )


# -- CSL-JSON


def to_csl_json(records: Sequence[Record]) -> str:
    """CSL-JSON items (citeproc's input, read by Zotero, Pandoc and Mendeley): a study as ``article-journal``
    (a guideline or review known by no journal as ``report``), a registered trial as ``dataset`` published by
    ClinicalTrials.gov. Ids are the citation keys of the BibTeX export."""
    items = [
        _csl_study(record, key) if isinstance(record, Study) else _csl_trial(record, key)
        for record, key in zip(records, citation_keys(records), strict=True)
    ]
    return json.dumps(items, ensure_ascii=False, indent=2) + "\n"


def _csl_name(author: str) -> dict[str, str]:
    parts = name_parts(author)
    return {"family": parts[0], "given": parts[1]} if parts else {"literal": author}


def _date_parts(*parts: int) -> dict[str, list[list[int]]]:
    return {"date-parts": [list(parts)]}


def _csl_study(study: Study, key: str) -> dict[str, object]:
    parts = citation_parts(study.citation)
    item: dict[str, object] = {
        "id": key,
        "type": "article-journal" if _is_article(study) else "report",
        "title": study.title,
        "author": [_csl_name(author) for author in study.authors],
        "container-title": study.journal,
        "issued": _date_parts(study.year) if study.year else None,
        "volume": parts.get("volume"),
        "issue": parts.get("issue"),
        "page": parts.get("pages"),
        "DOI": study.doi,
        "PMID": study.pmid,
        "URL": pubmed_url(study.pmid) if study.pmid else None,
        "genre": study.design.label,
        "keyword": ", ".join((*study.indications, *study.products, *study.other_products)),
        "note": "\n".join(_study_notes(study)),
    }
    return {name: value for name, value in item.items() if value not in (None, [], "")}


def _csl_trial(trial: Trial, key: str) -> dict[str, object]:
    item: dict[str, object] = {
        "id": key,
        "type": "dataset",
        "title": trial.title,
        "author": [{"literal": trial.sponsor}] if trial.sponsor else [],
        "publisher": REGISTRY,
        "number": trial.nct,
        "accessed": _date_parts(trial.read_on.year, trial.read_on.month, trial.read_on.day) if trial.read_on else None,
        "status": trial.status.label,
        "URL": trial_url(trial.nct),
        "keyword": ", ".join((*trial.indications, *trial.products, *trial.other_products)),
        "note": "\n".join(_trial_notes(trial)),
    }
    return {name: value for name, value in item.items() if value not in (None, [], "")}


__all__ = [
    "MEDIA_TYPES",
    "STUDY_COLUMNS",
    "TRIAL_COLUMNS",
    "ExportFormat",
    "citation_keys",
    "citation_parts",
    "export_records",
    "name_parts",
    "primary_result",
    "studies_csv",
    "to_bibtex",
    "to_csl_json",
    "to_ris",
    "trials_csv",
]
