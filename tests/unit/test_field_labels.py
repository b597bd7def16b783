"""The error summaries name fields in words, never by the form's keys."""

from __future__ import annotations

import pytest

from bont.web.templatetags.field_labels import field_label


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("correction_reason", "reason for the correction"),
        ("drawn:2", "units drawn, vial row 2"),
        ("ack:drug-interaction", "reason for drug interaction"),
        ("units:0", "units, row 1"),
        ("site_units:2", "units given, site 3"),
        ("age_years", "age"),
        ("on", "date given"),
        ("headache_minutes", "headache minutes"),
    ],
)
def test_a_form_key_reads_as_words(key: str, words: str) -> None:
    assert field_label(key) == words
