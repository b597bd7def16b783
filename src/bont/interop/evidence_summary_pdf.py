"""The evidence summary of one indication as a PDF (fpdf2), for a clinician to attach to a prior-authorisation
request: its diagnosis codes, each product's US label status, the guideline grades, the studies strongest first
(in the order ``bont.services.evidence_library.indication_evidence`` gives them), the registered trials and every
study's identifiers, each page footed by the decision-support line.

Like the continuation report (``continuation_pdf``) it uses the PDF's built-in Helvetica, which covers Latin-1
only: the few other characters the literature writes (–, −, ≥, Greek letters) are spelled out. Doses are printed
as the study reports them, in that product's units."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, time

from fpdf import FPDF
from fpdf.fonts import FontFace

from bont.domain.studies import EvidenceLevel, IndicationEvidence, Study, Trial
from bont.interop.citations import primary_result
from bont.interop.continuation_pdf import SPELLED_OUT

DECISION_SUPPORT = "Decision support, not a prescriber: the clinician decides."
SPELLED_OUT_TOO = str.maketrans(
    {
        "‐": "-",
        "‑": "-",
        "…": "...",
        "≈": "~",
        "≠": "!=",
        "μ": "µ",  # the Greek letter mu as the micro sign Latin-1 has
        "α": "alpha",
        "β": "beta",
        "γ": "gamma",
        "δ": "delta",
        "Δ": "Delta",
        "κ": "kappa",
        "•": "-",
    }
)
STUDY_COLUMNS = ("Reference", "Design", "N", "Doses", "Primary outcome and result", "Level", "PMID / DOI")
STUDY_WIDTHS = (30, 21, 10, 30, 49, 18, 22)
TRIAL_COLUMNS = ("NCT number", "Title", "Status", "Phase", "Enrolment")
TRIAL_WIDTHS = (24, 88, 32, 20, 16)
AUTHORS_LISTED = 6  # then "et al.", as the Vancouver style lists them


def _text(value: object) -> str:
    return "".join(_latin1(char) for char in str(value).translate(SPELLED_OUT).translate(SPELLED_OUT_TOO))


def _latin1(char: str) -> str:
    """A character as Latin-1 writes it: a letter beyond it without its accent (Kaňovský → Kanovský)."""
    if ord(char) < 256:
        return char
    base = "".join(part for part in unicodedata.normalize("NFKD", char) if not unicodedata.combining(part))
    return base if base and all(ord(part) < 256 for part in base) else "?"


class _SummaryPDF(FPDF):
    """A4 pages footed by the decision-support line, the document's name and date, and the page number."""

    def __init__(self, prepared: str) -> None:
        super().__init__(format="A4")
        self.prepared = prepared

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("Helvetica", "B", 7.5)
        self.cell(0, 4, DECISION_SUPPORT, new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", "", 7.5)
        self.cell(120, 4, _text(f"bont evidence summary — {self.prepared}"))
        self.cell(0, 4, f"Page {self.page_no()} of {{nb}}", align="R")


def _heading(pdf: FPDF, text: str) -> None:
    if pdf.will_page_break(20):  # a heading never ends a page without what it heads
        pdf.add_page()
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 10.5)
    pdf.cell(0, 7, _text(text), new_x="LMARGIN", new_y="NEXT")


def _paragraph(pdf: FPDF, text: str, size: float = 8.5, style: str = "") -> None:
    pdf.set_font("Helvetica", style, size)
    pdf.multi_cell(0, 4.5, _text(text), new_x="LMARGIN", new_y="NEXT")


def _table(pdf: FPDF, header: tuple[str, ...], rows: list[tuple[str, ...]], widths: tuple[int, ...]) -> None:
    """A table whose rows wrap their text and whose header row is repeated on every page it runs onto."""
    pdf.set_font("Helvetica", "", 7)
    with pdf.table(
        col_widths=widths,
        width=sum(widths),
        align="LEFT",
        text_align="LEFT",
        line_height=3.6,
        headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
        borders_layout="HORIZONTAL_LINES",
        repeat_headings=1,
    ) as table:
        for values in (header, *rows):
            row = table.row()
            for value in values:
                row.cell(_text(value))
    pdf.ln(1)


def _levels(levels: tuple[EvidenceLevel, ...], indication: str) -> str:
    return "; ".join(str(level) for level in levels if level.indication in (None, indication))


def _identifiers(study: Study) -> str:
    return "\n".join(
        part for part in (f"PMID {study.pmid}" if study.pmid else "", f"doi:{study.doi}" if study.doi else "") if part
    )


def _study_row(number: int, study: Study, indication: str) -> tuple[str, ...]:
    return (
        f"[{number}] {study.short_reference}",
        study.design.label,
        "" if study.participants is None else str(study.participants),
        study.doses or "",
        primary_result(study),
        _levels(study.levels, indication),
        _identifiers(study),
    )


def _trial_row(trial: Trial) -> tuple[str, ...]:
    return (
        trial.nct,
        trial.title,
        trial.status.label + (f" ({trial.read_on:%Y-%m-%d})" if trial.read_on else ""),
        trial.phase or "",
        "" if trial.enrolment is None else str(trial.enrolment),
    )


def _reference(number: int, study: Study) -> str:
    """The full reference (Vancouver style) and every identifier the study has."""
    authors = ", ".join(study.authors[:AUTHORS_LISTED]) + (", et al" if len(study.authors) > AUTHORS_LISTED else "")
    where = " ".join(part for part in (study.journal, str(study.year) if study.year else None) if part)
    if study.citation:
        where = f"{where};{study.citation}"
    ids = [f"PMID {study.pmid}" if study.pmid else "", f"doi:{study.doi}" if study.doi else ""]
    ids.append(f"ClinicalTrials.gov {study.nct}" if study.nct else "")
    text = ". ".join(part.rstrip(".") for part in (authors, study.title, where) if part)
    return f"[{number}] {text}." + "".join(f" {part}." for part in ids if part)


def _grade(level: EvidenceLevel, evidence: IndicationEvidence) -> str:
    """``AAN 2016 Level A for onabotulinumtoxinA (BOTOX) ([1] Simpson DM et al., Neurology, 2016)``: the grade,
    the product it grades and the guideline that gave it, numbered as in the studies' table."""
    products = {status.product: status.name for status in evidence.products}
    text = str(level)
    if level.product:
        text += f" for {products.get(level.product, level.product)}"
    # A level names the guideline that gave it; one that names none was given by the study that carries it.
    graded_by = (lambda study: study.key == level.source) if level.source else (lambda study: level in study.levels)
    by = next(
        (f"[{n}] {study.short_reference}" for n, study in enumerate(evidence.studies, 1) if graded_by(study)), None
    )
    return f"{text} ({by})" if by else text


def render_evidence_summary_pdf(evidence: IndicationEvidence) -> bytes:
    prepared = f"{evidence.prepared_on:%Y-%m-%d}"
    pdf = _SummaryPDF(prepared)
    # Dated the day it was prepared rather than the instant it was drawn: the same summary is the same file.
    pdf.set_creation_date(datetime.combine(evidence.prepared_on, time(), tzinfo=UTC))
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(auto=True, margin=18)  # room for the footer
    pdf.add_page()
    title = f"Evidence summary: {evidence.name}"
    pdf.set_title(_text(title))
    pdf.set_font("Helvetica", "B", 14)
    pdf.multi_cell(0, 8, _text(title), new_x="LMARGIN", new_y="NEXT")
    _paragraph(pdf, f"Prepared {prepared} from bont's evidence library", 9)
    _paragraph(
        pdf,
        "Studies, guideline grades and registered trials of botulinum toxin for this indication, as published and "
        "as registered. Doses are in each product's own units: units of different products are not "
        f"interchangeable. {DECISION_SUPPORT}",
        7.5,
    )

    _heading(pdf, "Diagnosis codes (ICD-10-CM)")
    _paragraph(pdf, "\n".join(evidence.diagnosis_codes) or "None recorded.")

    _heading(pdf, "Products and US label status")
    _paragraph(
        pdf,
        "\n".join(f"{status.name}: {status.label_status}" for status in evidence.products)
        or "No product of bont has a protocol or a study for this indication.",
    )

    _heading(pdf, "Guideline grades")
    _paragraph(pdf, "\n".join(_grade(level, evidence) for level in evidence.levels) or "No guideline grade recorded.")

    listed = len(evidence.studies)
    counted = f"the {listed} strongest of {evidence.studies_total}" if listed < evidence.studies_total else f"{listed}"
    _heading(pdf, f"Studies, strongest first ({counted})")
    if evidence.studies:
        rows = [_study_row(number, study, evidence.indication) for number, study in enumerate(evidence.studies, 1)]
        _table(pdf, STUDY_COLUMNS, rows, STUDY_WIDTHS)
    else:
        _paragraph(pdf, "No study recorded for this indication.")

    _heading(pdf, f"Registered trials ({len(evidence.trials)})")
    if evidence.trials:
        _table(pdf, TRIAL_COLUMNS, [_trial_row(trial) for trial in evidence.trials], TRIAL_WIDTHS)
        _paragraph(pdf, "Status as registered on ClinicalTrials.gov on the date in brackets.", 7.5)
    else:
        _paragraph(pdf, "No registered trial recorded for this indication.")

    if evidence.studies:
        _heading(pdf, "References and identifiers")
        for number, study in enumerate(evidence.studies, 1):
            _paragraph(pdf, _reference(number, study), 7.5)
    return bytes(pdf.output())


__all__ = ["DECISION_SUPPORT", "render_evidence_summary_pdf"]
