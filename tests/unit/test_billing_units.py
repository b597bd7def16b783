"""Billing's pure rules (bont.domain.billing, bont.domain.codes): whole billing units with the rounding rule of
billing.yaml, JW or JZ, one guidance code, the 11-digit NDC and the NPI check digit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bont.domain.billing import BillingRule, choose_guidance, whole_billing_units
from bont.domain.codes import NDC, NPI, npi_check_digit
from bont.domain.evidence import Citation, Grade, Source, SourceKind
from bont.domain.protocols import Guidance

# Product units to hundredths (as the records keep them) and the billing-unit sizes of the J-codes and beyond.
amounts = st.decimals(min_value=0, max_value=20000, places=2, allow_nan=False, allow_infinity=False)
unit_sizes = st.sampled_from([Decimal(1), Decimal(5), Decimal(100), Decimal("2.5"), Decimal(10), Decimal(3)])
SOURCE = Source("fictional-source", SourceKind.CODING, "a fictional billing source")
UNVERIFIED = BillingRule("one guidance code per session", Citation(SOURCE, Grade.UNVERIFIED, note="not read"))


@given(administered=amounts, discarded=amounts, per=unit_sizes)
def test_billed_units_are_whole_never_negative_and_within_one_billing_unit_of_the_exact_units(
    administered: Decimal, discarded: Decimal, per: Decimal
) -> None:
    units = whole_billing_units(administered, discarded, per)
    for billed in (units.administered_billed, units.discarded_billed):
        assert isinstance(billed, int)
        assert billed >= 0
    # administered: rounded up, so never below the amount given and less than one billing unit above it
    assert units.exact_administered <= units.administered_billed < units.exact_administered + 1
    # discarded: never more than was discarded
    assert units.discarded_billed <= units.exact_discarded
    # together: less than one billing unit from the exact total
    exact_total = units.exact_administered + units.exact_discarded
    assert abs(units.administered_billed + units.discarded_billed - exact_total) < 1
    assert units.modifier == ("" if units.discarded_billed else "JZ")


@given(
    vial_billing_units=st.integers(min_value=1, max_value=200),
    per=unit_sizes,
    fraction=st.decimals(min_value=0, max_value=1, places=4, allow_nan=False, allow_infinity=False),
)
def test_a_vial_of_whole_billing_units_is_billed_exactly_between_the_two_lines(
    vial_billing_units: int, per: Decimal, fraction: Decimal
) -> None:
    content = vial_billing_units * per
    administered = (content * fraction).quantize(Decimal("0.01"))
    units = whole_billing_units(administered, content - administered, per)
    assert units.administered_billed + units.discarded_billed == vial_billing_units


@pytest.mark.parametrize(
    ("administered", "discarded", "per", "billed"),
    [
        ("37.5", "262.5", "5", (8, 52)),  # DYSPORT 37.5 U from a 300 U vial: 7.5 billing units round up to 8
        ("305", "95", "10", (31, 9)),  # CGS's example: 305 mg from 400 mg at 10 mg a unit
        ("350", "50", "10", (35, 5)),  # Noridian's JW example: J1745 35, J1745-JW 5
        ("70", "30", "100", (1, 0)),  # Noridian's JZ example: one unit covers the vial, no JW line
        ("155", "45", "1", (155, 45)),  # BOTOX chronic migraine from a 200 U vial
        ("99.5", "0.5", "1", (100, 0)),  # half a unit left: covered by rounding the dose up, JZ
        ("2500", "0", "100", (25, 0)),  # MYOBLOC per 100 units, nothing discarded
    ],
)
def test_worked_examples_of_whole_billing_units(
    administered: str, discarded: str, per: str, billed: tuple[int, int]
) -> None:
    units = whole_billing_units(Decimal(administered), Decimal(discarded), Decimal(per))
    assert (units.administered_billed, units.discarded_billed) == billed
    assert units.modifier == ("" if billed[1] else "JZ")


def test_negative_units_or_an_empty_billing_unit_are_refused() -> None:
    with pytest.raises(ValueError, match="never negative"):
        whole_billing_units(Decimal(-1), Decimal(0), Decimal(1))
    with pytest.raises(ValueError, match="positive"):
        whole_billing_units(Decimal(1), Decimal(0), Decimal(0))


def test_one_guidance_code_is_billed_when_both_were_recorded_and_the_note_says_the_rule_is_unverified() -> None:
    both = choose_guidance([Guidance.ELECTRICAL_STIMULATION, Guidance.EMG], None, UNVERIFIED)
    assert (both.code, both.assumed) == ("95873", False)
    assert both.note is not None
    assert "95874" in both.note
    assert "unverified rule: not read" in both.note
    assert choose_guidance([Guidance.EMG, Guidance.EMG], None, UNVERIFIED).note is None
    ultrasound = choose_guidance([Guidance.ULTRASOUND], None, UNVERIFIED)
    assert (ultrasound.code, ultrasound.note) == (None, None)
    assert choose_guidance([], None, UNVERIFIED).code is None


@pytest.mark.parametrize(
    ("ndc", "eleven"),
    [
        ("0023-1145-01", "00023-1145-01"),  # 4-4-2: the labeler gets the zero
        ("72960-112-01", "72960-0112-01"),  # 5-3-2: the product
        ("58118-1397-3", "58118-1397-03"),  # 5-4-1: the package
        ("15054-0530-06", "15054-0530-06"),  # already 5-4-2
        ("0023-1145", None),  # a product code names no package
    ],
)
def test_an_ndc_is_written_in_its_eleven_digit_five_four_two_form(ndc: str, eleven: str | None) -> None:
    assert NDC(ndc).eleven_digit == eleven


def test_an_npi_must_carry_its_luhn_check_digit() -> None:
    assert npi_check_digit("123456789") == 3  # CMS's worked example
    assert str(NPI("1234567893")) == "1234567893"
    assert str(NPI("1993999998")) == "1993999998"
    for wrong in ("1234567890", "123456789", "12345678931", "123456789X"):
        with pytest.raises(ValueError, match="not a valid"):
            NPI(wrong)
