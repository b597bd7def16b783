"""``import bont``: ``bont.plan`` and ``bont.check`` give exactly what ``bont plan --json`` and ``bont check
--json`` print, and bad input names its field as the command line does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import bont
from tests.commands import bont as bont_command

EXAMPLES = Path(__file__).parent.parent.parent / "examples"


def test_a_plan_from_python_is_the_document_the_command_prints() -> None:
    printed = bont_command(
        "plan", "--indication", "upper-limb-spasticity", "--product", "BOTOX", "--date", "2026-11-21",
        "--age", "8", "--weight-kg", "24", "--side", "left", "--json",
    )  # fmt: skip
    assert printed.returncode == 0, printed.stderr
    planned = bont.plan(
        indication="upper-limb-spasticity", product="BOTOX", date="2026-11-21", age=8, weight_kg=24, side="left"
    )
    assert planned == json.loads(printed.stdout)


def test_a_chronic_migraine_plan_from_python_has_155_units_in_31_sites() -> None:
    planned = bont.plan(indication="chronic-migraine", product="BOTOX", date="2026-11-21")
    assert planned["total_units"] == 155
    assert len(planned["sites"]) == 31


def test_a_check_from_python_is_the_report_the_command_prints() -> None:
    example = EXAMPLES / "check-cumulative-block.json"
    printed = bont_command("check", str(example), "--json")
    assert printed.returncode == 3
    report = bont.check(json.loads(example.read_text()))
    assert report == json.loads(printed.stdout)
    assert report["verdict"] == "block"


def test_a_plan_with_a_patient_file_is_checked_against_its_history() -> None:
    document = json.loads((EXAMPLES / "check-cumulative-block.json").read_text())
    patient = {key: document[key] for key in ("patient", "history") if key in document}
    planned = bont.plan(
        indication=document["plan"]["indication"], product=document["plan"]["product"], date=document["date"],
        patient=patient,
    )  # fmt: skip
    assert planned["verdict"] == "block"
    assert "cumulative-dose-exceeds-maximum" in [finding["code"] for finding in planned["findings"]]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"weight_kg": "NaN"}, "--weight-kg"),
        ({"age": -1}, "--age"),
        ({"side": "up"}, "--side"),
        ({"muscles": ["corrugator=ten"]}, "--muscle"),
        ({"product": "NOT-A-TOXIN"}, "--product"),
    ],
)
def test_bad_plan_options_raise_an_input_error_naming_the_option(options: dict[str, object], field: str) -> None:
    chosen: dict[str, object] = {"indication": "chronic-migraine", "product": "BOTOX", **options}
    with pytest.raises(bont.InputError) as raised:
        bont.plan(**chosen)  # type: ignore[arg-type]
    assert raised.value.field == field


def test_a_bad_check_document_raises_an_input_error_naming_the_field() -> None:
    with pytest.raises(bont.InputError) as raised:
        bont.check({"date": "2026-11-21", "patient": {}, "plan": {"product": "BOTOX"}})
    assert raised.value.field.startswith("plan")
