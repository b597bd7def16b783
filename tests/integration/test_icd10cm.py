"""ICD-10-CM with its hierarchy: the ``simple_icd_10_cm`` adapter of the domain's code-set port, the knowledge
base matching a specific code to the vocabulary through its ancestors, and a code that ICD-10-CM does not hold
refused by the check document and ``bont check`` / ``bont plan --patient``, naming the field."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bont.cli.app import app
from bont.domain.code_sets import UNKNOWN_CODE, ConditionCodeSet, code_form, looks_like_code
from bont.domain.knowledge import KnowledgeBase
from bont.interop.check_document import InputError, read_check
from bont.knowledge.icd10cm import SimpleICD10CM
from bont.services.clock import SystemClock

ICD = SimpleICD10CM()
RUNNER = CliRunner()
UTC_CLINIC = SystemClock("UTC")


def check_document(*conditions: str) -> dict[str, object]:
    return {
        "date": "2026-11-21",
        "patient": {"birth_date": "1975-03-10", "sex": "female", "conditions": list(conditions)},
        "plan": {"product": "onabotulinumtoxinA", "indication": "cervical-dystonia", "total_units": 200},
    }


# -- the adapter


def test_the_ancestors_of_a_code_are_its_subcategories_and_category_nearest_first() -> None:
    assert ICD.ancestors("L03.221") == ("L03.22", "L03.2", "L03")
    assert ICD.ancestors("G70.01") == ("G70.0", "G70")
    assert ICD.ancestors("L03") == ()


def test_a_seventh_character_code_has_its_placeholder_subcategories_as_ancestors() -> None:
    assert ICD.ancestors("S06.0X1A") == ("S06.0X1", "S06.0X", "S06.0", "S06")


def test_a_block_named_like_its_only_category_is_not_an_ancestor_twice() -> None:
    assert ICD.ancestors("B10.01") == ("B10.0", "B10")


def test_a_code_has_its_icd10cm_title() -> None:
    assert ICD.description("L03.221") == "Cellulitis of neck"
    assert ICD.description("G70.01") == "Myasthenia gravis with (acute) exacerbation"


@pytest.mark.parametrize("code", ["L03.999", "Z99.999", "L03221", "l03.221", "L00-L08", "12"])
def test_a_code_icd10cm_does_not_hold_is_invalid_with_no_ancestors_or_title(code: str) -> None:
    # Undotted or lower-case codes are the domain's to rewrite (code_form): the port takes codes as written.
    assert not ICD.is_valid(code)
    assert ICD.ancestors(code) == ()
    assert ICD.description(code) is None


def test_every_icd10cm_code_of_the_knowledge_files_is_in_icd10cm(knowledge: KnowledgeBase) -> None:
    listed = {str(code) for condition in knowledge.conditions.values() for code in condition.icd10}
    listed |= {str(code.value.code) for indication in knowledge.indications.values() for code in indication.icd10}
    assert sorted(code for code in listed if not ICD.is_valid(code)) == []


def test_loading_the_knowledge_does_not_load_icd10cm() -> None:
    # Parsing ICD-10-CM takes seconds: a command that never meets an unlisted code must not pay for it.
    script = (
        "import sys; from bont.bootstrap import build_knowledge; build_knowledge(); "
        "print('simple_icd_10_cm' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == "False"


def test_the_code_set_is_read_back_from_its_table_and_a_damaged_table_is_built_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bont.knowledge import icd10cm

    cached = tmp_path / "icd10cm.json"
    built: list[int] = []

    def from_package() -> dict[str, tuple[str, tuple[str, ...]]]:
        built.append(1)
        return {"L03.221": ("Cellulitis of neck", ("L03.22", "L03.2", "L03"))}

    monkeypatch.setattr(icd10cm, "table_file", lambda: cached)
    monkeypatch.setattr(icd10cm, "_from_package", from_package)
    forget = (icd10cm._built_table, icd10cm._is_valid, icd10cm._ancestors, icd10cm._description)
    try:
        for damage in (None, "{not json", '{"L03.221": 7}'):
            if damage is not None:
                cached.write_text(damage, encoding="utf-8")
            for each in forget:
                each.cache_clear()
            assert ICD.ancestors("L03.221") == ("L03.22", "L03.2", "L03")
        assert len(built) == 3  # none yet, then twice damaged: each time built from the package and written
        for each in forget:
            each.cache_clear()
        assert ICD.description("L03.221") == "Cellulitis of neck"  # read back from the file, not built
        assert (len(built), cached.stat().st_mode & 0o077) == (3, 0)
    finally:
        for each in forget:
            each.cache_clear()  # the next test reads the real table again


# -- how a term is read


@pytest.mark.parametrize(
    ("term", "code"),
    [("L03.221", "L03.221"), ("l03.221", "L03.221"), (" l03221 ", "L03.221"), ("G70", "G70"), ("c4a.0", "C4A.0")],
)
def test_a_code_is_written_upper_case_with_its_dot(term: str, code: str) -> None:
    assert code_form(term) == code


@pytest.mark.parametrize(("term", "plainly"), [("L03.999", True), ("z99999", True), ("T2DM", False), ("mg", False)])
def test_only_a_term_plainly_meant_as_a_code_can_be_an_unknown_code(term: str, plainly: bool) -> None:
    assert looks_like_code(term) is plainly


# -- the knowledge base with the hierarchy


@pytest.mark.parametrize(
    ("term", "condition"),
    [
        ("L03.221", "injection-site-infection"),  # under L03
        ("l03221", "injection-site-infection"),
        ("L03.90", "injection-site-infection"),  # listed itself
        ("G70.01", "myasthenia-gravis"),
        ("G70.0", "myasthenia-gravis"),  # the subcategory above the listed G70.00 and G70.01
        ("R13.12", "dysphagia"),
        ("myasthenia gravis", "myasthenia-gravis"),  # names are still matched
        ("cellulitis", "injection-site-infection"),
    ],
)
def test_a_code_matches_the_condition_of_itself_or_its_nearest_listed_ancestor(
    knowledge: KnowledgeBase, term: str, condition: str
) -> None:
    found = knowledge.find_condition(term)
    assert found is not None
    assert found.id == condition


@pytest.mark.parametrize("term", ["D68.51", "G51.31", "L03.999", "E11.9"])
def test_a_sibling_of_a_listed_code_or_an_unknown_code_matches_no_condition(
    knowledge: KnowledgeBase, term: str
) -> None:
    # D68.51 (a thrombophilia) shares D68 with listed bleeding disorders; G51.31 (hemifacial spasm) shares G51
    # with facial palsies: only a listed code and the codes below it match.
    assert knowledge.find_condition(term) is None


def test_a_code_below_an_indication_code_is_that_indication(knowledge: KnowledgeBase) -> None:
    assert [i.id for i in knowledge.indications_coded("G51.31")] == ["hemifacial-spasm"]
    assert [i.id for i in knowledge.indications_coded("g24.3")] == ["cervical-dystonia"]
    assert knowledge.indications_coded("G51.0") == ()


def test_unknown_codes_are_told_from_names(knowledge: KnowledgeBase) -> None:
    assert knowledge.is_unknown_code("L03.999")
    assert knowledge.is_unknown_code("z99.999")
    assert not knowledge.is_unknown_code("L03.221")
    assert not knowledge.is_unknown_code("myasthenia gravis")
    assert not knowledge.is_unknown_code("T2DM")  # an unrecognised name, reported by the check
    assert knowledge.describe_code("l03221") == "Cellulitis of neck"
    assert knowledge.describe_code("pregnancy") is None


class RefusingCodeSet(ConditionCodeSet):
    """A code set that must not be asked: the knowledge alone answers for the codes it lists."""

    def is_valid(self, code: str) -> bool:
        raise AssertionError(f"asked whether {code} is valid")

    def ancestors(self, code: str) -> tuple[str, ...]:
        raise AssertionError(f"asked for the ancestors of {code}")

    def description(self, code: str) -> str | None:
        raise AssertionError(f"asked for the title of {code}")


def test_codes_the_knowledge_lists_are_answered_without_the_code_set(knowledge: KnowledgeBase) -> None:
    listed_only = replace(knowledge, condition_codes=RefusingCodeSet())
    assert [listed_only.find_condition(c) for c in ("G70.01", "L03.90", "L03", "g7001")] == [
        knowledge.conditions["myasthenia-gravis"],
        knowledge.conditions["injection-site-infection"],
        knowledge.conditions["injection-site-infection"],
        knowledge.conditions["myasthenia-gravis"],
    ]
    assert [i.id for i in listed_only.indications_coded("G24.3")] == ["cervical-dystonia"]
    assert listed_only.indications_coded("G43.709") != ()
    assert not listed_only.is_unknown_code("G43.709")
    assert listed_only.find_condition("G43.709") is None  # nothing the conditions list begins G43.709


# -- refused where it is entered


def test_the_check_document_refuses_an_unknown_code_naming_the_field(knowledge: KnowledgeBase) -> None:
    with pytest.raises(InputError) as refused:
        read_check(json.dumps(check_document("G24.3", "L03.999")), UTC_CLINIC, knowledge)
    assert (refused.value.field, refused.value.problem) == ("patient.conditions.1", UNKNOWN_CODE)
    assert "L03.999" not in str(refused.value)  # patient data is never repeated in an error


def test_the_check_document_writes_codes_as_icd10cm_writes_them(knowledge: KnowledgeBase) -> None:
    request = read_check(json.dumps(check_document("l03221", "Myasthenia Gravis", "T2DM")), UTC_CLINIC, knowledge)
    assert request.patient.conditions == ("L03.221", "Myasthenia Gravis", "T2DM")


def test_bont_check_exits_2_naming_the_condition_that_icd10cm_does_not_hold(tmp_path: Path) -> None:
    document = tmp_path / "check.json"
    document.write_text(json.dumps(check_document("pregnancy", "Z99.999")), encoding="utf-8")
    result = RUNNER.invoke(app, ["check", str(document)])
    assert result.exit_code == 2, result.output
    assert f"patient.conditions.1: {UNKNOWN_CODE}" in " ".join(result.stderr.split())


def test_bont_check_blocks_cellulitis_of_the_neck_before_a_neck_injection(tmp_path: Path) -> None:
    document = tmp_path / "check.json"
    document.write_text(json.dumps(check_document("L03.221")), encoding="utf-8")
    result = RUNNER.invoke(app, ["check", str(document), "--json"])
    assert result.exit_code == 3, result.output
    assert "infection at the injection site (L03.221)" in result.stdout


def test_bont_plan_refuses_a_patient_file_with_an_unknown_code(tmp_path: Path) -> None:
    patient = tmp_path / "patient.json"
    patient.write_text(json.dumps({"patient": {"conditions": ["l03.999"]}}), encoding="utf-8")
    result = RUNNER.invoke(
        app, ["plan", "--indication", "cervical-dystonia", "--product", "BOTOX", "--patient", str(patient)]
    )
    assert result.exit_code == 2, result.output
    assert f"--patient: patient.conditions.0: {UNKNOWN_CODE}" in " ".join(result.stderr.split())


def test_threads_asking_at_once_wait_for_one_table_built_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A server builds the table beside its first requests: a request asking meanwhile waits for that table rather
    than importing the package at the same time (which can hand it a half-initialised package, and a table of part
    of the codes for the life of the process)."""
    from bont.knowledge import icd10cm

    building = threading.Event()
    built: list[str] = []

    def from_package() -> dict[str, tuple[str, tuple[str, ...]]]:
        built.append(threading.current_thread().name)
        building.set()
        time.sleep(0.3)  # still building when the other thread asks
        return {"G43.709": ("Chronic migraine without aura", ("G43.70", "G43.7", "G43"))}

    monkeypatch.setattr(icd10cm, "table_file", lambda: tmp_path / "table.json")
    monkeypatch.setattr(icd10cm, "_from_package", from_package)
    forget = (icd10cm._built_table, icd10cm._is_valid, icd10cm._ancestors, icd10cm._description)
    for each in forget:
        each.cache_clear()
    try:
        ahead = threading.Thread(target=icd10cm.load_code_set, name="load-ahead")
        ahead.start()
        assert building.wait(5)
        assert ICD.description("G43.709") == "Chronic migraine without aura"  # asked while the table is built
        ahead.join(5)
        assert built == ["load-ahead"]
    finally:
        for each in forget:
            each.cache_clear()
