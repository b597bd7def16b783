"""The patient list's rows, written in one pass. The landing page lists 200 patients a page, and the template
engine spent most of the page's time on their cells (a variable lookup, an escape and a filter each)."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape  # what Django's own escape calls

from django import template
from django.utils.safestring import SafeString, mark_safe

from bont.services.patients import PatientListRow

register = template.Library()


@register.simple_tag
def patient_rows(patients: Iterable[PatientListRow], charts: str, may_open_charts: bool) -> SafeString:
    """One ``<tr>`` per patient: the MRN (a link to the chart, ``charts`` followed by the chart key, when the
    reader may open charts), the name, the birth date and the number of sessions given."""
    rows = []
    for p in patients:
        mrn = escape(p.mrn)
        if may_open_charts:
            mrn = f'<a href="{escape(charts)}{escape(p.chart_key)}/">{mrn}</a>'
        rows.append(
            f"<tr><td>{mrn}</td><td>{escape(p.family_name)}, {escape(p.given_name)}</td>"
            f'<td>{p.birth_date.isoformat()}</td><td class="num">{p.session_count}</td></tr>\n'
        )
    return mark_safe("".join(rows))  # every value above is escaped
