"""Exports of the evidence library (RIS, BibTeX, CSV, CSL-JSON) read back with the libraries researchers' tools
use, and the per-indication evidence summary PDF."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import replace
from datetime import date

import bibtexparser
import pytest
import rispy
from bibtexparser.middlewares import LatexDecodingMiddleware

from bont.domain.studies import (
    Design,
    EvidenceLevel,
    IndicationEvidence,
    Origin,
    PrimaryResult,
    ProductStatus,
    Study,
    Trial,
    TrialStatus,
)
from bont.interop.citations import (
    ExportFormat,
    citation_keys,
    citation_parts,
    export_records,
    name_parts,
    to_bibtex,
    to_csl_json,
    to_ris,
)
from bont.interop.evidence_summary_pdf import DECISION_SUPPORT, render_evidence_summary_pdf
from tests.pdf_text import pdf_text

AAN_A = EvidenceLevel("AAN 2016", "A", "chronic-migraine", "onabotulinumtoxinA", source="aan-2016")

PREEMPT = Study(
    key="preempt-2",
    title='OnabotulinumtoxinA for "chronic" migraine: {PREEMPT 2}, 155–195 U & more, ≥12 weeks',
    year=2010,
    design=Design.RCT,
    indications=("chronic-migraine",),
    products=("onabotulinumtoxinA",),
    authors=("Diener HC", "Dodick DW", "Manack Adams A", "Kaňovský P"),
    journal="Cephalalgia",
    citation="30(7):804-14",
    pmid="20647171",
    doi="10.1177/0333102410364677",
    nct="NCT00168428",
    participants=705,
    doses="155 U at 31 sites, 5 U (0.1 mL) each; 100 U/vial in 2 mL, 50 µg albumin",
    comparator="placebo, saline 0.9%",
    result=PrimaryResult("change in headache days per 28 days", "−9.0 vs −6.7 days", "−3.3 to −1.4", "<0.001"),
    levels=(AAN_A,),
)
GUIDELINE = Study(
    key="aan-2016",
    title="Practice guideline update summary: botulinum neurotoxin for … spasticity, and headache",
    year=2016,
    design=Design.GUIDELINE,
    indications=("chronic-migraine", "cervical-dystonia"),
    products=("onabotulinumtoxinA", "abobotulinumtoxinA"),
    authors=("Simpson DM", "Guideline Development Subcommittee of the American Academy of Neurology"),
    journal="Neurology",
    citation="86(19):1818-26",
    pmid="27164716",
    doi="10.1212/WNL.0000000000002560",
    levels=(AAN_A, EvidenceLevel("AAN 2016", "B", "cervical-dystonia", "abobotulinumtoxinA")),
)
IMPORTED = Study(
    key="pmid:30000001",
    title="=HYPERLINK(\"http://x\") an imported, odd title with a 'quote' and a back\\slash",
    year=None,
    design=Design.SYSTEMATIC_REVIEW,
    indications=("depression",),
    other_products=("botulinum toxin (unspecified)",),
    authors=("Müller-Lüdenscheidt, Jörg",),
    pmid="30000001",
    doses="-29 U glabellar, +10 U optional",
    result=PrimaryResult("@risk outcome, HAM-D"),
    origin=Origin.IMPORTED,
)
RECRUITING = Trial(
    nct="NCT05000001",
    title="Botulinum toxin for depression: a trial, with commas, “quotes” and {braces}",
    status=TrialStatus.RECRUITING,
    indications=("depression",),
    products=("onabotulinumtoxinA",),
    phase="Phase 2/Phase 3",
    enrolment=120,
    sponsor="Université de Montréal",
    start=date(2024, 3, 1),
    primary_completion=date(2026, 12, 31),
    read_on=date(2026, 11, 1),
)
COMPLETED = Trial(
    nct="NCT01000002",
    title="=1+1 a completed trial",
    status=TrialStatus.COMPLETED,
    indications=("chronic-migraine",),
    results_posted=True,
)
STUDIES = (PREEMPT, GUIDELINE, IMPORTED)
TRIALS = (RECRUITING, COMPLETED)
RECORDS = (*STUDIES, *TRIALS)


def test_reads_pubmed_names_and_citations_as_reference_managers_need_them() -> None:
    assert name_parts("Manack Adams A") == ("Manack Adams", "A.")
    assert name_parts("Diener HC") == ("Diener", "H. C.")
    assert name_parts("Müller-Lüdenscheidt, Jörg") == ("Müller-Lüdenscheidt", "Jörg")
    assert name_parts("Guideline Development Subcommittee of the American Academy of Neurology") is None
    assert citation_parts("30(7):804-14") == {
        "volume": "30",
        "issue": "7",
        "pages": "804-814",
        "first_page": "804",
        "last_page": "814",
    }
    assert citation_parts("921-36") == {"pages": "921-936", "first_page": "921", "last_page": "936"}
    assert citation_parts("(4):CD005046") == {"issue": "4", "pages": "CD005046", "first_page": "CD005046"}
    assert citation_parts("137(3)") == {"volume": "137", "issue": "3"}


def test_citation_keys_are_unique_and_the_same_in_any_export() -> None:
    assert citation_keys(RECORDS) == [
        "diener2010-preempt-2",
        "simpson2016-aan-2016",
        "mullerludenscheidtnd-pmid30000001",
        "NCT05000001",
        "NCT01000002",
    ]
    twin = replace(PREEMPT, key="PREEMPT-2")  # cleaned (lower case) to the same key
    assert citation_keys([PREEMPT, twin]) == ["diener2010-preempt-2", "diener2010-preempt-2-2"]
    assert citation_keys([PREEMPT]) == citation_keys(RECORDS)[:1]


def test_ris_reads_back_with_rispy_field_by_field() -> None:
    preempt, guideline, imported, recruiting, completed = rispy.loads(to_ris(RECORDS))
    assert preempt["type_of_reference"] == "JOUR"
    assert preempt["title"] == PREEMPT.title
    assert preempt["authors"] == ["Diener, H. C.", "Dodick, D. W.", "Manack Adams, A.", "Kaňovský, P."]
    assert (preempt["secondary_title"], preempt["year"], preempt["volume"], preempt["number"]) == (
        "Cephalalgia",
        "2010",
        "30",
        "7",
    )
    assert (preempt["start_page"], preempt["end_page"]) == ("804", "814")
    assert (preempt["doi"], preempt["accession_number"]) == (PREEMPT.doi, "20647171")
    assert preempt["urls"] == ["https://pubmed.ncbi.nlm.nih.gov/20647171/"]
    assert preempt["type_of_work"] == "Randomised controlled trial"
    assert preempt["keywords"] == ["chronic-migraine", "onabotulinumtoxinA"]
    assert f"Doses: {PREEMPT.doses}" in preempt["notes"]  # as written: units stay the product's
    assert (
        "Primary outcome: change in headache days per 28 days: −9.0 vs −6.7 days, 95% CI −3.3 to −1.4, p <0.001"
        in (preempt["notes"])
    )
    assert "Evidence levels: AAN 2016 Level A (chronic-migraine, onabotulinumtoxinA)" in preempt["notes"]
    assert "Registration: NCT00168428" in preempt["notes"]
    assert guideline["type_of_reference"] == "JOUR"  # published in a journal
    assert guideline["authors"][1] == GUIDELINE.authors[1]
    assert imported["type_of_reference"] == "RPRT"  # a review known by no journal
    assert imported["title"] == IMPORTED.title
    assert imported["authors"] == ["Müller-Lüdenscheidt, Jörg"]
    assert "year" not in imported
    assert recruiting["type_of_reference"] == "ELEC"
    assert (recruiting["accession_number"], recruiting["name_of_database"]) == ("NCT05000001", "ClinicalTrials.gov")
    assert recruiting["urls"] == ["https://clinicaltrials.gov/study/NCT05000001"]
    assert recruiting["title"] == RECRUITING.title
    assert recruiting["authors"] == ["Université de Montréal"]
    assert recruiting["access_date"] == "2026/11/01"
    assert recruiting["notes"][:3] == [
        "Status: Recruiting (as of 2026-11-01)",
        "Phase: Phase 2/Phase 3",
        "Enrolment: 120",
    ]
    assert "Results posted: yes" in completed["notes"]


# What LaTeX cannot keep when it reads text back: a minus is math's "-" and a straight double quote is written ''.
LATEX_READS_BACK = str.maketrans({"−": "-", '"': "”"})


def test_bibtex_reads_back_with_bibtexparser_field_by_field() -> None:
    text = to_bibtex(RECORDS)
    raw = bibtexparser.parse_string(text)
    assert not raw.failed_blocks  # braces balanced, every value closed
    library = bibtexparser.parse_string(text, append_middleware=[LatexDecodingMiddleware()])
    entries = {entry.key: entry for entry in library.entries}
    assert list(entries) == citation_keys(RECORDS)
    preempt = entries["diener2010-preempt-2"]
    assert preempt.entry_type == "article"

    def value(entry: bibtexparser.model.Entry, name: str) -> str:
        return str(entry.fields_dict[name].value)

    assert value(preempt, "title") == PREEMPT.title.translate(LATEX_READS_BACK)
    assert value(preempt, "author") == "Diener, H. C. and Dodick, D. W. and Manack Adams, A. and Kaňovský, P."
    assert (value(preempt, "journal"), value(preempt, "year"), value(preempt, "volume")) == (
        "Cephalalgia",
        "2010",
        "30",
    )
    assert (value(preempt, "number"), value(preempt, "pages")) == ("7", "804–814")  # LaTeX's -- is an en dash
    assert (value(preempt, "doi"), value(preempt, "pmid")) == (PREEMPT.doi, PREEMPT.pmid)
    assert f"Doses: {PREEMPT.doses}" in value(preempt, "note")
    assert r"\{PREEMPT 2\}" in value(raw.entries[0], "title")  # a brace of the title is escaped, not markup
    assert entries["simpson2016-aan-2016"].entry_type == "article"
    assert value(entries["simpson2016-aan-2016"], "author").endswith(" and " + GUIDELINE.authors[1])
    imported = entries["mullerludenscheidtnd-pmid30000001"]
    assert imported.entry_type == "misc"
    assert value(imported, "title") == IMPORTED.title.translate(LATEX_READS_BACK)
    assert value(imported, "author") == "Müller-Lüdenscheidt, Jörg"
    recruiting = entries["NCT05000001"]
    assert recruiting.entry_type == "misc"
    assert value(recruiting, "url") == "https://clinicaltrials.gov/study/NCT05000001"
    assert value(recruiting, "title") == RECRUITING.title
    assert value(recruiting, "author") == "Université de Montréal"  # an organisation, braced whole
    assert value(recruiting, "howpublished") == "ClinicalTrials.gov, NCT05000001"
    assert value(recruiting, "urldate") == "2026-11-01"


def test_csv_reads_back_one_row_per_record_and_never_as_a_formula() -> None:
    studies = list(csv.DictReader(io.StringIO(export_records(STUDIES, ExportFormat.CSV)[0])))
    assert [row["key"] for row in studies] == ["preempt-2", "aan-2016", "pmid:30000001"]
    preempt = studies[0]
    assert preempt["title"] == PREEMPT.title
    assert preempt["authors"] == "Diener HC; Dodick DW; Manack Adams A; Kaňovský P"
    assert (preempt["journal"], preempt["year"], preempt["design"]) == (
        "Cephalalgia",
        "2010",
        "Randomised controlled trial",
    )
    assert (preempt["indications"], preempt["products"], preempt["participants"]) == (
        "chronic-migraine",
        "onabotulinumtoxinA",
        "705",
    )
    assert (preempt["comparator"], preempt["primary outcome"]) == (
        PREEMPT.comparator,
        "change in headache days per 28 days",
    )
    assert (preempt["effect"], preempt["CI"], preempt["p"]) == ("−9.0 vs −6.7 days", "−3.3 to −1.4", "<0.001")
    assert preempt["evidence levels"] == "AAN 2016 Level A (chronic-migraine, onabotulinumtoxinA)"
    assert preempt["doses"] == PREEMPT.doses
    assert (preempt["PMID"], preempt["DOI"], preempt["NCT"], preempt["origin"]) == (
        "20647171",
        PREEMPT.doi,
        "NCT00168428",
        "curated",
    )
    imported = studies[2]
    assert imported["title"] == "'" + IMPORTED.title  # a leading "=" would run as a formula
    assert imported["doses"] == "'-29 U glabellar, +10 U optional"
    assert imported["primary outcome"] == "'@risk outcome, HAM-D"
    assert (imported["year"], imported["products"], imported["origin"]) == (
        "",
        "botulinum toxin (unspecified)",
        "imported",
    )

    trials = list(csv.DictReader(io.StringIO(export_records(TRIALS, ExportFormat.CSV)[0])))
    assert trials[0] == {
        "NCT": "NCT05000001",
        "title": RECRUITING.title,
        "status": "Recruiting",
        "phase": "Phase 2/Phase 3",
        "enrolment": "120",
        "sponsor": "Université de Montréal",
        "start": "2024-03-01",
        "primary completion": "2026-12-31",
        "results posted": "no",
        "indications": "depression",
        "products": "onabotulinumtoxinA",
    }
    assert (trials[1]["title"], trials[1]["results posted"]) == ("'=1+1 a completed trial", "yes")
    with pytest.raises(ValueError, match="studies or trials, not both"):
        export_records(RECORDS, ExportFormat.CSV)


def _date_parts(value: object) -> list[list[int]]:
    assert isinstance(value, dict)
    assert set(value) == {"date-parts"}
    parts = value["date-parts"]
    assert isinstance(parts, list)
    assert len(parts) == 1
    assert all(isinstance(part, int) for part in parts[0])
    assert 1 <= len(parts[0]) <= 3
    return parts


def test_csl_json_items_have_the_shapes_citeproc_reads() -> None:
    items = json.loads(to_csl_json(RECORDS))
    strings = ("id", "type", "title", "container-title", "volume", "issue", "page", "DOI", "PMID", "URL", "note")
    for item in items:
        assert item["type"] in ("article-journal", "report", "dataset")
        assert all(isinstance(item[name], str) for name in strings if name in item)
        for name in item.get("author", []):
            assert set(name) in ({"family", "given"}, {"literal"})
            assert all(isinstance(part, str) and part for part in name.values())
    preempt, guideline, imported, recruiting, completed = items
    assert [item["id"] for item in items] == citation_keys(RECORDS)
    assert preempt["type"] == "article-journal"
    assert preempt["title"] == PREEMPT.title
    assert preempt["author"][2] == {"family": "Manack Adams", "given": "A."}
    assert _date_parts(preempt["issued"]) == [[2010]]
    assert (preempt["container-title"], preempt["volume"], preempt["issue"], preempt["page"]) == (
        "Cephalalgia",
        "30",
        "7",
        "804-814",
    )
    assert (preempt["DOI"], preempt["PMID"], preempt["URL"]) == (
        PREEMPT.doi,
        "20647171",
        "https://pubmed.ncbi.nlm.nih.gov/20647171/",
    )
    assert f"Doses: {PREEMPT.doses}" in preempt["note"].splitlines()
    assert guideline["author"][1] == {"literal": GUIDELINE.authors[1]}
    assert imported["type"] == "report"
    assert "issued" not in imported
    assert recruiting["type"] == "dataset"
    assert (recruiting["title"], recruiting["publisher"], recruiting["number"]) == (
        RECRUITING.title,
        "ClinicalTrials.gov",
        "NCT05000001",
    )
    assert recruiting["URL"] == "https://clinicaltrials.gov/study/NCT05000001"
    assert _date_parts(recruiting["accessed"]) == [[2026, 11, 1]]
    assert recruiting["author"] == [{"literal": "Université de Montréal"}]
    assert "author" not in completed


@pytest.mark.parametrize(
    ("format", "media_type", "suffix", "doses"),
    [
        (
            ExportFormat.RIS,
            "application/x-research-info-systems",
            ".ris",
            "5 U (0.1 mL) each; 100 U/vial in 2 mL, 50 µg",
        ),
        (ExportFormat.BIBTEX, "application/x-bibtex", ".bib", r"5 U (0.1 mL) each; 100 U/vial in 2 mL, 50 {\textmu}g"),
        (ExportFormat.CSV, "text/csv; charset=utf-8", ".csv", "5 U (0.1 mL) each; 100 U/vial in 2 mL, 50 µg"),
        (ExportFormat.CSLJSON, "application/vnd.citationstyles.csl+json", ".json", "100 U/vial in 2 mL, 50 µg"),
    ],
)
def test_every_export_says_what_it_is_keeps_the_doses_as_written_and_is_the_same_each_time(
    format: ExportFormat, media_type: str, suffix: str, doses: str
) -> None:
    text, media, ending = export_records(STUDIES, format)
    assert (media, ending) == (media_type, suffix)
    assert doses in text
    assert export_records(list(STUDIES), format)[0].encode() == text.encode()


def _evidence(studies: int, trials: int) -> IndicationEvidence:
    """Chronic migraine with PREEMPT 2 and ``studies - 1`` short studies, and ``trials`` registered trials."""
    short = replace(PREEMPT, title="A study", doses="155 U", result=None, levels=(), doi=None, nct=None)
    many = [PREEMPT] + [replace(short, key=f"study-{n}", pmid=str(31000000 + n)) for n in range(1, studies)]
    registered = [
        replace(RECRUITING, nct=f"NCT05{n:06d}", title="A trial", indications=("chronic-migraine",))
        for n in range(trials)
    ]
    return IndicationEvidence(
        indication="chronic-migraine",
        name="Chronic migraine",
        diagnosis_codes=("G43.709 Chronic migraine without aura, not intractable, without status migrainosus",),
        products=(
            ProductStatus("onabotulinumtoxinA", "onabotulinumtoxinA (BOTOX)", True),
            ProductStatus("abobotulinumtoxinA", "abobotulinumtoxinA (DYSPORT)", False),
        ),
        levels=(AAN_A,),
        studies=tuple(many),
        trials=tuple(registered),
        prepared_on=date(2026, 11, 29),
    )


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b", pdf))


def test_evidence_summary_pdf_names_the_indication_its_studies_and_the_clinician_decides() -> None:
    pdf = render_evidence_summary_pdf(_evidence(2, 1))
    assert pdf.startswith(b"%PDF")
    assert _pages(pdf) == 1
    text = " ".join(pdf_text(pdf).split())  # the lines a cell wraps, joined
    for expected in (
        "Evidence summary: Chronic migraine",
        "Prepared 2026-11-29",
        "G43.709 Chronic migraine without aura",
        "onabotulinumtoxinA (BOTOX): FDA-approved",
        "abobotulinumtoxinA (DYSPORT): off-label",
        "AAN 2016 Level A for onabotulinumtoxinA (BOTOX)",
        "[1] Diener HC et al., Cephalalgia, 2010",
        "PMID 20647171",
        "NCT05000000",
        "Recruiting (2026-11-01)",
        DECISION_SUPPORT,
        "bont evidence summary - 2026-11-29",  # the dash spelled out: the built-in font is Latin-1
        "Page 1 of 1",
    ):
        assert expected in text, expected
    # Characters beyond Latin-1 are spelled out, never dropped; µ is Latin-1 and stays.
    assert "155-195 U & more, >=12 weeks" in text
    assert "50 µg albumin" in text
    assert "?" not in text
    assert render_evidence_summary_pdf(_evidence(2, 1)) == pdf


def test_a_long_evidence_summary_runs_over_pages_each_with_the_table_header_and_the_footer() -> None:
    pdf = render_evidence_summary_pdf(_evidence(30, 40))
    pages = _pages(pdf)
    assert pages == 3  # the studies' table breaks after 25 rows, the trials' after 34
    text = " ".join(pdf_text(pdf).split())
    assert text.count(DECISION_SUPPORT) == pages + 1  # every page's foot, and once in the introduction
    assert f"Page {pages} of {pages}" in text
    assert text.count("Reference Design N Doses Primary outcome and result Level PMID / DOI") == 2
    assert text.count("NCT number Title Status Phase Enrolment") == 2
    assert "[30] Diener HC, Dodick DW, Manack Adams A, Kanovský P. A study." in text  # ň has no Latin-1 form: n


def test_no_value_can_start_a_line_of_its_own_in_ris() -> None:
    injected = "\nER  - \nTY  - JOUR\nTI  - Injected record"
    study = replace(
        IMPORTED, title=f"A title{injected}", journal=f"A journal{injected}", authors=(f"Lund, H{injected}",)
    )
    trial = replace(RECRUITING, sponsor=f"A sponsor{injected}", phase=f"Phase 2{injected}")
    study_entry, trial_entry = rispy.loads(to_ris([study, trial]))
    flat = " ER - TY - JOUR TI - Injected record"
    assert (study_entry["title"], study_entry["secondary_title"], study_entry["authors"]) == (
        f"A title{flat}",
        f"A journal{flat}",
        [f"Lund, H{flat}"],
    )
    assert (trial_entry["authors"], trial_entry["type_of_work"]) == ([f"A sponsor{flat}"], f"Phase 2{flat}")


def test_a_brace_in_a_verbatim_bibtex_field_cannot_end_the_entry() -> None:
    odd = replace(PREEMPT, doi="10.1177/0333}10241{0364677\\x", pmid="20647171}")
    odd_trial = replace(COMPLETED, nct="NCT01000002}, {x")
    text = to_bibtex([odd, GUIDELINE, odd_trial])
    library = bibtexparser.parse_string(text)
    assert not library.failed_blocks
    assert [entry.key for entry in library.entries] == ["diener2010-preempt-2", "simpson2016-aan-2016", "NCT01000002x"]
    assert library.entries[2].fields_dict["url"].value == "https://clinicaltrials.gov/study/NCT01000002%7D, %7Bx"
    doi = library.entries[0].fields_dict["doi"].value
    assert doi == "10.1177/0333%7D10241%7B0364677%5Cx"  # percent-encoded, as a DOI is in its URL
    assert library.entries[0].fields_dict["pmid"].value == "20647171%7D"
    assert library.entries[1].fields_dict["doi"].value == GUIDELINE.doi
