"""The chart's and the Follow-up list's rows written by template tags in Python (bont.web.templatetags.chart and
.follow_up): every value escaped, records linked by the routes' addresses, charts by their key and never by the
MRN, moments in the clinic's zone, and the branches the template had (withdrawn, corrected, overridden)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from bont.domain.outcomes.instruments import Score
from bont.services.follow_up import ASSESSMENT, NEXT_SESSION, FollowUp
from bont.services.outcome_ports import PatientIdentity
from bont.services.outcomes import OutcomeEntry
from bont.services.patients import ChartSession, SessionEntry
from tests.commands import bont
from tests.databases import migrated_sqlite_database

MRN = "FICT-ROWS-1"


@pytest.fixture(scope="module", autouse=True)
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Django set up on a fictional clinic of one patient, whose chart the Follow-up rows link to."""
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("DATABASE_URL", migrated_sqlite_database(tmp_path_factory.mktemp("chart-rows")))
        from bont.bootstrap import setup_database

        setup_database()
        added = bont("patient", "add", "--mrn", MRN, "--given-name", "Ro<w>", "--family-name", "O'Fictional",
                     "--birth-date", "1970-01-02")  # fmt: skip
        assert added.returncode == 0, added.stderr
        yield


def session(**changes: object) -> ChartSession:
    entry = SessionEntry(
        id=41, on=date(2026, 3, 2), product="onabotulinumtoxinA", indication="cervical-dystonia",
        total_units=Decimal("7.50"), verdict="ok", override_reason="", withdrawn_reason="", blocked=False,
        recorded_by="nurse-fictional", given_by=None, given_at=None,
    )  # fmt: skip
    return ChartSession(SessionEntry(**{**entry.__dict__, **changes}), "BOTOX", "Cervical <dystonia>")


def test_a_session_row_links_the_session_and_escapes_what_was_typed() -> None:
    from bont.web.templatetags.chart import timeline_rows

    html = timeline_rows([session(total_units=Decimal(100), given_by="dr-fictional")])
    assert html == (
        '\n      <tr class="" data-session="41"><td><a href="/sessions/41/">2026-03-02</a><br>'
        '<span class="meta given">Given by dr-fictional · recorded by nurse-fictional</span></td><td>BOTOX</td>'
        "<td>Cervical &lt;dystonia&gt;</td>\n"
        '          <td class="num">100</td>\n'
        '          <td><span class="verdict ok">ok</span></td></tr>\n    '
    )


def test_a_withdrawn_corrected_and_overridden_session_says_so_with_the_time_given_in_the_clinics_zone() -> None:
    from bont.web.templatetags.chart import timeline_rows

    row = session(
        blocked=True, override_reason="agreed <risk>", withdrawn_reason="wrong & side", corrected_by=42,
        given_at=datetime(2026, 3, 2, 9, 5, tzinfo=UTC),
    )  # fmt: skip
    from django.utils.timezone import override

    with override("Europe/Berlin"):  # the clinic's zone
        html = timeline_rows([row, session(id=43, withdrawn_reason="duplicate", withdrawn_by="dr-fictional")])
    assert '<tr class="withdrawn" data-session="41">' in html
    assert "Given by nurse-fictional at 10:05 · recorded by nurse-fictional" in html  # 09:05 UTC in Berlin
    assert '<td class="num">7.50</td>' in html
    assert (
        '<span class="verdict ok">ok</span> · overridden: agreed &lt;risk&gt;<span class="withdrawal">withdrawn by '
        'the command line: wrong &amp; side · corrected by <a href="/sessions/42/">session 42</a></span>'
    ) in html
    assert '<span class="withdrawal">withdrawn by dr-fictional: duplicate</span>' in html


def test_a_measurement_is_correctable_only_by_those_who_correct_and_a_withdrawn_one_says_by_whom() -> None:
    from bont.web.templatetags.chart import outcome_entry_rows

    entry = OutcomeEntry(
        id=7, indication_id="cervical-dystonia", indication="Cervical dystonia", instrument="TWSTRS <total>",
        measured_on=date(2026, 4, 1), value="26.1", entered_by=None, withdrawn_reason="", withdrawn_by=None,
        instrument_id="twstrs", score=Score("twstrs", Decimal("26.1")),
    )  # fmt: skip
    withdrawn = OutcomeEntry(**{**entry.__dict__, "id": 8, "withdrawn_reason": "typo", "entered_by": "dr-x"})
    html = outcome_entry_rows([entry, withdrawn], True)
    assert (
        '\n        <tr class="" data-outcome="7"><td>2026-04-01</td><td>Cervical dystonia</td>'
        "<td>TWSTRS &lt;total&gt;</td><td>26.1</td><td>—</td>\n"
        '          <td><a href="/outcomes/7/correct/">correct</a> · <a href="/outcomes/7/withdraw/">withdraw</a></td>'
        "</tr>\n      "
    ) in html
    assert '<td>dr-x</td>\n          <td><span class="withdrawal">withdrawn by the command line: typo</span>' in html
    assert "/outcomes/7/" not in outcome_entry_rows([entry], False)


def test_no_plot_is_an_empty_line_and_a_plot_escapes_its_title() -> None:
    from bont.web.plots import OutcomePlot, PlotPoint, Tick
    from bont.web.templatetags.chart import outcome_plot

    assert outcome_plot(None, "TWSTRS") == "\n"
    plot = OutcomePlot(
        320, 140, (PlotPoint(36.0, 85.6, "2026-04-01: 26.1", True),), (Tick(36.0, "session 2026-03-02"),),
        (Tick(118.0, "0"),), (Tick(36.0, "2026"),), "lower is better",
    )  # fmt: skip
    svg = outcome_plot(plot, "A & B")
    assert svg.startswith('\n<svg class="outcome-plot" viewBox="0 0 320 140" role="img" aria-label="A &amp; B over')
    assert '<line x1="36" x2="312" y1="118.0" y2="118.0" class="grid"/>' in svg
    assert '<text x="36.0" y="134" class="axis" text-anchor="middle">2026</text>' in svg
    assert '<line x1="36.0" x2="36.0" y1="16" y2="118" class="session"><title>session 2026-03-02</title>' in svg
    assert '<circle cx="36.0" cy="85.6" r="3.5" class="baseline"><title>2026-04-01: 26.1</title></circle>' in svg
    assert svg.endswith("</svg>\n\n")


def test_follow_up_rows_link_the_chart_by_its_key_never_by_the_mrn() -> None:
    from bont.bootstrap import patient_registry
    from bont.web.templatetags.follow_up import assessment_rows, next_session_rows

    key = patient_registry().chart_key(MRN)
    patient = PatientIdentity(1, MRN, "Ro<w>", "O'Fictional", date(1970, 1, 2))
    due = FollowUp(patient, "Cervical dystonia", "cervical-dystonia", ASSESSMENT, date(2026, 4, 13), 3)
    html = assessment_rows([due, FollowUp(**{**due.__dict__, "overdue_days": 0})])
    assert html.startswith(
        f'<tr><td><a href="/patients/{key}/#outcomes">O&#x27;Fictional, Ro&lt;w&gt;</a></td><td>Cervical dystonia</td>'
        '\n    <td>2026-04-13 <span class="verdict warn">3 days overdue</span></td></tr>\n  '
    )
    assert html.count("days overdue") == 1
    allowed = FollowUp(patient, "Sialorrhea", "sialorrhea", NEXT_SESSION, date(2026, 5, 1), 0, "MYOBLOC", None)
    assert next_session_rows([allowed]) == (
        f'<tr><td><a href="/patients/{key}/">O&#x27;Fictional, Ro&lt;w&gt;</a></td><td>Sialorrhea</td>'
        "<td>MYOBLOC</td><td>not within 18 months</td></tr>\n  "
    )
    assert MRN not in html
