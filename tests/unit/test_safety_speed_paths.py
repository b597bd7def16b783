"""The check's fast paths give the answers of the long way round: a history read in one pass and only as far
back as the longest window, an earlier session however old still ending the first session, unknown history
terms still reported, "did you mean" hints and label statuses remembered unchanged, and a plan's sites read all at
once when every one is in order."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from bont.domain.errors import PlanningError
from bont.domain.knowledge import KnowledgeBase, nearest
from bont.domain.safety import Administration, CheckRequest, Patient, SessionPlan, SessionSite, check

ON = date(2026, 11, 21)
ADULT = Patient(birth_date=date(1970, 1, 1), weight_kg=Decimal(70))


def _xeomin_cervical_dystonia(history: tuple[Administration, ...]) -> CheckRequest:
    return CheckRequest(ON, ADULT, SessionPlan("XEOMIN", "cervical-dystonia", Decimal(200)), history)


def _codes(knowledge: KnowledgeBase, request: CheckRequest) -> list[str]:
    return [finding.code for finding in check(knowledge, request).findings]


def test_the_look_back_reaches_every_window_interval_and_caution_of_the_knowledge_base(
    knowledge: KnowledgeBase,
) -> None:
    windows = [limit.value.window for product in knowledge.products.values() for limit in product.limits]
    windows += [p.cumulative_limit.value.window for p in knowledge.protocols() if p.cumulative_limit is not None]
    reaches = [window.start(ON) for window in windows if window is not None]
    reaches += [ON - timedelta(days=p.min_interval_days.value) for p in knowledge.protocols() if p.min_interval_days]
    reaches += [ON - timedelta(days=caution.days) for caution in knowledge.cautions.values()]
    assert min(reaches) >= ON - timedelta(days=knowledge.lookback_days)


def test_a_session_older_than_every_window_still_ends_the_first_session(knowledge: KnowledgeBase) -> None:
    long_ago = Administration(ON - timedelta(days=20 * 365), "incobotulinumtoxinA", "cervical-dystonia", Decimal(120))
    assert "initial-dose-exceeded" in _codes(knowledge, _xeomin_cervical_dystonia(()))
    assert "initial-dose-exceeded" not in _codes(knowledge, _xeomin_cervical_dystonia((long_ago,)))


def test_twenty_years_of_history_give_the_findings_of_the_recent_sessions_alone(knowledge: KnowledgeBase) -> None:
    # Quarterly XEOMIN sessions for twenty years and BOTOX a month ago: only the recent ones can count.
    history = (
        Administration(ON - timedelta(days=30), "BOTOX", "cervical-dystonia", Decimal(300)),
        *(
            Administration(ON - timedelta(days=91 * (i + 1)), "incobotulinumtoxinA", "cervical-dystonia", Decimal(300))
            for i in range(80)
        ),
    )
    recent = tuple(item for item in history if item.on >= ON - timedelta(days=knowledge.lookback_days))
    assert 0 < len(recent) < len(history)
    long_report = check(knowledge, _xeomin_cervical_dystonia(history))
    # The oldest session stays on record, so that neither is a first session.
    recent_report = check(knowledge, _xeomin_cervical_dystonia((*recent, history[-1])))
    assert long_report == recent_report
    assert "other-botulinum-toxin-recently" in [finding.code for finding in long_report.findings]


def test_unknown_terms_anywhere_in_a_long_history_are_reported_and_aliases_are_read(
    knowledge: KnowledgeBase,
) -> None:
    history = (
        Administration(ON - timedelta(days=7000), "NOT-A-TOXIN", "cervical-dystonia", Decimal(100)),
        Administration(ON - timedelta(days=30), "BOTOX", "not-an-indication", Decimal(100)),
        Administration(ON - timedelta(days=20), "incobotulinumtoxinA", "cervical-dystonia", Decimal(100)),
    )
    messages = [finding.message for finding in check(knowledge, _xeomin_cervical_dystonia(history)).findings]
    assert any("product in the history 'NOT-A-TOXIN'" in message for message in messages)
    assert any("indication in the history 'not-an-indication'" in message for message in messages)
    # BOTOX, by its brand name, is another toxin given 30 days ago.
    assert any("of BOTOX on" in message for message in messages)


@pytest.mark.parametrize(
    ("item", "field"),
    [
        (Administration(ON + timedelta(days=1), "BOTOX", "cervical-dystonia", Decimal(100)), "history.1.date"),
        (Administration(ON - timedelta(days=1), "BOTOX", "cervical-dystonia", Decimal(0)), "history.1.units"),
    ],
)
def test_a_history_item_that_cannot_be_checked_is_named_by_its_place(
    knowledge: KnowledgeBase, item: Administration, field: str
) -> None:
    earlier = Administration(ON - timedelta(days=400), "BOTOX", "cervical-dystonia", Decimal(100))
    with pytest.raises(PlanningError) as raised:
        check(knowledge, _xeomin_cervical_dystonia((earlier, item)))
    assert raised.value.field == field


@pytest.mark.parametrize(
    ("term", "kind"),
    [("sternocleidomastoideus", "muscle"), ("Botoxx", "product"), ("chronic migrane", "indication")],
)
def test_remembered_hints_are_the_hints_worked_out_afresh(knowledge: KnowledgeBase, term: str, kind: str) -> None:
    vocabulary = {
        "muscle": list(knowledge.targets),
        "product": [name for p in knowledge.products.values() for name in (p.id, p.brand)],
        "indication": list(knowledge.indications),
    }[kind]
    first = knowledge.nearest_terms(term, kind)
    assert first
    assert knowledge.nearest_terms(term, kind) == first == nearest(term, vocabulary)


def test_a_remembered_label_status_is_the_status_of_the_ids_given(knowledge: KnowledgeBase) -> None:
    approved = knowledge.status("cervical-dystonia", "BOTOX")
    assert knowledge.status("cervical-dystonia", "BOTOX") is approved
    assert approved.product == "onabotulinumtoxinA"
    assert knowledge.status("chronic-migraine", "XEOMIN").product == "incobotulinumtoxinA"


def _cervical_sites(*sites: SessionSite) -> CheckRequest:
    return CheckRequest(ON, ADULT, SessionPlan("XEOMIN", "cervical-dystonia", sites=sites))


def test_sites_written_by_name_and_in_capitals_are_checked_as_the_same_sites_by_id(knowledge: KnowledgeBase) -> None:
    splenius = knowledge.targets["splenius-capitis"]
    by_id = (SessionSite(splenius.id, "left", Decimal(40)), SessionSite(splenius.id, "right", Decimal(40)))
    written = (SessionSite(splenius.name, "Left", Decimal(40)), SessionSite(splenius.id, "RIGHT", Decimal(40)))
    assert check(knowledge, _cervical_sites(*written)) == check(knowledge, _cervical_sites(*by_id))


@pytest.mark.parametrize(
    ("site", "field"),
    [
        (SessionSite("splenius-capitis", "up", Decimal(40)), "plan.sites.2.side"),
        (SessionSite("splenius-capitis", "left", Decimal(0)), "plan.sites.2.units"),
    ],
)
def test_a_site_that_cannot_be_checked_is_named_by_its_place_among_sites_in_order(
    knowledge: KnowledgeBase, site: SessionSite, field: str
) -> None:
    in_order = (SessionSite("splenius-capitis", "left", Decimal(40)), SessionSite("trapezius", None, Decimal(40)))
    with pytest.raises(PlanningError) as raised:
        check(knowledge, _cervical_sites(*in_order, site))
    assert raised.value.field == field
