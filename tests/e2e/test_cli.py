"""The ``bont`` command, run as a user would run it: its output, exit codes and errors.

Most tests run the command in this process (``tests.commands.bont``, Typer's test runner: the same exit
code, stdout and stderr). The tests that call ``installed_bont`` run the installed command in a process of
its own, as a shell does: an unknown id, a broken clinic copy (exit 1), the knowledge directory named by the
environment, a check document on stdin (exit 3, text that is not JSON, JSON nested too deep to parse) and the
README's blocked check."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bont.knowledge import DEFAULT_DATA_DIR
from tests.commands import bont, installed_bont


def bont_json(*args: str) -> Any:
    result = bont(*args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_indication_show_json_has_the_interface_fields() -> None:
    cm = bont_json("indication", "show", "chronic-migraine")
    assert {"id", "name", "icd10", "statuses", "protocols"} <= cm.keys()
    assert cm["id"] == "chronic-migraine"
    assert "G43.709" in cm["icd10"]
    assert {s["product"]: s["status"] for s in cm["statuses"]}["onabotulinumtoxinA"] == "approved"
    for status in cm["statuses"]:
        assert status["status"] in ("approved", "off-label")
        assert status["source"]["id"]
    (protocol,) = cm["protocols"]
    assert protocol["product"] == "onabotulinumtoxinA"
    assert protocol["population"] == "adult"
    assert protocol["total_units"] == 155
    assert protocol["sites"] == 31
    assert protocol["min_interval_days"] == 84
    assert protocol["sources"]
    corrugator = protocol["muscles"][0]
    assert {"muscle", "units", "sites", "side"} <= corrugator.keys()
    assert (corrugator["muscle"], corrugator["units"], corrugator["sites"], corrugator["side"]) == (
        "corrugator",
        10,
        2,
        "bilateral",
    )


def test_ranges_are_min_max_objects() -> None:
    lls = bont_json("indication", "show", "lower-limb-spasticity")
    adult_botox = next(
        p for p in lls["protocols"] if p["product"] == "onabotulinumtoxinA" and p["population"] == "adult"
    )
    assert adult_botox["total_units"] == {"min": 300, "max": 400}


def test_product_show_json_has_the_interface_fields() -> None:
    botox = bont_json("product", "show", "onabotulinumtoxinA")
    assert botox["brand"] == "BOTOX"
    assert botox["vial_sizes_units"] == [100, 200]
    assert {
        k: v for k, v in botox["reconstitution"][1].items() if k in ("vial_units", "diluent_ml", "units_per_0_1_ml")
    } == {"vial_units": 100, "diluent_ml": 2, "units_per_0_1_ml": 5}
    assert botox["beyond_use_hours"] == 24
    assert botox["hcpcs"]["code"] == "J0585"
    assert botox["hcpcs"]["units_per_billing_unit"] == 1
    assert botox["units_interchangeable"] is False
    dysport = bont_json("product", "show", "DYSPORT")
    assert dysport["hcpcs"] == {**dysport["hcpcs"], "code": "J0586", "units_per_billing_unit": 5}


def test_lists_print_one_json_document() -> None:
    assert len(bont_json("products")) == 5
    assert len(bont_json("indications")) == 24
    assert any(m["id"] == "detrusor" for m in bont_json("muscles"))


@pytest.mark.parametrize(
    ("run", "args", "suggestion"),
    [
        (installed_bont, ("indication", "show", "chronic-migrane"), "chronic-migraine"),
        (bont, ("product", "show", "onabotulinumtoxin"), "onabotulinumtoxinA"),
    ],
    ids=["installed-indication", "product"],
)
def test_an_unknown_id_exits_2_with_one_line_naming_the_nearest(
    run: Callable[..., subprocess.CompletedProcess[str]], args: tuple[str, ...], suggestion: str
) -> None:
    result = run(*args, "--json")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert suggestion in lines[0]


def test_the_readable_indication_page_names_its_sources_and_the_decision_support_notice() -> None:
    result = bont("indication", "show", "overactive-bladder")
    assert result.returncode == 0, result.stderr
    assert "botox-hcp-oab" in result.stdout
    assert "[label]" in result.stdout
    assert "not a prescriber" in " ".join(result.stdout.split())


def test_audit_counts_figures_by_grade_and_filters() -> None:
    report = bont_json("knowledge", "audit")
    assert set(report["counts"]) == {"label", "label-secondary", "study", "reference", "unverified"}
    assert report["counts"]["unverified"] > 0
    assert len(report["figures"]) == sum(report["counts"].values())
    unverified = bont_json("knowledge", "audit", "--grade", "unverified")
    assert {f["grade"] for f in unverified["figures"]} == {"unverified"}
    assert any("pediatric" in f["path"] and "340" in f["value"] for f in unverified["figures"])


def test_validate_reports_a_broken_clinic_copy_and_exits_1(tmp_path: Path) -> None:
    copy = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, copy)
    assert bont("knowledge", "validate", "--data-dir", str(copy)).returncode == 0
    # The knowledge is loaded once per process: the broken copy is validated by a new one, as a user would.
    path = copy / "indications" / "sialorrhea.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("muscle: parotid-gland", "muscle: parotid", 1))
    result = installed_bont("knowledge", "validate", "--data-dir", str(copy))
    assert result.returncode == 1
    assert "indications/sialorrhea.yaml" in result.stderr
    assert "unknown muscle 'parotid'" in result.stderr


def test_the_clinic_copy_named_by_the_environment_is_used(tmp_path: Path) -> None:
    copy = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, copy)
    path = copy / "indications" / "bruxism.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("name: Bruxism", "name: Bruxism (clinic copy)", 1))
    result = installed_bont("indications", "--json", env={"BONT_KNOWLEDGE_DIR": str(copy)})
    assert result.returncode == 0, result.stderr
    assert "Bruxism (clinic copy)" in {i["name"] for i in json.loads(result.stdout)}


# -- planning and reconstitution


def test_plan_json_has_the_interface_fields() -> None:
    plan = bont_json("plan", "--indication", "chronic-migraine", "--product", "BOTOX", "--date", "2026-11-21")
    assert {"indication", "product", "population", "total_units", "sites", "vials", "units_drawn", "waste_units"} <= (
        plan.keys()
    )
    assert (plan["indication"], plan["product"], plan["population"]) == (
        "chronic-migraine",
        "onabotulinumtoxinA",
        "adult",
    )
    assert plan["total_units"] == 155
    assert len(plan["sites"]) == 31
    assert plan["sites"][0] == {
        **plan["sites"][0],
        "muscle": "corrugator",
        "side": "left",
        "units": 5,
        "volume_ml": 0.1,
    }
    assert plan["vials"] == [
        {"vial_units": 200, "diluent_ml": 4, "units_per_0_1_ml": 5, "units_drawn": 155, "units_left": 45}
    ]
    assert (plan["units_drawn"], plan["waste_units"]) == (155, 45)
    assert plan["date"] == "2026-11-21"
    assert plan["sources"]
    for finding in plan["findings"] + plan["notes"]:
        assert {"severity", "code", "message", "source"} <= finding.keys()
    assert plan["verdict"] == "warn"  # no birth date was given: the approved age range cannot be checked


def test_pediatric_plan_from_birth_date_and_weight() -> None:
    plan = bont_json(
        "plan",
        "--indication",
        "upper-limb-spasticity",
        "--product",
        "botox",
        "--birth-date",
        "2018-03-01",
        "--date",
        "2026-11-21",
        "--weight-kg",
        "40",
        "--side",
        "right",
    )
    assert plan["population"] == "pediatric"
    assert plan["age_years"] == 8
    assert plan["total_units"] <= 200  # the lesser of 6 U/kg (240 U) or 200 U
    assert "dose-capped-by-weight" in {f["code"] for f in plan["notes"]}  # how the plan was made


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--indication", "chronic-migraine", "--product", "botox", "--muscle", "frontalis=-5"), "--muscle"),
        (("--indication", "chronic-migraine", "--product", "botox", "--muscle", "frontalus=20"), "--muscle"),
        (
            ("--indication", "upper-limb-spasticity", "--product", "botox", "--age", "8", "--weight-kg", "0"),
            "--weight-kg",
        ),
        (("--indication", "chronic-migraine", "--product", "dysport"), "--product"),
        (("--indication", "chronic-migraine", "--product", "botox", "--muscle", "frontalis=60"), "--deviation-reason"),
        (("--indication", "upper-limb-spasticity", "--product", "botox", "--age", "8"), "--weight-kg"),
    ],
)
def test_bad_plan_input_exits_2_naming_the_argument(args: tuple[str, ...], named: str) -> None:
    result = bont("plan", *args, "--json")
    assert result.returncode == 2, result.stdout
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {named}:"), result.stderr


def test_a_recorded_deviation_is_reported_as_a_finding() -> None:
    plan = bont_json(
        "plan",
        "--indication",
        "chronic-migraine",
        "--product",
        "botox",
        "--muscle",
        "frontalis=30/6",
        "--deviation-reason",
        "wide forehead",
    )
    codes = {f["code"] for f in plan["notes"]}
    assert {"units-outside-protocol-range", "sites-outside-protocol-range"} <= codes
    assert plan["deviation_reason"] == "wide forehead"
    assert not codes & {f["code"] for f in plan["findings"]}  # a planning note is never also a finding


def test_procedure_sheet_is_written_as_html(tmp_path: Path) -> None:
    sheet = tmp_path / "sheet.html"
    result = bont(
        "plan", "--indication", "overactive-bladder", "--product", "botox", "--format", "html", "--output", str(sheet)
    )
    assert result.returncode == 0, result.stderr
    html = sheet.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>")
    assert "Patient name" in html
    assert "Detrusor" in html
    assert html.count('class="box"') == 20
    assert "not a prescription" in html


def test_dilute_and_its_inverse() -> None:
    forward = bont_json("dilute", "--product", "botox", "--vial-units", "100", "--diluent-ml", "2")
    assert {k: forward[k] for k in ("vial_units", "diluent_ml", "units_per_ml", "units_per_0_1_ml")} == {
        "vial_units": 100,
        "diluent_ml": 2,
        "units_per_ml": 50,
        "units_per_0_1_ml": 5,
    }
    assert forward["in_label"] is True
    inverse = bont_json("dilute", "--product", "dysport", "--vial-units", "500", "--units-per-0.1-ml", "20")
    assert inverse["diluent_ml"] == 2.5
    assert inverse["in_label"] is True


def test_dilute_off_label_volume_is_a_finding_and_bad_volume_exits_2() -> None:
    odd = bont_json("dilute", "--product", "botox", "--vial-units", "100", "--diluent-ml", "3")
    assert odd["in_label"] is False
    assert [f["code"] for f in odd["findings"]] == ["dilution-not-in-label"]
    bad = bont("dilute", "--product", "botox", "--vial-units", "100", "--diluent-ml", "0")
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: --diluent-ml:")
    wrong_vial = bont("dilute", "--product", "botox", "--vial-units", "300", "--diluent-ml", "3")
    assert wrong_vial.returncode == 2
    assert wrong_vial.stderr.startswith("error: --vial-units:")


# -- safety check

CHECK = {
    "date": "2026-11-21",
    "patient": {"birth_date": "1975-03-10", "sex": "female", "weight_kg": 68},
    "history": [],
    "plan": {"product": "onabotulinumtoxinA", "indication": "chronic-migraine", "total_units": 155},
}


def run_check(document: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    return bont("check", "-", *args, stdin=json.dumps(document))


def test_check_ok_exits_0_with_the_verdict() -> None:
    result = run_check(CHECK, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["verdict"] == "ok"


def test_check_block_exits_3_and_explains_with_a_source() -> None:
    history = [{"date": "2026-10-01", "product": "onabotulinumtoxinA", "indication": "cervical-dystonia", "units": 300}]
    result = installed_bont("check", "-", "--json", stdin=json.dumps({**CHECK, "history": history}))
    assert result.returncode == 3
    report = json.loads(result.stdout)
    assert report["verdict"] == "block"
    (finding,) = [f for f in report["findings"] if f["severity"] == "block"]
    assert finding["code"] == "cumulative-dose-exceeds-maximum"
    assert "455 U" in finding["message"]
    assert finding["source"]["grade"] in ("label", "label-secondary")


def test_check_warn_exits_0() -> None:
    patient = {**CHECK["patient"], "medications": ["gentamicin"]}
    result = run_check({**CHECK, "patient": patient}, "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["verdict"] == "warn"


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({**CHECK, "plan": {**CHECK["plan"], "total_units": -5}}, "plan.total_units"),
        ({**CHECK, "patient": {**CHECK["patient"], "weight_kg": 0}}, "patient.weight_kg"),
        ({**CHECK, "date": "21/11/2026"}, "date"),
        ({**CHECK, "plan": {**CHECK["plan"], "product": "botux"}}, "plan.product"),
        ({**CHECK, "patient": {**CHECK["patient"], "weigth_kg": 60}}, "patient.weigth_kg"),
        ({key: value for key, value in CHECK.items() if key != "plan"}, "plan"),
    ],
)
def test_check_invalid_input_exits_2_naming_the_field(document: dict[str, Any], field: str) -> None:
    result = run_check(document)
    assert result.returncode == 2, result.stdout
    assert result.stderr.startswith(f"error: {field}:"), result.stderr


def test_check_refuses_text_that_is_not_json() -> None:
    result = installed_bont("check", "-", stdin="{not json")
    assert result.returncode == 2
    assert "not valid JSON" in result.stderr


def test_check_errors_never_echo_patient_values() -> None:
    patient = {**CHECK["patient"], "birth_date": "Jane Doe"}
    result = run_check({**CHECK, "patient": patient})
    assert result.returncode == 2
    assert "Jane" not in result.stderr


def test_plan_with_a_patient_file_includes_the_safety_check(tmp_path: Path) -> None:
    patient_file = tmp_path / "patient.json"
    patient_file.write_text(
        json.dumps(
            {
                "patient": {"birth_date": "2018-03-01", "weight_kg": 20, "conditions": ["N39.0"]},
                "history": [
                    {
                        "date": "2026-11-01",
                        "product": "abobotulinumtoxinA",
                        "indication": "upper-limb-spasticity",
                        "units": 200,
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    result = bont(
        "plan",
        "--indication",
        "upper-limb-spasticity",
        "--product",
        "dysport",
        "--side",
        "left",
        "--muscle",
        "biceps-brachii=200",
        "--vial-units",
        "500",
        "--diluent-ml",
        "2.5",
        "--date",
        "2026-11-21",
        "--patient",
        str(patient_file),
        "--json",
    )
    assert result.returncode == 3, result.stderr
    plan = json.loads(result.stdout)
    assert plan["verdict"] == "block"
    # DYSPORT's pediatric upper limb interval is a label-worded limit ("no sooner than 16 weeks").
    blocking = {f["code"] for f in plan["findings"] if f["severity"] == "block"}
    assert blocking == {"retreatment-interval-too-short"}
    assert plan["age_years"] == 8
    assert plan["weight_kg"] == 20


EXAMPLES = Path(__file__).parent.parent.parent / "examples"


def test_the_readme_examples_run() -> None:
    blocked = installed_bont("check", str(EXAMPLES / "check-cumulative-block.json"), "--json")
    assert blocked.returncode == 3
    report = json.loads(blocked.stdout)
    assert {"cumulative-dose-exceeds-maximum", "other-botulinum-toxin-recently"} <= {
        f["code"] for f in report["findings"]
    }
    child = bont(
        "plan",
        "--indication",
        "upper-limb-spasticity",
        "--product",
        "BOTOX",
        "--side",
        "left",
        "--date",
        "2026-11-21",
        "--patient",
        str(EXAMPLES / "patient-child.json"),
        "--json",
    )
    assert child.returncode == 0, child.stderr  # the pediatric cumulative cap is unverified: it warns
    plan = json.loads(child.stdout)
    assert plan["verdict"] == "warn"
    assert "cumulative-dose-exceeds-maximum" in {f["code"] for f in plan["findings"]}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (
            {"plan": {**CHECK["plan"], "sites": [{"muscle": "frontalis", "side": "left", "units": 500}]}},
            "plan.total_units",
        ),
        (
            {"history": [{"date": "2027-01-01", "product": "BOTOX", "indication": "chronic-migraine", "units": 100}]},
            "history.0.date",
        ),
        ({"patient": {**CHECK["patient"], "birth_date": "2030-01-01"}}, "patient.birth_date"),
        ({"plan": {**CHECK["plan"], "total_units": 1e300}}, "plan.total_units"),
        (
            {
                "plan": {
                    "product": "BOTOX",
                    "indication": "chronic-migraine",
                    "sites": [{"muscle": "frontalis", "side": "upwards", "units": 5}],
                }
            },
            "plan.sites.0.side",
        ),
    ],
)
def test_check_refuses_inconsistent_input_naming_the_field(changes: dict[str, Any], field: str) -> None:
    result = run_check({**CHECK, **changes})
    assert result.returncode == 2, result.stdout
    assert result.stderr.startswith(f"error: {field}:"), result.stderr
    assert "2030" not in result.stderr  # dates are not echoed


def test_check_refuses_deeply_nested_json() -> None:
    result = installed_bont("check", "-", stdin="[" * 100_000)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["plan"],
        ["check"],
        ["dilute"],
        ["indication", "show"],
        ["product", "show"],
        ["knowledge", "audit"],
        ["session", "record"],
        ["patient", "add"],
        ["lot", "add"],
        ["billing", "export"],
    ],
)
def test_every_help_page_renders(command: list[str]) -> None:
    result = bont(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_plan_option_values_are_not_echoed_in_errors() -> None:
    result = bont("plan", "--indication", "upper-limb-spasticity", "--product", "BOTOX", "--birth-date", "1999-99-99")
    assert result.returncode == 2
    assert "1999" not in result.stderr
    huge = bont("plan", "--indication", "upper-limb-spasticity", "--product", "BOTOX", "--weight-kg", "1e999999")
    assert huge.returncode == 2
    assert huge.stderr.startswith("error: --weight-kg:")


def test_plan_and_patient_file_must_agree() -> None:
    result = bont(
        "plan",
        "--indication",
        "upper-limb-spasticity",
        "--product",
        "BOTOX",
        "--side",
        "left",
        "--weight-kg",
        "30",
        "--patient",
        str(EXAMPLES / "patient-child.json"),
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: --weight-kg: differs from the weight in the patient file")
