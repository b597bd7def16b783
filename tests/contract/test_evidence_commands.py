"""The evidence library through the ``bont evidence`` commands on real SQLite (FTS5) and PostgreSQL (text search
vectors) databases (``tests/integration/test_background_runs.py`` runs this module once per engine): the curated
catalogue is searchable with filters, an import of each format researchers download adds its records once and a
second import changes nothing, an import never overwrites a curated field, a bad file stores nothing, and the
map, the exports and the summary answer the same on both engines."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from tests.contract.clinic import Clinic

FIXTURES = Path(__file__).parent.parent / "fixtures" / "literature"

# PREEMPT 2's PMID as MEDLINE gives it, with another title and a DOI the curated record has: the import may add
# only what the curated record lacks.
CURATED_PMID_MEDLINE = """PMID- 20647171
DP  - 2010 Jul
TI  - A title as an import gives it, which must not replace the curated one.
LID - 10.1177/0333102410364677 [doi]
PT  - Randomized Controlled Trial
TA  - Cephalalgia
MH  - *Botulinum Toxins, Type A/therapeutic use
MH  - *Migraine Disorders/drug therapy
OT  - onabotulinumtoxinA
"""


def _json(clinic: Clinic, *args: str) -> Any:
    return clinic.ok("evidence", *args)


def _text(clinic: Clinic, *args: str) -> str:
    done = clinic.run("evidence", *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _keys(found: Any) -> list[str]:
    return [study["key"] for study in found["studies"]]


def test_the_curated_catalogue_is_searched_by_words_and_filters(empty_clinic: Clinic) -> None:
    found = _json(empty_clinic, "search", "PREEMPT")
    assert found["total"] >= 3
    assert "preempt-2" in _keys(found)
    # A prefix of a product's name finds it; filters narrow; the strongest words rank a title first.
    rct = _json(empty_clinic, "search", "onabot", "--indication", "chronic-migraine", "--design", "rct")
    assert rct["total"] >= 2
    assert all(study["design"] == "rct" for study in rct["studies"])
    graded = _json(empty_clinic, "search", "--level", "A", "--indication", "chronic-migraine")
    assert "aan-2016-simpson" in _keys(graded)
    recent = _json(empty_clinic, "search", "--year-from", "2016", "--year-to", "2016", "--per-page", "200")
    assert {study["year"] for study in recent["studies"]} == {2016}
    # FTS5 syntax in a researcher's words is text: no error, no match.
    assert _json(empty_clinic, "search", 'NEAR("botox" OR')["total"] == 0
    unknown = empty_clinic.run("evidence", "search", "--indication", "eyelid-itch")
    assert unknown.returncode == 2
    assert "--indication" in unknown.stderr


def test_each_format_imports_once_and_a_second_import_changes_nothing(empty_clinic: Clinic, tmp_path: Path) -> None:
    files = [str(FIXTURES / name) for name in (
        "pubmed.xml", "medline.txt", "clinicaltrials-study.json", "clinicaltrials-page.json", "references.ris",
    )]  # fmt: skip
    first = empty_clinic.ok("evidence", "import", *files)
    assert sum(len(report["added"]) for report in first) >= 10
    assert [report["format"] for report in first] == [
        "PubMed XML", "MEDLINE", "ClinicalTrials.gov JSON", "ClinicalTrials.gov JSON", "RIS",
    ]  # fmt: skip
    assert any(refusal["reason"] == "not about botulinum toxin" for refusal in first[0]["refused"])
    second = empty_clinic.ok("evidence", "import", *files)
    assert all(report["added"] == [] and report["changed"] == [] for report in second)
    # An imported study is found by its words on this engine's full-text search.
    assert _json(empty_clinic, "search", "letibotulinumtoxinA")["total"] >= 1


def test_an_import_of_a_curated_pmid_adds_only_what_the_curated_record_lacks(
    empty_clinic: Clinic, tmp_path: Path
) -> None:
    before = _json(empty_clinic, "search", "PREEMPT 2")
    medline = tmp_path / "preempt.txt"
    medline.write_text(CURATED_PMID_MEDLINE, encoding="utf-8")
    [report] = empty_clinic.ok("evidence", "import", str(medline))
    assert report["added"] == []
    assert [change["record"] for change in report["changed"]] == ["preempt-2"]
    assert "title" not in report["changed"][0]["fields"]
    after = _json(empty_clinic, "search", "PREEMPT 2")
    assert after["total"] == before["total"]
    [study] = [s for s in after["studies"] if s["key"] == "preempt-2"]
    assert study["origin"] == "curated"
    assert "must not replace" not in study["title"]


def test_a_bad_file_is_refused_whole_and_stores_nothing(empty_clinic: Clinic, tmp_path: Path) -> None:
    cut = tmp_path / "cut.xml"
    cut.write_bytes((FIXTURES / "pubmed.xml").read_bytes()[:900])
    before = _json(empty_clinic, "search")["total"]
    refused = empty_clinic.run("evidence", "import", str(FIXTURES / "medline.txt"), str(cut))
    assert refused.returncode == 2
    assert "cut.xml" in refused.stderr
    assert _json(empty_clinic, "search")["total"] == before  # not even the good file before it


def test_the_map_the_exports_and_the_summary_agree_with_the_search(empty_clinic: Clinic, tmp_path: Path) -> None:
    grid = _json(empty_clinic, "map")
    [migraine] = [row for row in grid["indications"] if row["indication"] == "chronic-migraine"]
    [cell] = [c for c in migraine["cells"] if c["product"] == "onabotulinumtoxinA"]
    found = _json(empty_clinic, "search", "--indication", "chronic-migraine", "--product", "onabotulinumtoxinA")
    assert cell["studies"] == found["total"]
    assert cell["best_level"] == "AAN 2016 Level A"
    exported = tmp_path / "migraine.csv"
    _text(
        empty_clinic, "export", "--format", "csv", "--indication", "chronic-migraine", "--product",
        "onabotulinumtoxinA", "--output", str(exported),
    )  # fmt: skip
    with exported.open(encoding="utf-8", newline="") as file:
        assert len(list(csv.DictReader(file))) == found["total"]
    ris = _text(empty_clinic, "export", "--format", "ris", "PREEMPT")
    assert ris.count("ER  -") == _json(empty_clinic, "search", "PREEMPT", "--per-page", "200")["total"]
    summary = _json(empty_clinic, "summary", "chronic-migraine")
    assert summary["studies"][0]["key"] == "aan-2016-simpson"
    pdf = tmp_path / "migraine.pdf"
    _text(empty_clinic, "summary", "chronic-migraine", "--pdf", str(pdf))
    assert pdf.read_bytes().startswith(b"%PDF")


UNDATED_RIS = """TY  - JOUR
TI  - OnabotulinumtoxinA in blepharospasm: an undated fictional case series
AU  - Fictional, Alma
JO  - Fictional Journal of Tests
ER  -
"""


def test_both_engines_list_undated_studies_last_and_read_a_researchers_words_alike(
    empty_clinic: Clinic, tmp_path: Path
) -> None:
    undated = tmp_path / "undated.ris"
    undated.write_text(UNDATED_RIS, encoding="utf-8")
    [report] = empty_clinic.ok("evidence", "import", str(undated))
    assert len(report["added"]) == 1, report
    years: list[int | None] = []
    page, pages = 1, 1
    while page <= pages:
        found = _json(empty_clinic, "search", "--per-page", "200", "--page", str(page))
        years += [study["year"] for study in found["studies"]]
        page, pages = page + 1, found["pages"]
    assert None in years
    assert years.index(None) == len(years) - years.count(None)  # every undated study after every dated one
    # Stop words narrow nothing (PostgreSQL leaves them out; so does SQLite's search here).
    assert _json(empty_clinic, "search", "the of and")["total"] == len(years)
    # A phase of LIKE's wildcards is text.
    assert _json(empty_clinic, "trials", "--phase", "%")["total"] == 0
    assert _json(empty_clinic, "trials", "--phase", "2")["total"] >= 1


def test_a_word_in_much_of_a_large_library_is_counted_about_on_postgresql_and_exactly_on_sqlite(
    empty_clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import connection  # noqa: TID251 (which engine; the words table analysed as autovacuum would)

    from bont.bootstrap import build_knowledge, keep_study_catalogue, study_library
    from bont.clinic import evidence_records
    from bont.domain.studies import StudyFilter
    from bont.services.evidence_library import every_study

    keep_study_catalogue()
    library = study_library()
    exact = library.search_studies(StudyFilter(text="botulinum"), 0, 25)
    assert not exact.total_is_estimate
    assert exact.total > 20
    # As in a library of hundreds of thousands: estimated above a few matches, from a sample of the whole table.
    monkeypatch.setattr(evidence_records, "ESTIMATED_ABOVE", 10)
    if connection.vendor == "postgresql":
        # A table never analysed has no size to scale a sample by: counted exactly until it has one.
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'clinic_librarystudywords'")
            if cursor.fetchone()[0] < 0:
                assert not library.search_studies(StudyFilter(text="botulinum"), 0, 25).total_is_estimate
            cursor.execute("ANALYZE clinic_librarystudywords")
    about = library.search_studies(StudyFilter(text="botulinum"), 0, 25)
    if connection.vendor == "postgresql":
        assert about.total_is_estimate
        assert about.total == int(float(f"{exact.total:.2g}"))  # the sample is the whole (small) table
    else:
        assert about == exact
    assert about.records == exact.records
    # An export reads every match, whatever the figure shown.
    assert len(every_study(library, build_knowledge(), StudyFilter(text="botulinum"))) == exact.total
