"""Clinical codes are value types that refuse malformed codes."""

from __future__ import annotations

import pytest

from bont.domain.codes import NDC, CPTCode, HCPCSCode, ICD10CMCode


@pytest.mark.parametrize("code", ["G43.709", "G24.3", "L74.510", "G35.A", "K60.1", "N32.81", "G80.0"])
def test_accepts_icd10cm_codes(code: str) -> None:
    assert str(ICD10CMCode(code)) == code


@pytest.mark.parametrize("code", ["g43.709", "G43709X", "43.709", "G43.", ""])
def test_refuses_malformed_icd10cm_codes(code: str) -> None:
    with pytest.raises(ValueError, match="not a valid ICD10CMCode"):
        ICD10CMCode(code)


def test_hcpcs_cpt_and_ndc_shapes() -> None:
    assert str(HCPCSCode("J0585")) == "J0585"
    assert str(CPTCode("64615")) == "64615"
    assert str(NDC("0023-1145-01")) == "0023-1145-01"
    for bad, kind in (("J585", HCPCSCode), ("6461", CPTCode), ("00231145", NDC)):
        with pytest.raises(ValueError, match="not a valid"):
            kind(bad)
