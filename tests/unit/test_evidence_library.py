"""The evidence library's rules on the in-memory fake: the curated catalogue, imports that are idempotent and never
lose a curated field, filters, the evidence map and the per-indication summary."""

from __future__ import annotations

import json
from dataclasses import fields, replace
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bont.bootstrap import build_knowledge, study_catalogue
from bont.domain.errors import KnowledgeError
from bont.domain.studies import (
    OTHER_PRODUCTS,
    Design,
    EvidenceLevel,
    Origin,
    ParsedRecords,
    PrimaryResult,
    Refusal,
    Study,
    StudyFilter,
    Trial,
    TrialStatus,
    evidence_map,
    merge_import,
    query_words,
    record_as_dict,
    study_from_dict,
    trial_from_dict,
    trials_first_for_research,
)
from bont.knowledge.catalogue import load_catalogue
from bont.services.evidence_library import (
    SUMMARY_STUDIES,
    EvidenceQueryError,
    Found,
    every_study,
    import_records,
    indication_evidence,
    keep_catalogue,
    search_studies,
)
from tests.fakes import FakeStudyLibrary

KNOWLEDGE = build_knowledge()

CURATED = Study(
    key="preempt-2",
    title="A curated trial",
    year=2010,
    design=Design.RCT,
    indications=("chronic-migraine",),
    products=("onabotulinumtoxinA",),
    authors=("Diener HC",),
    journal="Cephalalgia",
    pmid="20647171",
    participants=705,
    result=PrimaryResult("headache days per 28 days", "−9.0 vs −6.7", p_value="<0.001"),
    read_at=("https://pubmed.ncbi.nlm.nih.gov/20647171/",),
)


def imported(**changes: object) -> Study:
    study = Study(
        key="pmid:20647171",
        title="A title as PubMed gives it",
        year=2010,
        design=Design.RCT,
        indications=("chronic-migraine",),
        products=("onabotulinumtoxinA",),
        journal="Cephalalgia (Oslo)",
        pmid="20647171",
        doi="10.1177/0333102410364677",
        keywords=("Migraine Disorders",),
        origin=Origin.IMPORTED,
    )
    return replace(study, **changes)  # type: ignore[arg-type]


def test_an_import_fills_only_what_the_curated_record_lacks() -> None:
    merge = merge_import(CURATED, imported())
    assert merge.changed == ("doi", "keywords")
    assert merge.record == replace(
        CURATED,
        doi="10.1177/0333102410364677",
        keywords=("Migraine Disorders",),
        imported_fields=("doi", "keywords"),  # shown as brought by an import, not read by the curator
    )


def test_a_second_import_of_the_same_records_changes_nothing() -> None:
    library = FakeStudyLibrary()
    trial = Trial("NCT01234567", "A registered trial", TrialStatus.RECRUITING, ("depression",), origin=Origin.IMPORTED)
    parsed = ParsedRecords("PubMed XML", studies=(imported(),), trials=(trial,))
    first = import_records(library, parsed)
    second = import_records(library, parsed)
    assert first.added == ("pmid:20647171", "NCT01234567")
    assert (second.added, second.changed, second.unchanged) == ((), (), ("pmid:20647171", "NCT01234567"))


def test_an_import_of_a_curated_pmid_updates_the_curated_record_under_its_key() -> None:
    library = FakeStudyLibrary()
    keep_catalogue(library, [CURATED], [], "v1")
    report = import_records(library, ParsedRecords("MEDLINE", studies=(imported(title="Another title"),)))
    assert report.changed == (("preempt-2", ("doi", "keywords")),)
    stored = library.study("preempt-2")
    assert stored is not None
    assert (stored.title, stored.journal, stored.origin) == ("A curated trial", "Cephalalgia", Origin.CURATED)
    assert list(library.studies) == ["preempt-2"]


def test_a_newer_import_updates_an_imported_record_and_adds_to_its_indications() -> None:
    library = FakeStudyLibrary()
    import_records(library, ParsedRecords("RIS", studies=(imported(),)))
    report = import_records(
        library, ParsedRecords("RIS", studies=(imported(title="Corrected title", indications=("depression",)),))
    )
    assert report.changed == (("pmid:20647171", ("title", "indications")),)
    stored = library.study("pmid:20647171")
    assert stored is not None
    assert stored.indications == ("chronic-migraine", "depression")


def test_the_catalogue_is_written_again_only_when_its_files_change() -> None:
    library = FakeStudyLibrary()
    assert keep_catalogue(library, [CURATED], [], "v1")
    assert not keep_catalogue(library, [CURATED], [], "v1")
    import_records(library, ParsedRecords("MEDLINE", studies=(imported(),)))
    assert keep_catalogue(library, [replace(CURATED, participants=700)], [], "v2")
    stored = library.study("preempt-2")
    assert stored is not None
    assert (stored.participants, stored.doi) == (700, "10.1177/0333102410364677")  # the import's DOI kept


curated_text = st.one_of(st.none(), st.text(min_size=1, max_size=8))


@given(
    st.fixed_dictionaries(
        {"journal": curated_text, "population": curated_text, "doses": curated_text, "comparator": curated_text}
    ),
    st.fixed_dictionaries(
        {"journal": curated_text, "population": curated_text, "doses": curated_text, "comparator": curated_text}
    ),
)
def test_no_import_loses_a_curated_field_and_a_repeat_changes_nothing(
    curated_values: dict[str, str | None], incoming_values: dict[str, str | None]
) -> None:
    curated = replace(CURATED, **curated_values)  # type: ignore[arg-type]
    merged = merge_import(curated, imported(**incoming_values)).record
    for name, value in curated_values.items():
        if value:
            assert getattr(merged, name) == value
    assert merge_import(merged, imported(**incoming_values)).changed == ()


def test_every_curated_record_comes_back_the_same_from_plain_data() -> None:
    catalogue = study_catalogue()
    for study in catalogue.studies:
        assert study_from_dict(json.loads(json.dumps(record_as_dict(study)))) == study
    for trial in catalogue.trials:
        assert trial_from_dict(json.loads(json.dumps(record_as_dict(trial)))) == trial


def test_the_curated_catalogue_covers_every_indication_with_150_studies_or_more() -> None:
    catalogue = study_catalogue()
    assert len(catalogue.studies) >= 150
    covered = {indication for study in catalogue.studies for indication in study.indications}
    assert covered == set(KNOWLEDGE.indications)
    assert all(study.read_at for study in catalogue.studies)
    assert catalogue.research_areas <= set(KNOWLEDGE.indications)


def _studies_folder(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "studies"
    folder.mkdir()
    (folder / "catalogue.yaml").write_text("research_areas: [depression]\n", encoding="utf-8")
    (folder / "blepharospasm.yaml").write_text(text, encoding="utf-8")
    return tmp_path


RECORD = """studies:
  - id: a-study
    title: A study
    year: 2001
    design: rct
    indications: [blepharospasm]
    pmid: "{pmid}"
    read_at: [https://pubmed.ncbi.nlm.nih.gov/1/]
"""


@pytest.mark.parametrize(
    ("text", "field", "problem"),
    [
        (RECORD.format(pmid="12a"), "studies.0.pmid", "not a PMID"),
        (RECORD.format(pmid="1").replace("[blepharospasm]", "[blepharospasm, eyelid-itch]"), "studies.0.indications.1",
         "'eyelid-itch' is not known"),
        (RECORD.format(pmid="1") + RECORD.format(pmid="1").replace("studies:\n", "").replace("a-study", "b-study"),
         "studies.1.pmid", "already study 'a-study'"),
        (RECORD.format(pmid="1").replace("design: rct", "design: anecdote"), "studies.0.design", "Input should be"),
        (RECORD.format(pmid="1").replace("    read_at: [https://pubmed.ncbi.nlm.nih.gov/1/]\n", ""),
         "studies.0.read_at", "Field required"),
    ],
)  # fmt: skip
def test_a_catalogue_file_with_a_wrong_record_is_refused_naming_file_and_field(
    tmp_path: Path, text: str, field: str, problem: str
) -> None:
    with pytest.raises(KnowledgeError) as refused:
        load_catalogue(KNOWLEDGE, _studies_folder(tmp_path, text))
    assert "studies/blepharospasm.yaml" in str(refused.value)
    assert field in str(refused.value)
    assert problem in str(refused.value)


def test_a_search_naming_an_unknown_indication_is_refused_naming_the_field() -> None:
    with pytest.raises(EvidenceQueryError) as refused:
        search_studies(FakeStudyLibrary(), KNOWLEDGE, StudyFilter(indication="eyelid-itch"))
    assert refused.value.field == "indication"


def test_the_level_filter_keeps_studies_graded_at_the_level_or_better() -> None:
    library = FakeStudyLibrary()
    graded = [
        replace(CURATED, key=f"graded-{grade}", pmid=None, levels=(EvidenceLevel("AAN 2016", grade),))
        for grade in ("A", "B", "C")
    ]
    keep_catalogue(library, [*graded, replace(CURATED, key="ungraded", pmid=None)], [], "v1")
    keys = {study.key for study in every_study(library, KNOWLEDGE, StudyFilter(level="B"))}
    assert keys == {"graded-A", "graded-B"}


def test_the_map_counts_a_study_in_each_of_its_products_cells_with_the_grade_given_to_that_use() -> None:
    guideline = Study(
        "aan",
        "A guideline",
        2016,
        Design.GUIDELINE,
        ("chronic-migraine", "blepharospasm"),
        products=("onabotulinumtoxinA", "incobotulinumtoxinA"),
        levels=(
            EvidenceLevel("AAN 2016", "A", "chronic-migraine", "onabotulinumtoxinA"),
            EvidenceLevel("AAN 2016", "B", "blepharospasm", "incobotulinumtoxinA"),
        ),
    )
    unnamed_toxin = Study("case", "A case series", 2020, Design.CASE_SERIES, ("chronic-migraine",))
    running = Trial("NCT00000001", "A running trial", TrialStatus.RECRUITING, ("chronic-migraine",))
    grid = evidence_map([guideline, CURATED, unnamed_toxin], [running], KNOWLEDGE.indications, KNOWLEDGE.products)
    migraine_ona = grid.cell("chronic-migraine", "onabotulinumtoxinA")
    assert (migraine_ona.studies, migraine_ona.strength) == (2, "AAN 2016 Level A")
    assert grid.cell("chronic-migraine", "incobotulinumtoxinA").strength == "Guideline"  # graded for another use
    assert grid.cell("blepharospasm", "incobotulinumtoxinA").strength == "AAN 2016 Level B"
    other = grid.cell("chronic-migraine", OTHER_PRODUCTS)
    assert (other.studies, other.strength, other.trials_ongoing) == (1, "Case series", 1)
    assert grid.cell("sialorrhea", "rimabotulinumtoxinB").strength == "No studies"


def test_trials_of_the_research_areas_come_first_then_the_ongoing() -> None:
    trials = [
        Trial("NCT00000001", "Finished migraine", TrialStatus.COMPLETED, ("chronic-migraine",), start=date(2020, 1, 1)),
        Trial("NCT00000002", "Running migraine", TrialStatus.RECRUITING, ("chronic-migraine",), start=date(2019, 1, 1)),
        Trial("NCT00000003", "Finished depression", TrialStatus.COMPLETED, ("depression",), start=date(2015, 1, 1)),
    ]
    ordered = trials_first_for_research(trials, frozenset({"depression"}))
    assert [trial.nct for trial in ordered] == ["NCT00000003", "NCT00000002", "NCT00000001"]


def test_the_summary_gives_each_products_label_status_and_the_studies_strongest_first() -> None:
    library = FakeStudyLibrary()
    case_series = Study(
        "case", "A case series", 2021, Design.CASE_SERIES, ("chronic-migraine",), ("abobotulinumtoxinA",)
    )
    keep_catalogue(library, [case_series, CURATED], [], "v1")
    summary = indication_evidence(library, KNOWLEDGE, "chronic-migraine", date(2026, 11, 29))
    assert [study.key for study in summary.studies] == ["preempt-2", "case"]
    statuses = {status.product: status.approved for status in summary.products}
    assert statuses["onabotulinumtoxinA"] is True
    assert statuses["abobotulinumtoxinA"] is False
    assert summary.diagnosis_codes[0].startswith("G43.709")


def test_every_field_of_a_study_is_in_its_plain_data() -> None:
    assert set(record_as_dict(CURATED)) == {item.name for item in fields(Study)}


# -- the review's scenarios


def test_a_paper_sharing_only_a_trial_number_with_a_curated_study_is_a_study_of_its_own() -> None:
    library = FakeStudyLibrary()
    keep_catalogue(library, [replace(CURATED, nct="NCT00168428")], [], "v1")
    pooled = imported(key="pmid:20487038", pmid="20487038", doi=None, nct="NCT00168428", title="A pooled analysis")
    report = import_records(library, ParsedRecords("MEDLINE", studies=(pooled,)))
    assert report.added == ("pmid:20487038",)
    assert library.study("preempt-2") == replace(CURATED, nct="NCT00168428")


def test_a_record_whose_pmid_and_doi_are_two_stored_studies_is_refused_naming_both() -> None:
    library = FakeStudyLibrary()
    by_pmid = imported(doi=None)
    by_doi = imported(key="doi:10.1000/other", pmid=None, doi="10.1000/other")
    import_records(library, ParsedRecords("RIS", studies=(by_pmid, by_doi)))
    both = imported(key="pmid:20647171", doi="10.1000/OTHER")
    report = import_records(library, ParsedRecords("PubMed XML", studies=(both,)))
    assert report.added == report.changed == ()
    assert report.refused == (
        Refusal(
            "record 1 (PMID 20647171, DOI 10.1000/other)",
            "its identifiers belong to studies pmid:20647171 and doi:10.1000/other",
        ),
    )


def test_one_paper_twice_in_a_file_under_two_identifiers_is_stored_once() -> None:
    library = FakeStudyLibrary()
    with_both = imported()
    doi_only = imported(key="doi:10.1177/0333102410364677", pmid=None, participants=705)
    report = import_records(library, ParsedRecords("RIS", studies=(with_both, doi_only)))
    assert report.added == ("pmid:20647171",)
    assert list(library.studies) == ["pmid:20647171"]
    assert library.studies["pmid:20647171"].participants == 705


def test_a_field_the_curator_removes_stays_removed_and_an_imported_one_stays() -> None:
    library = FakeStudyLibrary()
    keep_catalogue(library, [replace(CURATED, nct="NCT99999999")], [], "v1")
    import_records(library, ParsedRecords("MEDLINE", studies=(imported(),)))
    keep_catalogue(library, [CURATED], [], "v2")  # the curator removed a wrong NCT number
    stored = library.study("preempt-2")
    assert stored is not None
    assert (stored.nct, stored.doi, stored.imported_fields) == (None, "10.1177/0333102410364677", ("doi", "keywords"))


def test_a_curated_study_the_catalogue_drops_stays_as_imported_when_an_import_brought_it() -> None:
    library = FakeStudyLibrary()
    other = replace(CURATED, key="other", pmid="1", title="Another curated study")
    keep_catalogue(library, [CURATED, other], [], "v1")
    import_records(library, ParsedRecords("MEDLINE", studies=(imported(),)))  # brings preempt-2 again
    keep_catalogue(library, [], [], "v2")
    assert list(library.studies) == ["preempt-2"]
    assert library.studies["preempt-2"].origin is Origin.IMPORTED


def test_the_graded_at_filter_reads_the_grade_given_for_the_indication_and_product_asked() -> None:
    library = FakeStudyLibrary()
    guideline = replace(
        CURATED, key="aan", pmid=None, design=Design.GUIDELINE, indications=("chronic-migraine", "blepharospasm"),
        levels=(EvidenceLevel("AAN 2016", "A", "chronic-migraine", "onabotulinumtoxinA"),
                EvidenceLevel("AAN 2016", "B", "blepharospasm", "onabotulinumtoxinA")),
    )  # fmt: skip
    keep_catalogue(library, [guideline], [], "v1")
    assert every_study(library, KNOWLEDGE, StudyFilter(level="A", indication="chronic-migraine"))
    assert not every_study(library, KNOWLEDGE, StudyFilter(level="A", indication="blepharospasm"))
    assert not every_study(library, KNOWLEDGE, StudyFilter(level="A", product="abobotulinumtoxinA"))
    with pytest.raises(EvidenceQueryError) as refused:
        every_study(library, KNOWLEDGE, StudyFilter(level="excellent"))
    assert refused.value.field == "level"


def test_the_summary_lists_the_strongest_studies_and_says_how_many_there_are() -> None:
    library = FakeStudyLibrary()
    series = [
        Study(f"case-{n}", f"Case series {n}", 2020, Design.CASE_SERIES, ("chronic-migraine",), ("onabotulinumtoxinA",))
        for n in range(SUMMARY_STUDIES + 5)
    ]
    graded = replace(CURATED, levels=(EvidenceLevel("AAN 2016", "A", "chronic-migraine", "onabotulinumtoxinA"),))
    keep_catalogue(library, [*series, replace(graded, year=1999)], [], "v1")
    summary = indication_evidence(library, KNOWLEDGE, "chronic-migraine", date(2026, 11, 29))
    assert summary.studies_total == SUMMARY_STUDIES + 6
    assert len(summary.studies) == SUMMARY_STUDIES
    assert summary.studies[0].key == "preempt-2"  # the oldest, but the only one graded


def test_the_summary_gives_each_label_approval_with_its_populations_and_each_grade_once() -> None:
    library = FakeStudyLibrary()
    catalogue = study_catalogue()
    keep_catalogue(library, catalogue.studies, catalogue.trials, "v1")
    sialorrhea = indication_evidence(library, KNOWLEDGE, "sialorrhea", date(2026, 11, 29))
    statuses = {status.product: status.label_status for status in sialorrhea.products}
    assert statuses["incobotulinumtoxinA"] == "FDA-approved (adult, pediatric)"
    assert statuses["rimabotulinumtoxinB"] == "FDA-approved (adult)"
    migraine = indication_evidence(library, KNOWLEDGE, "chronic-migraine", date(2026, 11, 29))
    grades = [(lvl.scheme, lvl.grade, lvl.indication, lvl.product) for lvl in migraine.levels]
    assert grades.count(("AAN 2016", "A", "chronic-migraine", "onabotulinumtoxinA")) == 1


def test_stop_words_alone_narrow_nothing_on_any_engine() -> None:
    assert query_words("the and of") == []
    assert query_words("The effect of BOTOX") == ["effect", "botox"]


def test_a_catalogue_file_that_is_not_yaml_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError) as refused:
        load_catalogue(KNOWLEDGE, _studies_folder(tmp_path, "studies: [unclosed\n"))
    assert "blepharospasm.yaml" in str(refused.value)


def test_an_estimated_total_leaves_no_match_out_of_reach_of_the_pages() -> None:
    # About 56,000 found, 56,432 in fact: the 2,240 pages the estimate gives would leave the last 432 out.
    full = Found(tuple(range(25)), 56_000, offset=2_239 * 25, limit=25, total_is_estimate=True)
    assert (full.page, full.pages) == (2_240, 2_241)  # a full page may have another after it
    early = Found(tuple(range(25)), 56_000, offset=0, limit=25, total_is_estimate=True)
    assert early.pages == 2_240
    last = Found(tuple(range(7)), 56_000, offset=2_257 * 25, limit=25, total_is_estimate=True)
    assert last.pages == last.page == 2_258  # a page that is not full is the last
    assert Found(tuple(range(7)), 56_000, offset=2_257 * 25, limit=25).pages == 2_240  # counted: as counted
