"""The evidence library over HTTP, in process (Django's test client on a real SQLite database with the curated
catalogue written into it): the JSON API's studies, trials and evidence map with a researcher's bearer token, its
refusals naming the field, and what the pages answer that a browser need not drive: the export as a download,
a bad filter beside its field, an unknown study, and a plan's sources leading to the studies they rest on."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.commands import bont
from tests.databases import migrated_sqlite_database

MIGRAINE, BOTOX = "chronic-migraine", "onabotulinumtoxinA"


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A researcher's bearer-token client and a clinician's signed-in client on one new clinic."""
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("DATABASE_URL", migrated_sqlite_database(tmp_path_factory.mktemp("evidence-api")))
        from bont.bootstrap import keep_study_catalogue, setup_database

        setup_database()
        keep_study_catalogue()  # as the server does when it starts
        from django.contrib.auth import get_user_model
        from django.test import Client

        for name, role in (("ev-researcher", "researcher"), ("ev-clinician", "clinician")):
            assert bont("user", "add", name, "--role", role).returncode == 0
        token = bont("user", "token", "ev-researcher").stdout.strip().rsplit(" ", 1)[-1]
        clinician = Client(SERVER_NAME="localhost")
        clinician.force_login(get_user_model()._default_manager.get_by_natural_key("ev-clinician"))
        yield {"api": Client(SERVER_NAME="localhost", HTTP_AUTHORIZATION=f"Bearer {token}"), "page": clinician}


def _json(client: Any, path: str, status: int = 200) -> Any:
    response = client.get(path)
    assert response.status_code == status, (path, response.content[:300])
    return json.loads(response.content)


def test_a_study_search_pages_the_studies_as_the_library_holds_them(clients: dict[str, Any]) -> None:
    from bont.bootstrap import study_library
    from bont.domain.studies import record_as_dict
    from bont.services.evidence_library import study_by_key

    api = clients["api"]
    found = _json(api, f"/api/studies?q=PREEMPT&indication={MIGRAINE}&design=rct&per_page=2")
    assert (found["page"], found["pages"]) == (1, -(-found["total"] // 2))
    assert found["total"] >= 2
    assert len(found["studies"]) == 2
    every = [
        study["key"]
        for page in range(1, found["pages"] + 1)
        for study in _json(api, f"/api/studies?q=PREEMPT&indication={MIGRAINE}&design=rct&per_page=2&page={page}")[
            "studies"
        ]
    ]
    assert "preempt-2" in every
    assert len(every) == found["total"]
    assert _json(api, "/api/studies/preempt-2") == record_as_dict(study_by_key(study_library(), "preempt-2"))
    graded = _json(api, f"/api/studies?indication={MIGRAINE}&product={BOTOX}&level=A&per_page=200")["studies"]
    assert graded
    assert all(any(level["grade"] == "A" for level in study["levels"]) for study in graded)


def test_the_trials_and_the_evidence_map_answer_as_the_command_line(clients: dict[str, Any]) -> None:
    api = clients["api"]
    completed = _json(api, "/api/trials?status=completed&per_page=200")
    assert completed["total"]
    assert {trial["status"] for trial in completed["trials"]} == {"completed"}
    first = completed["trials"][0]
    assert _json(api, f"/api/trials/{first['nct'].lower()}") == first
    grid = _json(api, "/api/evidence-map")
    assert grid["products"][-1] == "other"
    row = next(row for row in grid["indications"] if row["indication"] == MIGRAINE)
    cell = next(cell for cell in row["cells"] if cell["product"] == BOTOX)
    assert cell["studies"] == _json(api, f"/api/studies?indication={MIGRAINE}&product={BOTOX}")["total"]
    assert cell["strength"] == "AAN 2016 Level A"


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("/api/studies?indication=no-such-use", 400, "indication"),
        ("/api/studies?product=no-such-toxin", 400, "product"),
        ("/api/studies?level=Z", 400, "level"),
        ("/api/studies?year_from=99999999999999999999", 400, "year_from"),
        ("/api/studies?year_to=soon", 422, "year_to"),
        ("/api/studies?design=anecdote", 422, "design"),
        ("/api/studies?page=0", 400, "page"),
        ("/api/studies?page=99999999999999999999", 400, "page"),
        ("/api/trials?status=paused", 422, "status"),
        ("/api/trials?per_page=201", 400, "per_page"),
        ("/api/studies/no-such-study", 404, "key"),
        ("/api/trials/NCT00000000", 404, "nct"),
    ],
)
def test_a_bad_value_is_refused_naming_its_field(clients: dict[str, Any], query: str, status: int, field: str) -> None:
    detail = _json(clients["api"], query, status)["detail"]
    named = detail.split(":", 1)[0] if isinstance(detail, str) else detail[0]["loc"][-1]
    assert named == field


def test_the_openapi_schema_documents_what_the_evidence_operations_answer(clients: dict[str, Any]) -> None:
    from bont.web.api import api

    schema = api.get_openapi_schema()
    components = schema["components"]["schemas"]
    assert {"StudiesPage", "StudyOut", "TrialsPage", "TrialOut", "EvidenceMapOut"} <= set(components)
    answers = schema["paths"]["/api/studies"]["get"]["responses"][200]["content"]["application/json"]["schema"]
    assert answers == {"$ref": "#/components/schemas/StudiesPage"}


def test_an_export_downloads_every_study_the_search_finds(clients: dict[str, Any]) -> None:
    from bont.bootstrap import clock

    page = clients["page"]
    response = page.get(f"/evidence/export?format=ris&indication={MIGRAINE}&design=rct")
    assert response.status_code == 200
    today = clock().today().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="bont-studies-{today}.ris"'
    total = _json(clients["api"], f"/api/studies?indication={MIGRAINE}&design=rct")["total"]
    assert len(re.findall(r"^TY  - ", response.content.decode(), re.MULTILINE)) == total > 0
    trials = page.get("/evidence/trials/export?format=csv&status=recruiting")
    assert trials["Content-Disposition"].endswith('.csv"')
    rows = list(csv.DictReader(io.StringIO(trials.content.decode())))
    assert rows
    assert {row["status"] for row in rows} == {"Recruiting"}
    assert page.get("/evidence/export?format=docx").status_code == 400


def test_a_bad_filter_is_shown_beside_its_field_and_nothing_is_searched(clients: dict[str, Any]) -> None:
    response = clients["page"].get("/evidence/?year_from=twenty&indication=no-such-use&q=botox")
    assert response.status_code == 400
    page = response.content.decode()
    for field in ("year_from", "indication"):
        assert f'aria-describedby="{field}-error"' in page
        assert f'<p class="error" id="{field}-error">' in page
    assert 'id="studies"' not in page
    assert clients["page"].get("/evidence/studies/no-such-study/").status_code == 404
    assert clients["page"].get("/evidence/indications/no-such-use/").status_code == 404


def test_a_plan_s_protocol_source_leads_to_the_study_it_rests_on(clients: dict[str, Any]) -> None:
    page = clients["page"].post("/plan/", {"indication": MIGRAINE, "product": BOTOX}).content.decode()
    sources = re.search(r'<p class="meta" id="plan-sources">(.*?)</p>', page, re.DOTALL)
    assert sources, "the plan lists its sources"
    assert '<a href="/evidence/studies/preempt-2/">' in sources[1]


# A record as a reference manager writes it: a DOI with a slash and no PubMed number, so its key has a slash too.
IMPORTED_RIS = """TY  - JOUR
TI  - OnabotulinumtoxinA for chronic migraine: a fictional trial for the evidence pages
AU  - Lund, Hanna
JO  - Fictional Headache Journal
PY  - 2022
DO  - 10.5555/BONT.WEB/0001
ER  -
"""


def test_an_imported_study_keyed_by_its_doi_is_read_by_its_key(
    clients: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    file = tmp_path_factory.mktemp("ris") / "fictional.ris"
    file.write_text(IMPORTED_RIS, encoding="utf-8")
    imported = bont("evidence", "import", str(file), "--json")
    assert imported.returncode == 0, imported.stderr
    [key] = json.loads(imported.stdout)[0]["added"]
    assert key == "doi:10.5555/bont.web/0001"
    assert _json(clients["api"], f"/api/studies/{key}")["origin"] == "imported"
    page = clients["page"].get(f"/evidence/studies/{key}/")
    assert page.status_code == 200
    assert "imported from a literature file" in page.content.decode()


def _trials_in(export: Any) -> list[dict[str, str]]:
    assert export.status_code == 200, export.content[:300]
    return list(csv.DictReader(io.StringIO(export.content.decode())))


def test_the_unfiltered_trials_export_holds_every_trial_in_the_order_the_page_lists_them(
    clients: dict[str, Any],
) -> None:
    page = clients["page"]
    listed = re.findall(
        r'<a href="https://clinicaltrials.gov/study/(NCT\d{8})"', page.get("/evidence/trials/").content.decode()
    )
    exported = [row["NCT"] for row in _trials_in(page.get("/evidence/trials/export?format=csv"))]
    assert len(listed) > 1
    assert exported[: len(listed)] == listed  # the research areas' trials first, as on the page
    assert len(exported) == _json(clients["api"], "/api/trials")["total"]


def test_the_trials_export_keeps_the_page_s_status_and_phase_filters(clients: dict[str, Any]) -> None:
    page = clients["page"]
    search = "status=completed&phase=3"
    shown = re.search(
        r'<p id="found-count"><strong>([\d,]+) trial', page.get(f"/evidence/trials/?{search}").content.decode()
    )
    assert shown
    rows = _trials_in(page.get(f"/evidence/trials/export?format=csv&{search}"))
    assert len(rows) == int(shown[1].replace(",", "")) > 0
    assert all(row["status"] == "Completed" and "3" in row["phase"] for row in rows)
    assert page.get(f"/evidence/trials/export?format=csv&phase={'3' * 41}").status_code == 400


def test_a_grade_or_page_is_refused_in_the_search_s_words_on_the_page_and_in_the_api(clients: dict[str, Any]) -> None:
    from bont.services.evidence_library import MAX_PAGE

    graded = clients["page"].get("/evidence/?level=Z")
    assert graded.status_code == 400
    said = re.search(r'<p class="error" id="level-error">(.*?)</p>', graded.content.decode())
    assert said
    assert f"level: {said[1]}" == _json(clients["api"], "/api/studies?level=Z", 400)["detail"]
    for page in (MAX_PAGE + 1, 10**8):
        paged = clients["page"].get(f"/evidence/?page={page}")
        assert paged.status_code == 400
        assert f"give a page number from 1 to {MAX_PAGE:,}" in paged.content.decode()
        detail = _json(clients["api"], f"/api/trials?page={page}", 400)["detail"]
        assert detail == f"page: give a page number from 1 to {MAX_PAGE:,}"


def test_the_summary_names_the_populations_a_label_approves_and_how_many_studies_it_leaves_out(
    clients: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bont.services import evidence_library

    summary = clients["page"].get(f"/evidence/indications/{MIGRAINE}/").content.decode()
    assert 'onabotulinumtoxinA (BOTOX): <span class="verdict">FDA-approved (adult)</span>' in summary
    heading = re.search(r'id="summary-studies-heading">Studies, strongest first \((\d+)\)', summary)
    assert heading
    monkeypatch.setattr(evidence_library, "SUMMARY_STUDIES", 2)  # as an indication with more than the summary lists
    shortened = clients["page"].get(f"/evidence/indications/{MIGRAINE}/").content.decode()
    assert f"Studies, strongest first (the 2 strongest of {heading[1]})" in shortened
    listed = re.search(r'<table class="list" id="summary-studies">(.*?)</table>', shortened, re.DOTALL)
    assert listed
    assert listed[1].count('<a href="/evidence/studies/') == 2


# The curated Shehri 2022 bruxism trial as a reference manager exports it: its volume, issue and pages and its
# keywords are not in the curated record, so the import fills them in.
CURATED_STUDY_RIS = (
    "TY  - JOUR\n"
    "TI  - Evaluation of the Efficacy of Low-Dose Botulinum Toxin Injection Into the Masseter Muscle for the"
    " Treatment of Nocturnal Bruxism: A Randomized Controlled Clinical Trial\n"
    "AU  - Shehri, Zeina G\n"
    "JO  - Cureus\n"
    "PY  - 2022\n"
    "VL  - 14\n"
    "IS  - 11\n"
    "SP  - e32180\n"
    "DO  - 10.7759/cureus.32180\n"
    "KW  - Bruxism\n"
    "KW  - Botulinum Toxins, Type A\n"
    "ER  -\n"
)


def test_a_study_page_marks_the_fields_an_import_filled_into_a_curated_record(clients: dict[str, Any]) -> None:
    from bont.bootstrap import build_knowledge, study_library
    from bont.interop.literature import LiteratureTerms, read_literature
    from bont.services.evidence_library import import_files

    terms = LiteratureTerms.from_knowledge(build_knowledge())
    [report] = import_files(study_library(), [read_literature(CURATED_STUDY_RIS.encode(), "shehri.ris", terms)])
    assert [key for key, _ in report.changed] == ["shehri-bruxism"]
    page = clients["page"].get("/evidence/studies/shehri-bruxism/").content.decode()
    facts = dict(re.findall(r'<dd data-field="(\w+)">(.*?)</dd>', page, re.DOTALL))
    assert facts["citation"].endswith('<span class="tag">from an import</span>')
    assert facts["keywords"].endswith('<span class="tag">from an import</span>')
    assert "from an import" not in facts["title"] + facts["pmid"]  # read by the curator in its pages
    assert 'id="imported-note"' in page


def test_the_pager_of_an_estimated_total_offers_the_next_page_while_pages_are_full(clients: dict[str, Any]) -> None:
    from django.test import RequestFactory

    from bont.services.evidence_library import Found
    from bont.web.views.evidence import _pages

    request = RequestFactory().get("/evidence/", {"q": "botulinum", "page": "2241"})
    beyond = _pages(request, Found(tuple(range(25)), 56_000, offset=2_240 * 25, limit=25, total_is_estimate=True))
    assert (beyond.page.number, beyond.page.has_next()) == (2_241, True)
    last = _pages(request, Found(tuple(range(7)), 56_000, offset=2_257 * 25, limit=25, total_is_estimate=True))
    assert (last.page.number, last.page.has_next()) == (2_258, False)
