"""The registry analyses' charts drawn with matplotlib: SVG text for the Research page, PNG bytes for files.

A chart (``bont.services.registry_analytics.Chart``) holds published values only: a suppressed cell is never
drawn. matplotlib is imported when a chart is first drawn, with its non-interactive Agg backend, so that a page
or command that draws nothing never loads it.
"""

from __future__ import annotations

import io
import textwrap
from typing import TYPE_CHECKING, Any

from bont.services.registry_analytics import Chart, ChartKind

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WIDTH_INCHES, HEIGHT_INCHES = 6.4, 3.6
PNG_DPI = 150
TITLE_WIDTH = 80  # characters per line: a long title wraps instead of running off the figure
LABEL_WIDTH = 50  # likewise a legend's label


def _figure(chart: Chart) -> Figure:
    # The Figure class itself, not pyplot: no global state, nothing kept between requests.
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), layout="constrained")
    axes = figure.add_subplot()
    axes.set_title(textwrap.fill(chart.title, TITLE_WIDTH), fontsize=9)
    axes.set_xlabel(chart.x_label)
    axes.set_ylabel(chart.y_label)
    axes.grid(True, alpha=0.3)
    drawers = {ChartKind.POINTS: _points, ChartKind.STEPS: _steps, ChartKind.BARS: _bars}
    drawers[chart.kind](axes, chart)
    if chart.integer_x:
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if chart.y_limits is not None:
        axes.set_ylim(*chart.y_limits)
    if len(chart.series) > 1 or chart.kind is not ChartKind.BARS:
        handles, labels = axes.get_legend_handles_labels()
        axes.legend(handles, [textwrap.fill(label, LABEL_WIDTH) for label in labels], fontsize=7, loc="best")
    return figure


def _points(axes: Any, chart: Chart) -> None:
    for series in chart.series:
        if series.low:
            below = [y - low for y, low in zip(series.y, series.low, strict=True)]
            above = [high - y for y, high in zip(series.y, series.high, strict=True)]
            axes.errorbar(series.x, series.y, yerr=[below, above], marker="o", capsize=3, label=series.label)
        else:
            axes.plot(series.x, series.y, marker="o", label=series.label)


def _steps(axes: Any, chart: Chart) -> None:
    for series in chart.series:
        (line,) = axes.step(series.x, series.y, where="post", label=series.label)
        if series.low:
            axes.fill_between(series.x, series.low, series.high, step="post", alpha=0.2, color=line.get_color())


def _bars(axes: Any, chart: Chart) -> None:
    count = max(len(chart.series), 1)
    width = 0.8 / count
    for index, series in enumerate(chart.series):
        positions = [x + (index - (count - 1) / 2) * width for x in series.x]
        axes.bar(positions, series.y, width=width, label=series.label)
    axes.set_xticks(range(len(chart.categories)), chart.categories, rotation=30, ha="right", fontsize=7)


def svg(chart: Chart) -> str:
    """The chart as an SVG element for a page (no XML declaration; text kept as text, so it reads and scales)."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": chart.name}):
        _figure(chart).savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def png(chart: Chart) -> bytes:
    buffer = io.BytesIO()
    _figure(chart).savefig(buffer, format="png", dpi=PNG_DPI)
    return buffer.getvalue()
