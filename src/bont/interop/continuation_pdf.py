"""The continuation report as a PDF (fpdf2): the pages a clinician signs and attaches to a continuation request.

It takes plain text values (``bont.services.report_documents.continuation_pdf_values``) and lays them out on
A4: who and what for (patient, ICD-10-CM code, prescriber and NPI), the advice of the continuation rules, then
per measure the verdicts, the outcome plot (the series the web page plots, drawn with lines) and a table per
treatment cycle, the doses, the adverse events, and a signature and date line. The PDF's built-in fonts cover
Latin-1 only, so the few other characters bont writes are spelled out."""

from __future__ import annotations

from datetime import date
from typing import Any

from fpdf import FPDF
from fpdf.fonts import FontFace

SPELLED_OUT = str.maketrans(
    {"→": "->", "≥": ">=", "≤": "<=", "–": "-", "—": "-", "−": "-", "·": "|", "’": "'", "‘": "'", "“": '"', "”": '"'}
)
ADVICE_COLOURS = {"stop": (176, 0, 0), "continue": (0, 110, 40)}
PLOT_HEIGHT = 42.0
PLOT_LEFT = 14.0  # room for the level labels


def _text(value: object) -> str:
    return str(value).translate(SPELLED_OUT).encode("latin-1", "replace").decode("latin-1")


def _table(pdf: FPDF, header: tuple[str, ...], rows: list[tuple[str, ...]], widths: tuple[int, ...]) -> None:
    pdf.set_font("Helvetica", "", 8)
    with pdf.table(
        col_widths=widths,
        width=sum(widths),
        align="LEFT",
        line_height=4.2,
        headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
        borders_layout="HORIZONTAL_LINES",
    ) as table:
        for values in (header, *rows):
            row = table.row()
            for value in values:
                row.cell(_text(value))
    pdf.ln(1)


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 10.5)
    pdf.cell(0, 7, _text(text), new_x="LMARGIN", new_y="NEXT")


def _paragraph(pdf: FPDF, text: str, size: float = 8.5, style: str = "") -> None:
    pdf.set_font("Helvetica", style, size)
    pdf.multi_cell(0, 4.5, _text(text), new_x="LMARGIN", new_y="NEXT")


def _labelled(pdf: FPDF, label: str, value: str) -> None:
    pdf.set_font("Helvetica", "B", 9)
    pdf.cell(38, 5.5, _text(label))
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(0, 5.5, _text(value), new_x="LMARGIN", new_y="NEXT")


def _plot(pdf: FPDF, plot: dict[str, Any]) -> None:
    """The measure over time: a line through the measurements (the baseline a larger dot), a dashed line at
    each session, the scale's low, middle and high levels; dates run left to right."""
    if pdf.will_page_break(PLOT_HEIGHT + 8):
        pdf.add_page()
    days = [date.fromisoformat(day) for day, _, _ in plot["points"]] + [
        date.fromisoformat(day) for day in plot["sessions"]
    ]
    first, span = min(days), max((max(days) - min(days)).days, 1)
    low, high = float(plot["low"]), float(plot["high"])
    left, top = pdf.l_margin + PLOT_LEFT, pdf.get_y() + 1
    width = pdf.epw - PLOT_LEFT

    def x_of(day: str) -> float:
        return left + width * (date.fromisoformat(day) - first).days / span

    def y_of(level: float) -> float:
        return top + PLOT_HEIGHT * (1 - (level - low) / (high - low))

    pdf.set_font("Helvetica", "", 7)
    pdf.set_draw_color(200, 200, 200)
    pdf.set_line_width(0.2)
    for level in (low, (low + high) / 2, high):
        pdf.line(left, y_of(level), left + width, y_of(level))
        pdf.text(pdf.l_margin, y_of(level) + 1, f"{level:g}")
    pdf.set_draw_color(120, 120, 120)
    pdf.set_dash_pattern(dash=1, gap=1)
    for day in plot["sessions"]:
        pdf.line(x_of(day), top, x_of(day), top + PLOT_HEIGHT)
    pdf.set_dash_pattern()
    pdf.set_draw_color(20, 60, 140)
    pdf.set_fill_color(20, 60, 140)
    pdf.set_line_width(0.5)
    line = [(x_of(day), y_of(level)) for day, level, _ in plot["points"]]
    if len(line) > 1:
        pdf.polyline(line)
    for (x, y), (_, _, baseline) in zip(line, plot["points"], strict=True):
        pdf.circle(x, y, 1.2 if baseline else 0.8, style="F")
    pdf.set_line_width(0.2)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_fill_color(255, 255, 255)  # the tables after the plot fill their heading rows with the current colour
    pdf.set_y(top + PLOT_HEIGHT + 1)
    legend = f"{plot['better']}; dashed lines are sessions; the larger dot is the baseline"
    pdf.text(left, pdf.get_y() + 2.5, _text(f"{first:%Y-%m-%d} to {max(days):%Y-%m-%d} ({legend})"))
    pdf.set_y(pdf.get_y() + 5)


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
    pdf.ln(1)
    _labelled(pdf, "Diagnosis (ICD-10-CM)", report["diagnosis"])
    _labelled(pdf, "Prescriber", report["prescriber"])
    pdf.ln(1)
    pdf.set_text_color(*ADVICE_COLOURS.get(report["advice"], (0, 0, 0)))
    _paragraph(pdf, report["advice_text"], 10, "B")
    pdf.set_text_color(0, 0, 0)
    for measure in report["measures"]:
        _heading(pdf, f"{measure['name']} ({measure['direction']})")
        for line in measure["continuation"]:
            _paragraph(pdf, f"Continuation rule - {line}")
        for line in measure["verdicts"]:
            _paragraph(pdf, f"Responder verdict - {line}")
        pdf.ln(1)
        if measure["plot"] is not None:
            _plot(pdf, measure["plot"])
        header = ("Cycle", "Session", "Given", "Measured (period or day)", "Change from baseline")
        _table(pdf, header, measure["cycles"], (14, 22, 32, 62, 50))
        for line in measure["unassigned"]:
            _paragraph(pdf, f"Not assigned to a cycle: {line}", 7.5)
    _heading(pdf, "Doses")
    _table(pdf, ("Date", "Product", "Units", "Check"), report["doses"], (35, 45, 35, 65))
    _heading(pdf, "Adverse events")
    if report["adverse_events"]:
        header = ("Onset", "Event", "Severity", "Serious", "Outcome")
        _table(pdf, header, report["adverse_events"], (30, 55, 30, 20, 45))
    else:
        _paragraph(pdf, "None recorded for this indication.")
    if pdf.will_page_break(30):
        pdf.add_page()
    pdf.ln(8)
    _paragraph(pdf, report["signature_note"], 8)
    pdf.ln(10)
    y = pdf.get_y()
    pdf.line(pdf.l_margin, y, pdf.l_margin + 95, y)
    pdf.line(pdf.l_margin + 115, y, pdf.l_margin + pdf.epw, y)
    pdf.set_font("Helvetica", "", 8)
    pdf.text(pdf.l_margin, y + 4, _text(f"Signature of the prescriber ({report['prescriber']})"))
    pdf.text(pdf.l_margin + 115, y + 4, "Date")
    return bytes(pdf.output())
