"""The patient list's rows (bont.web.templatetags.patient_list): every name escaped, the chart linked by its
key and never by the MRN, and no link for a reader who may not open charts."""

from __future__ import annotations

from datetime import date

from bont.services.patients import PatientListRow
from bont.web.templatetags.patient_list import patient_rows

ROWS = (
    PatientListRow("FICT-L1", "<b>Fake</b>", "O'Fictional & Co", date(1970, 1, 2), 3, "AbCdEfGhIjKlMnOp"),
    PatientListRow("FICT-L2", "Fake", "Fictional", date(2001, 12, 31), 0, "QrStUvWxYz012345"),
)


def test_each_row_escapes_the_names_and_links_the_chart_by_its_key() -> None:
    html = patient_rows(ROWS, "/patients/", True)
    assert html.count("<tr>") == 2
    assert (
        '<tr><td><a href="/patients/AbCdEfGhIjKlMnOp/">FICT-L1</a></td>'
        "<td>&lt;b&gt;Fake&lt;/b&gt;, O&#x27;Fictional &amp; Co</td>"
        '<td>1970-01-02</td><td class="num">3</td></tr>'
    ) in html
    assert '<a href="/patients/QrStUvWxYz012345/">FICT-L2</a>' in html
    assert "/FICT-L" not in html  # no address carries an MRN


def test_a_reader_who_may_not_open_charts_gets_no_link() -> None:
    html = patient_rows(ROWS, "/patients/", False)
    assert "<a " not in html
    assert "<tr><td>FICT-L2</td><td>Fake, Fictional</td><td>2001-12-31</td>" in html
