"""The chart's long parts, written in one pass each: the timeline of sessions, the measurements entered and the
outcome plots. A chart of twenty years has dozens of rows and plots of dozens of points, and the template engine
spent a third of the chart's time on their cells (a variable lookup, an escape, a filter and a reversed address
each). The HTML is the one the template wrote; the filters are Django's own, called directly."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from html import escape  # what Django's own escape calls

from django import template
from django.template.defaultfilters import date, floatformat
from django.urls import reverse
from django.utils.formats import localize
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import is_aware, localtime

from bont.interop.strict_json import MAX_ID
from bont.services.outcomes import OutcomeEntry
from bont.services.patients import ChartSession
from bont.web.plots import OutcomePlot

register = template.Library()


def record_addresses(route: str) -> Callable[[int], str]:
    """``reverse(route, args=[record_id])`` for many records at the cost of one reverse: the route's address
    with the record's id put where the largest id was."""
    head, _, tail = reverse(route, args=[MAX_ID]).rpartition(str(MAX_ID))
    return lambda record_id: f"{head}{record_id}{tail}"


@register.simple_tag
def timeline_rows(sessions: Iterable[ChartSession]) -> SafeString:
    """One ``<tr>`` per session, newest first: its date (a link to the session), who gave and recorded it, the
    product, the indication, the units and the check's verdict, an override or a withdrawal."""
    session_address = record_addresses("session")
    rows = []
    for row in sessions:
        s = row.session
        given = ""
        if s.recorded_by:
            # in the clinic's zone, as the template's date filter shows a moment
            at = (
                f" at {date(localtime(s.given_at) if is_aware(s.given_at) else s.given_at, 'H:i')}"
                if s.given_at
                else ""
            )
            given = (
                f'<br><span class="meta given">Given by {escape(s.given_by or s.recorded_by)}{at} · recorded by '
                f"{escape(s.recorded_by)}</span>"
            )
        check = f'<span class="verdict {escape(s.verdict)}">{escape(s.verdict)}</span>'
        if s.blocked:
            check += f" · overridden: {escape(s.override_reason)}"
        if s.withdrawn_reason:
            corrected = (
                f' · corrected by <a href="{session_address(s.corrected_by)}">session {s.corrected_by}</a>'
                if s.corrected_by
                else ""
            )
            check += (
                f'<span class="withdrawal">withdrawn by {escape(s.withdrawn_by or "the command line")}: '
                f"{escape(s.withdrawn_reason)}{corrected}</span>"
            )
        rows.append(
            f'\n      <tr class="{"withdrawn" if s.withdrawn_reason else ""}" data-session="{s.id}"><td>'
            f'<a href="{session_address(s.id)}">{s.on.isoformat()}</a>{given}</td><td>{escape(row.brand)}</td>'
            f"<td>{escape(row.indication)}</td>\n"
            f'          <td class="num">{floatformat(s.total_units, "-2")}</td>\n'
            f"          <td>{check}</td></tr>\n    "
        )
    return mark_safe("".join(rows))  # every value above is escaped or a number


@register.simple_tag
def outcome_entry_rows(entries: Iterable[OutcomeEntry], may_correct: bool) -> SafeString:
    """One ``<tr>`` per measurement entered: its date, indication, measure, value and who entered it; a
    withdrawn one with who withdrew it and why, another with its correction and withdrawal links."""
    correct_address, withdraw_address = record_addresses("outcome_correct"), record_addresses("outcome_withdraw")
    rows = []
    for e in entries:
        if e.withdrawn:
            action = (
                f'<span class="withdrawal">withdrawn by {escape(e.withdrawn_by or "the command line")}: '
                f"{escape(e.withdrawn_reason)}</span>"
            )
        elif may_correct:
            action = f'<a href="{correct_address(e.id)}">correct</a> · <a href="{withdraw_address(e.id)}">withdraw</a>'
        else:
            action = ""
        rows.append(
            f'\n        <tr class="{"withdrawn" if e.withdrawn else ""}" data-outcome="{e.id}">'
            f"<td>{e.measured_on.isoformat()}</td><td>{escape(e.indication)}</td><td>{escape(e.instrument)}</td>"
            f"<td>{escape(e.value)}</td><td>{escape(e.entered_by or '—')}</td>\n"
            f"          <td>{action}</td></tr>\n      "
        )
    return mark_safe("".join(rows))  # every value above is escaped or a number


@register.simple_tag
def outcome_plot(plot: OutcomePlot | None, title: str) -> SafeString:
    """An outcome over time as SVG (``bont.web.plots`` computes where everything goes): the scale's ticks, the
    years, a dashed line per session, the trend and each measurement, the baseline marked."""
    if not plot:
        return mark_safe("\n")
    n = localize  # a coordinate as the template wrote it
    y_ticks = "".join(
        f'<line x1="36" x2="{plot.width - 8}" y1="{n(t.position)}" y2="{n(t.position)}" class="grid"/>'
        f'<text x="32" y="{n(t.position)}" dy="3" class="axis" text-anchor="end">{escape(t.label)}</text>'
        for t in plot.y_ticks
    )
    x_ticks = "".join(
        f'<text x="{n(t.position)}" y="{plot.height - 6}" class="axis" text-anchor="middle">{escape(t.label)}</text>'
        for t in plot.x_ticks
    )
    if plot.unit:
        y_ticks += f'<text x="4" y="9" class="axis">{escape(plot.unit)}</text>'

    sessions = "".join(
        f'<line x1="{n(s.position)}" x2="{n(s.position)}" y1="{plot.plot_top}" y2="{plot.plot_bottom}" '
        f'class="session"><title>{escape(s.label)}</title></line>'
        for s in plot.sessions
    )
    points = "".join(
        f'<circle cx="{n(p.x)}" cy="{n(p.y)}" r="{"3.5" if p.baseline else "2.6"}" '
        f'class="{"baseline" if p.baseline else "point"}"><title>{escape(p.label)}</title></circle>'
        for p in plot.points
    )
    title = escape(title)
    return mark_safe(  # every value above is escaped or a number
        f'\n<svg class="outcome-plot" viewBox="0 0 {plot.width} {plot.height}" role="img" aria-label="{title} over '
        f'time, sessions marked">\n  <title>{title} over time ({escape(plot.better)}); dashed lines are sessions'
        f"</title>\n  {y_ticks}\n  {x_ticks}\n  {sessions}\n"
        f'  <polyline points="{escape(plot.polyline)}" class="trend"/>\n  {points}\n</svg>\n\n'
    )
