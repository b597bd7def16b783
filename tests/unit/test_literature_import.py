"""Reading the literature files researchers download (bont.interop.literature): PubMed XML, MEDLINE,
ClinicalTrials.gov API v2 JSON and RIS, from fixture files in those formats written for these tests."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import Bio.Entrez.Parser
import pytest
import rispy

from bont.domain.knowledge import KnowledgeBase
from bont.domain.studies import Design, Origin, ParsedRecords, Refusal, TrialStatus
from bont.interop.literature import MAX_FILE_BYTES, LiteratureFileError, LiteratureTerms, read_literature

FIXTURES = Path(__file__).parent.parent / "fixtures" / "literature"


@pytest.fixture(scope="module")
def terms(knowledge: KnowledgeBase) -> LiteratureTerms:
    return LiteratureTerms.from_knowledge(knowledge)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bio.Entrez downloads a DTD it does not ship: an import must never get that far."""

    def refuse(url: object, *args: object, **kwargs: object) -> None:
        raise AssertionError(f"Bio.Entrez tried to download {url}")

    monkeypatch.setattr(Bio.Entrez.Parser, "urlopen", refuse)


def read(name: str, terms: LiteratureTerms, *, called: str | None = None) -> ParsedRecords:
    return read_literature((FIXTURES / name).read_bytes(), called or name, terms)


# -- PubMed XML


def test_reads_a_pubmed_rct_with_its_doi_trial_number_and_uses(terms: LiteratureTerms) -> None:
    parsed = read("pubmed.xml", terms)
    assert parsed.format == "PubMed XML"
    rct = parsed.studies[0]
    assert (rct.key, rct.pmid, rct.doi, rct.nct) == (
        "pmid:90000001",
        "90000001",
        "10.5555/bont.test.0001",
        "NCT09000001",
    )
    assert (rct.design, rct.year, rct.journal, rct.citation) == (Design.RCT, 2024, "J Fict Neurol", "12(3):101-109")
    assert rct.authors == ("Example AB", "Sample C", "BONT Fictional Study Group")
    assert (rct.indications, rct.products, rct.other_products) == (("chronic-migraine",), ("onabotulinumtoxinA",), ())
    assert rct.keywords == ("Botulinum Toxins, Type A", "Migraine Disorders", "headache days")
    assert (rct.origin, rct.read_at) == (Origin.IMPORTED, ())
    assert "abstract" not in rct.searchable_text()


def test_a_meta_analysis_outranks_the_systematic_review_it_also_is(terms: LiteratureTerms) -> None:
    review = read("pubmed.xml", terms).studies[1]
    # The DOI from the ArticleIdList (no ELocationID), the year from a MedlineDate, the journal's full title.
    assert (review.key, review.doi, review.design, review.year) == (
        "pmid:90000002",
        "10.5555/bont.test.0002",
        Design.META_ANALYSIS,
        2023,
    )
    assert (
        review.title
        == "IncobotulinumtoxinA versus Dysport in upper limb spasticity after stroke: a fictional meta-analysis."
    )
    assert (review.journal, review.citation) == ("Fictional rehabilitation reviews", "8:e20")
    assert review.indications == ("upper-limb-spasticity",)
    assert review.products == ("abobotulinumtoxinA", "incobotulinumtoxinA")  # by brand and by established name


def test_refuses_an_article_not_about_botulinum_toxin(terms: LiteratureTerms) -> None:
    parsed = read("pubmed.xml", terms)
    assert len(parsed.studies) == 2
    assert parsed.refused == (Refusal("record 3 (PMID 90000003)", "not about botulinum toxin"),)


def test_reads_pubmed_xml_naming_a_dtd_biopython_does_not_ship_or_none_without_the_network(
    terms: LiteratureTerms,
) -> None:
    content = (FIXTURES / "pubmed.xml").read_bytes()
    declared = b"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd"
    newer = content.replace(declared, b"http://www.ncbi.nlm.nih.gov/corehtml/query/DTD/pubmed_990101.dtd")
    undeclared = re.sub(rb"<!DOCTYPE[^>]*>", b"", content)
    for variant in (newer, undeclared):
        parsed = read_literature(variant, "pubmed.xml", terms)
        assert [study.key for study in parsed.studies] == ["pmid:90000001", "pmid:90000002"]


def test_a_cut_short_pubmed_xml_is_refused_naming_the_file(terms: LiteratureTerms) -> None:
    content = (FIXTURES / "pubmed.xml").read_bytes()
    with pytest.raises(LiteratureFileError, match=r"^pubmed\.xml: the XML is malformed or cut short \(.+line"):
        read_literature(content[: len(content) // 2], "pubmed.xml", terms)


def test_xml_with_an_element_pubmed_does_not_define_is_refused(terms: LiteratureTerms) -> None:
    content = (FIXTURES / "pubmed.xml").read_bytes().replace(b"Language>", b"Lingo>")
    with pytest.raises(LiteratureFileError, match=r"^pubmed\.xml: not PubMed XML \(<Lingo> is not in PubMed's DTD\)"):
        read_literature(content, "pubmed.xml", terms)


def test_xml_that_is_not_pubmed_is_refused(terms: LiteratureTerms) -> None:
    with pytest.raises(LiteratureFileError, match=r"^feed\.xml: not PubMed XML \(no PubmedArticleSet\)"):
        read_literature(b'<?xml version="1.0"?>\n<rss><channel/></rss>\n', "feed.xml", terms)


# -- MEDLINE


def test_reads_medline_with_its_doi_trial_number_and_a_toxin_bont_does_not_carry(terms: LiteratureTerms) -> None:
    parsed = read("medline.txt", terms)
    assert parsed.format == "MEDLINE"
    study = parsed.studies[0]
    assert (study.key, study.doi, study.nct) == ("pmid:90000021", "10.5555/bont.test.0021", "NCT09000021")
    assert (study.design, study.year, study.journal, study.citation) == (
        Design.OPEN_LABEL,
        2025,
        "Fict Mov Disord",
        "7(2):55-61",
    )
    assert study.authors == ("Rossi M", "Tanaka K")
    assert (study.indications, study.products, study.other_products) == (
        ("cervical-dystonia",),
        (),
        ("letibotulinumtoxinA",),
    )
    # MeSH headings without the major-topic star and subheadings, then the keywords.
    assert study.keywords == (
        "Botulinum Toxins, Type A",
        "Humans",
        "Torticollis",
        "letibotulinumtoxinA",
        "spasmodic torticollis",
    )


def test_a_case_report_of_toxin_unnamed_by_product_is_kept_without_products(terms: LiteratureTerms) -> None:
    study = read("medline.txt", terms).studies[1]
    assert (study.key, study.design, study.year, study.citation) == ("pmid:90000022", Design.CASE_SERIES, 2021, None)
    assert (study.indications, study.products, study.other_products) == (("sialorrhea",), (), ())


# -- ClinicalTrials.gov API v2


def test_reads_a_single_clinicaltrials_study(terms: LiteratureTerms) -> None:
    parsed = read("clinicaltrials-study.json", terms)
    assert (parsed.format, parsed.studies, parsed.refused) == ("ClinicalTrials.gov JSON", (), ())
    (trial,) = parsed.trials
    assert (trial.nct, trial.status, trial.phase, trial.enrolment) == (
        "NCT09000101",
        TrialStatus.RECRUITING,
        "Phase 2/Phase 3",
        120,
    )
    assert (trial.start, trial.primary_completion, trial.read_on) == (
        date(2024, 1, 1),
        date(2026, 6, 30),
        date(2025, 9, 1),
    )
    assert (trial.sponsor, trial.results_posted) == ("Example University (fictional)", False)
    assert (trial.indications, trial.products) == (("depression",), ("onabotulinumtoxinA",))
    assert (trial.conditions, trial.interventions) == (
        ("Major Depressive Disorder",),
        ("OnabotulinumtoxinA", "Placebo"),
    )
    assert trial.primary_outcome == "Change in MADRS total score"
    assert (trial.origin, trial.read_at) == (Origin.IMPORTED, ())


def test_reads_a_page_of_the_search_result_refusing_a_malformed_study(terms: LiteratureTerms) -> None:
    parsed = read("clinicaltrials-page.json", terms)
    completed, running = parsed.trials
    assert (completed.nct, completed.status, completed.phase, completed.results_posted) == (
        "NCT09000201",
        TrialStatus.COMPLETED,
        "Phase 3",
        True,
    )
    assert (completed.start, completed.primary_completion) == (date(2019, 3, 15), date(2021, 11, 1))
    assert (completed.indications, completed.products) == (("cervical-dystonia",), ("abobotulinumtoxinA",))
    assert (running.status, running.phase, running.start, running.primary_completion) == (
        TrialStatus.ACTIVE_NOT_RECRUITING,
        "Not applicable",
        date(2023, 5, 1),
        None,
    )
    assert (running.indications, running.products, running.enrolment, running.sponsor) == (
        ("postherpetic-neuralgia",),
        (),
        None,
        None,
    )
    assert parsed.refused == (
        Refusal(
            "record 3 (NCT09000203)",
            "protocolSection.statusModule.startDateStruct.date: '2024-13' is not a date as ClinicalTrials.gov "
            "writes one (YYYY-MM or YYYY-MM-DD)",
        ),
    )


def test_json_that_is_not_a_clinicaltrials_study_is_refused(terms: LiteratureTerms) -> None:
    with pytest.raises(
        LiteratureFileError, match=r"^studies\.json: not a ClinicalTrials\.gov study \(no protocolSection\)$"
    ):
        read_literature(b'{"results": [{"id": 1}]}', "studies.json", terms)
    with pytest.raises(LiteratureFileError, match=r"^studies\.json: not valid JSON"):
        read_literature(b'{"studies": [', "studies.json", terms)


# -- RIS


def test_reads_ris_with_pmids_from_the_accession_number_or_a_note(terms: LiteratureTerms) -> None:
    parsed = read("references.ris", terms)
    assert parsed.format == "RIS"
    bladder, eyelid, _ = parsed.studies
    assert (bladder.key, bladder.doi, bladder.nct, bladder.design) == (
        "pmid:90000031",
        "10.5555/bont.test.0031",
        "NCT09000031",
        Design.RCT,  # from a keyword naming PubMed's publication type
    )
    assert (bladder.year, bladder.journal, bladder.citation, bladder.authors) == (
        2020,
        "Fict Urol",
        "15(4):210-218",
        ("Lund H", "Berg O"),
    )
    assert (bladder.indications, bladder.products) == (("overactive-bladder",), ("onabotulinumtoxinA",))
    assert (eyelid.key, eyelid.design, eyelid.year, eyelid.journal, eyelid.citation) == (
        "pmid:90000032",
        Design.OTHER,
        2019,
        "Fictional ophthalmology",
        "9:33",
    )
    assert (eyelid.indications, eyelid.products, eyelid.authors) == (
        ("blepharospasm",),
        ("incobotulinumtoxinA",),
        ("Silva A",),
    )


def test_a_ris_record_without_identifiers_keeps_the_same_key_however_its_title_is_written(
    terms: LiteratureTerms,
) -> None:
    unidentified = read("references.ris", terms).studies[2]
    assert (unidentified.pmid, unidentified.doi, unidentified.nct, unidentified.year) == (None, None, None, 2021)
    assert unidentified.key.startswith("title:2021:")
    assert (unidentified.indications, unidentified.products) == (("bruxism",), ())
    shouted = b"TY  - JOUR\nTI  - BOTULINUM TOXIN FOR SLEEP BRUXISM - A FICTIONAL CASE SERIES.\nPY  - 2021\nER  - \n"
    (again,) = read_literature(shouted, "again.ris", terms).studies
    assert again.key == unidentified.key
    later = shouted.replace(b"PY  - 2021", b"PY  - 2022")
    assert read_literature(later, "later.ris", terms).studies[0].key != unidentified.key


def test_a_ris_file_cut_short_before_its_end_line_is_refused(terms: LiteratureTerms) -> None:
    content = (FIXTURES / "references.ris").read_bytes().rstrip()
    assert content.endswith(b"ER  -")
    with pytest.raises(LiteratureFileError, match=r"^references\.ris: record 3 has no end \(ER\) line"):
        read_literature(content.removesuffix(b"ER  -"), "references.ris", terms)


# -- telling the format, and files that are none


def test_tells_the_format_from_the_content_not_the_name(terms: LiteratureTerms) -> None:
    assert read("pubmed.xml", terms, called="download.txt").format == "PubMed XML"
    assert read("medline.txt", terms, called="pubmed-export.nbib").format == "MEDLINE"
    assert read("clinicaltrials-page.json", terms, called="ctg-studies.txt").format == "ClinicalTrials.gov JSON"
    assert read("references.ris", terms, called="references.json").format == "RIS"


def test_an_empty_file_is_refused_naming_it(terms: LiteratureTerms) -> None:
    with pytest.raises(LiteratureFileError, match=r"^empty\.xml: the file is empty$"):
        read_literature(b" \n", "empty.xml", terms)


def test_a_file_in_no_format_bont_reads_is_refused(terms: LiteratureTerms) -> None:
    with pytest.raises(LiteratureFileError, match=r"^notes\.txt: not a literature file bont reads \(PubMed XML, "):
        read_literature(b"Title,Year\nBotulinum toxin,2020\n", "notes.txt", terms)


# -- recognition


def test_recognises_names_aliases_brands_and_established_names_as_whole_words(terms: LiteratureTerms) -> None:
    seen = terms.recognise(["Onabotulinum toxin A and XEOMIN in upper-limb spasticity and torticollis"])
    assert seen.indications == ("cervical-dystonia", "upper-limb-spasticity")
    assert seen.products == ("incobotulinumtoxinA", "onabotulinumtoxinA")
    assert terms.recognise(["Botox for spasticity"]).indications == ()  # kept, with no indication recognised
    assert terms.recognise(["BoNT-A in CM"]).indications == ("chronic-migraine",)
    assert terms.recognise(["BoNT-A injected 2 cm apart"]).indications == ()  # acronyms count only in capitals
    # A MeSH heading as MeSH inverts it, and a plural.
    assert terms.recognise(["Botox", "Neuralgia, Postherpetic"]).indications == ("postherpetic-neuralgia",)
    assert terms.recognise(["Dysport for anal fissures"]).indications == ("chronic-anal-fissure",)


def test_only_toxins_named_explicitly_are_other_products(terms: LiteratureTerms) -> None:
    assert terms.recognise(["PrabotulinumtoxinA-xvfs versus botulinum toxin type A"]).other_products == (
        "prabotulinumtoxinA",
    )
    generic = terms.recognise(["Botulinum toxin type A in drooling"])
    assert (generic.about_toxin, generic.products, generic.other_products) == (True, (), ())
    assert not terms.recognise(["Physiotherapy for cervical dystonia"]).about_toxin


# -- what a file may hold that no reader expects (each refused in words, never a traceback)

LANCET_LID = b"""PMID- 90000041
DP  - 2020 Mar
TI  - OnabotulinumtoxinA in chronic migraine: a fictional record with two LID lines.
LID - S0140-6736(20)30183-5 [pii]
LID - 10.1016/S0140-6736(20)30183-5 [doi]
PT  - Journal Article
"""


def test_medline_takes_the_doi_tagged_doi_from_several_lid_lines(terms: LiteratureTerms) -> None:
    (study,) = read_literature(LANCET_LID, "lancet.nbib", terms).studies
    assert study.doi == "10.1016/s0140-6736(20)30183-5"
    # The DOI from an AID line when the LID names only the publisher's item.
    from_aid = LANCET_LID.replace(b"LID - 10.1016/", b"AID - 10.1016/")
    assert read_literature(from_aid, "lancet.nbib", terms).studies[0].doi == "10.1016/s0140-6736(20)30183-5"


def test_a_medline_line_continued_after_a_blank_line_is_refused_naming_the_file(terms: LiteratureTerms) -> None:
    broken = LANCET_LID.replace(b"two LID lines.\n", b"two LID\n\n      lines.\n")
    with pytest.raises(LiteratureFileError, match=r"^lancet\.nbib: malformed MEDLINE after record 1: an indented"):
        read_literature(broken, "lancet.nbib", terms)


def test_a_ris_record_repeating_a_tag_is_read_with_the_first_value(terms: LiteratureTerms) -> None:
    repeated = (
        b"TY  - JOUR\nTI  - Botulinum toxin for bruxism: a first title\nTI  - A second title\n"
        b"DO  - 10.5555/bont.test.0051\nDO  - 10.5555/bont.test.0052\nAN  - 90000051\nAN  - 90000052\n"
        b"PY  - 2021\nPY  - 2022\nER  - \n"
    )
    (study,) = read_literature(repeated, "repeated.ris", terms).studies
    assert (study.title, study.doi, study.pmid, study.year) == (
        "Botulinum toxin for bruxism: a first title",
        "10.5555/bont.test.0051",
        "90000051",
        2021,
    )


def test_a_malformed_ris_record_is_refused_alone(terms: LiteratureTerms, monkeypatch: pytest.MonkeyPatch) -> None:
    content = (FIXTURES / "references.ris").read_bytes()
    # An indented line just after TY (rispy continued the previous record's last tag with it, and failed), and a
    # record without its ER line before the next one.
    indented = content.replace(b"TY  - JOUR\nT1  -", b"TY  - JOUR\n      continued\nT1  -")
    unended = content.replace(b"N1  - PMID: 90000032\nER  - ", b"N1  - PMID: 90000032")
    assert len(read_literature(indented, "references.ris", terms).studies) == 3
    parsed = read_literature(unended, "references.ris", terms)
    assert len(parsed.studies) == 2
    assert parsed.refused == (Refusal("record 2", "no end (ER) line"),)
    # Whatever else fails inside rispy for one record refuses that record, not the file.
    rispy_loads = rispy.loads

    def failing(text: str) -> object:
        if "blepharospasm" in text:
            raise AttributeError("'list' object has no attribute 'strip'")
        return rispy_loads(text)

    monkeypatch.setattr(rispy, "loads", failing)
    parsed = read_literature(content, "references.ris", terms)
    assert len(parsed.studies) == 2
    assert parsed.refused == (
        Refusal("record 2", "unreadable (AttributeError: 'list' object has no attribute 'strip')"),
    )


def test_json_nested_too_deeply_is_refused_naming_the_file(terms: LiteratureTerms) -> None:
    with pytest.raises(LiteratureFileError, match=r"^deep\.json: the JSON is nested too deeply"):
        read_literature(b'{"studies": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "deep.json", terms)


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(terms: LiteratureTerms) -> None:
    oversized = b"TY  - JOUR\n" + b" " * MAX_FILE_BYTES
    with pytest.raises(LiteratureFileError, match=r"^huge\.ris: 50,000,011 bytes is over the limit of 50 MB"):
        read_literature(oversized, "huge.ris", terms)


# -- identifiers


def test_dois_are_read_in_the_forms_reference_lists_write_them(terms: LiteratureTerms) -> None:
    written = [
        b"https://doi.org/10.5555/BONT.TEST.0061",
        b"http://dx.doi.org/10.5555/bont.test.0061",
        b"doi: 10.5555/bont.test.0061.",
        b"DOI:10.5555/bont.test.0061;",
    ]
    for doi in written:
        record = b"TY  - JOUR\nTI  - Botulinum toxin in bruxism\nDO  -  " + doi + b"  \nER  - \n"
        assert read_literature(record, "doi.ris", terms).studies[0].doi == "10.5555/bont.test.0061", doi


def test_a_record_with_an_identifier_that_is_not_one_is_refused_and_not_stored(terms: LiteratureTerms) -> None:
    ris_record = b"TY  - JOUR\nTI  - Botulinum toxin in bruxism\nDO  - %s\nER  - \n"
    for doi in (b"10.55/short-prefix", b"S0140-6736(20)30183-5", b"10.5555/" + b"x" * 190, b"10.5555/a{b}"):
        parsed = read_literature(ris_record % doi, "doi.ris", terms)
        assert parsed.studies == ()
        (refusal,) = parsed.refused
        assert refusal.record == "record 1"
        assert re.fullmatch(r"DOI '.+' is not a DOI", refusal.reason), refusal.reason
    medline = LANCET_LID + b"SI  - ClinicalTrials.gov/NCT0900004\n"
    assert read_literature(medline, "lancet.nbib", terms).refused == (
        Refusal("record 1 (PMID 90000041)", "NCT number 'NCT0900004' is not an NCT number"),
    )
    assert read_literature(LANCET_LID.replace(b"90000041", b"0900004x"), "lancet.nbib", terms).refused == (
        Refusal("record 1 (DOI 10.1016/s0140-6736(20)30183-5)", "PMID '0900004x' is not a PMID"),
    )
    xml = (FIXTURES / "pubmed.xml").read_bytes().replace(b">10.5555/bont.test.0001<", b">10.5555/bont test<")
    assert read_literature(xml, "pubmed.xml", terms).refused[0] == Refusal(
        "record 1 (PMID 90000001)", "DOI '10.5555/bont test' is not a DOI"
    )


def test_a_ris_accession_number_of_another_database_is_no_pmid(terms: LiteratureTerms) -> None:
    record = b"TY  - JOUR\nTI  - Botulinum toxin in bruxism\nAN  - 107890123\nDB  - CINAHL\nER  - \n"
    (study,) = read_literature(record, "cinahl.ris", terms).studies
    assert study.pmid is None
    assert read_literature(record.replace(b"CINAHL", b"PubMed"), "pubmed.ris", terms).studies[0].pmid == "107890123"
