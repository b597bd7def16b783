"""What the Follow-up list keeps per patient and indication (``follow_up_summaries``): the latest session, and
whether an outcome or a diary day of a kind that serves the indication has assessed it since."""

from __future__ import annotations

from datetime import date

from bont.bootstrap import build_knowledge
from bont.services.follow_up import IndicationFollowUp, follow_up_summaries

KNOWLEDGE = build_knowledge()
MIGRAINE, HYPERHIDROSIS = "chronic-migraine", "axillary-hyperhidrosis"
TREATED = date(2026, 8, 3)
AFTER, BEFORE = date(2026, 9, 1), date(2026, 7, 1)


def test_an_indication_treated_and_not_assessed_since_is_pending_from_its_latest_session() -> None:
    found = follow_up_summaries(KNOWLEDGE, {HYPERHIDROSIS: TREATED}, {HYPERHIDROSIS: BEFORE}, {})
    assert found == (IndicationFollowUp(HYPERHIDROSIS, TREATED, TREATED),)


def test_a_measurement_after_the_session_assesses_only_its_own_indication() -> None:
    found = follow_up_summaries(KNOWLEDGE, {HYPERHIDROSIS: TREATED, MIGRAINE: TREATED}, {HYPERHIDROSIS: AFTER}, {})
    assert found == (
        IndicationFollowUp(HYPERHIDROSIS, TREATED, None),
        IndicationFollowUp(MIGRAINE, TREATED, TREATED),
    )


def test_a_headache_diary_day_assesses_migraine_and_a_bladder_diary_day_does_not() -> None:
    assert follow_up_summaries(KNOWLEDGE, {MIGRAINE: TREATED}, {}, {"bladder": AFTER}) == (
        IndicationFollowUp(MIGRAINE, TREATED, TREATED),
    )
    assert follow_up_summaries(KNOWLEDGE, {MIGRAINE: TREATED}, {}, {"headache": AFTER}) == (
        IndicationFollowUp(MIGRAINE, TREATED, None),
    )
    # Unknown to the knowledge base: no diary serves it.
    assert follow_up_summaries(KNOWLEDGE, {"retired-indication": TREATED}, {}, {"headache": AFTER}) == (
        IndicationFollowUp("retired-indication", TREATED, TREATED),
    )
