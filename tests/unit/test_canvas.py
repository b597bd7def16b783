"""The anatomic canvas (``bont.domain.canvas``) on the real knowledge base: the label's patterns, the clinician's
placed positions, the regional views chosen, and the positions a form carries."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from bont.domain.anatomy import DiagramView
from bont.domain.canvas import (
    SitePosition,
    SiteToDraw,
    lay_out,
    on_its_side,
    read_placed,
    regional_views,
    write_placed,
)
from bont.domain.errors import FieldError
from bont.domain.knowledge import KnowledgeBase
from bont.domain.planning import PlanRequest, SideChoice
from bont.domain.protocols import Protocol
from bont.services.planning import plan_session

D = Decimal
HEAD = DiagramView.HEAD
BACK = DiagramView.BACK
TODAY = date(2026, 11, 30)


def _eyelids(sides: tuple[str, ...], per_side: int) -> list[SiteToDraw]:
    return [
        SiteToDraw("orbicularis-oculi", side, D("1.25"), number)
        for number, side in enumerate(sides, start=1)
        for _ in range(per_side)
    ]


def test_blepharospasm_sites_are_the_labels_pretarsal_points_mirrored_for_the_left_eye(
    knowledge: KnowledgeBase,
) -> None:
    drawn = lay_out(knowledge.targets, knowledge.canvas, "blepharospasm", _eyelids(("right", "left"), 3), {})
    right = [(site.spot, site.position) for site in drawn if site.side == "right"]
    left = [(site.spot, site.position) for site in drawn if site.side == "left"]
    assert [spot for spot, _ in right] == [
        "medial pretarsal, upper lid",
        "lateral pretarsal, upper lid",
        "lateral pretarsal, lower lid",
    ]
    # The patient's right eye is on the viewer's left; the left eye's points are its mirror image.
    assert all(position.x < 50 for _, position in right)
    assert [position.mirrored() for _, position in left] == [position for _, position in right]
    # Never the middle of the upper lid (the levator): the upper-lid points keep clear of the pupil's line, x = 37.
    assert all(abs(position.x - 37) >= 2 for spot, position in right if "upper lid" in spot)
    views = regional_views(knowledge.canvas, drawn)
    assert [(view.id, len(sites)) for view, sites in views] == [("face-eyelids", 6)]


def test_a_placed_site_stays_where_it_was_put_and_sites_beyond_the_pattern_spread_apart(
    knowledge: KnowledgeBase,
) -> None:
    placed = {"orbicularis-oculi:right:1": SitePosition(HEAD, D("33"), D("41"))}
    drawn = lay_out(knowledge.targets, knowledge.canvas, "blepharospasm", _eyelids(("right",), 6), placed)
    assert [site.placed for site in drawn] == [False, True, False, False, False, False]
    assert drawn[1].position == SitePosition(HEAD, D("33"), D("41"))
    assert drawn[1].spot == ""  # where the clinician put it, not the label's point
    assert [site.spot for site in drawn[3:]] == ["", "", ""]  # past the label's three points
    assert len({site.position for site in drawn}) == 6  # no two sites on one point
    # The sites past the pattern spread from the lateral canthus, never onto the middle of the upper lid (levator).
    levator = SitePosition(HEAD, D(37), D("40.5"))
    assert all(abs(site.position.x - levator.x) + abs(site.position.y - levator.y) > 2 for site in drawn[3:])
    assert write_placed(drawn) == "orbicularis-oculi:right:1=head:33,41"


def _age_within(protocol: Protocol) -> Decimal:
    """An age the protocol's population covers."""
    ages = protocol.ages.value
    return ages.minimum + 1 if ages.below is not None else max(ages.minimum, D(40))


def test_every_protocols_sites_are_drawn_on_distinct_points_inside_a_regional_view(knowledge: KnowledgeBase) -> None:
    """Every protocol's standard plan (per-side muscles on both sides): each site is drawn, no two on one point,
    and each drawing's sites are held by one regional view smaller than the whole drawing, on their own side."""
    planned = 0
    for indication in knowledge.indications.values():
        for protocol in indication.protocols:
            request = PlanRequest(
                indication=indication.id,
                product=protocol.product,
                on=TODAY,
                age_years=_age_within(protocol),
                weight_kg=D(30),
                side=SideChoice.BOTH,
                variant=protocol.variant,
            )
            try:
                plan = plan_session(knowledge, request).plan
            except FieldError:
                continue  # a protocol that needs a choice this sweep does not make (a dilution, a variant)
            if plan.protocol.id != protocol.id:
                continue
            planned += 1
            sites = [SiteToDraw(s.muscle, str(s.side), s.units.amount, 1) for s in plan.sites]
            drawn = lay_out(knowledge.targets, knowledge.canvas, indication.id, sites, {})
            assert len(drawn) == len(sites), protocol.id
            assert len({site.position for site in drawn}) == len(drawn), protocol.id
            for view, held in regional_views(knowledge.canvas, drawn):
                assert view.box.area < 100 * 100, (protocol.id, view.id)
                assert all(on_its_side(site.position, site.side) for site in held), protocol.id
    assert planned >= 30  # of the 46: those planned without a further choice


def test_chronic_migraine_is_shown_on_the_forehead_and_temples_and_on_the_back_of_the_head_and_neck(
    knowledge: KnowledgeBase,
) -> None:
    plan = plan_session(
        knowledge, PlanRequest(indication="chronic-migraine", product="onabotulinumtoxinA", on=TODAY)
    ).plan
    sites = [SiteToDraw(s.muscle, str(s.side), s.units.amount, 1) for s in plan.sites]
    drawn = lay_out(knowledge.targets, knowledge.canvas, "chronic-migraine", sites, {})
    assert len(drawn) == 31
    assert all(site.spot for site in drawn)  # every one at a point of the label's figure
    assert [(view.id, len(held)) for view, held in regional_views(knowledge.canvas, drawn)] == [
        ("forehead-temples", 15),
        ("head-neck-back", 16),
    ]
    pattern = knowledge.canvas.pattern("chronic-migraine", "temporalis")
    assert pattern is not None
    assert len(pattern.points.value) == 4


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("frontalis:right=head:40,22", "'frontalis:right' is not a site"),
        ("frontalis:up:0=head:40,22", "'frontalis:up:0' is not a site"),
        ("frontalis:right:0=elbow:40,22", "frontalis site 1 (right): unknown drawing 'elbow'"),
        ("frontalis:right:0=head:40", "frontalis site 1 (right): the position is not two numbers"),
        ("frontalis:right:0=head:140,22", "frontalis site 1 (right): a site's position (140.0, 22.0) is outside 0–100"),
        ("frontalis:right:0=head:NaN,22", "frontalis site 1 (right): the position is not two numbers"),
        ("frontalis:right:0=head:70,22", "frontalis site 1 (right): the position is on the patient's other side"),
        (
            "splenius-capitis:right:0=back:40,12",
            "splenius-capitis site 1 (right): the position is on the patient's other side",
        ),
    ],
)
def test_a_placed_position_that_is_not_one_is_refused_naming_it(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(problem)}$"):
        read_placed(text)


def test_placed_positions_read_back_as_written() -> None:
    text = "frontalis:right:0=head:40,22;splenius-capitis:right:1=back:53.2,12;procerus:midline:0=head:50,33"
    placed = read_placed(text)
    assert placed["splenius-capitis:right:1"] == SitePosition(BACK, D("53.2"), D("12"))
    assert read_placed("") == {}
    assert on_its_side(SitePosition(BACK, D("47"), D("12")), "left")
    assert on_its_side(SitePosition(HEAD, D("50"), D("33")), "right")  # the midline belongs to both


@pytest.mark.parametrize(
    ("muscle", "sites"), [("semispinalis-capitis", 12), ("sternocleidomastoid", 16), ("corrugator", 30)]
)
def test_a_muscles_many_sites_stay_on_its_own_side_of_the_midline(
    knowledge: KnowledgeBase, muscle: str, sites: int
) -> None:
    """A cluster spread around a point near the midline would cross it: each site is reflected back to its side,
    so that the record form, which refuses a site drawn on the patient's other side, always accepts it."""
    for side in ("left", "right"):
        drawn = lay_out(
            knowledge.targets, knowledge.canvas, "cervical-dystonia",
            [SiteToDraw(muscle, side, D(5), 1) for _ in range(sites)], {},
        )  # fmt: skip
        assert all(on_its_side(site.position, side) for site in drawn), [site.position for site in drawn]
        assert len({site.position for site in drawn}) == sites
