"""The continuation report as a PDF (fpdf2): the page a clinician attaches to a continuation request.

It takes plain text values (see ``bont.web.views.outcomes``) and lays them out on A4. The PDF's built-in
fonts cover Latin-1 only, so the few other characters bont writes are spelled out."""

from __future__ import annotations

from typing import Any

from fpdf import FPDF

SPELLED_OUT = str.maketrans(
    {"→": "->", "≥": ">=", "≤": "<=", "–": "-", "—": "-", "−": "-", "·": "|", "’": "'", "‘": "'", "“": '"', "”": '"'}
)


def _text(value: object) -> str:
    return str(value).translate(SPELLED_OUT).encode("latin-1", "replace").decode("latin-1")


def _table(pdf: FPDF, header: tuple[str, ...], rows: list[tuple[str, ...]], widths: tuple[int, ...]) -> None:
    pdf.set_font("Helvetica", "B", 8.5)
    for title, width in zip(header, widths, strict=True):
        pdf.cell(width, 5.5, _text(title), border="B")
    pdf.ln()
    pdf.set_font("Helvetica", "", 8.5)
    for row in rows:
        for value, width in zip(row, widths, strict=True):
            pdf.cell(width, 5, _text(value))
        pdf.ln()


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 10.5)
    pdf.cell(0, 7, _text(text), new_x="LMARGIN", new_y="NEXT")


def _paragraph(pdf: FPDF, text: str, size: float = 8.5) -> None:
    pdf.set_font("Helvetica", "", size)
    pdf.multi_cell(0, 4.5, _text(text), new_x="LMARGIN", new_y="NEXT")


def render_continuation_pdf(report: dict[str, Any]) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_title(_text(report["title"]))
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 8, _text(report["title"]), new_x="LMARGIN", new_y="NEXT")
    _paragraph(pdf, f"{report['patient']}  |  generated {report['generated']}", 9)
    _paragraph(pdf, report["notice"], 7.5)
    for measure in report["measures"]:
        _heading(pdf, f"{measure['name']} ({measure['direction']})")
        _paragraph(pdf, f"Baseline: {measure['baseline']}    Latest: {measure['latest']}")
        for line in measure["verdicts"]:
            _paragraph(pdf, f"Responder verdict - {line}")
        for line in measure["continuation"]:
            _paragraph(pdf, f"Continuation - {line}")
        pdf.ln(1)
        _table(pdf, ("Measured", "Cycle", "Value"), measure["cycles"], (35, 25, 120))
    _heading(pdf, "Doses")
    _table(pdf, ("Date", "Product", "Units", "Check"), report["doses"], (35, 45, 35, 65))
    _heading(pdf, "Adverse events")
    if report["adverse_events"]:
        header = ("Onset", "Event", "Severity", "Serious", "Outcome")
        _table(pdf, header, report["adverse_events"], (35, 55, 30, 20, 40))
    else:
        _paragraph(pdf, "None recorded for this indication.")
    return bytes(pdf.output())
