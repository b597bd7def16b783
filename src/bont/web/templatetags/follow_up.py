"""The Follow-up list's rows, written in one pass. A page lists fifty patients in each table, and the template
engine spent most of the page's rendering on their cells, a reversed chart address each."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape  # what Django's own escape calls

from django import template
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from bont.bootstrap import patient_registry
from bont.services.follow_up import FollowUp

register = template.Library()


def _chart_link(charts: str, row: FollowUp, anchor: str = "") -> str:
    """The patient's name, a link to their chart: the patient list's address followed by the chart key (the
    "chart" route), as ``{% url 'chart' mrn %}`` writes it, without a reverse per row."""
    key = patient_registry().chart_key(row.patient.mrn)
    return (
        f'<a href="{charts}{escape(key)}/{anchor}">{escape(row.patient.family_name)}, '
        f"{escape(row.patient.given_name)}</a>"
    )


@register.simple_tag
def assessment_rows(rows: Iterable[FollowUp]) -> SafeString:
    """One ``<tr>`` per assessment due: the patient (a link to the chart's outcomes), the indication, the day
    it was due and how overdue it is."""
    charts = escape(reverse("patients"))
    html = []
    for r in rows:
        overdue = f' <span class="verdict warn">{r.overdue_days} days overdue</span>' if r.overdue_days > 0 else ""
        html.append(
            f"<tr><td>{_chart_link(charts, r, '#outcomes')}</td><td>{escape(r.indication)}</td>\n"
            f"    <td>{r.due.isoformat()}{overdue}</td></tr>\n  "
        )
    return mark_safe("".join(html))  # every value is escaped or a number


@register.simple_tag
def next_session_rows(rows: Iterable[FollowUp]) -> SafeString:
    """One ``<tr>`` per next session allowed: the patient (a link to the chart), the indication, the product and
    the day it is recommended from."""
    charts = escape(reverse("patients"))
    return mark_safe(  # every value is escaped or a date
        "".join(
            f"<tr><td>{_chart_link(charts, r)}</td><td>{escape(r.indication)}</td><td>{escape(str(r.brand))}</td>"
            f"<td>{r.recommended.isoformat() if r.recommended else 'not within 18 months'}</td></tr>\n  "
            for r in rows
        )
    )
