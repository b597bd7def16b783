"""Strict JSON: what bont refuses in every document it reads, each refusal naming the key or place, never the
value (a document holds patient data)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from bont.interop.check_document import InputError, read_check
from bont.interop.session_document import read_session
from bont.interop.strict_json import MAX_DEPTH, JsonDocumentError, loads
from bont.services.clock import FixedClock
from tests.commands import bont

SESSION = {
    "patient_mrn": "FICT-J1",
    "date": "2026-03-02",
    "clinician": "dr-fictional",
    "indication": "cervical-dystonia",
    "product": "BOTOX",
    "sites": [{"muscle": "splenius-capitis", "side": "left", "units": 20}],
}


def refusal(document: bytes | str) -> JsonDocumentError:
    with pytest.raises(JsonDocumentError) as refused:
        loads(document)
    return refused.value


def test_a_key_given_twice_is_refused_naming_the_key() -> None:
    text = '{"patient_mrn": "FICT-J1", "date": "2026-03-02", "patient_mrn": "FICT-J2"}'
    error = refusal(text)
    assert (error.field, error.problem) == ("patient_mrn", "given twice")
    assert "FICT-J" not in str(error)


def test_a_session_document_naming_the_patient_twice_is_refused_not_recorded_for_the_second() -> None:
    text = json.dumps(SESSION)[:-1] + ', "patient_mrn": "FICT-J2"}'
    with pytest.raises(InputError) as refused:
        read_session(text)
    assert refused.value.field == "patient_mrn"


def test_invalid_utf8_is_refused_naming_the_byte() -> None:
    error = refusal(b'{"patient_mrn": "FICT-\xff"}')
    assert error.field == "(document)"
    assert error.problem == "is not valid UTF-8 (byte 23)"


def test_a_nul_character_in_a_value_is_refused_naming_its_place() -> None:
    error = refusal('{"sites": [{"muscle": "splenius\\u0000capitis"}]}')
    assert (error.field, error.problem) == ("sites.0.muscle", "contains a NUL character")


def test_a_lone_surrogate_in_a_key_or_a_value_is_refused() -> None:
    assert refusal('{"guidance": "\\ud800"}').field == "guidance"
    assert "lone surrogate" in refusal('{"\\udc00": 1}').problem


def test_a_surrogate_pair_is_one_character_and_accepted() -> None:
    assert loads('{"note": "\\ud83d\\ude00"}') == {"note": "\U0001f600"}


def test_a_number_of_more_than_thirty_digits_is_refused_before_it_is_converted() -> None:
    assert "more than 30 digits" in refusal('{"units": ' + "9" * 5000 + "}").problem
    assert "more than 30 digits" in refusal('{"units": 0.' + "1" * 40 + "}").problem
    assert loads('{"units": 12.5, "vial": 9223372036854775807}') == {
        "units": Decimal("12.5"),
        "vial": 9223372036854775807,
    }


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_numbers(constant: str) -> None:
    assert refusal('{"units": ' + constant + "}").problem == f"holds {constant}, which is not a JSON number"


def test_nesting_is_bounded() -> None:
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    deep = refusal("[" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2))
    assert deep.problem == f"is nested more than {MAX_DEPTH} levels deep"
    # Deeper than Python's own recursion limit: refused the same way, not a RecursionError.
    assert refusal("[" * 100_000 + "]" * 100_000).field == "(document)"


def test_invalid_json_names_line_and_column() -> None:
    assert refusal('{\n  "a": }').problem == "is not valid JSON (line 2, column 8)"


def test_the_check_document_reads_bytes_and_names_a_field_over_its_bound() -> None:
    document = {
        "date": "2026-03-02",
        "patient": {"birth_date": "1970-01-01", "conditions": ["x" * 101]},
        "plan": {"product": "BOTOX", "indication": "cervical-dystonia", "total_units": 100},
    }
    with pytest.raises(InputError) as refused:
        read_check(json.dumps(document).encode(), FixedClock.on(date(2026, 3, 2)))
    assert refused.value.field == "patient.conditions.0"


def test_a_vial_id_beyond_a_database_id_is_a_field_error() -> None:
    document = {**SESSION, "draws": [{"vial": 2**63, "units": 20}]}
    with pytest.raises(InputError) as refused:
        read_session(json.dumps(document))
    assert refused.value.field == "draws.0.vial"


def test_the_session_command_names_invalid_utf8_and_a_repeated_key_without_a_traceback(tmp_path: Path) -> None:
    document = tmp_path / "session.json"
    document.write_bytes(b'{"patient_mrn": "FICT-\xff"}')
    result = bont("session", "record", str(document))
    assert (result.returncode, result.stderr) == (2, "error: (document): is not valid UTF-8 (byte 23)\n")
    document.write_text('{"patient_mrn": "FICT-J1", "patient_mrn": "FICT-J2"}', encoding="utf-8")
    result = bont("session", "record", str(document))
    assert (result.returncode, result.stderr) == (2, "error: patient_mrn: given twice\n")
