"""The installed ``bont`` command, run as a user would run it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bont.knowledge import DEFAULT_DATA_DIR

BONT = str(Path(sys.executable).with_name("bont"))


def bont(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BONT, *args], capture_output=True, text=True, check=False, env={**os.environ, **(env or {})}, timeout=60
    )


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
    ("args", "suggestion"),
    [
        (("indication", "show", "chronic-migrane"), "chronic-migraine"),
        (("product", "show", "onabotulinumtoxin"), "onabotulinumtoxinA"),
    ],
)
def test_an_unknown_id_exits_2_with_one_line_naming_the_nearest(args: tuple[str, ...], suggestion: str) -> None:
    result = bont(*args, "--json")
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
    path = copy / "indications" / "sialorrhea.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("muscle: parotid-gland", "muscle: parotid", 1))
    result = bont("knowledge", "validate", "--data-dir", str(copy))
    assert result.returncode == 1
    assert "indications/sialorrhea.yaml" in result.stderr
    assert "unknown muscle 'parotid'" in result.stderr


def test_the_clinic_copy_named_by_the_environment_is_used(tmp_path: Path) -> None:
    copy = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, copy)
    (copy / "indications" / "bruxism.yaml").unlink()
    result = bont("indications", "--json", env={"BONT_KNOWLEDGE_DIR": str(copy)})
    assert result.returncode == 0, result.stderr
    assert "bruxism" not in {i["id"] for i in json.loads(result.stdout)}
